#!/usr/bin/env bash
# Load test of GET /api/v1/units (request -> session check -> pool ->
# PostgreSQL -> JSON, as a logged-in viewer) and
# GET /healthz (no database) with wrk, as issue 2 asks:
#   wrk -t1 -c64 -d10s --latency
# Starts its own PostgreSQL (a fresh embedded cluster under bench/out/db) and a
# Release crm, each under setsid (see ../shared/BENCHMARKING.md), and prints
# requests/s, latency percentiles, crm's peak RSS and CPU per request.
#
# usage: bench/units.sh [path/to/crm]   (make bench builds it)
# env:   DURATION=10s CONNECTIONS=64 THREADS=1 BENCH_OUT=bench/out; CRM_BENCH_FLAGS: more
#        `crm serve` flags; CRM_BENCH_BIN, CRM_BENCH_SQL_DIR: another crm (bench/lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
OUT=${BENCH_OUT:-bench/out}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
mkdir -p "$OUT"
bench_crm build-bench/crm "${1:-}"
bench_build never

bench_pg_fresh "$OUT/db"
bench_pg_start "$OUT/db"
bench_migrate --demo
bench_user_add bench.viewer viewer sx.yc.js 'Bench-viewer-2024'
bench_crm_start --access-log 0
auth="Authorization: Bearer $(bench_login "$CRM_URL" bench.viewer 'Bench-viewer-2024')"

run() {
  local path=$1 file="$OUT/wrk.txt"
  wrk_warm -H "$auth" "$CRM_URL$path"
  local t0; t0=$(ticks "$crm_pid")
  wrk_measure "$file" -H "$auth" "$CRM_URL$path"
  local t1; t1=$(ticks "$crm_pid")
  local cpu_us errors
  errors=$(wrk_field "$file" errors)
  cpu_us=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$(wrk_field "$file" reqs)" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  printf '| GET %-14s | %10s | %8s | %8s | %8s | %10s | %s\n' "$path" "$(wrk_field "$file" rps)" \
    "$(wrk_field "$file" avg)" "$(wrk_field "$file" p50)" "$(wrk_field "$file" p99)" "$cpu_us" "${errors:-none}"
}

echo
echo "crm $(crm_version), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"
echo "| route              |      req/s |      avg |      p50 |      p99 | crm CPU µs/req | errors"
echo "|--------------------|------------|----------|----------|----------|------------|-------"
run /api/v1/units
run /healthz
echo "crm RSS after the load: $(awk '/VmRSS/ {print $2, $3}' "/proc/$crm_pid/status") (peak $(awk '/VmHWM/ {print $2, $3}' "/proc/$crm_pid/status"), which includes the 64 MiB argon2id dummy hash computed once at start-up)"
