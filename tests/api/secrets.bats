#!/usr/bin/env bats
# Neither the database nor the logs hold a raw token or password: after
# logins, a password change, an admin reset, a failed login and a logout,
# the whole database is dumped and the log read, and none of the secrets
# used appears in either (nor their base64 or hex forms).

load helpers

setup() {
  crm_env
}

teardown() {
  crm_stop || true
}

# absent [-i] TEXT FILE...: fails, naming the files, when TEXT occurs in one
# of them (grep's 1 is "nowhere"; 0 and 2, found or unreadable, both fail).
absent() {
  local flags=-lF
  if [ "$1" = -i ]; then
    flags=-liF
    shift
  fi
  local text=$1
  shift
  run grep "$flags" -- "$text" "$@"
  if [ "$status" -ne 1 ]; then
    echo "found a secret (grep status $status) in: $output" >&2
    return 1
  fi
}

@test "no raw token or password in the database or the logs" {
  p1='Secret-first-2024!' p2='Secret-second-2025?' p3='Secret-reset-2026#' wrong='Secret-wrong-2027%'
  make_user secrets.user unit sx.yc.js.xishe "$p1"
  make_user secrets.admin admin sx.yc.js 'Secret-admin-2024'
  crm_start --log-level debug
  t1=$(login secrets.user "$p1")
  t2=$(login secrets.user "$p1")
  admin=$(login secrets.admin 'Secret-admin-2024')
  api_json POST /api/v1/auth/login "" "{\"username\":\"secrets.user\",\"password\":\"$wrong\"}"
  [ "$status" = 401 ]
  api_json POST /api/v1/me/password "$t1" "{\"current_password\":\"$p1\",\"new_password\":\"$p2\"}"
  [ "$status" = 204 ]
  api_json POST "/api/v1/users/$(user_id secrets.user)/password" "$admin" "{\"password\":\"$p3\"}"
  [ "$status" = 204 ]
  t3=$(login secrets.user "$p3")
  api GET /api/v1/me "$t3"
  api POST /api/v1/auth/logout "$t3"
  [ "$status" = 204 ]
  crm_stop

  dump="$BATS_TEST_TMPDIR/dump.sql"
  pg_dump "${CRM_PG_SUPERUSER_URL/dbname=postgres/dbname=crm}" > "$dump"
  [ -s "$dump" ]
  grep -q 'secrets.user' "$dump"          # the dump has the user...
  grep -q 'argon2id' "$dump"              # ...and hashes...
  for secret in "$p1" "$p2" "$p3" "$wrong" 'Secret-admin-2024' "$t1" "$t2" "$t3" "$admin"; do
    absent "$secret" "$dump" "$CRM_ERR" "$CRM_OUT"
    # Nor in an encoded form: base64 of the secret, or the token's raw bytes in hex.
    absent "$(printf '%s' "$secret" | base64 | tr -d '=\n')" "$dump" "$CRM_ERR"
  done
  for t in "$t1" "$t2" "$t3" "$admin"; do
    hex=$(printf '%s' "$t" | tr '_-' '/+' | sed 's/$/=/' | base64 -d 2>/dev/null | od -An -tx1 | tr -d ' \n')
    [ ${#hex} -eq 64 ]
    absent -i "$hex" "$dump" "$CRM_ERR"
  done
  # The log did record the requests (so the check above read a real log).
  grep -q '"route":"/api/v1/auth/login"' "$CRM_ERR"
}
