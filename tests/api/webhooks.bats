#!/usr/bin/env bats
# Webhooks (issue 15): admins register a receiver at /api/v1/webhooks; crm
# publishes the events of the claims reported and verified through the API
# by itself, and delivers each to the receiver, signed, retrying with
# backoff. The receiver here (webhook_receiver.py, on 127.0.0.1) answers
# 500 three times to each delivery, then 204: the delivery log shows four
# attempts, three failed (500), the last delivered, and the receiver's copy
# carries a signature this file recomputes from the secret. Also: only
# admins, each in their scope, see webhooks; a destination outside
# CRM_WEBHOOK_ALLOW is 422 on url; the secret is in no answer; a listed
# name that resolves inside the network is refused at connect time.
#
# The file works in a county of its own (codes sx.yc.w<run>) with two towns,
# A and B, each with its admin; the webhooks are deleted at the end, so
# that no later crm (with another allowlist) finds deliveries to make.

load helpers

setup_file() {
  crm_env
  RUN=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  COUNTY_CODE="sx.yc.w$RUN"
  owner_sql "INSERT INTO unit (parent_id, code, name, kind)
             SELECT id, '$COUNTY_CODE', '回调测试县$RUN', 'county' FROM unit WHERE code = 'sx.yc'" >/dev/null
  owner_sql "INSERT INTO unit (parent_id, code, name, kind)
             SELECT c.id, v.code, v.name, 'town' FROM unit c,
                    (VALUES ('$COUNTY_CODE.a', '甲镇$RUN'), ('$COUNTY_CODE.b', '乙镇$RUN')) v (code, name)
              WHERE c.code = '$COUNTY_CODE'" >/dev/null
  UNIT_A=$(unit_id "$COUNTY_CODE.a")
  UNIT_B=$(unit_id "$COUNTY_CODE.b")
  make_user "wh.county.$RUN" admin "$COUNTY_CODE" 'Wh-county-2024'
  make_user "wh.a.$RUN" admin "$COUNTY_CODE.a" 'Wh-a-2024'
  make_user "wh.b.$RUN" admin "$COUNTY_CODE.b" 'Wh-b-2024'
  make_user "wh.town.$RUN" unit "$COUNTY_CODE.a" 'Wh-town-2024'
  make_user "wh.bureau.$RUN" bureau "$COUNTY_CODE" 'Wh-bureau-2024'
  make_user "wh.viewer.$RUN" viewer "$COUNTY_CODE" 'Wh-viewer-2024'
  make_user "wh.leader.$RUN" leader "$COUNTY_CODE" 'Wh-leader-2024'
  LEADER_ID=$(user_id "wh.leader.$RUN")

  RECEIVED="$BATS_FILE_TMPDIR/received.jsonl"
  : >"$RECEIVED"
  receiver_start
  CRM_WEBHOOK_ALLOW=127.0.0.1/32 CRM_WEBHOOK_BACKOFF_MS=200 crm_start
  COUNTY_ADMIN=$(login "wh.county.$RUN" 'Wh-county-2024')
  ADMIN_A=$(login "wh.a.$RUN" 'Wh-a-2024')
  ADMIN_B=$(login "wh.b.$RUN" 'Wh-b-2024')
  TOWN=$(login "wh.town.$RUN" 'Wh-town-2024')
  BUREAU=$(login "wh.bureau.$RUN" 'Wh-bureau-2024')
  VIEWER=$(login "wh.viewer.$RUN" 'Wh-viewer-2024')
  SECRET="whsec-$RUN-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  TODAY=$(owner_sql "SELECT crm_today()")
  api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"回调测试客商 $RUN\",\"unit_id\":$UNIT_A}"
  [ "$status" = 201 ] || { echo "investor: $status $body" >&2; return 1; }
  INVESTOR=$(jq -r .id <<<"$body")
  export CRM_URL CRM_PID CRM_OUT CRM_ERR RUN UNIT_A UNIT_B COUNTY_ADMIN ADMIN_A ADMIN_B TOWN BUREAU \
    VIEWER SECRET TODAY INVESTOR RECEIVED RECEIVER_PID RECEIVER_PORT LEADER_ID
}

teardown_file() {
  crm_stop || true
  # The crm a test started in its own shell (the last test's).
  [ ! -s "$BATS_FILE_TMPDIR/crm.pid" ] || crm_kill "$(cat "$BATS_FILE_TMPDIR/crm.pid")"
  [ -z "${RECEIVER_PID:-}" ] || kill "$RECEIVER_PID" 2>/dev/null || true
  [ -z "${UNIT_A:-}" ] || owner_sql "DELETE FROM webhook WHERE unit_id IN ($UNIT_A, $UNIT_B)" >/dev/null
}

setup() {
  crm_env
}

# ---- helpers ----

# receiver_start: the receiver on a free port of 127.0.0.1; sets
# RECEIVER_PID and RECEIVER_PORT.
receiver_start() {
  local port_file="$BATS_FILE_TMPDIR/receiver.port" i
  rm -f "$port_file"
  python3 "$BATS_TEST_DIRNAME/webhook_receiver.py" "$port_file" "$RECEIVED" 3 3>&- &
  RECEIVER_PID=$!
  for i in $(seq 1 100); do
    [ -s "$port_file" ] && break
    sleep 0.1
  done
  RECEIVER_PORT=$(cat "$port_file")
  [ -n "$RECEIVER_PORT" ]
}

# crm_kill PID: ends a crm that this shell did not start (SIGTERM, then
# waits for it to be gone, at most 30 s).
crm_kill() {
  kill -TERM "$1" 2>/dev/null || return 0
  local i
  for i in $(seq 1 300); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# eventually SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds,
# for at most SECONDS.
eventually() {
  local deadline=$(( $(date +%s) + $1 ))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "not within the time: $*" >&2; return 1; }
    sleep 0.2
  done
}

# new_webhook URL TYPES-JSON [TOKEN]: registers a webhook with the secret;
# sets status, body.
new_webhook() {
  api_json POST /api/v1/webhooks "${3:-$ADMIN_A}" \
    "$(jq -nc --arg url "$1" --argjson types "$2" --arg secret "$SECRET" \
        '{url: $url, event_types: $types, secret: $secret, description: "政务数据平台"}')"
}

# reported_contract NAME: a project of town A and a formal contract of
# today reported by the bureau; prints the contract's id.
reported_contract() {
  api_json POST /api/v1/projects "$BUREAU" \
    "{\"code\":\"T-WH-$RUN-$1\",\"name\":\"回调测试项目 $1\",\"unit_id\":$UNIT_A,\"investor_id\":$INVESTOR,
      \"leader_id\":$LEADER_ID,\"planned_investment_yuan\":300000000,\"stage\":\"negotiating\"}"
  [ "$status" = 201 ] || { echo "project $1: $status $body" >&2; return 1; }
  local pid
  pid=$(jq -r .id <<<"$body")
  api_json POST /api/v1/contracts "$BUREAU" \
    "{\"project_id\":$pid,\"kind\":\"formal\",\"amount_yuan\":300000000,\"signed_on\":\"$TODAY\",\"evidence\":\"合同 $1\"}"
  [ "$status" = 201 ] || { echo "contract $1: $status $body" >&2; return 1; }
  jq -r .id <<<"$body"
  api_json POST "/api/v1/projects/$pid/transitions" "$BUREAU" '{"to":"signed"}'
  [ "$status" = 200 ] || { echo "signing $1: $status $body" >&2; return 1; }
}

# delivery_state WEBHOOK TYPE STATE: the webhook's delivery of an event of
# TYPE is in STATE (the page is left in body).
delivery_state() {
  api GET "/api/v1/webhooks/$1/deliveries" "$ADMIN_A"
  [ "$status" = 200 ] &&
    jq -e --arg t "$2" --arg s "$3" '[.items[] | select(.event_type == $t and .state == $s)] | length == 1' \
      <<<"$body" >/dev/null
}

# first_attempt_error WEBHOOK ERROR: the webhook's delivery has a first
# attempt that failed with ERROR.
first_attempt_error() {
  api GET "/api/v1/webhooks/$1/deliveries" "$ADMIN_A"
  [ "$status" = 200 ] &&
    jq -e --arg e "$2" '.items[0].attempts[0] | .outcome == "failed" and .error == $e' <<<"$body" >/dev/null
}

# ---- tests ----

@test "only admins register webhooks; a destination outside CRM_WEBHOOK_ALLOW is 422 on url" {
  for t in "$BUREAU" "$TOWN" "$VIEWER"; do
    new_webhook "http://127.0.0.1:$RECEIVER_PORT/hook" '["contract.*"]' "$t"
    refused 403
    api GET /api/v1/webhooks "$t"
    refused 403
  done
  for url in "http://10.20.1.2/hook" "http://127.0.0.2:$RECEIVER_PORT/" "https://hooks.example.org/in" \
             "http://localhost:$RECEIVER_PORT/" "http://169.254.169.254/latest/meta-data/"; do
    new_webhook "$url" '["contract.*"]'
    refused 422 url
    [[ "$body" == *CRM_WEBHOOK_ALLOW* ]]
  done
  for url in "ftp://127.0.0.1/" "127.0.0.1:$RECEIVER_PORT" "http://user:pw@127.0.0.1/" "http://"; do
    new_webhook "$url" '["contract.*"]'
    refused 422 url
  done
  new_webhook "http://127.0.0.1:$RECEIVER_PORT/hook" '["contract.nope"]'
  refused 422 event_types
  new_webhook "http://127.0.0.1:$RECEIVER_PORT/hook" '[]'
  refused 422 event_types
  api_json POST /api/v1/webhooks "$ADMIN_A" \
    "{\"url\":\"http://127.0.0.1:$RECEIVER_PORT/\",\"event_types\":[\"*\"],\"secret\":\"too-short\"}"
  refused 422 secret
  # Nothing was written.
  [ "$(owner_sql "SELECT count(*) FROM webhook WHERE unit_id IN ($UNIT_A, $UNIT_B)")" = 0 ]
}

@test "a webhook is its admin's scope's: another township's admin does not see it; the county's does" {
  new_webhook "http://127.0.0.1:$RECEIVER_PORT/hook" '["contract.*"]'
  [ "$status" = 201 ] || { echo "$status $body" >&2; return 1; }
  id=$(jq -r .id <<<"$body")
  [ "$(jq -r '.unit_id, .active, (.event_types | join(","))' <<<"$body" | tr '\n' ' ')" = "$UNIT_A true contract.* " ]
  [ "$(header Location)" = "/api/v1/webhooks/$id" ]
  api GET "/api/v1/webhooks/$id" "$ADMIN_B"
  refused 404
  api GET "/api/v1/webhooks/$id/deliveries" "$ADMIN_B"
  refused 404
  api GET /api/v1/webhooks "$ADMIN_B"
  [ "$status" = 200 ]
  [ "$(jq "[.items[] | select(.id == $id)] | length" <<<"$body")" = 0 ]
  etag=$(owner_sql "SELECT version FROM webhook WHERE id = $id")
  api_json PATCH "/api/v1/webhooks/$id" "$ADMIN_B" '{"active": false}' -H "If-Match: \"$etag\""
  refused 404
  api DELETE "/api/v1/webhooks/$id" "$ADMIN_B"
  refused 404
  api GET "/api/v1/webhooks?unit_id=$UNIT_A" "$COUNTY_ADMIN"
  [ "$(jq "[.items[] | select(.id == $id)] | length" <<<"$body")" = 1 ]
  api GET "/api/v1/webhooks/$id" "$ADMIN_A"
  [ "$status" = 200 ]
  etag=$(header ETag)
  api_json PATCH "/api/v1/webhooks/$id" "$ADMIN_A" '{"description": "省政务数据共享平台"}' -H "If-Match: $etag"
  [ "$status" = 200 ]
  [ "$(jq -r .description <<<"$body")" = 省政务数据共享平台 ]
  api_json PATCH "/api/v1/webhooks/$id" "$ADMIN_A" '{"url": "http://10.9.9.9/"}' -H "If-Match: $(header ETag)"
  refused 422 url
  api_json PATCH "/api/v1/webhooks/$id" "$ADMIN_A" '{"active": false}' -H "If-Match: $etag"
  refused 412
  api_json PATCH "/api/v1/webhooks/$id" "$ADMIN_A" '{"active": false}'
  refused 428
  [ "$(owner_sql "SELECT active FROM webhook WHERE id = $id")" = t ]
}

@test "a verified contract reaches the receiver after three failures, signed; the log shows four attempts" {
  api GET "/api/v1/webhooks?unit_id=$UNIT_A" "$ADMIN_A"
  id=$(jq -r '.items[0].id' <<<"$body")
  [ "$id" != null ]
  cid=$(reported_contract p1)
  api POST "/api/v1/contracts/$cid/verify" "$VIEWER"
  [ "$status" = 200 ] || { echo "verify: $status $body" >&2; return 1; }
  # crm publishes the events and delivers them by itself.
  eventually 60 delivery_state "$id" contract.verified delivered
  delivery=$(jq -c '.items[] | select(.event_type == "contract.verified")' <<<"$body")
  [ "$(jq -r '.attempts | length' <<<"$delivery")" = 4 ]
  [ "$(jq -r '[.attempts[] | "\(.attempt):\(.outcome):\(.status_code)"] | join(" ")' <<<"$delivery")" = \
    "1:failed:500 2:failed:500 3:failed:500 4:delivered:204" ]
  [ "$(jq -r '.attempt_count, .finished_at != null, .next_attempt_at' <<<"$delivery" | tr '\n' ' ')" = "4 true null " ]
  jq -e '.attempts | all(.duration_ms >= 0 and .error == null)' <<<"$delivery" >/dev/null
  # The backoff doubles: the attempts are at least 200, 400 and 800 ms apart.
  jq -r '.attempts[].at' <<<"$delivery" | python3 -c '
import sys
from datetime import datetime
at = [datetime.fromisoformat(line.strip()) for line in sys.stdin]
gaps = [(b - a).total_seconds() for a, b in zip(at, at[1:])]
sys.exit(0 if all(g >= w for g, w in zip(gaps, [0.2, 0.4, 0.8])) else "gaps %s" % gaps)'
  did=$(jq -r .id <<<"$delivery")
  eid=$(jq -r .event_id <<<"$delivery")
  # The receiver's four copies of it: three answered 500, the last 204.
  got=$(jq -c --arg d "$did" 'select(.delivery == $d)' "$RECEIVED")
  [ "$(jq -r .status <<<"$got" | tr '\n' ' ')" = "500 500 500 204 " ]
  last=$(tail -n 1 <<<"$got")
  [ "$(jq -r '.headers["content-type"]' <<<"$last")" = application/json ]
  [ "$(jq -r '.headers["x-crm-event"]' <<<"$last")" = contract.verified ]
  [ "$(jq -r '.headers["x-crm-delivery"]' <<<"$last")" = "$did" ]
  ts=$(jq -r '.headers["x-crm-timestamp"]' <<<"$last")
  [ $(( $(date +%s) - ts )) -lt 120 ]
  # The signature, recomputed from the secret over "timestamp.body".
  want=$(jq -r '.headers["x-crm-timestamp"] + "." + .body' <<<"$last" | head -c -1 |
    python3 -c 'import hmac, hashlib, sys; print("v1=" + hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' "$SECRET")
  [ "$(jq -r '.headers["x-crm-signature"]' <<<"$last")" = "$want" ]
  # The body is the event.
  event=$(jq -r .body <<<"$last")
  [ "$(jq -r '.id, .type, .entity, .entity_id, .unit_id' <<<"$event" | tr '\n' ' ')" = \
    "$eid contract.verified contract $cid $UNIT_A " ]
  # The report of the contract was delivered too, in the same way.
  eventually 30 delivery_state "$id" contract.reported delivered
  [ "$(jq '[.items[] | select(.event_type == "contract.reported") | .attempts | length] | .[0]' <<<"$body")" = 4 ]
}

@test "the deliveries page is keyset paged, newest first" {
  api GET "/api/v1/webhooks?unit_id=$UNIT_A" "$ADMIN_A"
  id=$(jq -r '.items[0].id' <<<"$body")
  api GET "/api/v1/webhooks/$id/deliveries?limit=1" "$ADMIN_A"
  [ "$status" = 200 ]
  first=$(jq -r '.items[0].id' <<<"$body")
  cursor=$(jq -r .next_cursor <<<"$body")
  [ "$cursor" != null ]
  api GET "/api/v1/webhooks/$id/deliveries?limit=1&cursor=$cursor" "$ADMIN_A"
  [ "$status" = 200 ]
  second=$(jq -r '.items[0].id' <<<"$body")
  [ "$second" -lt "$first" ]
  api GET "/api/v1/webhooks/$id/deliveries?cursor=${cursor}x" "$ADMIN_A"
  refused 400
}

@test "the secret is in no answer: the webhook, the list, the deliveries, the audit log" {
  api GET "/api/v1/webhooks?unit_id=$UNIT_A" "$ADMIN_A"
  id=$(jq -r '.items[0].id' <<<"$body")
  answers=$body
  for path in "/api/v1/webhooks/$id" "/api/v1/webhooks/$id/deliveries" "/api/v1/audit?table=webhook&row_id=$id"; do
    api GET "$path" "$COUNTY_ADMIN"
    [ "$status" = 200 ] || { echo "$path: $status $body" >&2; return 1; }
    answers+=$body
  done
  # The audit records the webhook's creation and its change, the secret redacted.
  jq -e '[.items[] | select(.action == "insert")] | length == 1 and (.[0].after.secret == "[redacted]")' \
    <<<"$body" >/dev/null
  [[ "$answers" != *"$SECRET"* ]]
  grep -qF "$SECRET" "$CRM_OUT" "$CRM_ERR" && return 1
  true
}

@test "a listed name that resolves inside the network is refused when connecting (DNS rebinding)" {
  # localhost is listed by name, no CIDR holds 127.0.0.1 or ::1: the URL is
  # accepted, the address it resolves to is not.
  crm_kill "$CRM_PID"
  CRM_WEBHOOK_ALLOW=localhost CRM_WEBHOOK_BACKOFF_MS=200 crm_start
  echo "$CRM_PID" >"$BATS_FILE_TMPDIR/crm.pid"
  ADMIN_A=$(login "wh.a.$RUN" 'Wh-a-2024')
  BUREAU=$(login "wh.bureau.$RUN" 'Wh-bureau-2024')
  api GET "/api/v1/webhooks?unit_id=$UNIT_A" "$ADMIN_A"
  old=$(jq -r '.items[0].id' <<<"$body")
  api DELETE "/api/v1/webhooks/$old" "$ADMIN_A"
  [ "$status" = 204 ]
  api GET "/api/v1/webhooks/$old" "$ADMIN_A"
  refused 404
  new_webhook "http://localhost:$RECEIVER_PORT/hook" '["contract.reported"]'
  [ "$status" = 201 ] || { echo "$status $body" >&2; return 1; }
  id=$(jq -r .id <<<"$body")
  before=$(wc -l <"$RECEIVED")
  reported_contract p2 >/dev/null
  eventually 60 first_attempt_error "$id" "address not allowed"
  [ "$(jq -r '.items[0].attempts[0].status_code' <<<"$body")" = null ]
  [ "$(wc -l <"$RECEIVED")" = "$before" ]
  api DELETE "/api/v1/webhooks/$id" "$ADMIN_A"
  [ "$status" = 204 ]
}
