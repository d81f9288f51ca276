#!/usr/bin/env bash
# Load test of GET /api/v1/units (request -> session check -> pool ->
# PostgreSQL -> JSON, as a logged-in viewer) and
# GET /healthz (no database) with wrk, as issue 2 asks:
#   wrk -t1 -c64 -d10s --latency
# Starts its own PostgreSQL (embedded cluster under bench/out/db) and a
# Release crm, each under setsid (see ../shared/BENCHMARKING.md), and prints
# requests/s, latency percentiles, crm's peak RSS and CPU per request.
#
# usage: bench/units.sh [path/to/crm]   (make bench builds it)
set -euo pipefail
cd "$(dirname "$0")/.."
CRM=${1:-build-bench/crm}
OUT=bench/out
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
mkdir -p "$OUT"

"$CRM" pg start --data-dir "$OUT/db" > "$OUT/env"
eval "$(cat "$OUT/env")"
"$CRM" migrate up --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" --demo > /dev/null
printf '%s\n' 'Bench-viewer-2024' | "$CRM" user add --username bench.viewer --role viewer --unit sx.yc.js \
  --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" > /dev/null

setsid "$CRM" serve --listen 127.0.0.1:0 --database-url "$CRM_DATABASE_URL" --access-log 0 \
  ${CRM_BENCH_FLAGS:-} > "$OUT/crm.out" 2> "$OUT/crm.err" &
pid=$!
cleanup() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  "$CRM" pg stop --data-dir "$OUT/db" > /dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  grep -q '^crm: serving on ' "$OUT/crm.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^crm: serving on //p' "$OUT/crm.out")
curl -sf "$url/readyz" > /dev/null
token=$(curl -sf -X POST -H 'Content-Type: application/json' \
  -d '{"username":"bench.viewer","password":"Bench-viewer-2024"}' "$url/api/v1/auth/login" | jq -r .token)
auth="Authorization: Bearer $token"

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)

run() {
  local path=$1
  # Warm up, then measure.
  setsid wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "$auth" "$url$path" > /dev/null
  local t0; t0=$(ticks)
  setsid wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$auth" "$url$path" > "$OUT/wrk.txt"
  local t1; t1=$(ticks)
  local rps p50 p99 avg errors reqs
  rps=$(awk '/^Requests\/sec/ {print $2}' "$OUT/wrk.txt")
  reqs=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
  avg=$(awk '/^    Latency/ {print $2}' "$OUT/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$OUT/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$OUT/wrk.txt" | tr '\n' ' ')
  local cpu_us
  cpu_us=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  printf '| GET %-14s | %10s | %8s | %8s | %8s | %10s | %s\n' "$path" "$rps" "$avg" "$p50" "$p99" "$cpu_us" "${errors:-none}"
}

echo
echo "crm $("$CRM" version | cut -d' ' -f2), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"
echo "| route              |      req/s |      avg |      p50 |      p99 | crm CPU µs/req | errors"
echo "|--------------------|------------|----------|----------|----------|------------|-------"
run /api/v1/units
run /healthz
echo "crm RSS after the load: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status") (peak $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status"), which includes the 64 MiB argon2id dummy hash computed once at start-up)"
