#!/usr/bin/env bash
# bench/threads.sh — CPU per submission, by thread, in phase (d) of the bench.
#   bash bench/threads.sh [BIN] [OUTPREFIX]
# Runs bench/run.sh (SQLite only, no writer-alone step) with TISHENG_BIN=BIN
# (default build/tisheng), and over 3 s of phase (d) reads each server
# thread's CPU time (/proc/PID/task/*/stat), wrk's, the machine's idle +
# iowait ticks and the submissions counted in /metrics; prints the bench's
# result line, then µs of CPU per submission for each thread and for wrk.
# OUTPREFIX.log keeps the bench output (default /tmp/tisheng-threads).
set -uo pipefail
BIN=$(realpath "${1:-$(dirname "$0")/../build/tisheng}")
OUT=${2:-/tmp/tisheng-threads}
cd "$(dirname "$0")/.."
TISHENG_BIN=$BIN BENCH_PG=0 BENCH_WRITER=0 bash bench/run.sh >"$OUT.log" 2>&1 &
job=$!
while ! grep -q "(d) sustained" "$OUT.log" 2>/dev/null; do
	kill -0 "$job" 2>/dev/null || { echo "threads: the bench ended before phase (d): $OUT.log" >&2; exit 1; }
	sleep 0.2
done
pid=$(grep -o "pid [0-9]*" "$OUT.log" | head -1 | cut -d' ' -f2)
url=$(grep -o "http://127.0.0.1:[0-9]*" "$OUT.log" | head -1)
sleep 1.5
count() { curl -s "$url/metrics" | awk '/^tisheng_submissions_total/ {s += $2} END {print s + 0}'; }
threads() { for t in /proc/"$pid"/task/*; do echo "$(cat "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done; }
wrk_ticks() { for p in $(pgrep -x wrk); do awk '{print $14 + $15}' /proc/"$p"/stat; done | awk '{s += $1} END {print s + 0}'; }
idle() { awk '/^cpu / {print $5 + $6}' /proc/stat; }
w0=$(wrk_ticks); c0=$(count); threads >"$OUT.t0"; i0=$(idle)
sleep 3
c1=$(count); threads >"$OUT.t1"; i1=$(idle); w1=$(wrk_ticks)
wait "$job"
n=$((c1 - c0))
tick=$(getconf CLK_TCK)
tail -1 "$OUT.log"
echo "submissions in the 3 s: $n; idle + iowait: $((i1 - i0)) of $((3 * tick * $(nproc))) ticks"
paste "$OUT.t0" "$OUT.t1" | awk -v n="$n" -v hz="$tick" '{d = $4 - $2; if (d > 0) printf "%s %.1f us\n", $1, d * 1e6 / hz / n}'
awk -v a="$w0" -v b="$w1" -v n="$n" -v hz="$tick" 'BEGIN {printf "wrk %.1f us\n", (b - a) * 1e6 / hz / n}'
