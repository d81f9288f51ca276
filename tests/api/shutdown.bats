#!/usr/bin/env bats
# SIGTERM while requests are in flight: they complete, new connections are
# refused, crm exits 0 (and, in the sanitizer build, leak-free).

load helpers

setup_file() {
  crm_env
  make_user stop.viewer viewer sx.yc.js 'Stop-viewer-2024'
}

setup() {
  crm_env
}

teardown() {
  crm_stop || true
}

@test "SIGTERM with requests in flight: they complete and crm exits 0" {
  crm_start --workers 2 --db-pool-size 2 --shutdown-grace-ms 8000
  token=$(login stop.viewer 'Stop-viewer-2024')
  # Hold the table for 2 s so that requests are in flight when the signal comes.
  psql "$CRM_MIGRATE_DATABASE_URL" -q -c "BEGIN; LOCK TABLE unit IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;" &
  locker=$!
  sleep 0.5
  curl -s --parallel --parallel-immediate --parallel-max 20 --max-time 15 -o /dev/null \
    -H "Authorization: Bearer $token" \
    -w '%{http_code}\n' "$CRM_URL/api/v1/units?n=[1-20]" > "$BATS_TEST_TMPDIR/codes" &
  clients=$!
  sleep 0.5
  in_flight=$(curl -s "$CRM_URL/metrics" | sed -n 's/^crm_db_pool_connections_busy //p')
  [ "$in_flight" -gt 0 ]
  kill -TERM "$CRM_PID"
  sleep 0.3
  # No longer accepting.
  run curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$CRM_URL/healthz"
  [ "$output" = 000 ]
  rc=0
  wait "$CRM_PID" || rc=$?
  CRM_PID=
  wait "$clients" "$locker"
  [ "$rc" -eq 0 ]
  [ "$(grep -c '^200$' "$BATS_TEST_TMPDIR/codes")" -eq 20 ]
  grep -q '"msg":"stopped"' "$CRM_ERR"
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
  crm_start --workers 1 --db-pool-size 1 --shutdown-grace-ms 500
  token=$(login stop.viewer 'Stop-viewer-2024')
  psql "$CRM_MIGRATE_DATABASE_URL" -q -c "BEGIN; LOCK TABLE unit IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" &
  locker=$!
  sleep 0.5
  code_file="$BATS_TEST_TMPDIR/code"
  curl -s -o "$BATS_TEST_TMPDIR/b" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $token" "$CRM_URL/api/v1/units" > "$code_file" &
  client=$!
  sleep 0.3
  kill -TERM "$CRM_PID"
  rc=0
  wait "$CRM_PID" || rc=$?
  CRM_PID=
  wait "$client" "$locker"
  [ "$rc" -eq 0 ]
  [ "$(cat "$code_file")" = 503 ]
  [ "$(jq -r .status "$BATS_TEST_TMPDIR/b")" = 503 ]
}
