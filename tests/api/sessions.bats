#!/usr/bin/env bats
# Issue 16: once PostgreSQL has checked a session (auth_session), crm sets
# that session's caller from its own copy for a while (crm/http/sessions.h,
# STMT_AUTH_CACHED), a third of the check's cost. The copy is exact: it sets
# what auth_session set, and whatever ends a session or changes its caller,
# through crm or straight in the database, raises the sessions' generation
# (migration 0020), so the very next request is refused as before.

load helpers

setup_file() {
  crm_env
  make_user sess.admin admin sx.yc.js 'Sessions-admin-2026'
  crm_start
  ADMIN=$(login sess.admin 'Sessions-admin-2026')
  export CRM_URL CRM_PID CRM_OUT CRM_ERR ADMIN
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

metric() {
  curl -s "$CRM_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

# warm TOKEN: enough requests that each worker holds a copy of the session
# (a new connection each: the workers share the port).
warm() {
  local i
  for i in 1 2 3 4 5 6; do
    api GET /api/v1/me "$1"
    [ "$status" = 200 ] || { echo "warm: $status $body" >&2; return 1; }
  done
}

@test "a checked session's later requests are set from the copy, with the caller's own scope" {
  make_user sess.xishe unit sx.yc.js.xishe 'Sessions-xishe-2026'
  make_user sess.invest bureau sx.yc.js.invest 'Sessions-invest-2026'
  for who in xishe:sx.yc.js.xishe invest:sx.yc.js; do
    name=${who%%:*} scope=$(unit_id "${who#*:}")
    t=$(login "sess.$name" "Sessions-$name-2026")
    copies=$(metric 'crm_auth_checks_total{by="copy"}')
    warm "$t"
    # At most one check a worker went to auth_session.
    [ $(($(metric 'crm_auth_checks_total{by="copy"}') - copies)) -ge 4 ]
    # What the copy sets is the caller: a township sees its own projects; a
    # department (the investment centre) those of the county it serves.
    api GET "/api/v1/projects?limit=200" "$t"
    [ "$status" = 200 ]
    got=$(jq -r '.items[].id' <<<"$body")
    want=$(owner_sql "SELECT id FROM project WHERE unit_path @> ARRAY[$scope::bigint] ORDER BY id LIMIT 200")
    [ -n "$want" ]
    [ "$got" = "$want" ]
    api GET /api/v1/me "$t"
    [ "$(jq -r .username <<<"$body")" = "sess.$name" ]
  done
}

@test "a session ended in the database is refused at once, though crm holds a copy" {
  make_user sess.sql unit sx.yc.js.xishe 'Sessions-sql-2026'
  t=$(login sess.sql 'Sessions-sql-2026')
  warm "$t"
  refusals=$(metric crm_auth_copies_refused_total)
  owner_sql "UPDATE session SET revoked_at = now() WHERE user_id = $(user_id sess.sql) AND revoked_at IS NULL"
  for i in 1 2 3 4; do
    api GET /api/v1/me "$t"
    refused 401
  done
  # The copies were tried, and refused by PostgreSQL.
  [ "$(metric crm_auth_copies_refused_total)" -gt "$refusals" ]

  # A session cut short: the same.
  t=$(login sess.sql 'Sessions-sql-2026')
  warm "$t"
  owner_sql "UPDATE session SET expires_at = now() WHERE user_id = $(user_id sess.sql) AND revoked_at IS NULL"
  api GET /api/v1/me "$t"
  refused 401
}

@test "logout, disabling, a role change and a password change take effect on the next request" {
  xishe=$(unit_id sx.yc.js.xishe)
  project=$(owner_sql "SELECT min(id) FROM project WHERE unit_path @> ARRAY[$xishe::bigint]")
  visit="{\"unit_id\":$xishe,\"project_id\":$project,\"kind\":\"call\",\"occurred_on\":\"2026-11-20\",\"summary\":\"会话\"}"

  make_user sess.out unit sx.yc.js.xishe 'Sessions-out-2026'
  t=$(login sess.out 'Sessions-out-2026')
  warm "$t"
  api POST /api/v1/auth/logout "$t"
  [ "$status" = 204 ]
  api GET /api/v1/me "$t"
  refused 401

  make_user sess.role unit sx.yc.js.xishe 'Sessions-role-2026'
  t=$(login sess.role 'Sessions-role-2026')
  warm "$t"
  api_json POST /api/v1/interactions "$t" "$visit"
  [ "$status" = 201 ]
  id=$(user_id sess.role)
  api GET "/api/v1/users/$id" "$ADMIN"
  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"role":"viewer"}' -H "If-Match: $(header ETag)"
  [ "$status" = 200 ]
  # The copy said unit, which may log a visit: the database now says viewer
  # (or no session, if the change ended it).
  api_json POST /api/v1/interactions "$t" "$visit"
  [ "$status" = 403 ] || [ "$status" = 401 ]
  [ "$(owner_sql "SELECT count(*) FROM interaction WHERE created_by = $id")" = 1 ]

  make_user sess.off unit sx.yc.js.xishe 'Sessions-off-2026'
  t=$(login sess.off 'Sessions-off-2026')
  warm "$t"
  id=$(user_id sess.off)
  api GET "/api/v1/users/$id" "$ADMIN"
  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"disabled":true}' -H "If-Match: $(header ETag)"
  [ "$status" = 200 ]
  api GET /api/v1/me "$t"
  refused 401

  make_user sess.pw unit sx.yc.js.xishe 'Sessions-pw-2026'
  old=$(login sess.pw 'Sessions-pw-2026')
  new=$(login sess.pw 'Sessions-pw-2026')
  warm "$old"
  api_json POST /api/v1/me/password "$new" \
    '{"current_password":"Sessions-pw-2026","new_password":"Sessions-pw-2027!"}'
  [ "$status" = 204 ]
  api GET /api/v1/me "$old"
  refused 401
  api GET /api/v1/me "$new"
  [ "$status" = 200 ]
}

@test "auth_session says how long its check may stand; the generation moves once a transaction, and only for what can end a session" {
  make_user sess.gen unit sx.yc.js.xishe 'Sessions-gen-2026'
  uid=$(user_id sess.gen)
  # Two sessions of the user, as the owner, with known token hashes.
  owner_sql "INSERT INTO session (token_hash, user_id, expires_at) VALUES
               ('\\x$(printf 'a1%.0s' $(seq 32))', $uid, now() + interval '1 day'),
               ('\\x$(printf 'a2%.0s' $(seq 32))', $uid, now() + interval '5 seconds')"
  fresh() { # fresh TOKEN_BYTE IDLE_S: fresh_ms and whether generation is the table's
    psql "$CRM_DATABASE_URL" -At -v ON_ERROR_STOP=1 -c "SELECT a.fresh_ms, a.generation = g.n
        FROM auth_session('\\x$(printf "$1%.0s" $(seq 32))', 'sess-test', '{unit}', $2) a,
             auth_generation g"
  }
  [ "$(fresh a1 1800)" = "30000|t" ]  # a touch period: a tenth of the idle timeout, 30 s at most
  [ "$(fresh a1 100)" = "10000|t" ]
  [ "$(fresh a1 1)" = "0|t" ]         # an idle timeout of a period or less: no copy
  IFS='|' read -r ms same < <(fresh a2 1800)  # until the session's end, 5 s away
  [ "$ms" -gt 0 ] && [ "$ms" -le 5000 ] && [ "$same" = t ]

  # Holding the row: nobody else moves it meanwhile.
  run psql "$CRM_MIGRATE_DATABASE_URL" -At -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT 'start ' || n FROM auth_generation FOR UPDATE;
UPDATE session SET last_seen_at = now() WHERE user_id = $uid;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT 'touched ' || n FROM auth_generation;
UPDATE session SET revoked_at = now() WHERE user_id = $uid;
UPDATE app_user SET display_name = '改名' WHERE id = $uid;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT 'ended ' || n FROM auth_generation;
ROLLBACK;
SQL
  echo "$output"
  [ "$status" = 0 ]
  start=$(sed -n 's/^start //p' <<<"$output")
  [ "$(sed -n 's/^touched //p' <<<"$output")" = "$start" ]
  [ "$(sed -n 's/^ended //p' <<<"$output")" = "$((start + 1))" ]
}
