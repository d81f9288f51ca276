#!/usr/bin/env bats
# Issue 12's findings in the rules of the data, each closed for every
# writer (migration 0011), tried through the API in a county of this file's
# own (codes sx.yc.h<run>: towns A and B):
#   3. amounts are bounded, and a roll-up near the integers' limit no longer
#      makes another unit's claim fail;
#   4. nobody who reported or changed a claim verifies it (not only its last
#      editor);
#   5. only a verifier of a unit above the claim's unit verifies it, and a
#      verified claim is revoked only by such a verifier;
#   7. a record links only what its writer can see; a problem's owner is in
#      the writer's scope or above it; names are not blank; the figures of a
#      unit that does not exist are a 404.

load helpers

setup_file() {
  crm_env
  RUN=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  C="sx.yc.h$RUN"
  owner_sql "INSERT INTO unit (parent_id, code, name, kind)
             SELECT id, '$C', '加固测试县$RUN', 'county' FROM unit WHERE code = 'sx.yc'" >/dev/null
  owner_sql "INSERT INTO unit (parent_id, code, name, kind)
             SELECT c.id, v.code, v.name, 'town' FROM unit c,
                    (VALUES ('$C.a', '甲镇$RUN'), ('$C.b', '乙镇$RUN')) v (code, name)
              WHERE c.code = '$C'" >/dev/null
  COUNTY=$(unit_id "$C")
  UNIT_A=$(unit_id "$C.a")
  UNIT_B=$(unit_id "$C.b")
  make_user "h.bureau1.$RUN" bureau "$C" 'Harden-b1-2026'
  make_user "h.bureau2.$RUN" bureau "$C" 'Harden-b2-2026'
  make_user "h.viewer.$RUN" viewer "$C" 'Harden-vw-2026'
  make_user "h.leader.$RUN" leader "$C" 'Harden-ld-2026'
  make_user "h.a.$RUN" unit "$C.a" 'Harden-ua-2026'
  make_user "h.b.$RUN" unit "$C.b" 'Harden-ub-2026'
  make_user "h.aadmin.$RUN" admin "$C.a" 'Harden-aa-2026'
  crm_start
  BUREAU1=$(login "h.bureau1.$RUN" 'Harden-b1-2026')
  BUREAU2=$(login "h.bureau2.$RUN" 'Harden-b2-2026')
  VIEWER=$(login "h.viewer.$RUN" 'Harden-vw-2026')
  TOWN_A=$(login "h.a.$RUN" 'Harden-ua-2026')
  TOWN_B=$(login "h.b.$RUN" 'Harden-ub-2026')
  A_ADMIN=$(login "h.aadmin.$RUN" 'Harden-aa-2026')
  LEADER_ID=$(user_id "h.leader.$RUN")
  TODAY=$(owner_sql "SELECT crm_today()")
  Y=${TODAY%%-*}
  api_json POST /api/v1/investors "$TOWN_A" "{\"name\":\"甲镇客商$RUN\",\"unit_id\":$UNIT_A}"
  INV_A=$(jq -r .id <<<"$body")
  api_json POST /api/v1/investors "$TOWN_B" "{\"name\":\"乙镇客商$RUN\",\"unit_id\":$UNIT_B}"
  INV_B=$(jq -r .id <<<"$body")
  export CRM_URL CRM_PID CRM_OUT CRM_ERR RUN COUNTY UNIT_A UNIT_B BUREAU1 BUREAU2 VIEWER TOWN_A TOWN_B \
    A_ADMIN LEADER_ID TODAY Y INV_A INV_B
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# project TOKEN UNIT INVESTOR NAME: a project in negotiation; prints its id.
project() {
  api_json POST /api/v1/projects "$1" "{\"code\":\"T-H-$RUN-$4\",\"name\":\"加固项目$4\",\"unit_id\":$2,
    \"investor_id\":$3,\"leader_id\":$LEADER_ID,\"planned_investment_yuan\":100000000,\"stage\":\"negotiating\"}"
  [ "$status" = 201 ] || { echo "project $4: $status $body" >&2; return 1; }
  jq -r .id <<<"$body"
}

# contract TOKEN PROJECT AMOUNT: reports a formal contract dated today.
contract() {
  api_json POST /api/v1/contracts "$1" \
    "{\"project_id\":$2,\"kind\":\"formal\",\"amount_yuan\":$3,\"signed_on\":\"$TODAY\",\"evidence\":\"合同\"}"
}

@test "3: an amount is at most 10^13 yuan; a roll-up near the limit blocks nobody's claim" {
  p=$(project "$TOWN_A" "$UNIT_A" "$INV_A" amount)
  contract "$TOWN_A" "$p" 9223372036854775000
  refused 422 amount_yuan
  contract "$TOWN_A" "$p" 10000000000001
  refused 422 amount_yuan
  api_json POST /api/v1/projects "$TOWN_A" "{\"code\":\"T-H-$RUN-big\",\"name\":\"大项目\",\"unit_id\":$UNIT_A,\"planned_investment_yuan\":10000000000001}"
  refused 422 planned_investment_yuan
  [ "$(owner_sql "SELECT count(*) FROM contract WHERE project_id = $p")" = 0 ]
  # The county's reported roll-up of today, pushed to the edge of bigint as a
  # flood of maximal claims would: town B's claim still goes through.
  big=9223372036854775000
  owner_sql "INSERT INTO kpi_rollup AS r (unit_id, basis, year, day, signing, signed, started, signed_amt, started_amt)
             VALUES ($COUNTY, 'reported', $Y, '$TODAY', $big, 0, 0, 0, 0)
             ON CONFLICT (unit_id, basis, year, day) DO UPDATE SET signing = r.signing + $big" >/dev/null
  q=$(project "$TOWN_B" "$UNIT_B" "$INV_B" edge)
  contract "$TOWN_B" "$q" 10000000000000
  status_b=$status body_b=$body
  owner_sql "UPDATE kpi_rollup SET signing = signing - $big
              WHERE unit_id = $COUNTY AND basis = 'reported' AND year = $Y AND day = '$TODAY'" >/dev/null
  [ "$status_b" = 201 ] || { echo "town B's claim: $status_b $body_b" >&2; return 1; }
}

@test "4: nobody who reported or changed a claim since it was reported verifies it" {
  p=$(project "$TOWN_A" "$UNIT_A" "$INV_A" launder)
  contract "$TOWN_A" "$p" 300000000
  [ "$status" = 201 ]
  c=$(jq -r .id <<<"$body")
  # Bureau 1 edits the amount, bureau 2 touches the evidence.
  api_json PATCH "/api/v1/contracts/$c" "$BUREAU1" '{"amount_yuan":500000000}' -H 'If-Match: "1"'
  [ "$status" = 200 ]
  api_json PATCH "/api/v1/contracts/$c" "$BUREAU2" '{"evidence":"合同（补扫描件）"}' -H 'If-Match: "2"'
  [ "$status" = 200 ]
  # Bureau 1 may not verify its own amount, bureau 2 may not either.
  api POST "/api/v1/contracts/$c/verify" "$BUREAU1"
  refused 409
  api POST "/api/v1/contracts/$c/verify" "$BUREAU2"
  refused 409
  [ "$(owner_sql "SELECT verified_at IS NULL FROM contract WHERE id = $c")" = t ]
  # The assessment office, which touched nothing, does.
  api POST "/api/v1/contracts/$c/verify" "$VIEWER"
  [ "$status" = 200 ]
  # Who touched it is the database's record, not the writer's.
  [ "$(owner_sql "SELECT touched_by = ARRAY[$(user_id "h.a.$RUN"), $(user_id "h.bureau1.$RUN"), $(user_id "h.bureau2.$RUN")]::bigint[] FROM contract WHERE id = $c")" = t ]
}

@test "5: a township's own verifier does not verify it; a verified claim is revoked only by a verifier above" {
  # The town's admin makes a viewer of the town (allowed: users of its unit)...
  api_json POST /api/v1/users "$A_ADMIN" "{\"username\":\"h.aview.$RUN\",\"role\":\"viewer\",\"unit_id\":$UNIT_A,\"password\":\"Harden-av-2026\"}"
  [ "$status" = 201 ]
  A_VIEWER=$(login "h.aview.$RUN" 'Harden-av-2026')
  p=$(project "$TOWN_A" "$UNIT_A" "$INV_A" selfcheck)
  contract "$TOWN_A" "$p" 200000000
  c=$(jq -r .id <<<"$body")
  # ... who may not verify the town's claim.
  api POST "/api/v1/contracts/$c/verify" "$A_VIEWER"
  refused 403
  [ "$(owner_sql "SELECT verified_at IS NULL FROM contract WHERE id = $c")" = t ]
  api POST "/api/v1/contracts/$c/verify" "$VIEWER"
  [ "$status" = 200 ]
  # The town may not revoke what the county verified (to dodge a deduction)...
  api_json POST "/api/v1/contracts/$c/revoke" "$TOWN_A" '{"reason":"撤回"}'
  refused 403
  api_json POST "/api/v1/contracts/$c/revoke" "$A_VIEWER" '{"reason":"撤回"}'
  refused 403
  [ "$(owner_sql "SELECT revoked_at IS NULL FROM contract WHERE id = $c")" = t ]
  # ... the assessment office may, saying why.
  api_json POST "/api/v1/contracts/$c/revoke" "$VIEWER" '{"reason":"复核发现虚报","falsified":true}'
  [ "$status" = 200 ]
  # What is not verified yet, the town withdraws itself.
  contract "$TOWN_A" "$p" 100000000
  d=$(jq -r .id <<<"$body")
  api_json POST "/api/v1/contracts/$d/revoke" "$TOWN_A" '{"reason":"报错了"}'
  [ "$status" = 200 ]
}

@test "7: links within the writer's scope, problems owned in scope or above, no blank names, 404 for no unit" {
  # Town A links town B's investor (by id): no such record for A.
  api_json POST /api/v1/projects "$TOWN_A" "{\"code\":\"T-H-$RUN-leak\",\"name\":\"越界\",\"unit_id\":$UNIT_A,\"investor_id\":$INV_B}"
  refused 422 investor_id
  pb=$(project "$TOWN_B" "$UNIT_B" "$INV_B" linkb)
  pa=$(project "$TOWN_A" "$UNIT_A" "$INV_A" linka)
  api_json PATCH "/api/v1/projects/$pa" "$TOWN_A" "{\"investor_id\":$INV_B}" -H 'If-Match: "1"'
  refused 422 investor_id
  api_json POST /api/v1/interactions "$TOWN_A" "{\"unit_id\":$UNIT_A,\"project_id\":$pb,\"kind\":\"call\",\"occurred_on\":\"$TODAY\",\"summary\":\"越界\"}"
  refused 422 project_id
  api_json POST /api/v1/interactions "$TOWN_A" "{\"unit_id\":$UNIT_A,\"investor_id\":$INV_B,\"kind\":\"call\",\"occurred_on\":\"$TODAY\",\"summary\":\"越界\"}"
  refused 422 investor_id
  # A problem of town A's project owned by town B: refused; by the county (above A): fine.
  api_json POST /api/v1/problems "$TOWN_A" "{\"project_id\":$pa,\"owner_unit_id\":$UNIT_B,\"title\":\"用地\",\"due_on\":\"$TODAY\"}"
  refused 422 owner_unit_id
  api_json POST /api/v1/problems "$TOWN_A" "{\"project_id\":$pa,\"owner_unit_id\":$COUNTY,\"title\":\"用地\",\"due_on\":\"$TODAY\"}"
  [ "$status" = 201 ]
  # Blank names: spaces, a full-width space.
  api_json POST /api/v1/investors "$TOWN_A" "{\"name\":\"   \",\"unit_id\":$UNIT_A}"
  refused 422 name
  api_json POST /api/v1/projects "$TOWN_A" "{\"code\":\"T-H-$RUN-blank\",\"name\":\"　\",\"unit_id\":$UNIT_A}"
  refused 422 name
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code IN ('T-H-$RUN-leak', 'T-H-$RUN-blank')")" = 0 ]
  # The figures of a unit that does not exist: 404, as those of a hidden one.
  api GET "/api/v1/stats/units/999999999?year=$Y" "$TOWN_A"
  refused 404
  api GET "/api/v1/stats/units/$UNIT_B?year=$Y" "$TOWN_A"
  refused 404
}

@test "7: a taken credit code is a 409 that tells to ask the bureau, naming no other unit or record" {
  read -r uscc name <<<"$(owner_sql "SELECT uscc || ' ' || name FROM investor WHERE uscc IS NOT NULL ORDER BY id LIMIT 1")"
  [ -n "$uscc" ]
  api_json POST /api/v1/investors "$TOWN_B" "{\"name\":\"重复客商$RUN\",\"unit_id\":$UNIT_B,\"uscc\":\"$uscc\"}"
  refused 409 uscc
  jq -e '.errors[0].message | test("investment bureau")' <<<"$body"
  [[ "$body" != *"$name"* ]]
  [ "$(owner_sql "SELECT count(*) FROM investor WHERE name = '重复客商$RUN'")" = 0 ]
}
