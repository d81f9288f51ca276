#!/usr/bin/env bash
# Login storm: does GET /healthz stay responsive while 64 logins are in flight?
# (argon2id runs on crm's hashing threads, off the event loops.)
#
#   1. GET /healthz alone:        wrk -t1 -c8 -d10s --latency
#   2. POST /api/v1/auth/login:   wrk -t2 -c64 -d20s --latency -s bench/login.lua
#      and, from ~3 s into it, GET /healthz again with the same wrk as in 1.
#
# Starts its own PostgreSQL (a fresh embedded cluster under bench/out/login-db, apart
# from bench/units.sh's), migrates it with the demo data, adds the user
# bench.login (role unit) with a known password, and runs a Release crm with
# the login throttles out of the way. Every contender (crm, each wrk) runs
# under setsid (see ../shared/BENCHMARKING.md). Prints a markdown table with
# a Little's-law check per run, crm's peak RSS and the commands used.
#
# usage: bench/login_storm.sh [path/to/crm]   (make bench builds build-bench/crm)
# env:   HASH_THREADS (default 2, crm's default: one per core on a 2-core box)
#        DURATION=10 (seconds of each /healthz run; the storm lasts twice that)
#        BENCH_OUT=bench/out; CRM_BENCH_FLAGS: more `crm serve` flags;
#        CRM_BENCH_BIN, CRM_BENCH_SQL_DIR: another crm (bench/lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
OUT=${BENCH_OUT:-bench/out}
DB=$OUT/login-db
BENCH_TAG=login-
HASH_THREADS=${HASH_THREADS:-2}
DURATION=${DURATION:-10}
DURATION=${DURATION%s}
STORM=$((2 * DURATION))
export LOGIN_USERNAME=bench.login
export LOGIN_PASSWORD='Bench-login-2024!'
mkdir -p "$OUT"
bench_crm build-bench/crm "${1:-}"
bench_build never

bench_pg_fresh "$DB"
bench_pg_start "$DB"
bench_migrate --demo
bench_user_add "$LOGIN_USERNAME" unit sx.yc.js.xishe "$LOGIN_PASSWORD"

# The failure throttles at their maxima (no login here fails, but none must be
# refused either) and room for every login in flight, so nothing is shed.
serve_flags=(--access-log 0 --login-max-failures 1000
  --login-max-failures-address 100000 --hash-max-in-flight 256 --hash-threads "$HASH_THREADS")
bench_crm_start "${serve_flags[@]}"
bench_login "$CRM_URL" "$LOGIN_USERNAME" "$LOGIN_PASSWORD" > /dev/null || die "a single login did not answer 200 with a token"

# Logins queue behind the hashing threads (seconds each with 64 in flight):
# wrk's default 2 s timeout would count them as errors, hence --timeout.
healthz_cmd="wrk -t1 -c8 -d${DURATION}s --latency $CRM_URL/healthz"
login_cmd="wrk -t2 -c64 -d${STORM}s --timeout 30s --latency -s bench/login.lua $CRM_URL/api/v1/auth/login"

setsid wrk -t1 -c8 -d2s "$CRM_URL/healthz" > /dev/null # warm-up
# shellcheck disable=SC2086
setsid $healthz_cmd > "$OUT/login-healthz-alone.txt"
hwm_before=$(awk '/VmHWM/ {print $2}' "/proc/$crm_pid/status")

# shellcheck disable=SC2086
setsid $login_cmd > "$OUT/login-storm.txt" &
bg_pid=$!
sleep 3
# shellcheck disable=SC2086
setsid $healthz_cmd > "$OUT/login-healthz-storm.txt"
wait "$bg_pid"
bg_pid=
hwm_after=$(awk '/VmHWM/ {print $2}' "/proc/$crm_pid/status")
threads=$(awk '/^Threads/ {print $2}' "/proc/$crm_pid/status")

# One table row from a wrk output: run, req/s, avg, p50, p99, max, Little.
# Little's law: with conns always in flight, the mean time per request is
# about conns / throughput. wrk corrects its figures for coordinated omission
# (each response slower than 2 x conns/throughput adds synthetic samples), so
# a sub-millisecond route with a millisecond tail shows avg above conns/req/s;
# the stalls of ../shared/BENCHMARKING.md (0.4-4 s) show as max >= 400 ms on
# top of that, and void the run.
row() {
  local label=$1 file=$2 conns=$3
  local rps avg p50 p99 max little verdict
  rps=$(wrk_field "$file" rps)
  avg=$(ms "$(wrk_field "$file" avg)")
  max=$(ms "$(wrk_field "$file" max)")
  p50=$(ms "$(wrk_field "$file" p50)")
  p99=$(ms "$(wrk_field "$file" p99)")
  little=$(awk -v c="$conns" -v r="$rps" 'BEGIN {printf "%.2f", c / r * 1000}')
  verdict=$(awk -v a="$avg" -v l="$little" -v m="$max" -v c="$conns" 'BEGIN {
    r = a / l
    if (r <= 1.25) v = "ok"
    else if (m >= 400 && m > 2 * l) v = "VOID: stalls"
    else v = "ok, tail"
    printf "%.2f (x%.1f) %s", l, r, v }')
  printf '| %-30s | %9s | %8s | %8s | %8s | %8s | %-30s |\n' \
    "$label" "$rps" "$avg" "$p50" "$p99" "$max" "$verdict"
}

login_errors=$(sed -n 's/^login non-200: //p' "$OUT/login-storm.txt")
login_socket=$(sed -n 's/^login socket errors: //p' "$OUT/login-storm.txt")
login_count=$(wrk_field "$OUT/login-storm.txt" reqs)
healthz_errors() {
  local e; e=$(wrk_field "$1" errors | sed 's/ *$//')
  echo "${e:-none}"
}

echo
echo "crm $(crm_version), $(nproc) cores, $HASH_THREADS hashing threads" \
  "(argon2id INTERACTIVE: 64 MiB per hash being computed)"
echo
echo "| run                            |     req/s | avg (ms) | p50 (ms) | p99 (ms) | max (ms) | Little: c/req/s ms (avg/that) |"
echo "|--------------------------------|-----------|----------|----------|----------|----------|-------------------------------|"
row "GET /healthz, c8, no storm" "$OUT/login-healthz-alone.txt" 8
row "GET /healthz, c8, during storm" "$OUT/login-healthz-storm.txt" 8
row "POST login, c64 (the storm)" "$OUT/login-storm.txt" 64
echo
echo "- logins during the storm: $login_count in $STORM s; non-200: $login_errors; socket errors: $login_socket"
echo "- healthz errors: no storm: $(healthz_errors "$OUT/login-healthz-alone.txt");" \
  "during storm: $(healthz_errors "$OUT/login-healthz-storm.txt")"
echo "- crm peak RSS (VmHWM): $((hwm_after / 1024)) MiB after the storm," \
  "$((hwm_before / 1024)) MiB before it (one hash at a time until then: the start-up dummy and one" \
  "check login); $threads threads in crm, $HASH_THREADS of them hashing. Each hash being computed" \
  "holds 64 MiB, so the peak is about the rest + $HASH_THREADS x 64 MiB; queued logins hold no hash memory"
echo "- raw wrk outputs: $OUT/login-healthz-alone.txt, $OUT/login-healthz-storm.txt, $OUT/login-storm.txt"
echo
echo "Commands (each under setsid; crm serve, then wrk; the second healthz run starts 3 s into the storm):"
echo
echo '```'
echo "crm pg start --data-dir $DB"
echo "crm migrate up --database-url \"\$CRM_DATABASE_URL\" --migrate-database-url \"\$CRM_MIGRATE_DATABASE_URL\" --demo"
printf '%s\n' "printf '%s\\n' '$LOGIN_PASSWORD' | crm user add --username $LOGIN_USERNAME --role unit --unit sx.yc.js.xishe --database-url \"\$CRM_DATABASE_URL\" --migrate-database-url \"\$CRM_MIGRATE_DATABASE_URL\""
echo "setsid crm serve --database-url \"\$CRM_DATABASE_URL\" --listen 127.0.0.1:0 ${serve_flags[*]}${CRM_BENCH_FLAGS:+ $CRM_BENCH_FLAGS}"
echo "setsid $healthz_cmd"
echo "setsid $login_cmd &  sleep 3;  setsid $healthz_cmd"
echo '```'
