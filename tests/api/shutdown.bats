#!/usr/bin/env bats
# SIGTERM while requests are in flight: they complete, new connections are
# refused, crm exits 0 (and, in the sanitizer build, leak-free).

load helpers
load sync

setup_file() {
  crm_env
  make_user stop.viewer viewer sx.yc.js 'Stop-viewer-2024'
}

setup() {
  crm_env
}

teardown() {
  release_lock || true
  crm_stop || true
}

@test "SIGTERM with requests in flight: they complete and crm exits 0" {
  # One connection per worker taking one request at a time, so that the
  # metrics count every request crm holds: busy connections plus waiting.
  crm_start --workers 2 --db-pool-size 1 --db-pipeline-depth 1 --db-queue-timeout-ms 20000 \
    --shutdown-grace-ms 8000
  token=$(login stop.viewer 'Stop-viewer-2024')
  # The units query waits on this lock until the test releases it.
  hold_lock unit
  curl -s --parallel --parallel-immediate --parallel-max 20 --max-time 15 -o /dev/null \
    -H "Authorization: Bearer $token" \
    -w '%{http_code}\n' "$CRM_URL/api/v1/units?n=[1-20]" > "$BATS_TEST_TMPDIR/codes" &
  clients=$!
  wait_until 10 in_crm 20
  kill -TERM "$CRM_PID"
  # No longer accepting, while the 20 are still held by the lock.
  wait_until 5 connection_refused "$CRM_URL/healthz"
  release_lock
  rc=0
  wait "$CRM_PID" || rc=$?
  CRM_PID=
  wait "$clients"
  [ "$rc" -eq 0 ]
  [ "$(grep -c '^200$' "$BATS_TEST_TMPDIR/codes")" -eq 20 ]
  grep -q '"msg":"stopped"' "$CRM_ERR"
}

# in_crm N: whether crm holds N requests for the database (with a pipeline
# depth of 1, each busy connection has one).
in_crm() {
  local m busy waiting
  m=$(curl -s --max-time 2 "$CRM_URL/metrics")
  busy=$(sed -n 's/^crm_db_pool_connections_busy //p' <<<"$m")
  waiting=$(sed -n 's/^crm_db_pool_waiting_requests //p' <<<"$m")
  [ "$((busy + waiting))" -eq "$1" ]
}

@test "SIGINT on an idle server exits 0 at once" {
  crm_start
  start=$(date +%s%N)
  kill -INT "$CRM_PID"
  rc=0
  wait "$CRM_PID" || rc=$?
  CRM_PID=
  [ "$rc" -eq 0 ]
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ]
}

@test "past the grace period, what is left is answered 503 and crm still exits 0" {
  # A statement timeout far away: only the grace period can end the request.
  crm_start --workers 1 --db-pool-size 1 --shutdown-grace-ms 500 --db-statement-timeout-ms 60000
  token=$(login stop.viewer 'Stop-viewer-2024')
  hold_lock unit
  code_file="$BATS_TEST_TMPDIR/code"
  curl -s -o "$BATS_TEST_TMPDIR/b" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $token" "$CRM_URL/api/v1/units" > "$code_file" &
  client=$!
  wait_until 10 metric_is crm_db_pool_connections_busy 1
  start=$(date +%s%N)
  kill -TERM "$CRM_PID"
  rc=0
  wait "$CRM_PID" || rc=$?
  CRM_PID=
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  wait "$client"
  release_lock
  [ "$rc" -eq 0 ]
  [ "$elapsed_ms" -lt 5000 ]
  [ "$(cat "$code_file")" = 503 ]
  [ "$(jq -r .status "$BATS_TEST_TMPDIR/b")" = 503 ]
}
