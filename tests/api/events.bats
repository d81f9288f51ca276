#!/usr/bin/env bats
# Issue 15: the live events (GET /api/v1/events, Server-Sent Events). Real
# streams (sse_client.py, an EventSource) on a real crm: each caller's
# stream carries exactly the events of their scope, in id order, a
# township's never another's; Last-Event-ID resumes after the id given,
# every event once; a stream outlives the connection timeout on its
# heartbeats; an ended session ends its stream.

load helpers
load events

setup_file() {
  crm_env
  make_user ev.xishe unit sx.yc.js.xishe 'Events-xishe-2026'
  make_user ev.huayu unit sx.yc.js.huayu 'Events-huayu-2026'
  make_user ev.county bureau sx.yc.js 'Events-county-2026'
  # A short connection timeout: the streams must outlive it.
  crm_start --events-heartbeat-s 1 --events-recheck-s 1 --http-timeout-s 2
  export CRM_URL CRM_PID CRM_OUT CRM_ERR
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
  CLIENTS=()
  XISHE=$(owner_sql "SELECT id FROM unit WHERE code = 'sx.yc.js.xishe'")
  HUAYU=$(owner_sql "SELECT id FROM unit WHERE code = 'sx.yc.js.huayu'")
  COUNTY=$(owner_sql "SELECT id FROM unit WHERE code = 'sx.yc.js'")
}

teardown() {
  local p
  for p in "${CLIENTS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

@test "each stream carries exactly its scope's events, in order; a township never another's" {
  tx=$(login ev.xishe 'Events-xishe-2026')
  th=$(login ev.huayu 'Events-huayu-2026')
  tc=$(login ev.county 'Events-county-2026')
  follow xishe "$tx"; follow huayu "$th"; follow county "$tc"
  connected xishe; connected huayu; connected county
  start=$(owner_sql "SELECT events_head()")
  for i in 1 2 3; do
    log_visit "$tx" "$XISHE" "西社镇 电话 $i" > /dev/null
    log_visit "$th" "$HUAYU" "化峪镇 电话 $i" > /dev/null
    log_visit "$tc" "$COUNTY" "县局 电话 $i" > /dev/null
  done
  # A last event each township sees: once it has arrived, everything before
  # it has (a stream is in id order).
  fx=$(log_visit "$tx" "$XISHE" "西社镇 最后")
  fh=$(log_visit "$th" "$HUAYU" "化峪镇 最后")
  fence=$((fx > fh ? fx : fh))
  wait_for_id xishe "$fx"; wait_for_id huayu "$fh"; wait_for_id county "$fence"
  for who in xishe:$XISHE huayu:$HUAYU county:$COUNTY; do
    name=${who%%:*} unit=${who#*:}
    got=$(received "$name" | awk -v s="$start" -v f="$fence" '$1 > s && $1 <= f')
    want=$(in_scope "$unit" "$start" "$fence")
    [ "$got" = "$want" ] || { echo "$name got [$got], its scope has [$want]" >&2; return 1; }
  done
  # Ids increase, none twice.
  for name in xishe huayu county; do
    diff <(received "$name") <(received "$name" | sort -n -u)
  done
  # The townships' streams carry nothing of the other, nor of the county.
  [ -z "$(jq -r "select(.unit_id != $XISHE) | .id" "$BATS_TEST_TMPDIR/xishe")" ]
  [ -z "$(jq -r "select(.unit_id != $HUAYU) | .id" "$BATS_TEST_TMPDIR/huayu")" ]
  [ "$(jq -r 'select(.type == "interaction.logged") | .unit_id' "$BATS_TEST_TMPDIR/county" | sort -u | wc -l)" = 3 ]
  # What an event says: its type, entity, unit and the caller's request.
  jq -e -s --arg u "$XISHE" --arg id "$fx" 'map(select(.sse_id == $id)) | length == 1 and
        (.[0] | .type == "interaction.logged" and .entity == "interaction" and (.unit_id | tostring) == $u
                and .data.kind == "call" and (.request_id | length) > 0)' "$BATS_TEST_TMPDIR/xishe"
}

@test "Last-Event-ID resumes after the id given: every event of the scope once, in order" {
  tc=$(login ev.county 'Events-county-2026')
  follow first "$tc"
  connected first
  a=$(log_visit "$tc" "$COUNTY" "续传 一")
  wait_for_id first "$a"
  kill "${CLIENTS[0]}"
  # Written while nobody follows.
  b=$(log_visit "$tc" "$COUNTY" "续传 二")
  c=$(log_visit "$tc" "$XISHE" "续传 三")
  follow again "$tc" --last-event-id "$a"
  connected again
  d=$(log_visit "$tc" "$COUNTY" "续传 四")
  wait_for_id again "$d"
  got=$(received again | awk -v d="$d" '$1 <= d')
  want=$(in_scope "$COUNTY" "$a" "$d")
  [ "$got" = "$want" ]
  received again | grep -qx "$b"
  received again | grep -qx "$c"
  ! received again | grep -qx "$a"
}

@test "a stream outlives the connection timeout on its heartbeats" {
  tc=$(login ev.county 'Events-county-2026')
  follow quiet "$tc"
  connected quiet
  # crm cuts an idle connection after 2 s (--http-timeout-s 2); heartbeats
  # come every second, so after 5 heartbeats the stream is still the first.
  for i in $(seq 1 100); do
    [ "$(grep -c '^comment :$' "$BATS_TEST_TMPDIR/quiet.log")" -ge 5 ] && break
    sleep 0.1
  done
  [ "$(grep -c '^comment :$' "$BATS_TEST_TMPDIR/quiet.log")" -ge 5 ]
  [ "$(grep -c '^connected' "$BATS_TEST_TMPDIR/quiet.log")" = 1 ]
  ! grep -q '^closed' "$BATS_TEST_TMPDIR/quiet.log"
}

@test "a session that ends ends its stream; a bad or missing token or Last-Event-ID is refused" {
  t=$(login ev.xishe 'Events-xishe-2026')
  follow ending "$t"
  connected ending
  api POST /api/v1/auth/logout "$t"
  [ "$status" = 204 ]
  for i in $(seq 1 50); do
    grep -q '^closed' "$BATS_TEST_TMPDIR/ending.log" && break
    sleep 0.1
  done
  grep -q '^end {"reason":"session"}' "$BATS_TEST_TMPDIR/ending.log"
  grep -q '^closed' "$BATS_TEST_TMPDIR/ending.log"

  api GET /api/v1/events ""
  [ "$status" = 401 ]
  t=$(login ev.xishe 'Events-xishe-2026')
  api GET /api/v1/events "$t" -H 'Last-Event-ID: 12abc'
  [ "$status" = 400 ]
  [ "$(jq -r '.errors[0].field' <<<"$body")" = Last-Event-ID ]
}

@test "/metrics counts the open streams and the events sent" {
  tc=$(login ev.county 'Events-county-2026')
  follow counted "$tc"
  connected counted
  api GET /metrics ""
  [ "$status" = 200 ]
  open=$(sed -n 's/^crm_events_streams //p' <<<"$body")
  [ "$open" -ge 1 ]
  grep -q '^crm_events_sent_total [0-9]' <<<"$body"
  kill "${CLIENTS[0]}"
  wait "${CLIENTS[0]}" 2>/dev/null || true
  # The stream is counted out once crm sees its client gone.
  for i in $(seq 1 50); do
    api GET /metrics ""
    now=$(sed -n 's/^crm_events_streams //p' <<<"$body")
    [ "$now" -lt "$open" ] && break
    sleep 0.1
  done
  [ "$now" -lt "$open" ]
}

@test "every event written is of a type the service names (event_types(), what webhooks may ask for)" {
  n=$(owner_sql "SELECT count(*) FROM (SELECT type FROM event UNION ALL SELECT type FROM event_pending) e
                  WHERE e.type <> ALL (event_types())")
  [ "$n" = 0 ]
  # The demo's history alone makes most of them.
  [ "$(owner_sql "SELECT count(DISTINCT type) FROM event")" -ge 10 ]
}
