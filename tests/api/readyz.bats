#!/usr/bin/env bats
# /readyz: a real database round trip and the schema version; 503
# problem+json when either fails, while /healthz stays 200.

load helpers

setup() {
  crm_env
}

teardown() {
  crm_stop || true
}

@test "readyz is 200 with the schema version of the newest migration" {
  crm_start
  run curl -s --max-time 5 "$CRM_URL/readyz"
  [ "$status" -eq 0 ]
  [ "$(jq -r .status <<<"$output")" = ready ]
  [ "$(jq -r .schema_version <<<"$output")" = "$(latest_migration)" ]
}

@test "readyz is 503 when the schema is behind this build" {
  # A sql dir with one more migration than the database has.
  cp -r "$CRM_SQL_DIR" "$BATS_TEST_TMPDIR/sql"
  echo "SELECT 1;" > "$BATS_TEST_TMPDIR/sql/migrations/9999_future.sql"
  crm_start --sql-dir "$BATS_TEST_TMPDIR/sql"
  run curl -s -D "$BATS_TEST_TMPDIR/h" --max-time 5 "$CRM_URL/readyz"
  grep -q '^HTTP/1.1 503' "$BATS_TEST_TMPDIR/h"
  grep -qi '^Content-Type: application/problem+json' "$BATS_TEST_TMPDIR/h"
  grep -qi '^Retry-After: ' "$BATS_TEST_TMPDIR/h"
  [ "$(jq -r .status <<<"$output")" = 503 ]
  [ "$(jq -r .expected_schema_version <<<"$output")" = 9999 ]
  [ "$(jq -r .schema_version <<<"$output")" = "$(latest_migration)" ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CRM_URL/healthz")" = 200 ]
}

@test "readyz is 503 when the database cannot be reached, healthz stays 200" {
  CRM_DATABASE_URL="host=$BATS_TEST_TMPDIR/no-such-socket-dir dbname=crm user=crm_app" \
    crm_start --db-reconnect-ms 100
  run curl -s -D "$BATS_TEST_TMPDIR/h" --max-time 5 "$CRM_URL/readyz"
  grep -q '^HTTP/1.1 503' "$BATS_TEST_TMPDIR/h"
  [ "$(jq -r .status <<<"$output")" = 503 ]
  [ "$(jq -r .title <<<"$output")" = "Service Unavailable" ]
  # Which way it is down (a frozen one says "not answering": tests/fault/db_frozen.bats).
  [ "$(jq -r .database <<<"$output")" = unreachable ]
  # No internals (paths, SQL, libpq messages) leak to the client.
  [[ "$output" != *no-such-socket-dir* ]]
  [[ "$output" != *"could not connect"* ]]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CRM_URL/healthz")" = 200 ]
  run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(printf 'A%.0s' {1..43})" "$CRM_URL/api/v1/units"
  [ "$output" = 503 ]
}
