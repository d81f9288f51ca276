#!/usr/bin/env bats
# Bad input across every route, generated from api/openapi.yaml
# (tests/contract/bad_inputs.py): for every operation, its path ids and query
# parameters broken one at a time (not a number, 0, -1, 20 digits, past
# int64, out of range, not in the enum, over-long, a NUL, a date that does
# not exist) and its body broken one fault at a time on an otherwise valid
# body (not JSON, an array or scalar, a member twice, invalid UTF-8, each
# required member missing, each member of the wrong type, null, over
# maxLength in characters and in UTF-8 bytes, under minLength, past
# minimum/maximum, an unknown member, not in the enum, dates that do not
# exist, a NUL, arrays too long or with bad items, nested members), plus
# text/plain and latin1 bodies, a malformed Idempotency-Key on POSTs, and a
# missing, weak or stale If-Match on PATCHes. Each is sent with the token of a
# role the route allows (a county user: admin where allowed) and must be
# answered with a 4xx problem+json (status and request_id in the body, a
# 422 naming the member at fault), never 2xx or 5xx; and the database must
# not change at all: every table (but sessions) is fingerprinted before and
# after the whole run, as the owner.

load helpers

# Known product bugs, each "METHOD /path | case" as bad_inputs.py names them,
# with what happens. The lead empties these lists as they are fixed. A case in
# KNOWN is still sent and reported (as "known product bug"), it just does not
# fail the test; one that passes again is named ("take it off the list").
KNOWN=(
)
# Known product bugs that change data: not sent at all (the run must change
# nothing), only named in the report.
SKIP=(
)

ROLES=(admin leader bureau unit viewer)

setup_file() {
  crm_env
  for r in "${ROLES[@]}"; do
    make_user "badinput.$r" "$r" sx.yc.js "Badinput-$r-2024"
  done
  # The user the /users/{id} routes act on (not a caller).
  make_user badinput.target unit sx.yc.js.xishe 'Badinput-target-2024'
  # No stalled-project sweep (5 s after the start, then every 10 minutes): it
  # changes projects by itself, and this run must change nothing.
  # A webhook for the /webhooks/{id} cases, paused (it is owed nothing), and
  # an allowlist that lets a POST's URL through to the rest of its checks.
  owner_sql "INSERT INTO webhook (unit_id, url, event_types, secret, description, active)
             SELECT id, 'http://127.0.0.1:9/bad-input', '{*}', 'bad-input-secret-0123', 'bad_input', false
               FROM unit WHERE code = 'sx.yc.js'
                AND NOT EXISTS (SELECT 1 FROM webhook WHERE description = 'bad_input')" >/dev/null
  CRM_WEBHOOK_ALLOW=127.0.0.1/32 crm_start --stall-check-s 0 --jobs-tick-s 0
  export CRM_URL CRM_PID CRM_OUT CRM_ERR
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# Every table of the schema but the sessions (each request touches its
# session's last use): its row count and a digest of all its rows.
fingerprint() {
  local sql
  sql=$(owner_sql "SELECT string_agg(format(
           'SELECT %L, count(*), md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %I.%I t',
           table_name, '|', '', table_schema, table_name), ' UNION ALL ' ORDER BY table_name)
         FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'session'")
  owner_sql "$sql"
}

first_id() {
  owner_sql "SELECT min(id) FROM $1"
}

@test "bad input on every route is a 4xx problem+json and changes nothing" {
  declare -A token
  for r in "${ROLES[@]}"; do
    token[$r]=$(login "badinput.$r" "Badinput-$r-2024")
  done
  county=$(unit_id sx.yc.js)
  xishe=$(unit_id sx.yc.js.xishe)
  # A project of 西社镇 still at "lead" (it may move on to "negotiating"),
  # its investor, a signed project without a start, and claims not verified
  # yet (which may still be edited and revoked): every body below is valid
  # but for its one fault.
  project=$(owner_sql "SELECT min(id) FROM project WHERE unit_id = $xishe AND stage = 'lead'")
  investor=$(owner_sql "SELECT coalesce((SELECT investor_id FROM project WHERE id = $project),
                                        (SELECT min(id) FROM investor WHERE unit_id = $xishe))")
  unstarted=$(owner_sql "SELECT min(p.id) FROM project p WHERE p.stage = 'signed' AND NOT EXISTS
                           (SELECT 1 FROM project_start s WHERE s.project_id = p.id AND s.revoked_at IS NULL)")
  contract=$(owner_sql "SELECT min(id) FROM contract WHERE verified_at IS NULL AND revoked_at IS NULL")
  start=$(owner_sql "SELECT min(id) FROM project_start WHERE verified_at IS NULL AND revoked_at IS NULL")
  for v in project investor unstarted contract start; do
    [ -n "${!v}" ] || { echo "the demo data has no $v for the cases" >&2; return 1; }
  done
  ctx="$BATS_TEST_TMPDIR/context.json"
  jq -n --arg url "$CRM_URL" \
    --arg admin "${token[admin]}" --arg leader "${token[leader]}" --arg bureau "${token[bureau]}" \
    --arg unit "${token[unit]}" --arg viewer "${token[viewer]}" \
    --argjson target "$(user_id badinput.target)" --argjson county "$county" --argjson xishe "$xishe" \
    --argjson project "$project" --argjson investor "$investor" \
    --argjson contract "$contract" --argjson start "$start" --argjson unstarted "$unstarted" \
    --argjson interaction "$(first_id interaction)" --argjson problem "$(first_id problem)" \
    --argjson batch "$(first_id batch)" --argjson contact "$(first_id contact)" \
    --argjson leader "$(user_id badinput.leader)" \
    --argjson webhook "$(owner_sql "SELECT min(id) FROM webhook WHERE description = 'bad_input'")" \
    '{url: $url,
      tokens: {admin: $admin, leader: $leader, bureau: $bureau, unit: $unit, viewer: $viewer},
      ids: {users: $target, units: $xishe, investors: $investor, projects: $project,
            contracts: $contract, starts: $start, interactions: $interaction,
            problems: $problem, batches: $batch, contacts: $contact, webhooks: $webhook},
      values: {unit_id: $xishe, owner_unit_id: $xishe, parent_id: $county, parent_unit_id: $county,
               project_id: $project, investor_id: $investor, leader_id: $leader,
               current_password: "Badinput-admin-2024"},
      bases: {"POST /api/v1/units": {kind: "township"},
              "POST /api/v1/projects/{id}/transitions": {to: "negotiating"},
              "POST /api/v1/starts": {project_id: $unstarted},
              "POST /api/v1/interactions": {project_id: $project},
              "POST /api/v1/webhooks": {url: "http://127.0.0.1:9/hook", event_types: ["contract.*"]}},
      known: $ARGS.positional[:$nknown], skip: $ARGS.positional[$nknown:]}' \
    --argjson nknown "${#KNOWN[@]}" --args "${KNOWN[@]}" "${SKIP[@]}" >"$ctx"

  before=$(fingerprint)
  last_audit=$(owner_sql "SELECT coalesce(max(id), 0) FROM audit_log")
  run python3 "$CRM_SOURCE_DIR/tests/contract/bad_inputs.py" run "$CRM_SOURCE_DIR/api/openapi.yaml" "$ctx"
  after=$(fingerprint)
  printf '# %s\n' "$output" | sed -n '1p' >&3
  printf '%s\n' "$output" | grep '^known product bug: \|^note: ' | cut -c1-240 | sed 's/^/# /' >&3 || true
  echo "$output" >&2
  changed=$(diff <(echo "$before") <(echo "$after") || true)
  if [ -n "$changed" ]; then
    echo "the database changed during the run (table|rows|digest):" >&2
    echo "$changed" >&2
    echo "audit rows written meanwhile (request_id is bad-input.<case number>):" >&2
    owner_sql "SELECT request_id, table_name, row_id, action, before, after
                 FROM audit_log WHERE id > $last_audit ORDER BY id" >&2
  fi
  [ -z "$changed" ]
  [ "$status" -eq 0 ]
}
