#!/usr/bin/env bats
# A county starts on an empty database without SQL (issue 11): `crm init`
# makes its root unit and first admin, `crm unit import` its townships,
# zone and investment centre from a CSV; the admin then creates users,
# targets and quotas through the API; a township reports a signing, a
# bureau user of the investment centre (a department, acting for the
# county) reports one for another township and verifies the first, a second
# bureau user verifies the other, and the county's figures move. Units are
# then created, renamed, moved and retired through the API, and
# departments are never ranked.

load helpers

setup_file() {
  crm_env
  NAME="first_run_$$"
  scratch_db "$NAME"
  OWNER_URL=$SCRATCH_OWNER APP_URL=$SCRATCH_APP
  export NAME OWNER_URL APP_URL
}

teardown_file() {
  psql "$CRM_PG_SUPERUSER_URL" -q -c "DROP DATABASE IF EXISTS $NAME" || true
}

setup() {
  crm_env
}

teardown() {
  crm_stop || true
}

on_first_run_db() {
  "$CRM_BIN" "$@" --database-url "$APP_URL" --migrate-database-url "$OWNER_URL"
}

first_sql() {
  psql "$OWNER_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"
}

@test "crm init makes the root and its admin on an empty database, once" {
  run on_first_run_db init --unit-code hd.yc.rc --unit-name 荣成县 --unit-kind county --admin rc.admin <<<'short'
  [ "$status" -ne 0 ]
  [[ "$output" == *password* ]]
  [ "$(first_sql "SELECT to_regclass('public.unit') IS NULL")" = t ]
  run on_first_run_db init --unit-code hd.yc.rc --unit-name 荣成县 --unit-kind county \
    --admin rc.admin --admin-name 荣成县招商管理员 <<<'Rongcheng-admin-2026'
  [ "$status" -eq 0 ]
  [[ "$output" == *"admin rc.admin can log in"* ]]
  [ "$(first_sql "SELECT code || ' ' || kind FROM unit")" = "hd.yc.rc county" ]
  [ "$(first_sql "SELECT role FROM app_user WHERE username = 'rc.admin'")" = admin ]
  run on_first_run_db init --unit-code other --unit-name 别县 --unit-kind county --admin other.admin <<<'Other-admin-2026x'
  [ "$status" -ne 0 ]
  [[ "$output" == *"has units already"* ]]
  [ "$(first_sql "SELECT count(*) FROM unit")" = 1 ]
}

@test "crm unit import loads the county's units from a CSV, all or nothing" {
  run on_first_run_db unit import "$CRM_SOURCE_DIR/tests/fixtures/units_bad.csv"
  [ "$status" -eq 1 ]
  [[ "$output" == *"line 3"*"kind"* ]]
  [[ "$output" == *"line 4"*"code"* ]]
  [[ "$output" == *"line 5"*"parent_code"* ]]
  [[ "$output" == *"nothing was stored"* ]]
  [ "$(first_sql "SELECT count(*) FROM unit")" = 1 ]
  run on_first_run_db unit import "$CRM_SOURCE_DIR/tests/fixtures/units_county.csv"
  [ "$status" -eq 0 ]
  [[ "$output" == *"5 created, 0 updated, 0 unchanged"* ]]
  [ "$(first_sql "SELECT string_agg(kind, ',' ORDER BY code) FROM unit WHERE parent_id IS NOT NULL")" = \
    "department,town,town,township,zone" ]
  # Again: nothing changes.
  run on_first_run_db unit import "$CRM_SOURCE_DIR/tests/fixtures/units_county.csv" --json
  [ "$status" -eq 0 ]
  [ "$(jq -c '[.created, .updated, .unchanged]' <<<"$output")" = "[0,0,5]" ]
}

@test "the admin staffs the county, the bureau works for the county, the figures move" {
  crm_start --database-url "$APP_URL"
  ADMIN=$(login rc.admin Rongcheng-admin-2026)
  COUNTY=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc'")
  INVEST=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc.invest'")
  T1=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc.town1'")
  T2=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc.town2'")
  X1=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc.xiang1'")
  ZONE=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc.zone'")
  Y=$(first_sql "SELECT extract(year FROM crm_today())::int")
  TODAY=$(first_sql "SELECT crm_today()")
  local u
  for u in "rc.bureau1 bureau $INVEST" "rc.bureau2 bureau $INVEST" "rc.town1 unit $T1" \
           "rc.leader leader $COUNTY" "rc.viewer viewer $COUNTY"; do
    set -- $u
    api_json POST /api/v1/users "$ADMIN" \
      "{\"username\":\"$1\",\"role\":\"$2\",\"unit_id\":$3,\"password\":\"Rongcheng-$1-26\"}"
    [ "$status" = 201 ]
  done
  # The department is no place for a quota, nor for units.
  api_json PUT "/api/v1/targets/$Y" "$ADMIN" \
    "{\"targets\":[{\"unit_id\":$COUNTY,\"signing_amount_yuan\":1000000000,\"signed_count\":2,\"start_rate\":0.5}]}"
  [ "$status" = 200 ]
  api_json PUT "/api/v1/targets/$Y/quotas" "$ADMIN" "{\"parent_unit_id\":$COUNTY,\"quotas\":[
      {\"unit_id\":$T1,\"signing_amount_yuan\":600000000,\"signed_count\":1,\"start_rate\":0.5},
      {\"unit_id\":$INVEST,\"signing_amount_yuan\":400000000,\"signed_count\":1,\"start_rate\":0.5}]}"
  [ "$status" = 422 ]
  jq -e '.errors[0].message | test("department")' <<<"$body"
  api_json PUT "/api/v1/targets/$Y/quotas" "$ADMIN" "{\"parent_unit_id\":$COUNTY,\"quotas\":[
      {\"unit_id\":$T1,\"signing_amount_yuan\":600000000,\"signed_count\":1,\"start_rate\":0.5},
      {\"unit_id\":$T2,\"signing_amount_yuan\":400000000,\"signed_count\":1,\"start_rate\":0.5}]}"
  [ "$status" = 200 ]

  BUREAU1=$(login rc.bureau1 Rongcheng-rc.bureau1-26)
  BUREAU2=$(login rc.bureau2 Rongcheng-rc.bureau2-26)
  TOWN1=$(login rc.town1 Rongcheng-rc.town1-26)
  LEADER_ID=$(first_sql "SELECT id FROM app_user WHERE username = 'rc.leader'")
  # The bureau's scope is the county, not the centre alone.
  api GET /api/v1/me "$BUREAU1"
  [ "$(jq -r .unit_id <<<"$body")" = "$INVEST" ]
  [ "$(jq -r .scope_unit_id <<<"$body")" = "$COUNTY" ]
  api GET /api/v1/units "$BUREAU1"
  [ "$(jq '.items | length' <<<"$body")" = 6 ]

  # An investor for a township, created by the bureau.
  api_json POST /api/v1/investors "$BUREAU1" "{\"name\":\"荣成测试客商\",\"unit_id\":$T1}"
  [ "$status" = 201 ]
  INV=$(jq -r .id <<<"$body")
  sign_project() { # TOKEN UNIT CODE AMOUNT: a signed project; prints the contract id
    api_json POST /api/v1/projects "$1" "{\"code\":\"$3\",\"name\":\"项目 $3\",\"unit_id\":$2,
      \"investor_id\":$INV,\"leader_id\":$LEADER_ID,\"planned_investment_yuan\":$4,\"stage\":\"negotiating\"}"
    [ "$status" = 201 ] || { echo "project: $status $body" >&2; return 1; }
    local pid
    pid=$(jq -r .id <<<"$body")
    api_json POST /api/v1/contracts "$1" "{\"project_id\":$pid,\"kind\":\"formal\",\"amount_yuan\":$4,
      \"signed_on\":\"$TODAY\",\"evidence\":\"正式合同\"}"
    [ "$status" = 201 ] || { echo "contract: $status $body" >&2; return 1; }
    jq -r .id <<<"$body"
  }
  C1=$(sign_project "$TOWN1" "$T1" RC-1 600000000)
  C2=$(sign_project "$BUREAU1" "$T2" RC-2 300000000)
  api GET "/api/v1/stats/units/$COUNTY?year=$Y" "$BUREAU1"
  [ "$(jq -c '[.verified.signing_amount_yuan, .reported.signing_amount_yuan]' <<<"$body")" = "[0,900000000]" ]
  # The reporter never verifies their own claim; another bureau user does.
  api POST "/api/v1/contracts/$C2/verify" "$BUREAU1"
  [ "$status" = 409 ] || [ "$status" = 422 ] || [ "$status" = 403 ]
  api POST "/api/v1/contracts/$C1/verify" "$BUREAU1"
  [ "$status" = 200 ]
  api POST "/api/v1/contracts/$C2/verify" "$BUREAU2"
  [ "$status" = 200 ]
  api GET "/api/v1/stats/units/$COUNTY?year=$Y" "$ADMIN"
  [ "$(jq -c '[.verified.signing_amount_yuan, .verified.signed_count]' <<<"$body")" = "[900000000,2]" ]
  # Compact JSON, numbers in their shortest form (the target's rate is numeric(5,4)).
  [[ "$body" != *'": '* && "$body" != *'", '* ]]
  [[ "$body" == *'"start_rate":0.5,'* ]]
  # The county's forecast (9亿 verified, no pipeline) is under its 10亿: said in ¥亿,
  # the yuan kept in the figures.
  api GET "/api/v1/alerts?kind=forecast_under_target&year=$Y" "$ADMIN"
  [ "$(jq -r '.items[0].message' <<<"$body")" = "预计全年签约 ¥9.00亿，低于目标 ¥10.00亿" ]
  [ "$(jq -c '.items[0].figures | [.forecast_yuan, .target_yuan]' <<<"$body")" = "[900000000,1000000000]" ]
  # The leaders' figures are those of the year asked: both projects are this year's.
  api GET "/api/v1/stats/leaders?year=$((Y - 1))" "$ADMIN"
  [ "$(jq '[.leaders[].lead_projects[]] | length' <<<"$body")" = 0 ]
  api GET "/api/v1/stats/leaders?year=$Y" "$ADMIN"
  [ "$(jq --argjson l "$LEADER_ID" '[.leaders[] | select(.leader_id == $l) | .lead_projects[]] | length' <<<"$body")" = 2 ]
  # The ranking: the townships and the zone, never the department.
  api GET "/api/v1/stats/ranking?year=$Y" "$TOWN1"
  [ "$status" = 200 ]
  [ "$(jq -c '[.units[].unit.id] | sort' <<<"$body")" = "$(jq -nc --argjson a "$T1" --argjson b "$T2" \
      --argjson c "$X1" --argjson d "$ZONE" '[$a, $b, $c, $d] | sort')" ]
  api GET "/api/v1/units/$T1/scorecard?year=$Y" "$TOWN1"
  [ "$(jq -c '.rank | [.rank, .of]' <<<"$body")" = "[1,4]" ] || [ "$(jq -c '.rank.rank' <<<"$body")" = 1 ]
}

@test "units: created, renamed, moved and retired by an admin in scope, refused clearly otherwise" {
  crm_start --database-url "$APP_URL"
  ADMIN=$(login rc.admin Rongcheng-admin-2026)
  TOWN1=$(login rc.town1 Rongcheng-rc.town1-26)
  COUNTY=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc'")
  ZONE=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc.zone'")
  api_json POST /api/v1/units "$ADMIN" "{\"parent_id\":$COUNTY,\"code\":\"hd.yc.rc.town3\",\"name\":\"东湖镇\",\"kind\":\"town\"}"
  [ "$status" = 201 ]
  [ "$(header ETag)" = '"1"' ]
  T3=$(jq -r .id <<<"$body")
  [ "$(header Location)" = "/api/v1/units/$T3" ]
  api_json POST /api/v1/units "$TOWN1" "{\"parent_id\":$COUNTY,\"code\":\"hd.yc.rc.x\",\"name\":\"x\",\"kind\":\"town\"}"
  [ "$status" = 403 ]
  for bad in "{\"parent_id\":$COUNTY,\"code\":\"hd.yc.rc.town3\",\"name\":\"重\",\"kind\":\"town\"}|409|code" \
             "{\"parent_id\":$COUNTY,\"code\":\"Bad Code\",\"name\":\"x\",\"kind\":\"town\"}|422|code" \
             "{\"parent_id\":$T3,\"code\":\"hd.yc.rc.y\",\"name\":\"y\",\"kind\":\"county\"}|422|kind" \
             "{\"parent_id\":1999999,\"code\":\"hd.yc.rc.z\",\"name\":\"z\",\"kind\":\"town\"}|422|parent_id" \
             "{\"parent_id\":$COUNTY,\"code\":\"hd.yc.rc.w\",\"name\":\"w\",\"kind\":\"village\"}|422|kind"; do
    api_json POST /api/v1/units "$ADMIN" "${bad%%|*}"
    rest=${bad#*|}
    [ "$status" = "${rest%%|*}" ] || { echo "$bad: $status $body" >&2; return 1; }
    jq -e --arg f "${rest#*|}" '.errors[0].field == $f' <<<"$body"
  done
  [ "$(first_sql "SELECT count(*) FROM unit WHERE code LIKE 'hd.yc.rc._'")" = 0 ]
  # Rename with If-Match; stale and missing ETags.
  api_json PATCH "/api/v1/units/$T3" "$ADMIN" '{"name":"东湖镇（新）"}'
  [ "$status" = 428 ]
  api_json PATCH "/api/v1/units/$T3" "$ADMIN" '{"name":"东湖镇（新）"}' -H 'If-Match: "1"'
  [ "$status" = 200 ]
  [ "$(jq -r .name <<<"$body")" = "东湖镇（新）" ]
  api_json PATCH "/api/v1/units/$T3" "$ADMIN" '{"name":"again"}' -H 'If-Match: "1"'
  [ "$status" = 412 ]
  # A project of the town, then the town moves under the zone? A town is no
  # part of a zone: refused. Retiring with open work: refused.
  api_json PATCH "/api/v1/units/$T3" "$ADMIN" "{\"parent_id\":$ZONE}" -H 'If-Match: "2"'
  [ "$status" = 422 ]
  jq -e '.errors[0].field == "parent_id"' <<<"$body"
  api_json POST /api/v1/projects "$ADMIN" "{\"code\":\"RC-T3\",\"name\":\"东湖项目\",\"unit_id\":$T3}"
  [ "$status" = 201 ]
  api_json PATCH "/api/v1/units/$T3" "$ADMIN" '{"retired":true}' -H 'If-Match: "2"'
  [ "$status" = 422 ]
  jq -e '.errors[0].field == "retired"' <<<"$body"
  # Its project goes to another town; then it retires, and takes nothing new.
  T1=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc.town1'")
  PID=$(first_sql "SELECT id FROM project WHERE code = 'RC-T3'")
  api_json PATCH "/api/v1/projects/$PID" "$ADMIN" "{\"unit_id\":$T1}" -H 'If-Match: "1"'
  [ "$status" = 200 ]
  api_json PATCH "/api/v1/units/$T3" "$ADMIN" '{"retired":true}' -H 'If-Match: "2"'
  [ "$status" = 200 ]
  [ "$(jq -r .retired <<<"$body")" = true ]
  api_json POST /api/v1/projects "$ADMIN" "{\"code\":\"RC-T3b\",\"name\":\"东湖项目二\",\"unit_id\":$T3}"
  [ "$status" = 422 ]
  jq -e '.errors[0].field == "unit_id"' <<<"$body"
  # The admin's own root is not retired or moved by its own admins.
  V=$(first_sql "SELECT version FROM unit WHERE id = $COUNTY")
  api_json PATCH "/api/v1/units/$COUNTY" "$ADMIN" '{"retired":true}' -H "If-Match: \"$V\""
  [ "$status" = 422 ]
  # Every change is in the audit log.
  api GET "/api/v1/audit?table=unit&row_id=$T3" "$ADMIN"
  [ "$(jq '.items | length' <<<"$body")" -ge 3 ]
  # Out of scope: a 404, never a 403.
  api GET "/api/v1/units/$COUNTY" "$TOWN1"
  [ "$status" = 404 ]
}

@test "a unit moved to another county takes its subtree's records along, in one transaction" {
  PROV=$(first_sql "INSERT INTO unit (code, name, kind) VALUES ('hd', '测试省', 'province') RETURNING id")
  first_sql "UPDATE unit SET parent_id = $PROV WHERE code = 'hd.yc.rc'" >/dev/null
  first_sql "INSERT INTO unit (parent_id, code, name, kind) VALUES ($PROV, 'hd.yc.other', '邻县', 'county')" >/dev/null
  printf 'Province-admin-26\n' | on_first_run_db user add --username hd.admin --role admin --unit hd >/dev/null
  crm_start --database-url "$APP_URL"
  PADMIN=$(login hd.admin Province-admin-26)
  ADMIN=$(login rc.admin Rongcheng-admin-2026)
  OTHER=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.other'")
  T2=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc.town2'")
  Y=$(first_sql "SELECT extract(year FROM crm_today())::int")
  # Not under itself or its own subtree.
  COUNTY=$(first_sql "SELECT id FROM unit WHERE code = 'hd.yc.rc'")
  api_json PATCH "/api/v1/units/$COUNTY" "$PADMIN" "{\"parent_id\":$T2}" -H "If-Match: \"$(first_sql "SELECT version FROM unit WHERE id = $COUNTY")\""
  [ "$status" = 422 ]
  jq -e '.errors[0].field == "parent_id"' <<<"$body"
  # town2 holds this year's quota: it is removed before the move.
  api_json PATCH "/api/v1/units/$T2" "$PADMIN" "{\"parent_id\":$OTHER}" -H "If-Match: \"$(first_sql "SELECT version FROM unit WHERE id = $T2")\""
  [ "$status" = 422 ]
  jq -e '.errors[0].field == "parent_id" and (.errors[0].message | test("quota"))' <<<"$body"
  first_sql "DELETE FROM target WHERE unit_id = $T2 AND year = $Y" >/dev/null
  api_json PATCH "/api/v1/units/$T2" "$PADMIN" "{\"parent_id\":$OTHER}" -H "If-Match: \"$(first_sql "SELECT version FROM unit WHERE id = $T2")\""
  [ "$status" = 200 ]
  [ "$(first_sql "SELECT count(*) FROM project p WHERE p.unit_id = $T2 AND NOT p.unit_path @> ARRAY[$OTHER::bigint]")" = 0 ]
  [ "$(first_sql "SELECT count(*) FROM contract c JOIN project p ON p.id = c.project_id WHERE p.unit_id = $T2 AND NOT c.unit_path @> ARRAY[$OTHER::bigint]")" = 0 ]
  [ "$(first_sql "SELECT count(*) FROM investor i WHERE i.unit_id = $T2 AND NOT i.unit_path @> ARRAY[$OTHER::bigint]")" = 0 ]
  # The old county no longer sees the town's projects; the new one does.
  api GET "/api/v1/projects?unit_id=$T2" "$ADMIN"
  [ "$(jq '.items | length' <<<"$body")" = 0 ]
  api GET "/api/v1/projects?unit_id=$T2" "$PADMIN"
  [ "$(jq '.items | length' <<<"$body")" = 1 ]
}
