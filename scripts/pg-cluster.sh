#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for tests in DIR (not a system
# service), on a Unix socket in DIR and TCP 127.0.0.1:PORT, and prints its URL.
# Usage: scripts/pg-cluster.sh start DIR PORT | stop DIR
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  port=$3
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -U tisheng --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
  fi
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300" start >/dev/null
  as_pg "$bin/psql" -h "$dir" -p "$port" -U tisheng -d postgres -qc "CREATE DATABASE tisheng" >/dev/null 2>&1 || true
  echo "postgres://tisheng@127.0.0.1:$port/tisheng"
  ;;
stop)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
esac
