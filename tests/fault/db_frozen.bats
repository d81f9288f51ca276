#!/usr/bin/env bats
# Issue 12, finding 8: a database that is alive but does not answer (its
# processes stopped with SIGSTOP, as a hung host or a stalled VM would look).
# Requests get 503 within the job deadline instead of hanging, /readyz says
# "not answering", /healthz stays prompt, and once the database runs again
# crm recovers by itself. The cluster frozen here is a private one, so the
# run's shared database never stops.

load ../api/helpers
load ../api/sync
load cluster

setup_file() {
  crm_env
  FROZEN_DATA="$BATS_FILE_TMPDIR/frozen"
  "$CRM_BIN" pg start --data-dir "$FROZEN_DATA" > "$BATS_FILE_TMPDIR/pg.env" 2>/dev/null
  eval "$(cat "$BATS_FILE_TMPDIR/pg.env")"
  "$CRM_BIN" migrate up --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" --demo > /dev/null 2>&1
  make_user frozen.viewer viewer sx.yc.js 'Frozen-viewer-2024'
  export FROZEN_DATA CRM_DATABASE_URL CRM_MIGRATE_DATABASE_URL CRM_PG_DIR
}

teardown_file() {
  thaw
  "$CRM_BIN" pg stop --data-dir "$FROZEN_DATA" > /dev/null 2>&1 || true
  # Under root the cluster lives in a folder of its own under /tmp.
  [ -z "${CRM_PG_DIR:-}" ] || [[ "$CRM_PG_DIR" != /tmp/crm-pg-* ]] || rm -rf "$CRM_PG_DIR"
}

setup() {
  [ -n "${FROZEN_DATA:-}" ]
}

teardown() {
  thaw
  crm_stop || true
}

# freeze: stops the cluster's processes (the postmaster first, so that it
# forks no new backend); thaw: lets them run again. Both are idempotent.
freeze() {
  local pid
  for pid in $(cluster_pids); do
    kill -STOP "$pid"
  done
  FROZEN=1
}

thaw() {
  local pid
  for pid in $(cluster_pids); do
    kill -CONT "$pid" 2>/dev/null || true
  done
  FROZEN=
}

# timed METHOD PATH TOKEN: api, and ms its wall time.
timed() {
  local start
  start=$(date +%s%N)
  api "$@"
  ms=$((($(date +%s%N) - start) / 1000000))
}

ready() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$CRM_URL/readyz")" = 200 ]
}

@test "a frozen database: 503 within the deadline, /readyz says so, then recovery by itself" {
  # A job deadline of 1.5 s (were it not set, the statement timeout plus a
  # second: 2 s), and 1 s to connect.
  crm_start --workers 1 --db-pool-size 2 --db-statement-timeout-ms 1000 --db-job-timeout-ms 1500 \
    --db-connect-timeout-ms 1000 --db-reconnect-ms 200
  token=$(login frozen.viewer 'Frozen-viewer-2024')
  timed GET /api/v1/units "$token"
  [ "$status" = 200 ]

  freeze
  # Every request is answered 503 problem+json with Retry-After, none past
  # the deadline (plus the watchdog's 50 ms tick and the sanitizer's pace).
  for i in 1 2 3 4; do
    timed GET /api/v1/units "$token"
    echo "# request $i: $status in $ms ms" >&3
    [ "$status" = 503 ]
    [ "$ms" -lt 3000 ]
    [ "$(jq -r .status <<<"$body")" = 503 ]
    [ -n "$(header Retry-After)" ]
  done
  timed GET /readyz ""
  echo "# readyz: $status in $ms ms: $body" >&3
  [ "$status" = 503 ]
  [ "$ms" -lt 3000 ]
  [ "$(header Content-Type)" = application/problem+json ]
  [ "$(jq -r .database <<<"$body")" = "not answering" ]
  # Liveness is not readiness: /healthz answers at once.
  timed GET /healthz ""
  [ "$status" = 200 ]
  [ "$ms" -lt 500 ]
  grep -q 'not answering' "$CRM_ERR"

  thaw
  # Nobody restarts crm: it reconnects on its own.
  wait_until 15 ready
  api GET /api/v1/units "$token"
  [ "$status" = 200 ]
  timed GET /readyz ""
  [ "$(jq -r .status <<<"$body")" = ready ]
}
