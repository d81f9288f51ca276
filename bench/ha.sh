#!/usr/bin/env bash
# Reads on the primary alone against reads with one standby (issue 17), in one
# run: the Patroni pair of tests/ha/cluster.bash on loopback, a county's scale
# of data (bench/data/generate.sh, 100,000 projects under 200 units), then
# crm (a Release build) served twice on the same cluster: without
# CRM_DATABASE_READ_URL (every read on the primary) and with it (lists and
# figures on the standby), ROUNDS times each, alternating; wrk -c32 on the
# province root's list page and its figures, viewers' tokens. Writes
# bench/HA.md.
#
# usage: bench/ha.sh [CRM_BINARY]   (make bench-ha; as root: Patroni runs as postgres)
# env:   ROUNDS=3 DURATION=10 CONNECTIONS=32 HA_PORT_BASE=55440
#
# On this machine both nodes share its cores with crm and wrk: the standby
# adds no CPU, so the figures show what routing reads costs or saves, not
# what a second server would add (docs/SCALING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/ha/cluster.bash

CRM=${1:-build-bench/crm}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
OUT=${OUT:-bench/out/ha}
RESULTS=${RESULTS:-bench/HA.md}
PASSWORD=Bench-ha-2024-pass
mkdir -p "$OUT"
say() { echo "[$(date +%T)] $*"; }

trap 'ha_teardown' EXIT
say "cluster: etcd and two Patroni nodes"
ha_setup
SU1="$HA_SUPER_URL:$HA_PG1/crm"
"$CRM" migrate up --migrate-database-url "$HA_OWNER_URL" > "$OUT/migrate.out"
say "data: 200 units, 100,000 projects (bench/data/generate.sh)"
UNITS=200 PROJECTS=100000 bench/data/generate.sh "$SU1" > "$OUT/generate.out"
printf '%s\n' "$PASSWORD" | "$CRM" user add --username bench.viewer --role viewer --unit bench \
  --database-url "$HA_APP_URL" --migrate-database-url "$HA_OWNER_URL" > /dev/null
ROOT=$(ha_sql 1 "SELECT id FROM unit WHERE code = 'bench'")
YEAR=2024
# The standby has replayed all of it before anything is measured.
ha_wait 300 bash -c "[ \"\$(psql '$HA_SUPER_URL:$HA_PG2/crm' -Atc 'SELECT count(*) FROM project')\" = 100000 ]"
ha_sql 2 "CHECKPOINT" > /dev/null 2>&1 || true
PROJECTS=$(ha_sql 1 "SELECT count(*) FROM project")

declare -A RPS
# serve MODE: crm on the cluster, MODE primary (no read URL) or replica.
serve() {
  local args=(serve --listen 127.0.0.1:0 --access-log 0 --database-url "$HA_APP_URL"
              --migrate-database-url "" --jobs-tick-s 0 --stall-check-s 0)
  [ "$1" = replica ] && args+=(--database-read-url "$HA_READ_URL")
  setsid "$CRM" "${args[@]}" > "$OUT/crm-$1.out" 2> "$OUT/crm-$1.err" < /dev/null &
  CRM_PID=$!
  ha_wait 30 grep -q '^crm: serving on ' "$OUT/crm-$1.out"
  URL=$(sed -n 's/^crm: serving on //p' "$OUT/crm-$1.out")
  TOKEN=$(curl -sf -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench.viewer\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" | jq -er .token)
  # The session's first read goes to the primary; then it may use the standby.
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL/api/v1/projects?limit=1"
  sleep 0.3
}
stop() { kill -TERM "$CRM_PID"; wait "$CRM_PID" || true; }

# measure MODE ROUND NAME PATH
measure() {
  local file="$OUT/wrk-$3-$1-$2.txt"
  wrk -t2 -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $TOKEN" "$URL$4" > /dev/null 2>&1 || true
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$URL$4" > "$file" 2>&1
  RPS[$3.$1.$2]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$file")
  local non2xx; non2xx=$(awk '/Non-2xx/ {print $NF}' "$file")
  [ -z "$non2xx" ] || { echo "$3 ($1): $non2xx non-2xx answers" >&2; exit 1; }
  say "  $3, $1: ${RPS[$3.$1.$2]} req/s"
}

ROUTES=(list stats)
path_of() { if [ "$1" = list ]; then echo "/api/v1/projects?limit=50"; else echo "/api/v1/stats/units/$ROOT?year=$YEAR"; fi; }
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order="primary replica"; else order="replica primary"; fi
  for mode in $order; do
    say "round $r: $mode"
    serve "$mode"
    for route in "${ROUTES[@]}"; do measure "$mode" "$r" "$route" "$(path_of "$route")"; done
    if [ "$mode" = replica ]; then
      RPS[on_replica.$r]=$(curl -s "$URL/metrics" | awk '$1 == "crm_db_reads_total{to=\"replica\"}" {print $2}')
      RPS[fallbacks.$r]=$(curl -s "$URL/metrics" | awk '$1 == "crm_db_read_fallbacks_total" {print $2}')
    fi
    stop
  done
done

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
{
  echo "# Reads with one standby (bench/ha.sh)"
  echo
  echo "Written by \`bench/ha.sh\` (\`make bench-ha\`), issue 17, on $(date -u '+%Y-%m-%d %H:%M UTC'), $("$CRM" version 2>/dev/null | head -1),"
  echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crm sql 2>/dev/null || echo ' + uncommitted changes to crm/ or sql/'). A Patroni primary and synchronous standby with a one-node etcd on"
  echo "loopback (tests/ha/cluster.bash), PostgreSQL 15 with shared_buffers 128MB each; $PROJECTS projects under 200 units"
  echo "(bench/data/generate.sh); one viewer of the root; wrk -t2 -c$CONNECTIONS -d${DURATION}s after 2 s of warm-up; crm with its"
  echo "default 2 connections per worker to each database. $ROUNDS rounds, the two modes alternating; the median is given."
  echo
  echo "| route | primary alone, req/s | with one standby, req/s | with/alone | rounds (alone; standby) |"
  echo "|---|--:|--:|--:|---|"
  for route in "${ROUTES[@]}"; do
    a=() b=()
    for ((r = 1; r <= ROUNDS; r++)); do a+=("${RPS[$route.primary.$r]}"); b+=("${RPS[$route.replica.$r]}"); done
    ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
    printf '| %s | %s | %s | %s | %s; %s |\n' "$route $(path_of "$route")" "$ma" "$mb" \
      "$(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.2f", b / a}')" "$(IFS=/; echo "${a[*]}")" "$(IFS=/; echo "${b[*]}")"
  done
  echo
  echo "Reads crm sent to the standby in each round with it: $(for ((r = 1; r <= ROUNDS; r++)); do printf '%s ' "${RPS[on_replica.$r]}"; done)(fallbacks to the primary: $(for ((r = 1; r <= ROUNDS; r++)); do printf '%s ' "${RPS[fallbacks.$r]}"; done | sed 's/ $//'))."
  echo
  echo "This machine has $(nproc) cores, shared by both PostgreSQL servers, crm and wrk: the standby brings no CPU of its own"
  echo "here, so these figures show what sending reads to it costs or saves on one box, not what a second server adds."
  echo "docs/SCALING.md discusses both."
} > "$RESULTS"
say "report: $RESULTS"
