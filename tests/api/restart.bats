#!/usr/bin/env bats
# PostgreSQL restarted under a running crm: /readyz goes 503 while it is
# down and comes back to 200 by itself, without restarting crm. Uses a
# cluster of its own so the other tests are not disturbed.

load helpers

setup_file() {
  export RESTART_DB="$BATS_FILE_TMPDIR/db"
  "$CRM_BIN" pg start --data-dir "$RESTART_DB" > "$BATS_FILE_TMPDIR/env"
  eval "$(cat "$BATS_FILE_TMPDIR/env")"
  "$CRM_BIN" migrate up --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" --demo > /dev/null
  make_user restart.viewer viewer sx.yc.js 'Restart-viewer-2024'
}

teardown_file() {
  "$CRM_BIN" pg stop --data-dir "$RESTART_DB" || true
  eval "$(cat "$BATS_FILE_TMPDIR/env")"
  rm -rf "$CRM_PG_DIR"
}

teardown() {
  crm_stop || true
}

@test "readyz goes 503 while PostgreSQL is down and 200 again by itself" {
  eval "$(cat "$BATS_FILE_TMPDIR/env")"
  crm_start --db-reconnect-ms 200
  pid=$CRM_PID
  wait_for_status "$CRM_URL/readyz" 200 10
  token=$(login restart.viewer 'Restart-viewer-2024')
  auth=(-H "Authorization: Bearer $token")
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$CRM_URL/api/v1/units")" = 200 ]

  "$CRM_BIN" pg stop --data-dir "$RESTART_DB"
  wait_for_status "$CRM_URL/readyz" 503 10
  code=$(curl -s -o "$BATS_TEST_TMPDIR/b" -w '%{http_code}' --max-time 5 "${auth[@]}" "$CRM_URL/api/v1/units")
  [ "$code" = 503 ]
  [ "$(jq -r .status "$BATS_TEST_TMPDIR/b")" = 503 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CRM_URL/healthz")" = 200 ]

  "$CRM_BIN" pg start --data-dir "$RESTART_DB" > /dev/null
  wait_for_status "$CRM_URL/readyz" 200 20
  # The session survived: it lives in PostgreSQL, not in crm.
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$CRM_URL/api/v1/units")" = 200 ]
  # Same process all along.
  kill -0 "$pid"
  [ "$CRM_PID" = "$pid" ]
  # The lost connections were logged and counted.
  grep -q '"msg":"db: connection lost"' "$CRM_ERR"
  [ "$(curl -s "$CRM_URL/metrics" | sed -n 's/^crm_db_errors_total //p')" -gt 0 ]
  crm_stop
}
