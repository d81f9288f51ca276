#!/usr/bin/env bats
# Each township sees only its own unit's rows. Callers of 西社镇 (a unit user
# and a township admin) take ids that belong to 化峪镇 and call every route
# that takes an id: 404 each time (403 where their role may not call the
# route at all), and nothing changes. No list shows a foreign row.

load helpers

setup_file() {
  crm_env
  make_user scope.xishe unit sx.yc.js.xishe 'Scope-xishe-2024'
  make_user scope.xishe.admin admin sx.yc.js.xishe 'Scope-xadmin-2024'
  make_user scope.huayu unit sx.yc.js.huayu 'Scope-huayu-2024'
  make_user scope.county admin sx.yc.js 'Scope-county-2024'
  crm_start
  export CRM_URL CRM_PID CRM_OUT CRM_ERR
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# A fingerprint of the foreign user's row and sessions, to prove nothing changed.
huayu_state() {
  owner_sql "SELECT u.version, u.role, u.unit_id, u.disabled, u.password_hash,
                    (SELECT count(*) FROM session s WHERE s.user_id = u.id AND s.revoked_at IS NULL)
               FROM app_user u WHERE u.username = 'scope.huayu'"
}

# Every route that takes an id, called with a foreign id by token $1;
# each answer must be one of the statuses in $2 (a space-separated list).
call_all_with_foreign_id() {
  local token=$1 allowed=$2 id=$3 etag=$4
  local calls=(
    "GET /api/v1/users/$id"
    "PATCH /api/v1/users/$id"
    "POST /api/v1/users/$id/password"
    "DELETE /api/v1/users/$id/sessions"
  )
  local c method path
  for c in "${calls[@]}"; do
    method=${c%% *}
    path=${c#* }
    case "$method" in
      PATCH) api_json PATCH "$path" "$token" '{"display_name":"hijacked","role":"admin"}' -H "If-Match: $etag" ;;
      POST) api_json POST "$path" "$token" '{"password":"Hijacked-pass-2024"}' ;;
      *) api "$method" "$path" "$token" ;;
    esac
    echo "# $c -> $status" >&3
    [[ " $allowed " == *" $status "* ]] || { echo "$c answered $status: $body" >&2; return 1; }
    [ "$(header Content-Type)" = application/problem+json ]
  done
}

@test "a township admin gets 404 for every route with another township's user id, and nothing changes" {
  admin=$(login scope.xishe.admin 'Scope-xadmin-2024')
  victim_token=$(login scope.huayu 'Scope-huayu-2024')
  id=$(user_id scope.huayu)
  version=$(owner_sql "SELECT version FROM app_user WHERE id = $id")
  before=$(huayu_state)
  call_all_with_foreign_id "$admin" "404" "$id" "\"$version\""
  [ "$(huayu_state)" = "$before" ]
  api GET /api/v1/me "$victim_token"
  [ "$status" = 200 ]
  login scope.huayu 'Scope-huayu-2024' > /dev/null
}

@test "a unit user gets 403 or 404 for every route with another township's user id, and nothing changes" {
  token=$(login scope.xishe 'Scope-xishe-2024')
  id=$(user_id scope.huayu)
  before=$(huayu_state)
  call_all_with_foreign_id "$token" "403 404" "$id" '"1"'
  [ "$(huayu_state)" = "$before" ]
}

@test "the same routes work on a user of one's own township (the 404s above are scope, not breakage)" {
  admin=$(login scope.xishe.admin 'Scope-xadmin-2024')
  id=$(user_id scope.xishe)
  api GET "/api/v1/users/$id" "$admin"
  [ "$status" = 200 ]
  api DELETE "/api/v1/users/$id/sessions" "$admin"
  [ "$status" = 204 ]
}

@test "lists show no foreign row: units, users, audit" {
  xishe=$(unit_id sx.yc.js.xishe)
  # The unit user: its own township only.
  token=$(login scope.xishe 'Scope-xishe-2024')
  api GET /api/v1/units "$token"
  [ "$status" = 200 ]
  [ "$(jq -c '[.items[].id]' <<<"$body")" = "[$xishe]" ]
  # Projects: the page of its county is its own township's page; a
  # neighbour's is empty.
  api GET "/api/v1/projects?limit=200" "$token"
  own=$(jq -c '[.items[].id]' <<<"$body")
  [ "$own" != "[]" ]
  [ "$(jq "[.items[] | select(.unit_id != $xishe)] | length" <<<"$body")" = 0 ]
  api GET "/api/v1/projects?unit_id=$(unit_id sx.yc.js)&limit=200" "$token"
  [ "$status" = 200 ]
  [ "$(jq -c '[.items[].id]' <<<"$body")" = "$own" ]
  api GET "/api/v1/projects?unit_id=$(unit_id sx.yc.js.huayu)" "$token"
  [ "$status" = 200 ]
  [ "$(jq -c '.items' <<<"$body")" = "[]" ]
  # The township admin: users and audit of its township only.
  admin=$(login scope.xishe.admin 'Scope-xadmin-2024')
  api GET "/api/v1/users?limit=200" "$admin"
  [ "$status" = 200 ]
  [ "$(jq "[.items[] | select(.unit_id != $xishe)] | length" <<<"$body")" = 0 ]
  [ "$(jq '[.items[] | select(.username == "scope.xishe")] | length' <<<"$body")" = 1 ]
  api GET "/api/v1/users?unit_id=$(unit_id sx.yc.js.huayu)" "$admin"
  [ "$(jq '.items | length' <<<"$body")" = 0 ]
  api GET "/api/v1/audit?limit=200" "$admin"
  [ "$status" = 200 ]
  [ "$(jq "[.items[] | select(.unit_id != $xishe)] | length" <<<"$body")" = 0 ]
  api GET "/api/v1/audit?table=app_user&row_id=$(user_id scope.huayu)" "$admin"
  [ "$(jq '.items | length' <<<"$body")" = 0 ]
  # The county admin sees both townships.
  county=$(login scope.county 'Scope-county-2024')
  api GET "/api/v1/users?q=scope.&limit=200" "$county"
  [ "$(jq '[.items[].username] | sort | join(",")' -r <<<"$body")" = "scope.county,scope.huayu,scope.xishe,scope.xishe.admin" ]
}

@test "a township admin cannot create a user elsewhere or move one out of the township" {
  admin=$(login scope.xishe.admin 'Scope-xadmin-2024')
  api_json POST /api/v1/users "$admin" "{\"username\":\"scope.intruder\",\"role\":\"unit\",\"unit_id\":$(unit_id sx.yc.js.huayu),\"password\":\"Intruder-pass-2024\"}"
  [ "$status" = 422 ]
  [ "$(jq -r '.errors[0].field' <<<"$body")" = unit_id ]
  [ -z "$(user_id scope.intruder)" ]
  api_json POST /api/v1/users "$admin" "{\"username\":\"scope.intruder\",\"role\":\"admin\",\"unit_id\":$(unit_id sx.yc.js),\"password\":\"Intruder-pass-2024\"}"
  [ "$status" = 422 ]
  id=$(user_id scope.xishe)
  api GET "/api/v1/users/$id" "$admin"
  etag=$(header ETag)
  api_json PATCH "/api/v1/users/$id" "$admin" "{\"unit_id\":$(unit_id sx.yc.js.huayu)}" -H "If-Match: $etag"
  [ "$status" = 422 ]
  [ "$(owner_sql "SELECT unit_id FROM app_user WHERE id = $id")" = "$(unit_id sx.yc.js.xishe)" ]
}
