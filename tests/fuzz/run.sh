#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (in build-fuzz,
# CRM_FUZZ=ON) and fuzzes each for FUZZ_SECONDS (default 60), FUZZ_JOBS of
# them at a time (default: one per core), then prints a line per target:
# executions (libFuzzer's stat::number_of_executed_units), executions per
# second, the size of its corpus and the crashes it wrote.
#
# Each target starts from tests/fuzz/corpus/<target> (committed, read only)
# and build-fuzz/fuzz/corpus/<target> (what earlier runs found, kept).
# A crash, a leak, a timeout or a broken property is written to
# build-fuzz/fuzz/artifacts/<target>/ and fails the run; to keep it as a
# regression test, copy the file into tests/fuzz/corpus/<target>/ (fuzz.corpus.*
# in `make test` replays it). One input again: build-fuzz/tests/fuzz/fuzz_<target> FILE.
#
# FUZZ_TARGETS="body csv" limits the run. Exits 77 (CTest's skip) when clang
# or its libFuzzer runtime (Debian: clang, libclang-rt-14-dev) is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}

# The longest input each target is given: a body, a query string, a
# cursor, a ledger file, a code, a page of JSON.
max_len() {
  case "$1" in
    body | json_text) echo 4096 ;;
    csv) echo 8192 ;;
    query) echo 1024 ;;
    cursor) echo 512 ;;
    uscc) echo 64 ;;
    *) echo 4096 ;;
  esac
}

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
if ! command -v clang >/dev/null ||
  ! printf '%s\n' 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);' \
    'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n > 9; }' |
    clang -x c -fsanitize=fuzzer,address,undefined -o "$probe/probe" - 2>/dev/null; then
  echo "fuzz: skipped, clang with libFuzzer is missing (scripts/deps.sh fuzz installs clang, libclang-rt-14-dev)"
  exit 77
fi

start=$(date +%s)
mkdir -p "$build/fuzz"
if ! { cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE= -DCRM_FUZZ=ON \
  -DCRM_TESTS=OFF && cmake --build "$build" --target fuzz -j "$(nproc)"; } >"$build/fuzz/build.log" 2>&1; then
  cat "$build/fuzz/build.log"
  echo "fuzz: the build failed"
  exit 1
fi
echo "fuzz: built in $(($(date +%s) - start)) s; ${seconds} s per target, $jobs at a time"

run_one() {
  local t=$1 work="$build/fuzz/corpus/$1" art="$build/fuzz/artifacts/$1"
  mkdir -p "$work"
  rm -rf "$art" && mkdir -p "$art"
  local rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
    -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art/" \
    "$work" "tests/fuzz/corpus/$t" >"$build/fuzz/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$build/fuzz/$t.rc"
}

running=0
for t in $targets; do
  if [ ! -d "tests/fuzz/corpus/$t" ]; then
    echo "fuzz: no target $t (tests/fuzz/fuzz_$t.c and tests/fuzz/corpus/$t/)"
    exit 1
  fi
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

failed=0
# libFuzzer's last status line ("#N DONE cov: 120 ft: 300 corp: 45/1200b ...") and final stats.
status_field() { grep -o "$1: [0-9]*" "$2" | tail -1 | sed 's/.*: //'; }
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }
printf '%-10s %8s %12s %8s %8s %8s %8s\n' target seconds executions exec/s cover corpus crashes
for t in $targets; do
  log="$build/fuzz/$t.log"
  runs=$(final_stat number_of_executed_units "$log")
  rate=$(final_stat average_exec_per_sec "$log")
  cover=$(status_field cov "$log")
  corpus=$(status_field corp "$log")
  crashes=$(find "$build/fuzz/artifacts/$t" -type f | wc -l)
  rc=$(cat "$build/fuzz/$t.rc")
  printf '%-10s %8s %12s %8s %8s %8s %8s\n' "$t" "$seconds" "${runs:-?}" "${rate:-?}" "${cover:-?}" \
    "${corpus:-?}" "$crashes"
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    failed=1
    echo "--- $t failed (exit $rc), from $log:"
    grep -v '^#\|^INFO:\|^stat::' "$log" | tail -40
    find "$build/fuzz/artifacts/$t" -type f -printf '  artifact: %p\n'
  fi
done
echo "fuzz: done in $(($(date +%s) - start)) s"
exit "$failed"
