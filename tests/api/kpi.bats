#!/usr/bin/env bats
# Targets, quotas, the KPI figures, alerts and scores of DESIGN.md section 5,
# through the API: targets and quotas set by an administrator (and refused
# to everyone else, and when the quotas do not cover), the figures of a
# unit, the county and the ranking after claims reported and verified
# through the API, each figure computed by hand here, as of today and as of
# yesterday (before the verifications), a town's view of its own scorecard
# and of the county, the alerts, the score rules and the month-end snapshot.
#
# The file works in a county of its own, created here (codes sx.yc.k<run>),
# with two towns and a township, so that the demo data never counts:
#   甲镇 (A): P1 formal 5亿 verified, started and verified the same year;
#             P2 formal 3亿 verified, not started (its planned start passed);
#             P3 intent 1亿 verified (never counts), formal 2亿 only reported.
#   乙镇 (B): P4 formal 8亿 verified, started and verified.
#   丙乡 (C): nothing.
#   P5 in A: negotiating, 9亿 expected to sign by the year's end (the
#             forecast counts it at 50%, the negotiating stage's chance).
# Targets: the county 20亿, 4 projects, 70%; quotas A 12亿/2/70%, B 8亿/2/70%.
# The snapshot test adds a town of its own (丁镇) with a contract loaded
# with its history (verified last month), so as not to move these figures.

load helpers

setup_file() {
  crm_env
  RUN=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  COUNTY_CODE="sx.yc.k$RUN"
  owner_sql "INSERT INTO unit (parent_id, code, name, kind)
             SELECT id, '$COUNTY_CODE', '考核测试县$RUN', 'county' FROM unit WHERE code = 'sx.yc'" >/dev/null
  owner_sql "INSERT INTO unit (parent_id, code, name, kind)
             SELECT c.id, v.code, v.name, v.kind FROM unit c,
                    (VALUES ('$COUNTY_CODE.a', '甲镇$RUN', 'town'), ('$COUNTY_CODE.b', '乙镇$RUN', 'town'),
                            ('$COUNTY_CODE.c', '丙乡$RUN', 'township')) v (code, name, kind)
              WHERE c.code = '$COUNTY_CODE'" >/dev/null
  COUNTY=$(unit_id "$COUNTY_CODE")
  UNIT_A=$(unit_id "$COUNTY_CODE.a")
  UNIT_B=$(unit_id "$COUNTY_CODE.b")
  UNIT_C=$(unit_id "$COUNTY_CODE.c")
  for r in admin bureau viewer leader; do
    make_user "kpi.$r.$RUN" "$r" "$COUNTY_CODE" "Kpi-$r-2024"
  done
  make_user "kpi.a.$RUN" unit "$COUNTY_CODE.a" 'Kpi-a-2024'
  make_user "kpi.b.$RUN" unit "$COUNTY_CODE.b" 'Kpi-b-2024'
  crm_start
  ADMIN=$(login "kpi.admin.$RUN" 'Kpi-admin-2024')
  BUREAU=$(login "kpi.bureau.$RUN" 'Kpi-bureau-2024')
  VIEWER=$(login "kpi.viewer.$RUN" 'Kpi-viewer-2024')
  LEADER=$(login "kpi.leader.$RUN" 'Kpi-leader-2024')
  TOWN_A=$(login "kpi.a.$RUN" 'Kpi-a-2024')
  TOWN_B=$(login "kpi.b.$RUN" 'Kpi-b-2024')
  LEADER_ID=$(user_id "kpi.leader.$RUN")
  # The year of the database's today (Asia/Shanghai), and dates early in it
  # (never after today).
  read -r Y TODAY YESTERDAY D1 D2 D3 <<<"$(owner_sql "SELECT extract(year FROM d)::int, d, d - 1,
      least(j + 1, d), least(j + 2, d), least(j + 3, d)
      FROM (SELECT crm_today() AS d, date_trunc('year', crm_today())::date AS j) t" | tr '|' ' ')"
  api_json POST /api/v1/investors "$BUREAU" \
    "{\"name\":\"考核测试客商 $RUN\",\"unit_id\":$COUNTY,\"industry\":\"新材料\"}"
  [ "$status" = 201 ] || { echo "investor: $status $body" >&2; return 1; }
  INVESTOR=$(jq -r .id <<<"$body")
  export CRM_URL CRM_PID CRM_OUT CRM_ERR RUN COUNTY_CODE COUNTY UNIT_A UNIT_B UNIT_C ADMIN BUREAU VIEWER \
    LEADER TOWN_A TOWN_B LEADER_ID Y TODAY YESTERDAY D1 D2 D3 INVESTOR

  # The claims of the header, reported by the bureau, verified by the
  # assessment office (viewer), all through the API.
  P1=$(new_project p1 "$UNIT_A")
  signed "$P1" 500000000 && started "$P1"
  P2=$(new_project p2 "$UNIT_A" "{planned_start_on: \"$D2\"}")
  signed "$P2" 300000000
  P3=$(new_project p3 "$UNIT_A")
  contract "$P3" intent "$D1" 100000000
  verify contracts "$(jq -r .id <<<"$body")"
  contract "$P3" formal "$D2" 200000000
  [ "$status" = 201 ] || { echo "P3 formal: $status $body" >&2; return 1; }
  P4=$(new_project p4 "$UNIT_B")
  signed "$P4" 800000000 && started "$P4"
  P5=$(new_project p5 "$UNIT_A" "{expected_sign_on: \"$Y-12-31\"}")
  export P1 P2 P3 P4 P5
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# ---- helpers ----

# new_project NAME UNIT [JQ-OBJECT]: a project in negotiation, signable (an
# investor, a leader, an amount); prints its id.
new_project() {
  local json
  json=$(jq -nc --arg code "T-KPI-$RUN-$1" --argjson unit "$2" --argjson inv "$INVESTOR" \
    --argjson leader "$LEADER_ID" "{code: \$code, name: (\"考核测试项目 \" + \$code), unit_id: \$unit,
      investor_id: \$inv, leader_id: \$leader, planned_investment_yuan: 900000000, stage: \"negotiating\"}
      + ${3:-{\}}")
  api_json POST /api/v1/projects "$BUREAU" "$json"
  [ "$status" = 201 ] || { echo "project $1: $status $body" >&2; return 1; }
  jq -r .id <<<"$body"
}

# contract PROJECT KIND DATE AMOUNT: reports a contract; sets status, body.
contract() {
  api_json POST /api/v1/contracts "$BUREAU" \
    "{\"project_id\":$1,\"kind\":\"$2\",\"amount_yuan\":$4,\"signed_on\":\"$3\",\"evidence\":\"合同 $2 $3\"}"
}

# verify contracts|starts ID: the assessment office verifies a claim.
verify() {
  api POST "/api/v1/$1/$2/verify" "$VIEWER"
  [ "$status" = 200 ] || { echo "verify $1 $2: $status $body" >&2; return 1; }
}

# signed PROJECT AMOUNT: a formal contract of D1, verified; the project signed.
signed() {
  contract "$1" formal "$D1" "$2"
  [ "$status" = 201 ] || { echo "contract of $1: $status $body" >&2; return 1; }
  local cid
  cid=$(jq -r .id <<<"$body")
  api_json POST "/api/v1/projects/$1/transitions" "$BUREAU" '{"to":"signed"}'
  [ "$status" = 200 ] || { echo "signing $1: $status $body" >&2; return 1; }
  verify contracts "$cid"
}

# started PROJECT: a start of D3, verified; the project started.
started() {
  api_json POST /api/v1/starts "$BUREAU" "{\"project_id\":$1,\"started_on\":\"$D3\",\"evidence\":\"开工照片\"}"
  [ "$status" = 201 ] || { echo "start of $1: $status $body" >&2; return 1; }
  local sid
  sid=$(jq -r .id <<<"$body")
  api_json POST "/api/v1/projects/$1/transitions" "$BUREAU" '{"to":"started"}'
  [ "$status" = 200 ] || { echo "starting $1: $status $body" >&2; return 1; }
  verify starts "$sid"
}

# is JQ-PATH VALUE: the last body's member equals VALUE (numbers within 1e-6).
is() {
  jq -e --arg v "$2" "($1) as \$x | if (\$x | type) == \"number\" then ((\$x - (\$v | tonumber)) | fabs) < 0.000001
                       else (\$x | tostring) == \$v end" <<<"$body" >/dev/null ||
    { echo "$1: wanted $2, got $(jq -c "$1" <<<"$body")" >&2; return 1; }
}

# The county's targets and the towns' quotas of the header (idempotent), for
# the year Y or the one given.
standard_targets() {
  local year=${1:-$Y}
  api_json PUT "/api/v1/targets/$year" "$ADMIN" \
    "{\"targets\":[{\"unit_id\":$COUNTY,\"signing_amount_yuan\":2000000000,\"signed_count\":4,\"start_rate\":0.7}]}"
  [ "$status" = 200 ] || { echo "targets: $status $body" >&2; return 1; }
  api_json PUT "/api/v1/targets/$year/quotas" "$ADMIN" "{\"parent_unit_id\":$COUNTY,\"quotas\":[
    {\"unit_id\":$UNIT_A,\"signing_amount_yuan\":1200000000,\"signed_count\":2,\"start_rate\":0.7},
    {\"unit_id\":$UNIT_B,\"signing_amount_yuan\":800000000,\"signed_count\":2,\"start_rate\":0.7}]}"
  [ "$status" = 200 ] || { echo "quotas: $status $body" >&2; return 1; }
}

# targets_state: the test county's target rows, as one fingerprint.
targets_state() {
  owner_sql "SELECT string_agg(concat_ws(':', t.unit_id, coalesce(t.parent_unit_id::text, '-'), t.signing_amount_yuan, t.signed_count,
                                         t.start_rate, t.version), ',' ORDER BY t.unit_id)
               FROM target t WHERE t.year = $Y AND t.unit_path @> ARRAY[$COUNTY::bigint]"
}

# Time progress on TODAY: the day of the year over the days of the year.
time_progress() {
  local day days
  day=$(date -d "$TODAY" +%-j)
  days=$(date -d "$Y-12-31" +%-j)
  awk -v a="$day" -v b="$days" 'BEGIN { printf "%.6f", a / b }'
}

# ---- targets and quotas ----

@test "targets and quotas: set by an administrator, read back, refused when the quotas do not cover" {
  [ "$(targets_state)" = "" ]
  api_json PUT "/api/v1/targets/$Y" "$ADMIN" \
    "{\"targets\":[{\"unit_id\":$COUNTY,\"signing_amount_yuan\":2000000000,\"signed_count\":4,\"start_rate\":0.7}]}"
  [ "$status" = 200 ]
  is ".year" "$Y"
  is ".targets | length" 1
  is ".targets[0].unit_id" "$COUNTY"
  is ".targets[0].parent_unit_id" null
  is ".targets[0].signing_amount_yuan" 2000000000
  is ".targets[0].signed_count" 4
  is ".targets[0].start_rate" 0.7
  is ".targets[0].version" 1
  # A town sees its county's target.
  api GET "/api/v1/targets/$Y" "$TOWN_A"
  [ "$status" = 200 ]
  is ".targets[0].unit_id" "$COUNTY"

  # Quotas that fall short of the county's amount: 422 naming "quotas", nothing stored.
  api_json PUT "/api/v1/targets/$Y/quotas" "$ADMIN" "{\"parent_unit_id\":$COUNTY,\"quotas\":[
    {\"unit_id\":$UNIT_A,\"signing_amount_yuan\":1000000000,\"signed_count\":2,\"start_rate\":0.7},
    {\"unit_id\":$UNIT_B,\"signing_amount_yuan\":800000000,\"signed_count\":2,\"start_rate\":0.7}]}"
  refused 422 quotas
  # Enough money and projects, but too few starts implied (2×0.7 + 2×0.6 < 4×0.7).
  api_json PUT "/api/v1/targets/$Y/quotas" "$ADMIN" "{\"parent_unit_id\":$COUNTY,\"quotas\":[
    {\"unit_id\":$UNIT_A,\"signing_amount_yuan\":1200000000,\"signed_count\":2,\"start_rate\":0.7},
    {\"unit_id\":$UNIT_B,\"signing_amount_yuan\":800000000,\"signed_count\":2,\"start_rate\":0.6}]}"
  refused 422 quotas
  api GET "/api/v1/targets/$Y/quotas?parent_unit_id=$COUNTY" "$ADMIN"
  [ "$status" = 200 ]
  is ".quotas" "[]"
  [ "$(targets_state)" = "$COUNTY:-:2000000000:4:0.7000:1" ]

  # Quotas that cover exactly.
  standard_targets
  is ".parent_unit_id" "$COUNTY"
  is "[.quotas[] | [.unit_id, .parent_unit_id, .signing_amount_yuan, .signed_count]] | tostring" \
    "[[$UNIT_A,$COUNTY,1200000000,2],[$UNIT_B,$COUNTY,800000000,2]]"
  api GET "/api/v1/targets/$Y/quotas" "$TOWN_B"
  [ "$status" = 200 ]
  is "[.quotas[].unit_id] | tostring" "[$UNIT_A,$UNIT_B]"
  before=$(targets_state)

  # Raising the county's target past what the quotas cover: 422 naming the figure.
  api_json PUT "/api/v1/targets/$Y" "$ADMIN" \
    "{\"targets\":[{\"unit_id\":$COUNTY,\"signing_amount_yuan\":2500000000,\"signed_count\":4,\"start_rate\":0.7}]}"
  refused 422 'targets[0].signing_amount_yuan'
  [ "$(targets_state)" = "$before" ]
  # A quota for a unit that is not a direct child.
  api_json PUT "/api/v1/targets/$Y/quotas" "$ADMIN" "{\"parent_unit_id\":$UNIT_A,\"quotas\":[
    {\"unit_id\":$UNIT_B,\"signing_amount_yuan\":1200000000,\"signed_count\":2,\"start_rate\":0.7}]}"
  refused 422 'quotas[0].unit_id'
  [ "$(targets_state)" = "$before" ]
  # Shapes: each field named with its place in the list.
  api_json PUT "/api/v1/targets/$Y" "$ADMIN" \
    "{\"targets\":[{\"unit_id\":$COUNTY,\"signing_amount_yuan\":-1,\"signed_count\":4,\"start_rate\":1.5,\"x\":1}]}"
  refused 422 'targets[0].signing_amount_yuan'
  refused 422 'targets[0].start_rate'
  refused 422 'targets[0].x'
  api_json PUT "/api/v1/targets/$Y" "$ADMIN" "{\"targets\":[{\"unit_id\":$COUNTY}]}"
  refused 422 'targets[0].signed_count'
  api_json PUT "/api/v1/targets/$Y" "$ADMIN" '{}'
  refused 422 targets
  api_json PUT "/api/v1/targets/$Y" "$ADMIN" "{\"targets\":[{\"unit_id\":$COUNTY,\"signing_amount_yuan\":1,\"signed_count\":1,\"start_rate\":0.12345}]}"
  refused 422 'targets[0].start_rate'
  api_json PUT /api/v1/targets/20x4 "$ADMIN" '{"targets":[]}'
  refused 400
  api GET "/api/v1/targets/$Y/quotas?parent_unit_id=abc" "$ADMIN"
  refused 400
  [ "$(targets_state)" = "$before" ]

  # Only administrators change targets and quotas (403, nothing changed).
  for t in "$BUREAU" "$VIEWER" "$LEADER" "$TOWN_A"; do
    api_json PUT "/api/v1/targets/$Y" "$t" \
      "{\"targets\":[{\"unit_id\":$COUNTY,\"signing_amount_yuan\":1,\"signed_count\":1,\"start_rate\":0.5}]}"
    refused 403
    api_json PUT "/api/v1/targets/$Y/quotas" "$t" "{\"parent_unit_id\":$COUNTY,\"quotas\":[]}"
    refused 403
  done
  [ "$(targets_state)" = "$before" ]

  # The same targets again change nothing, not even the versions.
  standard_targets
  [ "$(targets_state)" = "$before" ]
  # Each change is in the audit.
  [ "$(owner_sql "SELECT count(*) FROM audit_log WHERE table_name = 'target' AND unit_id IN ($COUNTY, $UNIT_A, $UNIT_B)")" -ge 3 ]
}

# ---- the figures ----

@test "a unit's figures, verified and reported, computed by hand, and as of yesterday" {
  standard_targets
  tp=$(time_progress)
  api GET "/api/v1/stats/units/$UNIT_A?year=$Y" "$ADMIN"
  [ "$status" = 200 ]
  is .unit.id "$UNIT_A"
  is .year "$Y"
  is .as_of "$TODAY"
  is .time_progress "$tp"
  is .target.signing_amount_yuan 1200000000
  # Verified: P1 5亿 + P2 3亿 (P3's intent never counts, its formal is only reported).
  is .verified.signing_amount_yuan 800000000
  is .verified.signed_count 2
  is .verified.started_count 1
  is .verified.signed_amount_yuan 800000000
  is .verified.started_amount_yuan 500000000
  is .verified.start_rate 0.5
  is .verified.start_rate_by_amount 0.625
  is .verified.signing_progress 0.666667
  # 0.7 × 2 signed = 1.4 starts needed, 1 made: one more.
  is .verified.needed_starts 1
  is .verified.behind "$(awk -v t="$tp" 'BEGIN { print (800000000 / 1200000000 < t) ? "true" : "false" }')"
  # Reported: P3's formal 2亿 too.
  is .reported.signing_amount_yuan 1000000000
  is .reported.signed_count 3
  is .reported.started_count 1
  is .reported.start_rate 0.333333
  # The forecast: 8亿 verified + P5's 9亿 expected this year × 0.5 (negotiating).
  is .forecast_yuan 1250000000
  is .forecast_under_target false

  # The county: both towns.
  api GET "/api/v1/stats/units/$COUNTY?year=$Y" "$ADMIN"
  [ "$status" = 200 ]
  is .verified.signing_amount_yuan 1600000000
  is .verified.signed_count 3
  is .verified.started_count 2
  is .verified.start_rate 0.666667
  is .verified.start_rate_by_amount 0.8125
  is .verified.signing_progress 0.8
  is .verified.needed_starts 1
  is .reported.signing_amount_yuan 1800000000
  is .reported.signed_count 4
  is .forecast_yuan 2050000000
  is .forecast_under_target false

  # A unit with nothing signed: the rate is null, not 0.
  api GET "/api/v1/stats/units/$UNIT_C?year=$Y" "$ADMIN"
  [ "$status" = 200 ]
  is .verified.signed_count 0
  is .verified.start_rate null
  is .verified.start_rate_by_amount null
  is .target null

  # As of yesterday, before every claim of this file was verified (or reported).
  api GET "/api/v1/stats/units/$UNIT_A?year=$Y&as_of=$YESTERDAY" "$ADMIN"
  [ "$status" = 200 ]
  is .as_of "$YESTERDAY"
  is .verified.signing_amount_yuan 0
  is .verified.signed_count 0
  is .verified.start_rate null
  is .reported.signing_amount_yuan 0

  # Query parameters: the one at fault is named.
  api GET "/api/v1/stats/units/$UNIT_A" "$ADMIN"
  refused 400
  [[ "$(jq -r .detail <<<"$body")" == *"'year'"* ]]
  api GET "/api/v1/stats/units/$UNIT_A?year=$Y&as_of=$Y-02-30" "$ADMIN"
  refused 400
  [[ "$(jq -r .detail <<<"$body")" == *"'as_of'"* ]]
  api GET "/api/v1/stats/units/$UNIT_A?year=12" "$ADMIN"
  refused 400
  api GET "/api/v1/stats/units/0?year=$Y" "$ADMIN"
  refused 404
}

@test "the ranking of the county's units: by signing progress, then start rate" {
  standard_targets
  api GET "/api/v1/stats/ranking?year=$Y&parent=$COUNTY" "$ADMIN"
  [ "$status" = 200 ]
  is .year "$Y"
  is .parent.unit.id "$COUNTY"
  # B has met its quota (100%), A is at 66.7%, C has no target: last.
  is "[.units[] | [.unit.id, .rank]] | tostring" "[[$UNIT_B,1],[$UNIT_A,2],[$UNIT_C,3]]"
  is ".units[0].signing_progress" 1
  is ".units[1].signing_progress" 0.666667
  is ".units[1].start_rate" 0.5
  is ".units[2].signing_progress" null
  # A town sees the county's table (its county is the default parent).
  api GET "/api/v1/stats/ranking?year=$Y" "$TOWN_A"
  [ "$status" = 200 ]
  is .parent.unit.id "$COUNTY"
  is "[.units[].unit.id] | tostring" "[$UNIT_B,$UNIT_A,$UNIT_C]"
  api GET "/api/v1/stats/ranking?year=$Y&parent=x" "$ADMIN"
  refused 400
}

@test "a town sees its own scorecard and the county's figures, never another town's" {
  standard_targets
  api GET "/api/v1/units/$UNIT_A/scorecard?year=$Y" "$TOWN_A"
  [ "$status" = 200 ]
  # Its projects name their 包联 leader, a county user the town cannot list.
  names=$(jq -r --argjson l "$LEADER_ID" '[.. | objects | select(.leader_id? == $l) | .leader_name] | unique | join(",")' <<<"$body")
  [ "$names" = "kpi.leader.$RUN" ] || { echo "leader names on the scorecard: '$names'" >&2; false; }
  api GET "/api/v1/stats/units/$UNIT_A?year=$Y" "$TOWN_A"
  [ "$status" = 200 ]
  is .verified.signing_amount_yuan 800000000
  api GET "/api/v1/stats/units/$COUNTY?year=$Y" "$TOWN_A"
  [ "$status" = 200 ]
  is .verified.signing_amount_yuan 1600000000
  api GET "/api/v1/stats/units/$UNIT_B?year=$Y" "$TOWN_A"
  refused 404
  api GET "/api/v1/units/$UNIT_B/scorecard?year=$Y" "$TOWN_A"
  refused 404
  # Nor a unit outside the county (the demo's county).
  api GET "/api/v1/stats/units/$(unit_id sx.yc.js)?year=$Y" "$TOWN_A"
  refused 404
  api GET "/api/v1/stats/units/$(unit_id sx.yc.js)?year=$Y" "$ADMIN"
  refused 404
}

# crm keeps each unit's figures between requests (api/stats_cache.c) with
# the generation of the figures they were computed at; PostgreSQL reads the
# generation with every request (migration 0018). Every worker is made to
# hold a copy (several requests: the kernel spreads connections over the
# workers), then the figures are changed in ways crm does not see: straight
# in the database, by another role, and by an API call on a claim.
@test "the figures crm keeps between requests follow every change, made through crm or not" {
  standard_targets
  copies() {  # copies UNIT TOKEN: reads the figures 6 times; the last body stays in $body
    local i first=
    for i in 1 2 3 4 5 6; do
      api GET "/api/v1/stats/units/$1?year=$Y" "$2"
      [ "$status" = 200 ] || { echo "figures of $1: $status $body" >&2; return 1; }
      [ -z "$first" ] && first=$body
      [ "$body" = "$first" ] || { echo "two answers in a row differ: $first / $body" >&2; return 1; }
    done
  }
  same_as_postgresql() {  # the last answer is kpi_json computed now, by PostgreSQL
    local want
    want=$(owner_sql "SELECT kpi_json($1, $Y, crm_today())::text")
    [ "$(jq -S . <<<"$body")" = "$(jq -S . <<<"$want")" ] ||
      { echo "crm: $body" >&2; echo "PostgreSQL: $want" >&2; return 1; }
  }
  copies "$COUNTY" "$ADMIN"
  same_as_postgresql "$COUNTY"
  target=$(jq -r .target.signing_amount_yuan <<<"$body")
  # A change written in the database, not through crm.
  owner_sql "UPDATE target SET signing_amount_yuan = signing_amount_yuan + 1
              WHERE unit_id = $COUNTY AND year = $Y AND parent_unit_id IS NULL" >/dev/null
  copies "$COUNTY" "$ADMIN"
  is .target.signing_amount_yuan "$((target + 1))"
  same_as_postgresql "$COUNTY"
  # Set back through the API (PUT /targets), on whichever worker.
  standard_targets
  copies "$COUNTY" "$ADMIN"
  is .target.signing_amount_yuan "$target"
  same_as_postgresql "$COUNTY"
  # A unit renamed in the database: its name in the figures follows.
  owner_sql "UPDATE unit SET name = name || '改' WHERE id = $COUNTY" >/dev/null
  copies "$COUNTY" "$TOWN_A"
  same_as_postgresql "$COUNTY"
  owner_sql "UPDATE unit SET name = left(name, -1) WHERE id = $COUNTY" >/dev/null
  # The pipeline moved in the database (P5's amount, counted at 50%): the forecast follows.
  forecast=$(jq -r .forecast_yuan <<<"$body")
  owner_sql "UPDATE project SET planned_investment_yuan = planned_investment_yuan + 2
              WHERE unit_id = $UNIT_A AND stage = 'negotiating'" >/dev/null
  copies "$COUNTY" "$ADMIN"
  is .forecast_yuan "$((forecast + 1))"
  same_as_postgresql "$COUNTY"
  owner_sql "UPDATE project SET planned_investment_yuan = planned_investment_yuan - 2
              WHERE unit_id = $UNIT_A AND stage = 'negotiating'" >/dev/null
  copies "$COUNTY" "$ADMIN"
  is .forecast_yuan "$forecast"
  # What a copy holds never reaches a caller who may not see the unit.
  copies "$UNIT_B" "$ADMIN"
  for i in 1 2 3 4 5 6; do
    api GET "/api/v1/stats/units/$UNIT_B?year=$Y" "$TOWN_A"
    refused 404
  done
}

# ---- alerts ----

@test "alerts: the overdue start, the units behind time, the county's forecast; filters and pages" {
  standard_targets
  tp=$(time_progress)
  api GET "/api/v1/alerts?year=$Y" "$ADMIN"
  [ "$status" = 200 ]
  all=$body
  # P2 was signed and planned to start on D2, and has not started: red.
  if [[ "$D2" < "$TODAY" ]]; then
    jq -e --argjson p "$P2" --argjson u "$UNIT_A" \
      '[.items[] | select(.kind == "not_started" and .project_id == $p and .unit_id == $u and .level == "red")] | length == 1' \
      <<<"$all" >/dev/null
  fi
  # P1 and P4 started; P3's formal contract is only reported: no alert of theirs.
  [ "$(jq --argjson a "$P1" --argjson b "$P4" --argjson c "$P3" \
        '[.items[] | select(.project_id == $a or .project_id == $b or .project_id == $c)] | length' <<<"$all")" = 0 ]
  # A (8亿 of 12亿) and the county (16亿 of 20亿) are behind time progress
  # exactly when their progress is under it; B (8亿 of 8亿) never is.
  for u in "$UNIT_A:0.666667" "$COUNTY:0.8" "$UNIT_B:1"; do
    want=$(awk -v p="${u#*:}" -v t="$tp" 'BEGIN { print (p < t) ? 1 : 0 }')
    [ "$(jq --argjson u "${u%%:*}" '[.items[] | select(.kind == "behind_time_progress" and .unit_id == $u)] | length' \
          <<<"$all")" = "$want" ]
  done
  # The forecast covers the county's target (16亿 + 9亿 × 0.5): no alert.
  [ "$(jq '[.items[] | select(.kind == "forecast_under_target")] | length' <<<"$all")" = 0 ]
  # Red first.
  [ "$(jq '[.items[].level] | . == (map(select(. == "red")) + map(select(. != "red")))' <<<"$all")" = true ]

  # A page at a time: the same alerts, in the same order (how many there
  # are depends on the date: late in the year, at least P2's and A's).
  n=$(jq '.items | length' <<<"$all")
  api GET "/api/v1/alerts?year=$Y&limit=1" "$ADMIN"
  [ "$status" = 200 ]
  pages=$(jq -c '.items' <<<"$body")
  cursor=$(jq -r .next_cursor <<<"$body")
  [ "$n" -le 1 ] || [ "$cursor" != null ]
  while [ "$cursor" != null ]; do
    last=$cursor
    api GET "/api/v1/alerts?year=$Y&limit=1&cursor=$cursor" "$ADMIN"
    [ "$status" = 200 ]
    pages=$(jq -c --argjson p "$pages" '$p + .items' <<<"$body")
    cursor=$(jq -r .next_cursor <<<"$body")
  done
  [ "$pages" = "$(jq -c .items <<<"$all")" ]
  if [ -n "${last:-}" ]; then
    tampered=${last%?}$([ "${last: -1}" = A ] && echo B || echo A)
    api GET "/api/v1/alerts?year=$Y&limit=1&cursor=$tampered" "$ADMIN"
    refused 400
  fi
  # A cursor of another list.
  api GET "/api/v1/users?limit=1" "$ADMIN"
  api GET "/api/v1/alerts?year=$Y&cursor=$(jq -r .next_cursor <<<"$body")" "$ADMIN"
  refused 400

  # Filters.
  api GET "/api/v1/alerts?year=$Y&level=yellow" "$ADMIN"
  [ "$status" = 200 ]
  [ "$(jq '[.items[] | select(.level != "yellow")] | length' <<<"$body")" = 0 ]
  api GET "/api/v1/alerts?year=$Y&kind=not_started&unit_id=$UNIT_A" "$TOWN_A"
  [ "$status" = 200 ]
  [ "$(jq '[.items[] | select(.kind != "not_started" or .unit_id != '"$UNIT_A"')] | length' <<<"$body")" = 0 ]
  for q in kind=late level=orange unit_id=0 year=1999 limit=201; do
    api GET "/api/v1/alerts?$q" "$ADMIN"
    refused 400
    [[ "$(jq -r .detail <<<"$body")" == *"'${q%%=*}'"* ]]
  done
  # A town sees its own alerts only; another town's unit_id gives nothing.
  api GET "/api/v1/alerts?year=$Y" "$TOWN_B"
  [ "$status" = 200 ]
  [ "$(jq --argjson u "$UNIT_B" '[.items[] | select(.unit_id != $u)] | length' <<<"$body")" = 0 ]
  api GET "/api/v1/alerts?year=$Y&unit_id=$UNIT_A" "$TOWN_B"
  [ "$status" = 200 ]
  [ "$(jq '.items | length' <<<"$body")" = 0 ]

  # Without P5's expected signing (PATCH expected_sign_on: null), the
  # county's forecast (16亿) falls under its target: a red alert.
  api GET "/api/v1/projects/$P5" "$BUREAU"
  api_json PATCH "/api/v1/projects/$P5" "$BUREAU" '{"expected_sign_on":null}' -H "If-Match: $(header ETag)"
  [ "$status" = 200 ]
  is .expected_sign_on null
  api GET "/api/v1/stats/units/$COUNTY?year=$Y" "$ADMIN"
  is .forecast_yuan 1600000000
  is .forecast_under_target true
  api GET "/api/v1/alerts?year=$Y&kind=forecast_under_target" "$ADMIN"
  [ "$(jq -c --argjson u "$COUNTY" '[.items[] | [.unit_id, .level]]' <<<"$body")" = "[[$COUNTY,\"red\"]]" ]
  api GET "/api/v1/projects/$P5" "$BUREAU"
  api_json PATCH "/api/v1/projects/$P5" "$BUREAU" "{\"expected_sign_on\":\"$Y-12-31\"}" -H "If-Match: $(header ETag)"
  [ "$status" = 200 ]
  is .expected_sign_on "$Y-12-31"
  api_json PATCH "/api/v1/projects/$P5" "$BUREAU" '{"expected_sign_on":"31/12"}' -H 'If-Match: "1"'
  refused 422 expected_sign_on
}

# ---- scores ----

@test "score rules: read by everyone, replaced by administrators only, checked field by field" {
  year=2099
  api GET "/api/v1/scores/rules/$year" "$TOWN_A"
  [ "$status" = 200 ]
  is .year "$year"
  for k in signing_weight start_rate_weight signing_cap start_rate_cap overdue_deduction falsified_deduction; do
    jq -e --arg k "$k" '.rules[$k] | type == "number"' <<<"$body" >/dev/null
  done
  api_json PUT "/api/v1/scores/rules/$year" "$ADMIN" '{"rules":{"signing_weight":70,"start_rate_weight":30,"overdue_deduction":0.5}}'
  [ "$status" = 200 ]
  is .rules.signing_weight 70
  is .rules.start_rate_weight 30
  is .rules.overdue_deduction 0.5
  # Left out: the defaults.
  is .rules.signing_cap 1
  is .rules.falsified_deduction 0.2
  is .is_default false
  version=$(jq -r .version <<<"$body")
  [ "$(header ETag)" = "\"$version\"" ]
  api GET "/api/v1/scores/rules/$year" "$VIEWER"
  [ "$status" = 200 ]
  is .rules.signing_weight 70
  [ "$(header ETag)" = "\"$version\"" ]

  for t in "$BUREAU" "$VIEWER" "$LEADER" "$TOWN_A"; do
    api_json PUT "/api/v1/scores/rules/$year" "$t" '{"rules":{"signing_weight":1}}'
    refused 403
  done
  api_json PUT "/api/v1/scores/rules/$year" "$ADMIN" '{"rules":{"signing_cap":0}}'
  refused 422 rules.signing_cap
  api_json PUT "/api/v1/scores/rules/$year" "$ADMIN" '{"rules":{"bonus":1,"start_rate_weight":"40"}}'
  refused 422 rules.bonus
  refused 422 rules.start_rate_weight
  api_json PUT "/api/v1/scores/rules/$year" "$ADMIN" '{"signing_weight":60}'
  refused 422 rules
  api_json PUT /api/v1/scores/rules/1999 "$ADMIN" '{"rules":{}}'
  refused 400
  api GET "/api/v1/scores/rules/$year" "$ADMIN"
  is .version "$version"
  is .rules.signing_weight 70
}

@test "month-end snapshots: frozen once, never changed by a later revocation" {
  # Last month, which has ended.
  read -r SY SM MONTH_END FIRST <<<"$(owner_sql "SELECT extract(year FROM m)::int, extract(month FROM m)::int,
      (m + interval '1 month - 1 day')::date, m::date
      FROM (SELECT date_trunc('month', crm_today()) - interval '1 month' AS m) t" | tr '|' ' ')"
  # A town of its own, with a quota, and a contract of last month loaded
  # with its history (reported on its first day, verified the next).
  owner_sql "INSERT INTO unit (parent_id, code, name, kind) SELECT id, '$COUNTY_CODE.d', '丁镇$RUN', 'town'
               FROM unit WHERE code = '$COUNTY_CODE'" >/dev/null
  UNIT_D=$(unit_id "$COUNTY_CODE.d")
  standard_targets "$SY"
  api_json PUT "/api/v1/targets/$SY/quotas" "$ADMIN" "{\"parent_unit_id\":$COUNTY,\"quotas\":[
    {\"unit_id\":$UNIT_A,\"signing_amount_yuan\":1200000000,\"signed_count\":2,\"start_rate\":0.7},
    {\"unit_id\":$UNIT_B,\"signing_amount_yuan\":800000000,\"signed_count\":2,\"start_rate\":0.7},
    {\"unit_id\":$UNIT_D,\"signing_amount_yuan\":300000000,\"signed_count\":1,\"start_rate\":1}]}"
  [ "$status" = 200 ]
  p6=$(new_project p6 "$UNIT_D")
  c6=$(owner_sql "INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by, reported_at)
                  VALUES ($p6, 'formal', 300000000, '$FIRST', '历史合同', $(user_id "kpi.bureau.$RUN"),
                          '$FIRST 10:00+08') RETURNING id" | head -n 1)
  owner_sql "UPDATE contract SET verified_by = $(user_id "kpi.viewer.$RUN"), verified_at = '$FIRST 10:00+08'::timestamptz + interval '1 day'
              WHERE id = $c6" >/dev/null

  # Only the assessment office or an admin freezes; a month not ended is refused.
  api_json POST /api/v1/scores/snapshots "$BUREAU" "{\"year\":$SY,\"month\":$SM}"
  refused 403
  api_json POST /api/v1/scores/snapshots "$TOWN_A" "{\"year\":$SY,\"month\":$SM}"
  refused 403
  api_json POST /api/v1/scores/snapshots "$VIEWER" "{\"year\":$Y,\"month\":12}"
  refused 422 month
  api_json POST /api/v1/scores/snapshots "$VIEWER" "{\"year\":$SY,\"month\":13}"
  refused 422 month
  api_json POST /api/v1/scores/snapshots "$VIEWER" "{\"year\":1999,\"month\":1}"
  refused 422 year

  api_json POST /api/v1/scores/snapshots "$VIEWER" "{\"year\":$SY,\"month\":$SM}"
  [ "$status" = 201 ]
  is .as_of "$MONTH_END"
  # The county and its three units with a quota; D: 3亿 of 3亿, nothing started.
  is "[.items[].unit.id] | sort | tostring" "$(jq -nc --argjson a "[$COUNTY,$UNIT_A,$UNIT_B,$UNIT_D]" '$a | sort')"
  d=$(jq -c --argjson u "$UNIT_D" '.items[] | select(.unit.id == $u)' <<<"$body")
  [ "$(jq -r '.figures.verified.signing_amount_yuan' <<<"$d")" = 300000000 ]
  [ "$(jq -r '.figures.verified.signed_count' <<<"$d")" = 1 ]
  # Score: signing_weight × 1 (met) + signed_count_weight × 1 (1 of 1) + start_rate_weight × 0
  # (rate 0) = signing_weight + signed_count_weight.
  weight=$(jq -r '.figures.score.rules | .signing_weight + .signed_count_weight' <<<"$d")
  [ "$(jq -r --argjson w "$weight" '.score == $w' <<<"$d")" = true ]
  [ "$(jq -r '.figures.score.components.signed_count > 0' <<<"$d")" = true ]
  api GET "/api/v1/scores/snapshots?year=$SY&month=$SM" "$TOWN_A"
  [ "$status" = 200 ]
  # A town sees its own snapshot only.
  is "[.items[].unit.id] | tostring" "[$UNIT_A]"
  api GET "/api/v1/scores/snapshots?year=$SY&month=$SM" "$ADMIN"
  [ "$status" = 200 ]
  frozen=$body
  is ".items | length" 4

  # The same month again: 409, naming the month.
  api_json POST /api/v1/scores/snapshots "$ADMIN" "{\"year\":$SY,\"month\":$SM}"
  refused 409 month

  # The contract is revoked as falsified today.
  api_json POST "/api/v1/contracts/$c6/revoke" "$VIEWER" '{"reason":"复核发现虚报","falsified":"yes"}'
  refused 422 falsified
  api_json POST "/api/v1/contracts/$c6/revoke" "$VIEWER" '{"reason":"复核发现虚报","falsified":true}'
  [ "$status" = 200 ]
  is .state revoked
  is .revoke_falsified true
  # The snapshot does not change; today's figures and score do.
  api GET "/api/v1/scores/snapshots?year=$SY&month=$SM" "$ADMIN"
  [ "$body" = "$frozen" ]
  api GET "/api/v1/stats/units/$UNIT_D?year=$SY&as_of=$MONTH_END" "$ADMIN"
  is .verified.signing_amount_yuan 300000000
  api GET "/api/v1/units/$UNIT_D/scorecard?year=$SY" "$ADMIN"
  [ "$status" = 200 ]
  is .actual.verified.signing_amount_yuan 0
  is .score.deductions.falsified.count 1
  api GET "/api/v1/scores/snapshots?year=$SY&month=0" "$ADMIN"
  refused 400
  api GET "/api/v1/scores/snapshots" "$ADMIN"
  refused 400
}
