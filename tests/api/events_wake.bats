#!/usr/bin/env bats
# Issue 16: what wakes the events' publisher. crm's own connections do not
# NOTIFY crm_outbox (crm.outbox_wake = 'client': the NOTIFY's lock made
# notifying writes commit one at a time); crm wakes its publisher itself once
# it has answered a write. Any other writer (psql here, crm import) still
# NOTIFYs. The heartbeat, the publisher's safety net, is an hour here, and
# the schedule (whose jobs wake it too) is off, so only those two can
# publish within the test.

load helpers
load events

setup_file() {
  crm_env
  make_user ew.xishe unit sx.yc.js.xishe 'Events-wake-2026'
  crm_start --events-heartbeat-s 3600 --jobs-tick-s 0 --stall-check-s 0
  export CRM_URL CRM_PID CRM_OUT CRM_ERR
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
  XISHE=$(owner_sql "SELECT id FROM unit WHERE code = 'sx.yc.js.xishe'")
  PROJECT=$(owner_sql "SELECT min(id) FROM project WHERE unit_path @> ARRAY[$XISHE::bigint]")
}

# published ID: waits (10 s at most) until the event of interaction ID is published.
published() {
  local i
  for i in $(seq 1 100); do
    [ -n "$(owner_sql "SELECT id FROM event WHERE entity = 'interaction' AND entity_id = $1")" ] &&
      return 0
    sleep 0.1
  done
  echo "interaction $1 was not published" >&2
  return 1
}

@test "a write through crm is published without a NOTIFY; another writer's NOTIFY still wakes the publisher" {
  t=$(login ew.xishe 'Events-wake-2026')
  body="{\"unit_id\":$XISHE,\"project_id\":$PROJECT,\"kind\":\"call\",\"occurred_on\":\"2026-11-20\",\"summary\":\"唤醒 经 crm\"}"
  # A session listens; psql prints what has arrived after each statement's
  # answer. The write through crm is committed before crm answers, so a
  # NOTIFY of it would be printed after the SELECT.
  run psql "$CRM_MIGRATE_DATABASE_URL" -X -At -v ON_ERROR_STOP=1 <<SQL
LISTEN crm_outbox;
\\! curl -s -X POST -H 'Authorization: Bearer $t' -H 'Content-Type: application/json' -d '$body' '$CRM_URL/api/v1/interactions' | jq -r '"crm wrote " + (.id | tostring)'
SELECT 'after the write through crm';
SQL
  echo "$output"
  [ "$status" = 0 ]
  by_crm=$(sed -n 's/^crm wrote //p' <<<"$output")
  [ -n "$by_crm" ]
  [ "$(grep -c 'Asynchronous notification' <<<"$output" || true)" = 0 ]
  # Published, with nothing else to wake the publisher (its heartbeat is an
  # hour away): crm woke it.
  published "$by_crm"

  owner_write="INSERT INTO interaction (unit_id, project_id, kind, occurred_on, summary)"
  owner_write+=" VALUES ($XISHE, $PROJECT, 'call', '2026-11-21', '唤醒 经 psql') RETURNING id"
  run psql "$CRM_MIGRATE_DATABASE_URL" -X -At -v ON_ERROR_STOP=1 <<SQL
LISTEN crm_outbox;
\\! psql "$CRM_MIGRATE_DATABASE_URL" -X -At -v ON_ERROR_STOP=1 -c "$owner_write" | sed -n 's/^\\([0-9][0-9]*\\)\$/psql wrote \\1/p'
SELECT 'after the write through psql';
SQL
  echo "$output"
  [ "$status" = 0 ]
  by_psql=$(sed -n 's/^psql wrote //p' <<<"$output")
  [ -n "$by_psql" ]
  grep -q 'Asynchronous notification "crm_outbox"' <<<"$output"
  published "$by_psql"
}
