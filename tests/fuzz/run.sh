#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [TARGET…] — builds the libFuzzer targets
# (tests/fuzz/build.sh) and runs each for SECONDS (default 30) under ASan +
# UBSan, starting from the committed seeds in tests/fuzz/corpus/TARGET (the
# corpus grown during the run goes to build/fuzz/corpus/TARGET, the seeds are
# not changed). Exits non-zero on any finding (crash, sanitizer report, leak,
# timeout, out-of-memory); the reproducer is left in build/fuzz/artifacts/TARGET/
# and printed. Reproduce with: build/fuzz/fuzz_TARGET FILE
set -uo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-30}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(form spec idnum time http)

tests/fuzz/build.sh || { echo "fuzz: FAIL (build)"; exit 1; }

export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
# Runs one target; prints its verdict; exit status 0 when clean.
fuzz_one() {
	local t=$1 bin=build/fuzz/fuzz_$1
	[ -x "$bin" ] || { echo "fuzz: no target $t"; return 1; }
	local work=build/fuzz/corpus/$t art=build/fuzz/artifacts/$t log=build/fuzz/$t.log
	mkdir -p "$work" "$art"
	"$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	local rc=$?
	{
		echo "== fuzz $t for ${SECS}s"
		grep -E "^stat::number_of_executed_units|^#[0-9]+ *DONE" "$log" | tail -2 | sed 's/^/   /'
	}
	if [ $rc -ne 0 ] || grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:" "$log"; then
		echo "fuzz: FAIL $t (exit $rc) — log $log"
		grep -E "ERROR:|runtime error:|SUMMARY:|Test unit written to" "$log" | head -8 | sed 's/^/   /'
		return 1
	fi
	echo "fuzz: ok $t"
}

# One target per core at a time: the same seconds per target, less wall time.
JOBS=${FUZZ_JOBS:-$(nproc)}
failed=()
pids=() names=()
for t in "${TARGETS[@]}"; do
	fuzz_one "$t" >"build/fuzz/$t.verdict" 2>&1 &
	pids+=($!) names+=("$t")
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || failed+=("${names[$i]}")
	cat "build/fuzz/${names[$i]}.verdict"
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAIL (${failed[*]})"
	exit 1
fi
echo "fuzz: PASS (${TARGETS[*]}, ${SECS}s each)"
