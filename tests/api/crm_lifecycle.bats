#!/usr/bin/env bats
# The project lifecycle of DESIGN.md section 3, through the API only: one
# project taken from lead to full capacity with its claims verified by the
# assessment office, then each rule of the section attacked through the
# routes (transitions, project PATCH, contracts, starts, verify, revoke,
# delete). Every refusal is checked to have changed nothing: the project
# row, its claims and its audit trail are fingerprinted before and after.
#
# Records are this file's own (codes T-LC-<run>-...), in 西社镇; the demo
# data in the same database is never counted on.

load helpers

setup_file() {
  crm_env
  make_user lc.bureau bureau sx.yc.js 'Lc-bureau-2024'
  make_user lc.bureau2 bureau sx.yc.js 'Lc-bureau2-2024'
  make_user lc.viewer viewer sx.yc.js 'Lc-viewer-2024'
  make_user lc.leader leader sx.yc.js 'Lc-leader-2024'
  make_user lc.leader2 leader sx.yc.js 'Lc-leader2-2024'
  make_user lc.admin admin sx.yc.js 'Lc-admin-2024'
  make_user lc.xishe unit sx.yc.js.xishe 'Lc-xishe-2024'
  make_user lc.turncoat unit sx.yc.js.xishe 'Lc-turncoat-2024'
  crm_start
  BUREAU=$(login lc.bureau 'Lc-bureau-2024')
  BUREAU2=$(login lc.bureau2 'Lc-bureau2-2024')
  VIEWER=$(login lc.viewer 'Lc-viewer-2024')
  LEADER=$(login lc.leader 'Lc-leader-2024')
  ADMIN=$(login lc.admin 'Lc-admin-2024')
  XISHE=$(login lc.xishe 'Lc-xishe-2024')
  BUREAU_ID=$(user_id lc.bureau)
  VIEWER_ID=$(user_id lc.viewer)
  LEADER_ID=$(user_id lc.leader)
  XISHE_UNIT=$(unit_id sx.yc.js.xishe)
  # Unique per run, so that the file can run twice on one database.
  RUN=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  # Dates relative to the database's today (Asia/Shanghai).
  read -r TODAY TOMORROW D40 D30 D25 D20 D15 D10 D5 D3 <<<"$(owner_sql "SELECT crm_today(), crm_today() + 1,
      crm_today() - 40, crm_today() - 30, crm_today() - 25, crm_today() - 20, crm_today() - 15,
      crm_today() - 10, crm_today() - 5, crm_today() - 3" | tr '|' ' ')"
  # One investor for the projects of this file.
  api_json POST /api/v1/investors "$BUREAU" \
    "{\"name\":\"生命周期测试客商 $RUN\",\"unit_id\":$XISHE_UNIT,\"industry\":\"煤焦油深加工\"}"
  [ "$status" = 201 ] || { echo "investor: $status $body" >&2; return 1; }
  INVESTOR=$(jq -r .id <<<"$body")
  export CRM_URL CRM_PID CRM_OUT CRM_ERR BUREAU BUREAU2 VIEWER LEADER ADMIN XISHE BUREAU_ID VIEWER_ID \
    LEADER_ID XISHE_UNIT RUN TODAY TOMORROW D40 D30 D25 D20 D15 D10 D5 D3 INVESTOR
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# ---- helpers ----

# new_project NAME [JQ-FILTER] [TOKEN]: creates a signable project (unit,
# investor, leader, amount) in 西社镇, the filter editing the body first;
# prints its id.
new_project() {
  local code="T-LC-$RUN-$1" filter=${2:-.} token=${3:-$BUREAU} json
  json=$(jq -nc --arg code "$code" --argjson unit "$XISHE_UNIT" --argjson inv "$INVESTOR" \
    --argjson leader "$LEADER_ID" \
    "{code: \$code, name: (\"生命周期测试项目 \" + \$code), unit_id: \$unit, investor_id: \$inv,
      leader_id: \$leader, planned_investment_yuan: 300000000, industry_chain: \"焦化\"} | $filter")
  api_json POST /api/v1/projects "$token" "$json"
  [ "$status" = 201 ] || { echo "create $code: $status $body" >&2; return 1; }
  jq -r .id <<<"$body"
}

# move ID TO [ON] [REASON] [curl args...]: a transition; sets status, body, headers.
move() {
  local id=$1 to=$2 on=${3:-} reason=${4:-}
  shift $(( $# < 4 ? $# : 4 ))
  local json
  json=$(jq -nc --arg to "$to" --arg on "$on" --arg reason "$reason" \
    '{to: $to} + (if $on != "" then {on: $on} else {} end) + (if $reason != "" then {reason: $reason} else {} end)')
  api_json POST "/api/v1/projects/$id/transitions" "$BUREAU" "$json" "$@"
}

# moved ID TO [ON]: a transition that must succeed.
moved() {
  move "$@"
  [ "$status" = 200 ] || { echo "transition of $1 to $2: $status $body" >&2; return 1; }
  [ "$(jq -r .stage <<<"$body")" = "$2" ]
}

# contract PROJECT KIND DATE [AMOUNT] [TOKEN]: reports a contract; sets status, body.
contract() {
  api_json POST /api/v1/contracts "${5:-$BUREAU}" \
    "{\"project_id\":$1,\"kind\":\"$2\",\"amount_yuan\":${4:-300000000},\"signed_on\":\"$3\",\"evidence\":\"合同扫描件 $2 $3\"}"
}

# start PROJECT DATE [TOKEN]: reports a start; sets status, body.
start() {
  api_json POST /api/v1/starts "${3:-$BUREAU}" \
    "{\"project_id\":$1,\"started_on\":\"$2\",\"evidence\":\"开工现场照片 $2\"}"
}

# signed_project NAME: a project taken to signed with a formal contract of
# D30; prints "project_id contract_id".
signed_project() {
  local pid cid
  pid=$(new_project "$1")
  moved "$pid" negotiating > /dev/null
  contract "$pid" formal "$D30"
  [ "$status" = 201 ] || { echo "contract: $status $body" >&2; return 1; }
  cid=$(jq -r .id <<<"$body")
  moved "$pid" signed > /dev/null
  echo "$pid $cid"
}

# state PROJECT: the project's row, its claims and its audit trail, as one
# fingerprint (what a refused call must leave alone).
state() {
  owner_sql "SELECT p.version, p.stage, p.signed_on, p.started_on, p.production_on, p.capacity_on,
                    p.stalled_from, p.terminated_reason, p.leader_id, p.investor_id,
                    p.planned_investment_yuan, p.name, p.updated_at,
                    (SELECT string_agg(concat_ws(':', c.id, c.kind, c.amount_yuan, c.signed_on, c.evidence,
                                                 c.version, c.verified_by, c.revoked_at, c.revoke_reason), ','
                                       ORDER BY c.id) FROM contract c WHERE c.project_id = p.id),
                    (SELECT string_agg(concat_ws(':', s.id, s.started_on, s.evidence, s.version,
                                                 s.verified_by, s.revoked_at, s.revoke_reason), ','
                                       ORDER BY s.id) FROM project_start s WHERE s.project_id = p.id),
                    (SELECT count(*) FROM audit_log a WHERE a.project_id = p.id)
               FROM project p WHERE p.id = $1"
}

etag_of() {
  api GET "$1" "$BUREAU"
  header ETag
}

# ---- the happy path ----

@test "the claims lifecycle end to end: lead to full capacity, claims verified by the assessment office, history" {
  # An investor and a project with a leader, through the API.
  api_json POST /api/v1/investors "$BUREAU" \
    "{\"name\":\"山西全程测试新材料有限公司 $RUN\",\"unit_id\":$XISHE_UNIT,\"origin_region\":\"山西太原\",\"industry\":\"新材料\",\"chain_role\":\"supporting\"}"
  [ "$status" = 201 ]
  inv=$(jq -r .id <<<"$body")
  code="T-LC-$RUN-happy"
  api_json POST /api/v1/projects "$BUREAU" "$(jq -nc --arg code "$code" --argjson u "$XISHE_UNIT" \
    --argjson inv "$inv" --argjson l "$LEADER_ID" \
    '{code: $code, name: "全程测试：年产5万吨针状焦项目", unit_id: $u, investor_id: $inv, leader_id: $l,
      planned_investment_yuan: 800000000, is_key: true, industry_chain: "焦化", park: "西社园区",
      five_one: {"包联领导": "lc.leader", "工作专班": "针状焦项目专班"}}')" -H 'X-Request-Id: lc-happy-create'
  [ "$status" = 201 ]
  pid=$(jq -r .id <<<"$body")
  [ "$(header Location)" = "/api/v1/projects/$pid" ]
  [ "$(header ETag)" = '"1"' ]
  [ "$(jq -r '[.stage, .leader_id, .investor_id, .is_key] | join(",")' <<<"$body")" = "lead,$LEADER_ID,$inv,true" ]

  moved "$pid" negotiating "" "" -H 'X-Request-Id: lc-happy-negotiating'
  [ "$(header ETag)" = "\"$(jq -r .version <<<"$body")\"" ]

  # The formal contract, then signed: signed_on is the contract's date.
  contract "$pid" formal "$D30" 800000000
  [ "$status" = 201 ]
  [ "$(jq -r '[.state, .reported_by] | join(",")' <<<"$body")" = "reported,$BUREAU_ID" ]
  cid=$(jq -r .id <<<"$body")
  moved "$pid" signed "" "" -H 'X-Request-Id: lc-happy-signed'
  [ "$(jq -r .signed_on <<<"$body")" = "$D30" ]

  # The start claim, then started.
  start "$pid" "$D20"
  [ "$status" = 201 ]
  sid=$(jq -r .id <<<"$body")
  moved "$pid" started
  [ "$(jq -r .started_on <<<"$body")" = "$D20" ]

  # The assessment office verifies both claims; their reporter cannot.
  api POST "/api/v1/starts/$sid/verify" "$BUREAU"
  refused 409
  [ "$(owner_sql "SELECT verified_by IS NULL FROM project_start WHERE id = $sid")" = t ]
  api POST "/api/v1/contracts/$cid/verify" "$VIEWER" -H 'X-Request-Id: lc-happy-verify-contract'
  [ "$status" = 200 ]
  [ "$(jq -r '[.state, .verified_by, .reported_by] | join(",")' <<<"$body")" = "verified,$VIEWER_ID,$BUREAU_ID" ]
  [ "$(header ETag)" = "\"$(jq -r .version <<<"$body")\"" ]
  api POST "/api/v1/starts/$sid/verify" "$VIEWER"
  [ "$status" = 200 ]
  [ "$(jq -r '[.state, .verified_by] | join(",")' <<<"$body")" = "verified,$VIEWER_ID" ]

  # Production and full capacity on the dates given.
  moved "$pid" in_production "$D10"
  [ "$(jq -r .production_on <<<"$body")" = "$D10" ]
  moved "$pid" at_capacity "$D5" "" -H 'X-Request-Id: lc-happy-capacity'
  [ "$(jq -r .capacity_on <<<"$body")" = "$D5" ]

  # A capital increase on the signed (now producing) project.
  contract "$pid" capital_increase "$D3" 120000000
  [ "$status" = 201 ]
  [ "$(jq -r '[.kind, .state, .amount_yuan] | join(",")' <<<"$body")" = "capital_increase,reported,120000000" ]

  api GET "/api/v1/projects/$pid" "$XISHE"
  [ "$status" = 200 ]
  [ "$(jq -r '[.stage, .signed_on, .started_on, .production_on, .capacity_on] | join(",")' <<<"$body")" = \
    "at_capacity,$D30,$D20,$D10,$D5" ]
  api GET "/api/v1/contracts?project_id=$pid" "$XISHE"
  [ "$(jq -c '[.items[] | [.kind, .state]]' <<<"$body")" = '[["formal","verified"],["capital_increase","reported"]]' ]
  api GET "/api/v1/starts?project_id=$pid" "$XISHE"
  [ "$(jq -c '[.items[] | [.id, .state]]' <<<"$body")" = "[[$sid,\"verified\"]]" ]

  # The history: every change, oldest first, with its actor and request id.
  api GET "/api/v1/projects/$pid/history" "$XISHE"
  [ "$status" = 200 ]
  h=$body
  [ "$(jq '[.items[] | select(.actor_id == null or (.request_id // "") == "")] | length' <<<"$h")" = 0 ]
  [ "$(jq '[.items[].id] == ([.items[].id] | sort)' <<<"$h")" = true ]
  [ "$(jq -r --arg r lc-happy-create '.items[] | select(.request_id == $r and .table == "project") | [.action, .actor_id] | join(",")' <<<"$h")" = "insert,$BUREAU_ID" ]
  [ "$(jq -r --arg r lc-happy-negotiating '.items[] | select(.request_id == $r) | .after.stage' <<<"$h")" = negotiating ]
  [ "$(jq -r --arg r lc-happy-signed '.items[] | select(.request_id == $r) | [.actor_id, .after.stage, .after.signed_on] | join(",")' <<<"$h")" = \
    "$BUREAU_ID,signed,$D30" ]
  [ "$(jq -r --arg r lc-happy-verify-contract '.items[] | select(.request_id == $r) | [.table, .row_id, .actor_id, .after.verified_by] | join(",")' <<<"$h")" = \
    "contract,$cid,$VIEWER_ID,$VIEWER_ID" ]
  [ "$(jq -r --arg r lc-happy-capacity '.items[] | select(.request_id == $r) | .after.stage' <<<"$h")" = at_capacity ]
  # The stages in the order they were reached.
  [ "$(jq -r '[.items[] | select(.table == "project" and .after.stage != null) | .after.stage] | join(",")' <<<"$h")" = \
    "lead,negotiating,signed,started,in_production,at_capacity" ]
  [ "$(jq '[.items[] | select(.table == "project_start" and .action == "insert")] | length' <<<"$h")" = 1 ]
}

# ---- no stage is skipped ----

@test "no stage is skipped on the way up, and a signed project does not go back; nothing changes" {
  pid=$(new_project skip)
  before=$(state "$pid")
  for to in negotiating signed started in_production at_capacity; do
    [ "$to" = negotiating ] && continue
    move "$pid" "$to" "$D5"
    refused 422
  done
  [ "$(state "$pid")" = "$before" ]
  moved "$pid" negotiating
  before=$(state "$pid")
  for to in started in_production at_capacity; do
    move "$pid" "$to" "$D5"
    refused 422
  done
  [ "$(state "$pid")" = "$before" ]
  # Signed: no jump to production, and no way back down.
  contract "$pid" formal "$D30"
  [ "$status" = 201 ]
  moved "$pid" signed
  before=$(state "$pid")
  for to in in_production at_capacity negotiating lead planned; do
    move "$pid" "$to" "$D5"
    refused 422
  done
  [ "$(state "$pid")" = "$before" ]
  # Nor from planned straight to negotiating.
  pid=$(new_project planned '.stage = "planned"')
  before=$(state "$pid")
  move "$pid" negotiating
  refused 422
  [ "$(state "$pid")" = "$before" ]
  moved "$pid" lead
  moved "$pid" negotiating
  # A project is never created past negotiating.
  for stage in signed started in_production at_capacity stalled terminated; do
    api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-LC-$RUN-born-$stage\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT,\"stage\":\"$stage\"}"
    refused 422 stage
  done
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code LIKE 'T-LC-$RUN-born-%'")" = 0 ]
}

# names_to: the last answer's first error is on "to", the one field of a
# transition request that says where the project goes.
names_to() {
  [ "$(jq -r '.errors[0].field' <<<"$body")" = to ] || { echo "wanted errors[0].field \"to\": $body" >&2; return 1; }
}

@test "a refused transition names the field of the request, 'to'" {
  pid=$(new_project field)
  move "$pid" signed               # a skipped stage
  refused 422
  names_to
  moved "$pid" negotiating
  move "$pid" signed               # no formal contract
  refused 422
  names_to
  move "$pid" started              # a skipped stage again
  refused 422
  names_to
}

# ---- signed only with a formal contract ----

@test "signed only with a live formal contract: an intent is not enough, nor a withdrawn formal one, nor a capital increase" {
  pid=$(new_project formal)
  moved "$pid" negotiating
  contract "$pid" intent "$D30"
  [ "$status" = 201 ]
  before=$(state "$pid")
  move "$pid" signed
  refused 422
  [ "$(state "$pid")" = "$before" ]
  # A capital increase is for a signed project only.
  contract "$pid" capital_increase "$D30"
  refused 422 kind
  [ "$(state "$pid")" = "$before" ]
  # A formal contract withdrawn (revoked) before verification does not sign.
  contract "$pid" formal "$D25"
  [ "$status" = 201 ]
  withdrawn=$(jq -r .id <<<"$body")
  api_json POST "/api/v1/contracts/$withdrawn/revoke" "$BUREAU" '{"reason":"对方撤回签约"}'
  [ "$status" = 200 ]
  [ "$(jq -r .state <<<"$body")" = revoked ]
  before=$(state "$pid")
  move "$pid" signed
  refused 422
  [ "$(state "$pid")" = "$before" ]
  # Two live formal contracts: signed on the earlier one.
  contract "$pid" formal "$D20"
  [ "$status" = 201 ]
  contract "$pid" formal "$D30"
  [ "$status" = 201 ]
  basis=$(jq -r .id <<<"$body")
  moved "$pid" signed
  [ "$(jq -r .signed_on <<<"$body")" = "$D30" ]
  # The contract the signing rests on cannot be re-kinded, re-dated or deleted.
  before=$(state "$pid")
  etag=$(etag_of "/api/v1/contracts/$basis")
  for patch in '{"kind":"intent"}' "{\"signed_on\":\"$D25\"}"; do
    api_json PATCH "/api/v1/contracts/$basis" "$BUREAU" "$patch" -H "If-Match: $etag"
    refused 422
  done
  api DELETE "/api/v1/contracts/$basis" "$BUREAU"
  refused 422
  [ "$(state "$pid")" = "$before" ]
}

# ---- started only after signed ----

@test "started only after signed: no start claim before signing or before the signing date, no start without a claim" {
  pid=$(new_project start)
  moved "$pid" negotiating
  before=$(state "$pid")
  start "$pid" "$D20"
  refused 422 started_on
  [ "$(state "$pid")" = "$before" ]
  contract "$pid" formal "$D30"
  [ "$status" = 201 ]
  moved "$pid" signed
  before=$(state "$pid")
  move "$pid" started
  refused 422
  start "$pid" "$D40"                # before signed_on
  refused 422 started_on
  [ "$(state "$pid")" = "$before" ]
  start "$pid" "$D20"
  [ "$status" = 201 ]
  sid=$(jq -r .id <<<"$body")
  # Not moved before the signing either, once reported.
  before=$(state "$pid")
  etag=$(etag_of "/api/v1/starts/$sid")
  api_json PATCH "/api/v1/starts/$sid" "$BUREAU" "{\"started_on\":\"$D40\"}" -H "If-Match: $etag"
  refused 422 started_on
  # One live start claim per project.
  start "$pid" "$D15"
  [ "$status" = 409 ] || refused 422
  [ "$(state "$pid")" = "$before" ]
  moved "$pid" started
  [ "$(jq -r .started_on <<<"$body")" = "$D20" ]
  # The claim the stage rests on is not re-dated or deleted.
  before=$(state "$pid")
  etag=$(etag_of "/api/v1/starts/$sid")
  api_json PATCH "/api/v1/starts/$sid" "$BUREAU" "{\"started_on\":\"$D15\"}" -H "If-Match: $etag"
  refused 422
  api DELETE "/api/v1/starts/$sid" "$BUREAU"
  refused 422
  [ "$(state "$pid")" = "$before" ]
}

# ---- dates ----

@test "dates are monotonic and never in the future; a PATCH cannot carry the stage or a lifecycle date" {
  pid=$(new_project dates)
  moved "$pid" negotiating
  before=$(state "$pid")
  contract "$pid" formal "$TOMORROW"
  refused 422 signed_on
  [ "$(state "$pid")" = "$before" ]
  contract "$pid" formal "$D30"
  [ "$status" = 201 ]
  cid=$(jq -r .id <<<"$body")
  # Not re-dated into the future either (while it is only reported).
  contract "$pid" intent "$D30"
  intent=$(jq -r .id <<<"$body")
  before=$(state "$pid")
  api_json PATCH "/api/v1/contracts/$intent" "$BUREAU" "{\"signed_on\":\"$TOMORROW\"}" -H "If-Match: $(etag_of "/api/v1/contracts/$intent")"
  refused 422 signed_on
  [ "$(state "$pid")" = "$before" ]
  moved "$pid" signed
  start "$pid" "$TOMORROW"
  refused 422 started_on
  start "$pid" "$D20"
  [ "$status" = 201 ]
  moved "$pid" started
  before=$(state "$pid")
  move "$pid" in_production "$TOMORROW"
  refused 422
  move "$pid" in_production "$D25"          # before started_on
  refused 422
  [ "$(state "$pid")" = "$before" ]
  moved "$pid" in_production "$D10"
  before=$(state "$pid")
  move "$pid" at_capacity "$D15"            # before production_on
  refused 422
  move "$pid" at_capacity "$TOMORROW"
  refused 422
  [ "$(state "$pid")" = "$before" ]
  moved "$pid" at_capacity "$D10"           # the same day is fine
  # A PATCH never carries the stage or a lifecycle date.
  before=$(state "$pid")
  etag=$(etag_of "/api/v1/projects/$pid")
  for f in stage:'"lead"' signed_on:"\"$D5\"" started_on:"\"$D5\"" production_on:"\"$D5\"" \
    capacity_on:"\"$D5\"" stalled_from:'"lead"' terminated_reason:'"x"' version:7 code:'"T-LC-renamed"'; do
    api_json PATCH "/api/v1/projects/$pid" "$BUREAU" "{\"${f%%:*}\":${f#*:}}" -H "If-Match: $etag"
    refused 422 "${f%%:*}"
  done
  [ "$(state "$pid")" = "$before" ]
}

# ---- what signing needs ----

@test "to be signed a project needs a unit, a leader, an investor and a positive amount" {
  for missing in leader_id investor_id planned_investment_yuan; do
    pid=$(new_project "needs-${missing%%_*}" "del(.$missing)")
    moved "$pid" negotiating
    contract "$pid" formal "$D30"
    [ "$status" = 201 ]
    before=$(state "$pid")
    move "$pid" signed
    refused 422
    [ "$(state "$pid")" = "$before" ]
    # Given what it lacked, it signs: the refusal was that rule.
    case $missing in
      leader_id) fix="{\"leader_id\":$LEADER_ID}" ;;
      investor_id) fix="{\"investor_id\":$INVESTOR}" ;;
      *) fix='{"planned_investment_yuan":50000000}' ;;
    esac
    api_json PATCH "/api/v1/projects/$pid" "$BUREAU" "$fix" -H "If-Match: $(etag_of "/api/v1/projects/$pid")"
    [ "$status" = 200 ]
    moved "$pid" signed
  done
  # No amount that is not positive, no leader who is not a leader.
  for bad in 0 -5; do
    api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-LC-$RUN-amount$bad\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT,\"planned_investment_yuan\":$bad}"
    refused 422 planned_investment_yuan
  done
  for who in "$BUREAU_ID" "$VIEWER_ID" 999999999; do
    api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-LC-$RUN-leader$who\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT,\"leader_id\":$who}"
    refused 422 leader_id
  done
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code LIKE 'T-LC-$RUN-amount%' OR code LIKE 'T-LC-$RUN-leader%'")" = 0 ]
  # A signed project keeps its leader, investor and amount.
  out=$(signed_project keeps)
  read -r pid _ <<<"$out"
  before=$(state "$pid")
  etag=$(etag_of "/api/v1/projects/$pid")
  for patch in '{"leader_id":null}' '{"investor_id":null}' '{"planned_investment_yuan":null}' \
    '{"planned_investment_yuan":0}' "{\"leader_id\":$BUREAU_ID}" '{"unit_id":null}'; do
    api_json PATCH "/api/v1/projects/$pid" "$BUREAU" "$patch" -H "If-Match: $etag"
    refused 422
  done
  [ "$(state "$pid")" = "$before" ]
}

@test "a leader who lost the leader role cannot carry a signing" {
  make_user lc.leader3 leader sx.yc.js 'Lc-leader3-2024'
  pid=$(new_project exleader ".leader_id = $(user_id lc.leader3)")
  moved "$pid" negotiating
  contract "$pid" formal "$D30"
  [ "$status" = 201 ]
  make_user lc.leader3 bureau sx.yc.js 'Lc-leader3-2024'
  before=$(state "$pid")
  move "$pid" signed
  refused 422
  [ "$(state "$pid")" = "$before" ]
  make_user lc.leader3 leader sx.yc.js 'Lc-leader3-2024'
  moved "$pid" signed
}

@test "a visit to a project whose leader has since been disabled is logged: progress, not an edit of the project" {
  make_user lc.leader4 leader sx.yc.js 'Lc-leader4-2024'
  pid=$(new_project offleader ".leader_id = $(user_id lc.leader4)")
  api GET "/api/v1/users/$(user_id lc.leader4)" "$ADMIN"
  api_json PATCH "/api/v1/users/$(user_id lc.leader4)" "$ADMIN" '{"disabled":true}' -H "If-Match: $(header ETag)"
  [ "$status" = 200 ] || { echo "disable: $status $body" >&2; return 1; }
  before=$(owner_sql "SELECT version, last_progress_at, (SELECT count(*) FROM audit_log WHERE project_id = $pid) FROM project WHERE id = $pid")
  api_json POST /api/v1/interactions "$XISHE" \
    "{\"unit_id\":$XISHE_UNIT,\"project_id\":$pid,\"kind\":\"site_visit\",\"occurred_on\":\"$TODAY\",\"summary\":\"包联领导调整后的走访\"}"
  [ "$status" = 201 ] || { echo "visit: $status $body" >&2; return 1; }
  after=$(owner_sql "SELECT version, last_progress_at, (SELECT count(*) FROM audit_log WHERE project_id = $pid) FROM project WHERE id = $pid")
  # The same version and the project's own audit trail unchanged but for the
  # visit's row; the progress moved.
  IFS='|' read -r v0 t0 a0 <<<"$before"; IFS='|' read -r v1 t1 a1 <<<"$after"
  [ "$v1" = "$v0" ]
  [ "$t1" != "$t0" ]
  [ "$a1" = $((a0 + 1)) ]
  # Its line of the township's ledger, exported and imported back, changes
  # nothing: the disabled leader it names is the project's own.
  curl -s -H "Authorization: Bearer $XISHE" "$CRM_URL/api/v1/exports/projects.csv" -o "$BATS_TEST_TMPDIR/xishe.csv"
  { head -n 1 "$BATS_TEST_TMPDIR/xishe.csv"; grep -F "\"T-LC-$RUN-offleader\"" "$BATS_TEST_TMPDIR/xishe.csv"; } \
    > "$BATS_TEST_TMPDIR/offleader.csv"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/offleader.csv")" = 2 ]
  api POST /api/v1/imports/projects "$XISHE" -H 'Content-Type: text/csv' --data-binary "@$BATS_TEST_TMPDIR/offleader.csv"
  [ "$status" = 200 ] || { echo "import: $status $body" >&2; return 1; }
  [ "$(jq -r '[.unchanged, .created, .updated, .rejected] | join(" ")' <<<"$body")" = "1 0 0 0" ] || { echo "$body" >&2; return 1; }
  [ "$(owner_sql "SELECT version FROM project WHERE id = $pid")" = "$v1" ]
  # An edit of the project itself still checks its leader.
  api GET "/api/v1/projects/$pid" "$BUREAU"
  api_json PATCH "/api/v1/projects/$pid" "$BUREAU" '{"name":"生命周期测试项目 改名"}' -H "If-Match: $(header ETag)"
  refused 422 leader_id
  # The leader back, for the files that export and import every project.
  api GET "/api/v1/users/$(user_id lc.leader4)" "$ADMIN"
  api_json PATCH "/api/v1/users/$(user_id lc.leader4)" "$ADMIN" '{"disabled":false}' -H "If-Match: $(header ETag)"
  [ "$status" = 200 ]
}

# ---- verified claims ----

@test "a verified claim cannot be edited or deleted, only revoked with a reason, and the revocation is in the history" {
  out=$(signed_project verified)
  read -r pid cid <<<"$out"
  start "$pid" "$D20"
  sid=$(jq -r .id <<<"$body")
  moved "$pid" started
  api POST "/api/v1/contracts/$cid/verify" "$VIEWER"
  [ "$status" = 200 ]
  api POST "/api/v1/starts/$sid/verify" "$VIEWER"
  [ "$status" = 200 ]
  before=$(state "$pid")
  # Edits, by the bureau (who may edit a reported claim), each refused.
  etag=$(etag_of "/api/v1/contracts/$cid")
  for patch in '{"amount_yuan":1}' '{"evidence":"改过的证据"}' "{\"signed_on\":\"$D25\"}" '{"kind":"intent"}'; do
    api_json PATCH "/api/v1/contracts/$cid" "$BUREAU" "$patch" -H "If-Match: $etag"
    refused 422
  done
  etag=$(etag_of "/api/v1/starts/$sid")
  for patch in '{"evidence":"改过的证据"}' "{\"started_on\":\"$D15\"}"; do
    api_json PATCH "/api/v1/starts/$sid" "$BUREAU" "$patch" -H "If-Match: $etag"
    refused 422
  done
  api DELETE "/api/v1/contracts/$cid" "$BUREAU"
  refused 422
  api DELETE "/api/v1/starts/$sid" "$BUREAU"
  refused 422
  # A revocation needs a reason.
  for bad in '{}' '{"reason":""}' '{"reason":"   "}' '{"reason":42}'; do
    api_json POST "/api/v1/contracts/$cid/revoke" "$VIEWER" "$bad"
    refused 422 reason
    api_json POST "/api/v1/starts/$sid/revoke" "$VIEWER" "$bad"
    refused 422 reason
  done
  api POST "/api/v1/contracts/$cid/revoke" "$VIEWER"
  refused 400
  [ "$(state "$pid")" = "$before" ]

  # Revoked with a reason: shown, and in the history with actor and request.
  api_json POST "/api/v1/contracts/$cid/revoke" "$VIEWER" '{"reason":"合同系伪造，撤销认定"}' -H 'X-Request-Id: lc-revoke-contract'
  [ "$status" = 200 ]
  [ "$(jq -r '[.state, .revoked_by, .revoke_reason] | join(",")' <<<"$body")" = "revoked,$VIEWER_ID,合同系伪造，撤销认定" ]
  [ "$(jq -r .verified_by <<<"$body")" = "$VIEWER_ID" ]
  api_json POST "/api/v1/starts/$sid/revoke" "$BUREAU" '{"reason":"开工不实"}' -H 'X-Request-Id: lc-revoke-start'
  [ "$status" = 200 ]
  [ "$(jq -r '[.state, .revoked_by, .revoke_reason] | join(",")' <<<"$body")" = "revoked,$BUREAU_ID,开工不实" ]
  api GET "/api/v1/projects/$pid/history" "$XISHE"
  [ "$status" = 200 ]
  [ "$(jq -r '.items[] | select(.request_id == "lc-revoke-contract") | [.table, .row_id, .action, .actor_id, .after.revoke_reason] | join(",")' <<<"$body")" = \
    "contract,$cid,update,$VIEWER_ID,合同系伪造，撤销认定" ]
  [ "$(jq -r '.items[] | select(.request_id == "lc-revoke-start") | [.table, .row_id, .actor_id, .after.revoke_reason] | join(",")' <<<"$body")" = \
    "project_start,$sid,$BUREAU_ID,开工不实" ]
  api GET "/api/v1/contracts/$cid" "$XISHE"
  [ "$(jq -r .state <<<"$body")" = revoked ]

  # A revoked claim does not come back: not verified, revoked, edited or deleted again.
  before=$(state "$pid")
  api POST "/api/v1/contracts/$cid/verify" "$BUREAU2"
  refused 409
  api_json POST "/api/v1/contracts/$cid/revoke" "$VIEWER" '{"reason":"再撤一次"}'
  refused 409
  api_json PATCH "/api/v1/contracts/$cid" "$BUREAU" '{"evidence":"复活"}' -H "If-Match: $(etag_of "/api/v1/contracts/$cid")"
  refused 422
  api DELETE "/api/v1/contracts/$cid" "$BUREAU"
  refused 422
  [ "$(state "$pid")" = "$before" ]
  # Counted figures show only what is verified and not revoked.
  api GET "/api/v1/contracts?project_id=$pid&state=verified" "$XISHE"
  [ "$(jq '.items | length' <<<"$body")" = 0 ]
  api GET "/api/v1/contracts?project_id=$pid&state=revoked" "$XISHE"
  [ "$(jq -c '[.items[].id]' <<<"$body")" = "[$cid]" ]
}

@test "a claim only reported can still be corrected and withdrawn (the refusals above are the rule)" {
  out=$(signed_project reported)
  read -r pid _ <<<"$out"
  contract "$pid" capital_increase "$D10" 10000000
  [ "$status" = 201 ]
  kid=$(jq -r .id <<<"$body")
  [ "$(header ETag)" = '"1"' ]
  api_json PATCH "/api/v1/contracts/$kid" "$BUREAU" '{"amount_yuan":20000000,"evidence":"增资协议（更正）"}' -H 'If-Match: "1"'
  [ "$status" = 200 ]
  [ "$(header ETag)" = '"2"' ]
  [ "$(jq -r '[.amount_yuan, .evidence] | join(",")' <<<"$body")" = "20000000,增资协议（更正）" ]
  api DELETE "/api/v1/contracts/$kid" "$BUREAU"
  [ "$status" = 204 ]
  api GET "/api/v1/contracts/$kid" "$BUREAU"
  [ "$status" = 404 ]
}

# ---- who verifies ----

@test "the reporter cannot verify (409), a unit user, a leader or an admin may not (403), a viewer and another bureau user can" {
  out=$(signed_project verifiers)
  read -r pid cid <<<"$out"
  before=$(state "$pid")
  api POST "/api/v1/contracts/$cid/verify" "$BUREAU"      # the reporter
  refused 409
  for token in "$XISHE" "$LEADER" "$ADMIN"; do
    api POST "/api/v1/contracts/$cid/verify" "$token"
    refused 403
  done
  [ "$(state "$pid")" = "$before" ]
  api POST "/api/v1/contracts/$cid/verify" "$BUREAU2"
  [ "$status" = 200 ]
  [ "$(jq -r .verified_by <<<"$body")" = "$(user_id lc.bureau2)" ]
  # Verified once: a second verification is a conflict.
  before=$(state "$pid")
  api POST "/api/v1/contracts/$cid/verify" "$VIEWER"
  refused 409
  [ "$(state "$pid")" = "$before" ]

  # A start reported by the township itself: verified by the assessment office.
  start "$pid" "$D20" "$XISHE"
  [ "$status" = 201 ]
  sid=$(jq -r .id <<<"$body")
  [ "$(jq -r .reported_by <<<"$body")" = "$(user_id lc.xishe)" ]
  api POST "/api/v1/starts/$sid/verify" "$XISHE"
  refused 403
  api POST "/api/v1/starts/$sid/verify" "$VIEWER"
  [ "$status" = 200 ]
  [ "$(jq -r '[.state, .verified_by] | join(",")' <<<"$body")" = "verified,$VIEWER_ID" ]
}

@test "the reporter cannot verify even after becoming a verifier" {
  turncoat=$(login lc.turncoat 'Lc-turncoat-2024')
  out=$(signed_project turncoat)
  read -r pid _ <<<"$out"
  contract "$pid" capital_increase "$D10" 5000000 "$turncoat"
  [ "$status" = 201 ]
  kid=$(jq -r .id <<<"$body")
  make_user lc.turncoat viewer sx.yc.js.xishe 'Lc-turncoat-2024'
  turncoat=$(login lc.turncoat 'Lc-turncoat-2024')
  before=$(state "$pid")
  api POST "/api/v1/contracts/$kid/verify" "$turncoat"
  refused 409
  [ "$(state "$pid")" = "$before" ]
  api GET "/api/v1/contracts/$kid" "$turncoat"
  [ "$(jq -r .state <<<"$body")" = reported ]
}

# ---- side states ----

@test "terminated needs a reason and is final; a stalled project resumes at its own stage" {
  pid=$(new_project terminated)
  moved "$pid" negotiating
  before=$(state "$pid")
  move "$pid" terminated
  refused 422 reason
  move "$pid" terminated "" ""
  refused 422 reason
  api_json POST "/api/v1/projects/$pid/transitions" "$BUREAU" '{"to":"terminated","reason":""}'
  refused 422 reason
  api_json POST "/api/v1/projects/$pid/transitions" "$BUREAU" '{"to":"terminated","reason":"   "}'
  refused 422
  [ "$(state "$pid")" = "$before" ]
  moved "$pid" terminated "" "客商转投外省"
  [ "$(jq -r .terminated_reason <<<"$body")" = 客商转投外省 ]
  before=$(state "$pid")
  for to in lead negotiating planned stalled; do
    move "$pid" "$to"
    refused 422
  done
  [ "$(state "$pid")" = "$before" ]

  pid=$(new_project stalled)
  moved "$pid" negotiating
  moved "$pid" stalled
  [ "$(jq -r .stalled_from <<<"$body")" = negotiating ]
  before=$(state "$pid")
  contract "$pid" formal "$D30"
  [ "$status" = 201 ]
  before=$(state "$pid")
  move "$pid" signed
  refused 422
  move "$pid" lead
  refused 422
  [ "$(state "$pid")" = "$before" ]
  moved "$pid" negotiating
  [ "$(jq -r .stalled_from <<<"$body")" = null ]
  moved "$pid" signed
}
