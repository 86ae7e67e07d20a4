#!/usr/bin/env bash
# bench/run.sh — the opening-rush benchmark (`make bench`). See docs/performance.md.
#
# 1. installs wrk, nginx and the sqlite3 shell from Debian if missing;
# 2. builds build/tisheng, creates a demo data directory in a temp dir and
#    serves it on 127.0.0.1 (threads = nproc, --ip-limit 0, file SMS gateway);
# 3. logs in BENCH_N applicants through the real login path (bench/prepare.mjs);
# 4. measures with wrk, BENCH_CONNS connections, nproc threads:
#    (a) nginx `return 200 "ok"` (own minimal config, current user),
#    (b) GET /api/v1/remaining (the remaining-places answer every open page
#        polls, from memory),
#    (c) the rush: every applicant submits once to the demo programs
#        (yn2022-skill senior-technician/technician, yn2022-edu bachelor/associate;
#        4 400 places) — the 201s must equal the places exactly,
#    (d) the sustained submission rate: BENCH_PROGRAMS copies of yn2022-skill
#        (own id/group/series, BENCH_PLACES places each) loaded with
#        `program load --opens now-60s --closes now+3600s`; every applicant
#        submits once to each, all distinct, all expected 201;
# 5. stops the server, checks `tisheng ledger verify` and the rows in the
#    database (sqlite3) against the 201s counted by wrk;
# 5b. the writer alone, without HTTP (bench/writer.c, build/bench-writer;
#    BENCH_WRITER=0 skips it, BENCH_WRITER_N / BENCH_WRITER_BATCH);
# 6. PostgreSQL mode (unless BENCH_PG=0; installs postgresql if missing): a
#    throw-away cluster (scripts/pg-cluster.sh, free port, its own temp dir),
#    `init --demo --store URL` with a data dir for the keys, node 1 served like
#    the SQLite server; BENCH_PG_N applicants logged in on node 1; then
#    (pg1) the sustained submission run of (d) against node 1 alone, on
#        BENCH_PG_PROGRAMS fresh copies of yn2022-skill (pg1-skill-K),
#    (pg2) the same again on fresh copies (pg2-skill-K) against two nodes
#        (node 2: same store URL, same data dir): two wrk processes at once,
#        each with half the connections and half the wrk threads, one per
#        node, on disjoint work (applicants split by WRK_PART, see
#        bench/submit.lua), every submission distinct and expected 201;
#    after each: rows in PostgreSQL (psql) against the 201s, no rank twice,
#    `tisheng ledger verify --store URL`, answers other than 201;
# 7. ends with one line of key=value (the pg* keys only with PostgreSQL).
#
# Environment: BENCH_N (20000), BENCH_CONNS (1000), BENCH_DURATION (10, seconds
# for the GET runs), BENCH_PROGRAMS (5), BENCH_PLACES (200000), BENCH_MAX_S (60,
# cap of each submission run), BENCH_KEEP=1 keeps the temp dirs,
# BENCH_PG (1; 0 skips PostgreSQL), BENCH_PG_N (10000), BENCH_PG_PROGRAMS (1),
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
PG=${BENCH_PG:-1}
PG_N=${BENCH_PG_N:-10000}
PG_NPROG=${BENCH_PG_PROGRAMS:-1}

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---- 1. tools ----
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v node >/dev/null || need+=(nodejs)
command -v curl >/dev/null || need+=(curl)
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
if [ "$PG" != 0 ]; then
	{ [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/pg_ctl" ] && command -v psql >/dev/null; } || need+=(postgresql)
fi
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
		elif [ "$p" = postgresql ]; then
			$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
			# Only the binaries are used (a throw-away cluster per run); stop the
			# package's own cluster and service.
			$SUDO systemctl disable --now postgresql >/dev/null 2>&1 || $SUDO service postgresql stop >/dev/null 2>&1 || true
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
SRV_PID=; NGX_PID=; PG1_PID=; PG2_PID=; PGDIR=
WPIDS=(); WDONES=(); WTHRS=(); WOUTS=()
stop_pid() { # PID: SIGTERM, SIGKILL after 30 s, wait
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local p
	for p in "${WPIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null || true
	[ -n "$NGX_PID" ] && kill "$NGX_PID" 2>/dev/null && wait "$NGX_PID" 2>/dev/null || true
	[ -z "$PG1_PID" ] || stop_pid "$PG1_PID"
	[ -z "$PG2_PID" ] || stop_pid "$PG2_PID"
	if [ -n "$PGDIR" ]; then
		bash scripts/pg-cluster.sh stop "$PGDIR" || true
		if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $PGDIR"; else rm -rf "$PGDIR"; fi
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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
	submit_start "$out" "$1" "$THREADS" "$CONNS" 0/1 "$url" "$@"
	submit_wait
}
# Submission runs: wrk runs until every thread had all its distinct requests
# answered (bench/submit.lua writes DONEDIR/done.TID), at most BENCH_MAX_S.
# submit_start starts one wrk in the background (several may run at once, on
# disjoint parts, see WRK_PART in bench/submit.lua); submit_wait waits for all.
submit_start() { # OUT DONEDIR THREADS CONNS PART URL DIR MODE [PROGRAMS]
	local out=$1 done=$2 t=$3 c=$4 part=$5 url=$6; shift 6
	mkdir -p "$done"
	rm -f "$done"/done.*
	WRK_THREADS=$t WRK_CONNS=$c WRK_PART=$part WRK_DONE_DIR=$done \
		wrk -t "$t" -c "$c" -d "${MAXS}s" --timeout 10s -s bench/submit.lua "$url" -- "$@" >"$out" 2>&1 &
	WPIDS+=($!); WDONES+=("$done"); WTHRS+=("$t"); WOUTS+=("$out")
}
# The wait forks nothing while wrk runs: a find | wc and a sleep every 50 ms
# were ≈ 60 processes a second, 3–5 % of the two cores in perf, taken from
# the server being measured. The done files are counted by a glob, and the
# pause is a read with a timeout on a pipe no one writes to.
submit_wait() {
	local i running stopped=() files pause
	exec {pause}<> <(:)
	while :; do
		running=0
		for i in "${!WPIDS[@]}"; do
			kill -0 "${WPIDS[$i]}" 2>/dev/null || continue
			running=1
			files=("${WDONES[$i]}"/done.*)
			[ -e "${files[0]}" ] || files=()
			if [ -z "${stopped[$i]:-}" ] && [ "${#files[@]}" -ge "${WTHRS[$i]}" ]; then
				kill -INT "${WPIDS[$i]}" 2>/dev/null || true
				stopped[$i]=1
			fi
		done
		[ "$running" = 1 ] || break
		read -r -t 0.05 -u "$pause" _ || true
	done
	exec {pause}<&-
	for i in "${!WPIDS[@]}"; do
		wait "${WPIDS[$i]}" || die "wrk failed: $(cat "${WOUTS[$i]}")"
	done
	WPIDS=(); WDONES=(); WTHRS=(); WOUTS=()
}
field() { # FILE KEY → value from the summary line
	grep -o "\b$2=[0-9.]*" "$1" | tail -1 | cut -d= -f2
}
fieldn() { # FILE KEY → the value, 0 when missing
	local v
	v=$(field "$1" "$2" || true)
	echo "${v:-0}"
}
status_count() { # FILE CODE
	local v
	v=$(grep -o "^status=$2 count=[0-9]*" "$1" | cut -d= -f3)
	echo "${v:-0}"
}
# The submissions answered by status, as the server counted them (/metrics,
# route app_submit): wrk itself tells only 2xx from 4xx/5xx (bench/submit.lua).
answers() { # METRICS_BEFORE METRICS_AFTER
	{ printf '%s\n' "$1" | sed 's/^/0 /'; printf '%s\n' "$2" | sed 's/^/1 /'; } |
		awk '$2 ~ /^tisheng_http_requests_total\{route="app_submit",status="/ {
			st = $2; sub(/.*status="/, "", st); sub(/".*/, "", st)
			if ($1 == 0) a[st] -= $3; else a[st] += $3; seen[st] = 1 }
		END { n = 0; for (st in seen) if (a[st] != 0) { printf "%s%s:%d", (n++ ? " " : ""), st, a[st] }
			if (n == 0) printf "none" }'
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
say "(b) GET /api/v1/remaining: $CONNS connections, ${DUR}s"
run_wrk "$WORK/programs.out" bench/get.lua "$URL/api/v1/remaining"
QUOTA_RPS=$(field "$WORK/programs.out" rps)
QUOTA_OK=$(status_count "$WORK/programs.out" 2xx)
QUOTA_P99=$(field "$WORK/programs.out" p99_ms)

# (c) the rush on the demo programs
PLACES=$(curl -fs "$URL/api/v1/programs" | node -e '
let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let t=0;
for(const p of JSON.parse(s).programs) if(p.id==="yn2022-skill"||p.id==="yn2022-edu") for(const c of p.categories) t+=c.places;
console.log(t)})')
say "(c) the rush: $N applicants, one submission each, on yn2022-skill + yn2022-edu ($PLACES places), $CONNS connections"
MR0=$(curl -fs "$URL/metrics" || true)
run_wrk "$WORK/rush.out" bench/submit.lua "$URL" "$WORK/prep" rush
MR1=$(curl -fs "$URL/metrics" || true)
RUSH_201=$(status_count "$WORK/rush.out" 2xx)
RUSH_RPS=$(field "$WORK/rush.out" rps)
RUSH_P99=$(field "$WORK/rush.out" p99_ms)
RUSH_REQ=$(field "$WORK/rush.out" requests)

# (d) sustained submissions on bench copies with large places
bench_program() { # FILE ID TAG: a copy of yn2022-skill with its own group and series TAG
	node -e '
const fs=require("fs");const [src,dst,id,tag,places]=process.argv.slice(1);
const d=JSON.parse(fs.readFileSync(src,"utf8"));
d.id=id;d.group=tag;d.series=tag;d.title="基准测试 "+tag.replace(/^bench-/,"")+"："+d.title;
const per=Math.floor(Number(places)/d.categories.length);
for(const c of d.categories){c.places=per;c.cap=per;}
fs.writeFileSync(dst,JSON.stringify(d));' programs/yn2022-skill.json "$1" "$2" "$3" "$PLACES_BENCH"
}
wait_program() { # URL ID: the server picks up new programs within a second or two
	for _ in $(seq 1 100); do
		curl -fs "$1/api/v1/programs" | grep -q "\"$2\"" && return 0
		sleep 0.1
	done
	return 1
}
PROGS=()
for k in $(seq 1 "$NPROG"); do
	id=bench-skill-$k
	bench_program "$WORK/$id.json" "$id" "bench-$k"
	"$BIN" program load "$WORK/$id.json" --data "$D" --opens now-60s --closes now+3600s >/dev/null
	PROGS+=("$id")
done
PLIST=$(IFS=,; echo "${PROGS[*]}")
wait_program "$URL" "bench-skill-$NPROG" || die "bench programs not visible to the server"
BENCH_TOTAL=$((N * NPROG))
say "(d) sustained: $BENCH_TOTAL distinct submissions ($N applicants × $NPROG bench programs of $PLACES_BENCH places), $CONNS connections, ≤ ${MAXS}s"
METRICS0=$(curl -fs "$URL/metrics" || true)
run_wrk "$WORK/submit.out" bench/submit.lua "$URL" "$WORK/prep" bench "$PLIST"
METRICS1=$(curl -fs "$URL/metrics" || true)
SUBMIT_RPS=$(field "$WORK/submit.out" rps)
SUBMIT_P99=$(field "$WORK/submit.out" p99_ms)
SUBMIT_REQ=$(field "$WORK/submit.out" requests)
BENCH_201=$(status_count "$WORK/submit.out" 2xx)

RSS_KB=$(awk '/^VmHWM:/{print $2}' "/proc/$SRV_PID/status")
RSS_MB=$((RSS_KB / 1024))

# writer figures during (d), from /metrics
metric() { printf '%s\n' "$1" | awk -v k="$2" '$1==k{print $2}'; }
writer_figures() { # METRICS_BEFORE METRICS_AFTER
	local wb0 wb1 wj0 wj1 wc0 wc1 ws0 ws1 wt0 wt1
	wb0=$(metric "$1" tisheng_writer_batch_size_count); wb1=$(metric "$2" tisheng_writer_batch_size_count)
	wj0=$(metric "$1" tisheng_writer_batch_size_sum); wj1=$(metric "$2" tisheng_writer_batch_size_sum)
	wc0=$(metric "$1" tisheng_writer_commit_seconds_total); wc1=$(metric "$2" tisheng_writer_commit_seconds_total)
	ws0=$(metric "$1" tisheng_writer_syncs_total); ws1=$(metric "$2" tisheng_writer_syncs_total)
	wt0=$(metric "$1" tisheng_writer_sync_seconds_total); wt1=$(metric "$2" tisheng_writer_sync_seconds_total)
	awk -v b0="${wb0:-0}" -v b1="${wb1:-0}" -v j0="${wj0:-0}" -v j1="${wj1:-0}" -v c0="${wc0:-0}" -v c1="${wc1:-0}" \
		-v s0="${ws0:-0}" -v s1="${ws1:-0}" -v t0="${wt0:-0}" -v t1="${wt1:-0}" 'BEGIN{
	b=b1-b0; j=j1-j0; c=c1-c0; n=s1-s0; t=t1-t0;
	if (b>0 && j>0) printf "writer_batches=%d writer_avg_batch=%.1f writer_ms_per_batch=%.2f writer_us_per_job=%.1f", b, j/b, c*1000/b, c*1e6/j;
	else printf "writer_batches=0";
	if (n>0) printf " syncs=%d batches_per_sync=%.2f sync_ms=%.2f", n, b/n, t*1000/n}'
}
WRITER=$(writer_figures "$METRICS0" "$METRICS1")

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
say "answers by status, as the server counted them: rush $(answers "$MR0" "$MR1"); sustained $(answers "$METRICS0" "$METRICS1")"
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
[ "$QUOTA_OK" -gt 0 ] || problems+=("GET /api/v1/remaining answered no 200")

# ---- 5b. the writer alone ----
# bench/writer.c: the SQLite writer without HTTP, BENCH_WRITER_N jobs in waves
# of BENCH_WRITER_BATCH (≈ the batch size of phase (d)); its CPU per job and
# rate bound what the whole server can reach. BENCH_WRITER=0 skips it.
WRITER_KEYS=
if [ "${BENCH_WRITER:-1}" != 0 ]; then
	[ -x build/bench-writer ] || make -s build/bench-writer >&2
	say "writer alone: ${BENCH_WRITER_N:-60000} jobs in waves of ${BENCH_WRITER_BATCH:-300}"
	WLINE=$(build/bench-writer "${BENCH_WRITER_N:-60000}" "${BENCH_WRITER_BATCH:-300}") || die "bench-writer failed: $WLINE"
	WRITER_KEYS="writer_alone_rps=$(printf '%s' "$WLINE" | grep -o 'writer_jobs_per_s=[0-9]*' | cut -d= -f2)"
	WRITER_KEYS="$WRITER_KEYS writer_alone_cpu_us=$(printf '%s' "$WLINE" | grep -o 'writer_cpu_us_per_job=[0-9.]*' | cut -d= -f2)"
fi

# ---- 6. PostgreSQL mode ----
# The same sustained submission run as (d), on a throw-away PostgreSQL cluster
# (default settings, fsync on), first against one node, then against two nodes
# sharing the store and the data directory (keys). Nothing else runs then: the
# SQLite server is stopped.
PG_KEYS=
if [ "$PG" != 0 ]; then
	psql_q() { psql "$STORE" -X -q -v ON_ERROR_STOP=1 -Atc "$1"; }
	# its own temp dir: the cluster runs as the postgres user when we are root
	PGDIR=$(mktemp -d /tmp/tisheng-bench-pg.XXXXXX)
	STORE=
	for _ in 1 2 3; do
		PGPORT=$(free_port)
		STORE=$(bash scripts/pg-cluster.sh start "$PGDIR" "$PGPORT" 2>>"$WORK/pg-cluster.log" | tail -n1) && break
		STORE=
	done
	case "$STORE" in postgres://*) ;; *) die "PostgreSQL did not start: $(tail -5 "$PGDIR/server.log" 2>/dev/null)";; esac
	say "PostgreSQL $(psql_q 'SHOW server_version') on $STORE (cluster in $PGDIR)"
	PD=$WORK/pgdata
	"$BIN" init --data "$PD" --demo --store "$STORE" >/dev/null
	start_node() { # N → PGn_PID, PGn_URL
		local n=$1 port url pid
		port=$(free_port)
		url=http://127.0.0.1:$port
		# HTTP threads: the server's default on PostgreSQL (four per core)
		"$BIN" serve --data "$PD" --store "$STORE" --listen "127.0.0.1:$port" --ip-limit 0 --sms "file:$PD/sms.jsonl" \
			2>>"$WORK/pg-node$n.log" &
		pid=$!
		eval "PG${n}_PID=$pid PG${n}_URL=$url"
		wait_http "$url/healthz" || die "node $n did not start (see $WORK/pg-node$n.log)"
		say "node $n on $url (pid $pid, default threads), store $STORE, data $PD"
	}
	start_node 1

	say "logging in $PG_N applicants on node 1 (sessions in PostgreSQL)"
	node bench/prepare.mjs --url "$PG1_URL" --sms "$PD/sms.jsonl" --n "$PG_N" --out "$WORK/pgprep" >&2

	pg_programs() { # TAG → PLIST of TAG-skill-1…BENCH_PG_PROGRAMS, loaded
		local tag=$1 k id
		local progs=()
		for k in $(seq 1 "$PG_NPROG"); do
			id=$tag-skill-$k
			bench_program "$WORK/$id.json" "$id" "$tag-$k"
			"$BIN" program load "$WORK/$id.json" --data "$PD" --store "$STORE" --opens now-60s --closes now+3600s >/dev/null
			progs+=("$id")
		done
		PLIST=$(IFS=,; echo "${progs[*]}")
	}
	# checks after a phase: TAG OUT… (the wrk outputs of the phase)
	pg_check() {
		local tag=$1 f rows want_lo=0 want_hi=0 req=0 dup other ledger=ok rc
		shift
		for f in "$@"; do
			want_lo=$((want_lo + $(status_count "$f" 2xx)))
			want_hi=$((want_hi + $(status_count "$f" 2xx) + $(fieldn "$f" timeouts)))
			req=$((req + $(fieldn "$f" requests)))
			other=$(grep -E '^status=' "$f" | grep -v '^status=2xx ' | tr '\n' ' ' || true)
			[ -z "$other" ] || problems+=("$tag: answers other than 201 ($(basename "$f")): ${other% }")
		done
		rows=$(psql_q "SELECT count(*) FROM applications WHERE program LIKE '$tag-skill-%'")
		dup=$(psql_q "SELECT count(*) FROM (SELECT program,category,rank FROM applications GROUP BY 1,2,3 HAVING count(*)>1) d")
		timeout "${BENCH_VERIFY_S:-300}" "$BIN" ledger verify --data "$PD" --store "$STORE" >"$WORK/$tag-ledger.out" 2>&1 ||
			{ rc=$?; if [ $rc = 124 ]; then ledger=timeout; else ledger=FAILED; fi; }
		say "$tag: ledger verify: $ledger ($(tail -1 "$WORK/$tag-ledger.out")); rows $rows for $want_lo 201s; duplicate ranks $dup"
		[ "$rows" -ge "$want_lo" ] && [ "$rows" -le "$want_hi" ] ||
			problems+=("$tag: $want_lo answered 201 ($((want_hi - want_lo)) timed out in wrk) but $rows stored")
		[ "$req" -ge "$PG_TOTAL" ] || problems+=("$tag: only $req of $PG_TOTAL submissions answered within ${MAXS}s")
		[ "$dup" = 0 ] || problems+=("$tag: $dup ranks given twice")
		[ "$ledger" = ok ] || { problems+=("$tag: ledger verify $ledger"); PG_LEDGER=FAILED; }
	}
	PG_LEDGER=ok
	PG_TOTAL=$((PG_N * PG_NPROG))

	# (pg1) one node
	pg_programs pg1
	wait_program "$PG1_URL" "pg1-skill-$PG_NPROG" || die "pg1 programs not visible to node 1"
	say "(pg1) one node: $PG_TOTAL distinct submissions ($PG_N applicants × $PG_NPROG programs), $CONNS connections, ≤ ${MAXS}s"
	M0=$(curl -fs "$PG1_URL/metrics" || true)
	submit_start "$WORK/pg1.out" "$WORK/pg1.done" "$THREADS" "$CONNS" 0/1 "$PG1_URL" "$WORK/pgprep" bench "$PLIST"
	submit_wait
	M1=$(curl -fs "$PG1_URL/metrics" || true)
	sed "s/^/  pg1: /" "$WORK/pg1.out" | grep -E "status=|requests=" >&2 || true
	say "pg1 node 1: $(writer_figures "$M0" "$M1"); answers by status: $(answers "$M0" "$M1")"
	PG1_RPS=$(field "$WORK/pg1.out" rps)
	PG1_P99=$(field "$WORK/pg1.out" p99_ms)
	pg_check pg1 "$WORK/pg1.out"

	# (pg2) two nodes, fresh programs, the same number of submissions
	start_node 2
	pg_programs pg2
	wait_program "$PG1_URL" "pg2-skill-$PG_NPROG" || die "pg2 programs not visible to node 1"
	wait_program "$PG2_URL" "pg2-skill-$PG_NPROG" || die "pg2 programs not visible to node 2"
	T2=$((THREADS / 2)); [ "$T2" -ge 1 ] || T2=1
	C2=$((CONNS / 2)); [ "$C2" -ge "$T2" ] || C2=$T2
	say "(pg2) two nodes: $PG_TOTAL distinct submissions, half of the applicants on each node, $C2 connections and $T2 wrk threads per node, ≤ ${MAXS}s"
	M0=$(curl -fs "$PG1_URL/metrics" || true); N0=$(curl -fs "$PG2_URL/metrics" || true)
	submit_start "$WORK/pg2a.out" "$WORK/pg2a.done" "$T2" "$C2" 0/2 "$PG1_URL" "$WORK/pgprep" bench "$PLIST"
	submit_start "$WORK/pg2b.out" "$WORK/pg2b.done" "$T2" "$C2" 1/2 "$PG2_URL" "$WORK/pgprep" bench "$PLIST"
	submit_wait
	M1=$(curl -fs "$PG1_URL/metrics" || true); N1=$(curl -fs "$PG2_URL/metrics" || true)
	for f in pg2a pg2b; do sed "s/^/  $f: /" "$WORK/$f.out" | grep -E "status=|requests=" >&2 || true; done
	say "pg2 node 1: $(writer_figures "$M0" "$M1"); answers by status: $(answers "$M0" "$M1")"
	say "pg2 node 2: $(writer_figures "$N0" "$N1"); answers by status: $(answers "$N0" "$N1")"
	# both runs together: all answers from the first request to the last answer
	# (CLOCK_MONOTONIC of both wrk processes); p99: the larger of the two
	PG2_RPS=$(awk -v ra="$(field "$WORK/pg2a.out" requests)" -v rb="$(field "$WORK/pg2b.out" requests)" \
		-v a0="$(field "$WORK/pg2a.out" t0)" -v a1="$(field "$WORK/pg2a.out" t1)" \
		-v b0="$(field "$WORK/pg2b.out" t0)" -v b1="$(field "$WORK/pg2b.out" t1)" 'BEGIN{
		f=(a0>0 && (b0==0 || a0<b0)) ? a0 : b0; l=(a1>b1) ? a1 : b1;
		if (l>f) printf "%.0f", (ra+rb)/(l-f); else print 0 }')
	PG2_P99=$(awk -v a="$(field "$WORK/pg2a.out" p99_ms)" -v b="$(field "$WORK/pg2b.out" p99_ms)" 'BEGIN{ printf "%.2f", (a>b) ? a : b }')
	pg_check pg2 "$WORK/pg2a.out" "$WORK/pg2b.out"

	stop_pid "$PG2_PID"; PG2_PID=
	stop_pid "$PG1_PID"; PG1_PID=
	bash scripts/pg-cluster.sh stop "$PGDIR"
	PG_KEYS="pg1_submit_rps=$PG1_RPS pg1_p99_ms=$PG1_P99 pg2_submit_rps=$PG2_RPS pg2_p99_ms=$PG2_P99"
	PG_KEYS="$PG_KEYS pg2_vs_pg1=$(awk -v a="$PG2_RPS" -v b="$PG1_RPS" 'BEGIN{ if (b>0) printf "%.3f", a/b; else print "0" }')"
	PG_KEYS="$PG_KEYS pg_vs_sqlite=$(awk -v a="$PG1_RPS" -v b="$SUBMIT_RPS" 'BEGIN{ if (b>0) printf "%.3f", a/b; else print "0" }')"
	PG_KEYS="$PG_KEYS pg_ledger=$PG_LEDGER"
fi
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
	"bench_accepted=$BENCH_201 bench_submissions=$BENCH_TOTAL timeouts=$((RUSH_TO + SUBMIT_TO)) ledger=$LEDGER n=$N conns=$CONNS nproc=$THREADS targets=$targets" \
	${WRITER_KEYS:+"$WRITER_KEYS"} ${PG_KEYS:+"$PG_KEYS"}
