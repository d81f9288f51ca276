#!/usr/bin/env bats
# The administrators' user routes: create, read, list with a cursor, change
# with If-Match, and what bad input gets (400/422 naming the field, nothing
# written); the audit trail of those changes; and a password check that
# fails for want of memory (503, not counted as a wrong password).

load helpers

setup_file() {
  crm_env
  make_user users.admin admin sx.yc.js 'Users-admin-2024'
  crm_start
  ADMIN=$(login users.admin 'Users-admin-2024')
  export CRM_URL CRM_PID CRM_OUT CRM_ERR ADMIN
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

teardown() {
  if [ -n "${LOCAL_PID:-}" ]; then
    kill -TERM "$LOCAL_PID" 2>/dev/null || true
    wait "$LOCAL_PID" 2>/dev/null || true
  fi
}

user_count() {
  owner_sql "SELECT count(*) FROM app_user"
}

@test "create, read, change with If-Match; stale and missing If-Match are refused" {
  xishe=$(unit_id sx.yc.js.xishe)
  api_json POST /api/v1/users "$ADMIN" "{\"username\":\"users.li\",\"display_name\":\"李四\",\"role\":\"unit\",\"unit_id\":$xishe,\"password\":\"Li-si-xishe-2024\"}"
  [ "$status" = 201 ]
  id=$(jq -r .id <<<"$body")
  [ "$(header Location)" = "/api/v1/users/$id" ]
  [ "$(header ETag)" = '"1"' ]
  [ "$(jq 'has("password_hash") or has("password")' <<<"$body")" = false ]
  login users.li 'Li-si-xishe-2024' > /dev/null

  api GET "/api/v1/users/$id" "$ADMIN"
  [ "$status" = 200 ]
  [ "$(jq -r .display_name <<<"$body")" = 李四 ]
  etag=$(header ETag)

  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"display_name":"李四（西社）"}'
  [ "$status" = 428 ]
  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"display_name":"李四（西社）"}' -H "If-Match: $etag"
  [ "$status" = 200 ]
  [ "$(header ETag)" = '"2"' ]
  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"display_name":"stale"}' -H "If-Match: $etag"
  [ "$status" = 412 ]
  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"display_name":"garbage"}' -H 'If-Match: yesterday'
  [ "$status" = 412 ]
  [ "$(owner_sql "SELECT display_name FROM app_user WHERE id = $id")" = "李四（西社）" ]
  api_json PATCH /api/v1/users/999999999 "$ADMIN" '{"display_name":"x"}' -H 'If-Match: "1"'
  [ "$status" = 404 ]
  api GET /api/v1/users/abc "$ADMIN"
  [ "$status" = 404 ]
  api GET /api/v1/users/0 "$ADMIN"
  [ "$status" = 404 ]

  api_json POST /api/v1/users "$ADMIN" "{\"username\":\"users.li\",\"role\":\"unit\",\"unit_id\":$xishe,\"password\":\"Li-si-again-2024\"}"
  [ "$status" = 409 ]
  [ "$(jq -r '.errors[0].field' <<<"$body")" = username ]
}

@test "bad user bodies: each field at fault is named, nothing is written" {
  before=$(user_count)
  xishe=$(unit_id sx.yc.js.xishe)
  good="\"username\":\"users.bad\",\"role\":\"unit\",\"unit_id\":$xishe,\"password\":\"Bad-user-2024x\""
  check() {  # check STATUS FIELD BODY
    api_json POST /api/v1/users "$ADMIN" "$3"
    [ "$status" = "$1" ] || { echo "wanted $1 for $3, got $status: $body" >&2; return 1; }
    if [ -n "$2" ]; then
      jq -e --arg f "$2" '[.errors[].field] | index($f) != null' <<<"$body" > /dev/null ||
        { echo "no error on $2: $body" >&2; return 1; }
    fi
  }
  check 400 "" "{$good"
  check 400 "" "{$good, \"username\":\"twice\"}"
  check 400 "" "[{$good}]"
  check 400 "" '"just a string"'
  check 400 "" "{$good, \"display_name\":\"nul\\u0000byte\"}"
  check 422 id "{$good, \"id\": 7}"
  check 422 password_hash "{$good, \"password_hash\":\"\$argon2id\$...\"}"
  check 422 disabled "{$good, \"disabled\": true}"
  check 422 unit_id "{\"username\":\"users.bad\",\"role\":\"unit\",\"unit_id\":\"$xishe\",\"password\":\"Bad-user-2024x\"}"
  check 422 role "{\"username\":\"users.bad\",\"role\":\"superuser\",\"unit_id\":$xishe,\"password\":\"Bad-user-2024x\"}"
  check 422 role "{\"username\":\"users.bad\",\"role\":[\"admin\"],\"unit_id\":$xishe,\"password\":\"Bad-user-2024x\"}"
  check 422 username "{\"username\":\"Users Bad\",\"role\":\"unit\",\"unit_id\":$xishe,\"password\":\"Bad-user-2024x\"}"
  check 422 username "{\"username\":\"$(printf 'u%.0s' {1..65})\",\"role\":\"unit\",\"unit_id\":$xishe,\"password\":\"Bad-user-2024x\"}"
  check 422 display_name "{$good, \"display_name\":\"$(printf '长%.0s' {1..150})\"}"
  check 422 password "{\"username\":\"users.bad\",\"role\":\"unit\",\"unit_id\":$xishe,\"password\":\"short\"}"
  check 422 password "{\"username\":\"users.bad\",\"role\":\"unit\",\"unit_id\":$xishe,\"password\":\"12345678\"}"
  check 422 password "{\"username\":\"users.bad\",\"role\":\"unit\",\"unit_id\":$xishe,\"password\":\"users.bad\"}"
  check 422 unit_id "{\"username\":\"users.bad\",\"role\":\"unit\",\"unit_id\":999999999,\"password\":\"Bad-user-2024x\"}"
  check 422 unit_id "{\"username\":\"users.bad\",\"role\":\"unit\",\"unit_id\":-3,\"password\":\"Bad-user-2024x\"}"
  check 422 role "{\"username\":\"users.bad\",\"unit_id\":$xishe,\"password\":\"Bad-user-2024x\"}"
  [ "$(user_count)" = "$before" ]
  # A bad PATCH names its field too, and changes nothing.
  id=$(user_id users.admin)
  api GET "/api/v1/users/$id" "$ADMIN"
  etag=$(header ETag)
  for patch in '{"username":"renamed"}' '{"id":1}' '{"password":"Another-pass-2024"}' '{"disabled":"yes"}' '{}'; do
    api_json PATCH "/api/v1/users/$id" "$ADMIN" "$patch" -H "If-Match: $etag"
    [ "$status" = 422 ]
  done
  api GET "/api/v1/users/$id" "$ADMIN"
  [ "$(header ETag)" = "$etag" ]
}

@test "the users list pages with an opaque cursor; a tampered one is a 400" {
  for i in 1 2 3; do
    make_user "users.page$i" viewer sx.yc.js "Users-page$i-2024"
  done
  api GET "/api/v1/users?q=users.page&limit=2" "$ADMIN"
  [ "$status" = 200 ]
  [ "$(jq -c '[.items[].username]' <<<"$body")" = '["users.page1","users.page2"]' ]
  cursor=$(jq -r .next_cursor <<<"$body")
  [ "$cursor" != null ]
  api GET "/api/v1/users?q=users.page&limit=2&cursor=$cursor" "$ADMIN"
  [ "$(jq -c '[.items[].username]' <<<"$body")" = '["users.page3"]' ]
  [ "$(jq -r .next_cursor <<<"$body")" = null ]
  for bad in "x${cursor}" "$(printf 'audit:5' | base64 | tr -d '=')" "%%%" "$(printf 'users:-1' | base64 | tr -d '=')"; do
    api GET "/api/v1/users?cursor=$bad" "$ADMIN"
    [ "$status" = 400 ]
  done
  for bad in 0 201 ten -1; do
    api GET "/api/v1/users?limit=$bad" "$ADMIN"
    [ "$status" = 400 ]
  done
  api GET "/api/v1/users?role=wizard" "$ADMIN"
  [ "$status" = 400 ]
  api GET "/api/v1/users?role=viewer&q=users.page" "$ADMIN"
  [ "$(jq '.items | length' <<<"$body")" = 3 ]
}

@test "changes are audited with actor, request id and only the changed fields" {
  make_user users.audited unit sx.yc.js.xishe 'Users-audited-2024'
  id=$(user_id users.audited)
  api GET "/api/v1/users/$id" "$ADMIN"
  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"role":"viewer"}' -H "If-Match: $(header ETag)" -H 'X-Request-Id: audit-trail-42'
  [ "$status" = 200 ]
  api GET "/api/v1/audit?table=app_user&row_id=$id&limit=1" "$ADMIN"
  [ "$status" = 200 ]
  entry=$(jq -c '.items[0]' <<<"$body")
  [ "$(jq -r .action <<<"$entry")" = update ]
  [ "$(jq -r .actor_id <<<"$entry")" = "$(user_id users.admin)" ]
  [ "$(jq -r .request_id <<<"$entry")" = audit-trail-42 ]
  [ "$(jq -c .before <<<"$entry")" = '{"role":"unit"}' ]
  [ "$(jq -c .after <<<"$entry")" = '{"role":"viewer"}' ]
  api GET "/api/v1/audit?actor_id=$(user_id users.admin)&since=2020-01-01&until=2999-01-01T00:00:00Z" "$ADMIN"
  [ "$status" = 200 ]
  [ "$(jq '.items | length' <<<"$body")" -ge 1 ]
  api GET "/api/v1/audit?since=yesterday" "$ADMIN"
  [ "$status" = 400 ]
  api GET "/api/v1/audit?since=2024-13-45" "$ADMIN"
  [ "$status" = 400 ]
  # The audit log is append-only, even for the service's own role.
  run psql "$CRM_DATABASE_URL" -c "DELETE FROM audit_log"
  [ "$status" -ne 0 ]
  run psql "$CRM_DATABASE_URL" -c "UPDATE audit_log SET actor_id = NULL"
  [ "$status" -ne 0 ]
}

@test "a password check that fails for want of memory is a 503 and is not counted as a failure" {
  # argon2id maps its memory itself: a plain (non-sanitizer) crm under an
  # address-space limit is what can really run out of it.
  [ -x "${CRM_PLAIN_BIN:-}" ] || skip "needs the crm_plain build (make test builds it)"
  make_user users.heavy unit sx.yc.js.xishe 'Users-heavy-2024'
  # A legal stored hash (256 MiB, within the service's limits) that this crm
  # cannot map under a 600 MiB address-space limit with two hashes running.
  heavy=$("$CRM_PWHASH_BIN" 'Users-heavy-2024' 2 268435456)
  owner_sql "UPDATE app_user SET password_hash = '$heavy' WHERE username = 'users.heavy'" > /dev/null
  out="$BATS_TEST_TMPDIR/local.out"
  (ulimit -v 450000; exec "$CRM_PLAIN_BIN" serve --listen 127.0.0.1:0 --database-url "$CRM_DATABASE_URL" \
    --login-max-failures 2 > "$out" 2> "$BATS_TEST_TMPDIR/local.err" 3>&-) &
  LOCAL_PID=$!
  for _ in $(seq 1 300); do grep -q 'serving on' "$out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^crm: serving on //p' "$out")
  [ -n "$url" ]
  for i in 1 2 3 4; do
    code=$(curl -s -o "$BATS_TEST_TMPDIR/b" -D "$BATS_TEST_TMPDIR/h" -w '%{http_code}' -X POST \
      -H 'Content-Type: application/json' -d '{"username":"users.heavy","password":"Users-heavy-2024"}' \
      "$url/api/v1/auth/login")
    [ "$code" = 503 ]     # never 401, and never 429: these were not failed attempts
    grep -qi '^Retry-After:' "$BATS_TEST_TMPDIR/h"
  done
  # With a hash it can afford, the same user logs in at once.
  owner_sql "UPDATE app_user SET password_hash = '$("$CRM_PWHASH_BIN" 'Users-heavy-2024' 2 67108864)' WHERE username = 'users.heavy'" > /dev/null
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"username":"users.heavy","password":"Users-heavy-2024"}' "$url/api/v1/auth/login")
  [ "$code" = 200 ]
}
