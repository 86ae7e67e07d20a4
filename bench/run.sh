#!/usr/bin/env bash
# bench/run.sh — the opening-rush benchmark (`make bench`). See docs/performance.md.
#
# 1. installs wrk, nginx and the sqlite3 shell from Debian if missing;
# 2. builds build/tisheng, creates a demo data directory in a temp dir and
#    serves it on 127.0.0.1 (threads = nproc, --ip-limit 0, file SMS gateway);
# 3. logs in BENCH_N applicants through the real login path (bench/prepare.mjs);
# 4. measures with wrk, BENCH_CONNS connections, nproc threads:
#    (a) nginx `return 200 "ok"` (own minimal config, current user),
#    (b) GET /api/v1/programs (the remaining-places answer, from memory),
#    (c) the rush: every applicant submits once to the demo programs
#        (yn2022-skill senior-technician/technician, yn2022-edu bachelor/associate;
#        4 400 places) — the 201s must equal the places exactly,
#    (d) the sustained submission rate: BENCH_PROGRAMS copies of yn2022-skill
#        (own id/group/series, BENCH_PLACES places each) loaded with
#        `program load --opens now-60s --closes now+3600s`; every applicant
#        submits once to each, all distinct, all expected 201;
# 5. stops the server, checks `tisheng ledger verify` and the rows in the
#    database (sqlite3) against the 201s counted by wrk;
# 6. ends with one line of key=value.
#
# Environment: BENCH_N (20000), BENCH_CONNS (1000), BENCH_DURATION (10, seconds
# for the GET runs), BENCH_PROGRAMS (5), BENCH_PLACES (200000), BENCH_MAX_S (60,
# cap of each submission run), BENCH_KEEP=1 keeps the temp dir,
# TISHENG_BIN (default: build/tisheng, built with make).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

N=${BENCH_N:-20000}
CONNS=${BENCH_CONNS:-1000}
DUR=${BENCH_DURATION:-10}
NPROG=${BENCH_PROGRAMS:-5}
PLACES_BENCH=${BENCH_PLACES:-200000}
MAXS=${BENCH_MAX_S:-60}
THREADS=$(nproc)

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---- 1. tools ----
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v node >/dev/null || need+=(nodejs)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]} from Debian"
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	for p in "${need[@]}"; do
		if [ "$p" = nginx ]; then
			$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1 ||
				$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
			# The package's own service is not used; do not leave it holding port 80.
			$SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
		else
			$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
		fi
	done
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ---- 2. build, data, server ----
if [ -z "${TISHENG_BIN:-}" ]; then
	make -s all >&2
	TISHENG_BIN=$ROOT/build/tisheng
fi
BIN=$TISHENG_BIN
[ -x "$BIN" ] || die "no server binary at $BIN"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/tisheng-bench.XXXXXX)
D=$WORK/data
SRV_PID=; NGX_PID=
cleanup() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null || true
	[ -n "$NGX_PID" ] && kill "$NGX_PID" 2>/dev/null && wait "$NGX_PID" 2>/dev/null || true
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
wait_http() { # URL
	for _ in $(seq 1 200); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done
	return 1
}

"$BIN" init --data "$D" --demo >/dev/null
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
start_server() {
	"$BIN" serve --data "$D" --listen "127.0.0.1:$PORT" --ip-limit 0 --sms "file:$D/sms.jsonl" \
		--threads "$THREADS" 2>>"$WORK/server.log" &
	SRV_PID=$!
	wait_http "$URL/healthz" || die "server did not start (see $WORK/server.log)"
}
start_server
say "tisheng on $URL (pid $SRV_PID, $THREADS threads), data $D"

# ---- 3. applicants ----
say "logging in $N applicants through /api/v1/auth/sms-code + /api/v1/auth/login"
node bench/prepare.mjs --url "$URL" --sms "$D/sms.jsonl" --n "$N" --out "$WORK/prep" >&2

# ---- 4. measurements ----
run_wrk() { # OUT SCRIPT URL [args…]
	local out=$1 script=$2 url=$3; shift 3
	if [ "$script" != bench/submit.lua ]; then
		WRK_THREADS=$THREADS wrk -t "$THREADS" -c "$CONNS" -d "${DUR}s" --timeout 10s -s "$script" "$url" \
			>"$out" 2>&1 || die "wrk failed: $(cat "$out")"
		return
	fi
	# submissions: wrk runs until every thread had all its distinct requests
	# answered (bench/submit.lua writes DIR/done.TID), at most BENCH_MAX_S
	local dir=$1
	rm -f "$dir"/done.*
	WRK_THREADS=$THREADS wrk -t "$THREADS" -c "$CONNS" -d "${MAXS}s" --timeout 10s -s "$script" "$url" -- "$@" \
		>"$out" 2>&1 &
	local wpid=$!
	while kill -0 "$wpid" 2>/dev/null; do
		if [ "$(find "$dir" -maxdepth 1 -name 'done.*' | wc -l)" -ge "$THREADS" ]; then
			kill -INT "$wpid" 2>/dev/null || true
			break
		fi
		sleep 0.05
	done
	wait "$wpid" || die "wrk failed: $(cat "$out")"
}
field() { # FILE KEY → value from the summary line
	grep -o "\b$2=[0-9.]*" "$1" | tail -1 | cut -d= -f2
}
status_count() { # FILE CODE
	local v
	v=$(grep -o "^status=$2 count=[0-9]*" "$1" | cut -d= -f3)
	echo "${v:-0}"
}

# (a) nginx
NPORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
{
	[ "$(id -u)" -eq 0 ] && echo "user $(id -un) $(id -gn);"
	cat <<EOF
worker_processes $THREADS;
worker_rlimit_nofile 65536;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path $WORK/nginx/body;
	proxy_temp_path $WORK/nginx/proxy;
	fastcgi_temp_path $WORK/nginx/fastcgi;
	uwsgi_temp_path $WORK/nginx/uwsgi;
	scgi_temp_path $WORK/nginx/scgi;
	server {
		listen 127.0.0.1:$NPORT;
		location / { default_type text/plain; return 200 "ok"; }
	}
}
EOF
} >"$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>>"$WORK/nginx/logs/error.log" &
NGX_PID=$!
wait_http "http://127.0.0.1:$NPORT/" || die "nginx did not start: $(cat "$WORK/nginx/logs/error.log")"
say "(a) nginx return 200: $CONNS connections, ${DUR}s"
run_wrk "$WORK/nginx.out" bench/get.lua "http://127.0.0.1:$NPORT/"
kill "$NGX_PID"; wait "$NGX_PID" 2>/dev/null || true; NGX_PID=
NGINX_RPS=$(field "$WORK/nginx.out" rps)

# (b) remaining places
say "(b) GET /api/v1/programs: $CONNS connections, ${DUR}s"
run_wrk "$WORK/programs.out" bench/get.lua "$URL/api/v1/programs"
QUOTA_RPS=$(field "$WORK/programs.out" rps)
QUOTA_OK=$(status_count "$WORK/programs.out" 200)
QUOTA_P99=$(field "$WORK/programs.out" p99_ms)

# (c) the rush on the demo programs
PLACES=$(curl -fs "$URL/api/v1/programs" | node -e '
let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let t=0;
for(const p of JSON.parse(s).programs) if(p.id==="yn2022-skill"||p.id==="yn2022-edu") for(const c of p.categories) t+=c.places;
console.log(t)})')
say "(c) the rush: $N applicants, one submission each, on yn2022-skill + yn2022-edu ($PLACES places), $CONNS connections"
run_wrk "$WORK/rush.out" bench/submit.lua "$URL" "$WORK/prep" rush
RUSH_201=$(status_count "$WORK/rush.out" 201)
RUSH_RPS=$(field "$WORK/rush.out" rps)
RUSH_P99=$(field "$WORK/rush.out" p99_ms)
RUSH_REQ=$(field "$WORK/rush.out" requests)

# (d) sustained submissions on bench copies with large places
PROGS=()
for k in $(seq 1 "$NPROG"); do
	id=bench-skill-$k
	node -e '
const fs=require("fs");const [src,dst,id,k,places]=process.argv.slice(1);
const d=JSON.parse(fs.readFileSync(src,"utf8"));
d.id=id;d.group="bench-"+k;d.series="bench-"+k;d.title="基准测试 "+k+"："+d.title;
const per=Math.floor(Number(places)/d.categories.length);
for(const c of d.categories){c.places=per;c.cap=per;}
fs.writeFileSync(dst,JSON.stringify(d));' programs/yn2022-skill.json "$WORK/$id.json" "$id" "$k" "$PLACES_BENCH"
	"$BIN" program load "$WORK/$id.json" --data "$D" --opens now-60s --closes now+3600s >/dev/null
	PROGS+=("$id")
done
PLIST=$(IFS=,; echo "${PROGS[*]}")
# the server picks up new programs within a second or two
for _ in $(seq 1 100); do
	curl -fs "$URL/api/v1/programs" | grep -q "\"bench-skill-$NPROG\"" && break
	sleep 0.1
done
curl -fs "$URL/api/v1/programs" | grep -q "\"bench-skill-$NPROG\"" || die "bench programs not visible to the server"
BENCH_TOTAL=$((N * NPROG))
say "(d) sustained: $BENCH_TOTAL distinct submissions ($N applicants × $NPROG bench programs of $PLACES_BENCH places), $CONNS connections, ≤ ${MAXS}s"
METRICS0=$(curl -fs "$URL/metrics" || true)
run_wrk "$WORK/submit.out" bench/submit.lua "$URL" "$WORK/prep" bench "$PLIST"
METRICS1=$(curl -fs "$URL/metrics" || true)
SUBMIT_RPS=$(field "$WORK/submit.out" rps)
SUBMIT_P99=$(field "$WORK/submit.out" p99_ms)
SUBMIT_REQ=$(field "$WORK/submit.out" requests)
BENCH_201=$(status_count "$WORK/submit.out" 201)

RSS_KB=$(awk '/^VmHWM:/{print $2}' "/proc/$SRV_PID/status")
RSS_MB=$((RSS_KB / 1024))

# writer figures during (d), from /metrics
metric() { printf '%s\n' "$1" | awk -v k="$2" '$1==k{print $2}'; }
WB0=$(metric "$METRICS0" tisheng_writer_batch_size_count); WB1=$(metric "$METRICS1" tisheng_writer_batch_size_count)
WJ0=$(metric "$METRICS0" tisheng_writer_batch_size_sum); WJ1=$(metric "$METRICS1" tisheng_writer_batch_size_sum)
WC0=$(metric "$METRICS0" tisheng_writer_commit_seconds_total); WC1=$(metric "$METRICS1" tisheng_writer_commit_seconds_total)
WRITER=$(awk -v b0="${WB0:-0}" -v b1="${WB1:-0}" -v j0="${WJ0:-0}" -v j1="${WJ1:-0}" -v c0="${WC0:-0}" -v c1="${WC1:-0}" 'BEGIN{
	b=b1-b0; j=j1-j0; c=c1-c0;
	if (b>0 && j>0) printf "writer_batches=%d writer_avg_batch=%.1f writer_ms_per_batch=%.2f writer_us_per_job=%.1f", b, j/b, c*1000/b, c*1e6/j;
	else printf "writer_batches=0"}')

# ---- 5. checks ----
kill -TERM "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=
LEDGER=ok
timeout "${BENCH_VERIFY_S:-300}" "$BIN" ledger verify --data "$D" >"$WORK/ledger.out" 2>&1 || { rc=$?; if [ $rc = 124 ]; then LEDGER=timeout; else LEDGER=FAILED; fi; }
DB_RUSH=$(sqlite3 "$D/tisheng.db" "SELECT count(*) FROM applications WHERE program IN ('yn2022-skill','yn2022-edu')")
DB_BENCH=$(sqlite3 "$D/tisheng.db" "SELECT count(*) FROM applications WHERE program LIKE 'bench-skill-%'")
DB_DUPRANK=$(sqlite3 "$D/tisheng.db" "SELECT count(*) FROM (SELECT program,category,rank FROM applications GROUP BY 1,2,3 HAVING count(*)>1)")
INTEGRITY=$(sqlite3 "$D/tisheng.db" "PRAGMA integrity_check" | head -1)

for f in nginx programs rush submit; do
	sed "s/^/  $f: /" "$WORK/$f.out" | grep -E "status=|requests=" >&2 || true
done
say "$WRITER"
say "ledger verify: $LEDGER ($(tail -1 "$WORK/ledger.out")); rows: rush $DB_RUSH, bench $DB_BENCH; duplicate ranks $DB_DUPRANK; integrity $INTEGRITY"

problems=()
# every 201 must be stored; a request wrk gave up on (timeout) may be stored too
RUSH_TO=$(field "$WORK/rush.out" timeouts); SUBMIT_TO=$(field "$WORK/submit.out" timeouts)
[ "$DB_RUSH" -ge "$RUSH_201" ] && [ "$DB_RUSH" -le $((RUSH_201 + RUSH_TO)) ] ||
	problems+=("rush: $RUSH_201 answered 201 ($RUSH_TO timed out in wrk) but $DB_RUSH stored")
[ "$DB_BENCH" -ge "$BENCH_201" ] && [ "$DB_BENCH" -le $((BENCH_201 + SUBMIT_TO)) ] ||
	problems+=("bench: $BENCH_201 answered 201 ($SUBMIT_TO timed out in wrk) but $DB_BENCH stored")
[ "$DB_RUSH" = "$PLACES" ] || [ "$N" -lt "$PLACES" ] || problems+=("rush: $DB_RUSH stored for $PLACES places")
[ "$RUSH_REQ" -ge "$N" ] || problems+=("rush: only $RUSH_REQ of $N submissions answered within ${MAXS}s")
[ "$SUBMIT_REQ" -ge "$BENCH_TOTAL" ] || problems+=("bench: only $SUBMIT_REQ of $BENCH_TOTAL submissions answered within ${MAXS}s")
[ "$LEDGER" = ok ] || problems+=("ledger verify failed")
[ "$DB_DUPRANK" = 0 ] || problems+=("$DB_DUPRANK ranks given twice")
[ "$INTEGRITY" = ok ] || problems+=("integrity_check: $INTEGRITY")
[ "$QUOTA_OK" -gt 0 ] || problems+=("GET /api/v1/programs answered no 200")
for p in "${problems[@]}"; do say "PROBLEM: $p"; done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.3f", a/b; else print "0" }'; }
targets=$(awk -v s="$(ratio "$SUBMIT_RPS" "$NGINX_RPS")" -v q="$(ratio "$QUOTA_RPS" "$NGINX_RPS")" -v p="$SUBMIT_P99" \
	-v a="$RUSH_201" -v pl="$PLACES" -v r="$RSS_MB" 'BEGIN{
	m=""; if (s<0.35) m=m"submit "; if (q<0.8) m=m"quota "; if (p>=100) m=m"p99 "; if (a!=pl) m=m"accepted "; if (r>=200) m=m"rss ";
	if (m=="") print "met"; else { sub(/ $/,"",m); gsub(/ /,",",m); print "missed:" m } }')
[ ${#problems[@]} -eq 0 ] || targets="$targets,checks_failed"

echo "submit_rps=$SUBMIT_RPS nginx_rps=$NGINX_RPS submit_vs_nginx=$(ratio "$SUBMIT_RPS" "$NGINX_RPS")" \
	"quota_vs_nginx=$(ratio "$QUOTA_RPS" "$NGINX_RPS") p99_ms=$SUBMIT_P99 accepted=$RUSH_201 places=$PLACES" \
	"rss_mb=$RSS_MB quota_rps=$QUOTA_RPS quota_p99_ms=$QUOTA_P99 rush_rps=$RUSH_RPS rush_p99_ms=$RUSH_P99" \
	"bench_accepted=$BENCH_201 bench_submissions=$BENCH_TOTAL timeouts=$((RUSH_TO + SUBMIT_TO)) ledger=$LEDGER n=$N conns=$CONNS nproc=$THREADS targets=$targets"
