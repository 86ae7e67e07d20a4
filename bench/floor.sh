#!/usr/bin/env bash
# bench/floor.sh — the HTTP floor against nginx, alternating, in one run
# (`make bench-floor`; docs/performance.md, session 5). For ROUNDS rounds:
# nginx `return 200 "ok"` (as bench/run.sh (a)), then build/bench-floor in
# modes 0 (answer at once), 1 (jansson parse of the body), 2 (suspend and
# resume in waves), each with wrk -t nproc -c 1000 -d DUR. Prints one line
# per run: what=… rps=…
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${FLOOR_ROUNDS:-2}
DUR=${FLOOR_DURATION:-6}
T=$(nproc)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
WORK=$(mktemp -d /tmp/tisheng-floor.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
NPORT=$(free_port)
{
	[ "$(id -u)" -eq 0 ] && echo "user $(id -un) $(id -gn);"
	cat <<CONF
worker_processes $T;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path $WORK/body;
	server { listen 127.0.0.1:$NPORT; location / { default_type text/plain; return 200 "ok"; } } }
CONF
} >"$WORK/nginx.conf"
rps() { wrk -t "$T" -c 1000 -d "${DUR}s" "$@" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
for r in $(seq "$ROUNDS"); do
	"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' 2>>"$WORK/error.log" &
	p=$!; sleep 1
	echo "round=$r what=nginx rps=$(rps "http://127.0.0.1:$NPORT/")"
	kill "$p"; wait "$p" 2>/dev/null || true
	for m in 0 1 2; do
		FPORT=$(free_port)
		build/bench-floor "$FPORT" "$m" &
		p=$!; sleep 0.5
		echo "round=$r what=floor_mode$m rps=$(rps -s bench/floor.lua "http://127.0.0.1:$FPORT/")"
		kill "$p"; wait "$p" 2>/dev/null || true
	done
done
