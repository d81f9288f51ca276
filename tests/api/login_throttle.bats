#!/usr/bin/env bats
# Issue 12, finding 2: the login throttle holds under parallel attempts
# (each is counted before its password is checked), and a stranger's
# failures do not lock the real user out at the address they log in from
# (ASVS 2.2: a per-(account, address) dimension). Client addresses are
# loopback ones (curl --interface 127.0.0.N).

load helpers

setup() {
  crm_env
}

teardown() {
  crm_stop || true
}

# login_from ADDRESS USERNAME PASSWORD: sets status.
login_from() {
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 --interface "$1" -X POST \
    -H 'Content-Type: application/json' \
    -d "$(jq -nc --arg u "$2" --arg p "$3" '{username: $u, password: $p}')" "$CRM_URL/api/v1/auth/login")
}

@test "40 parallel wrong passwords: no more than the account's limit are checked, the rest 429" {
  crm_start --login-max-failures 5 --login-max-failures-address 20 --login-backoff-max-s 60
  make_user thr.erin unit sx.yc.js.xishe 'Erin-xishe-2026'
  cfg="$BATS_TEST_TMPDIR/storm.cfg"
  : > "$cfg"
  for i in $(seq 1 40); do
    [ "$i" = 1 ] || echo next >> "$cfg"
    cat >> "$cfg" <<CFG
url = "$CRM_URL/api/v1/auth/login"
header = "Content-Type: application/json"
data-binary = "{\"username\":\"thr.erin\",\"password\":\"Wrong-pass-$i\"}"
max-time = 60
output = "/dev/null"
write-out = "%{http_code}\\n"
CFG
  done
  curl -s --parallel --parallel-immediate --parallel-max 40 -K "$cfg" > "$BATS_TEST_TMPDIR/statuses"
  echo "# $(sort "$BATS_TEST_TMPDIR/statuses" | uniq -c | tr -s ' \n' ' ')" >&3
  [ "$(grep -c . "$BATS_TEST_TMPDIR/statuses")" = 40 ]
  checked=$(grep -c '^401$' "$BATS_TEST_TMPDIR/statuses" || true)
  throttled=$(grep -c '^429$' "$BATS_TEST_TMPDIR/statuses" || true)
  [ "$checked" -le 5 ] || { echo "$checked wrong passwords were checked (limit 5)" >&2; return 1; }
  [ "$((checked + throttled))" = 40 ]
}

@test "a stranger's failures do not lock the real user out where they log in" {
  crm_start --login-max-failures 3 --login-max-failures-address 100 --login-backoff-max-s 60
  make_user thr.fay unit sx.yc.js.xishe 'Fay-xishe-2026'
  # Fay logs in from her desk (127.0.0.1).
  login_from 127.0.0.1 thr.fay 'Fay-xishe-2026'
  [ "$status" = 200 ]
  # A stranger (127.0.0.2) tries passwords until the account backs off.
  for i in 1 2 3; do
    login_from 127.0.0.2 thr.fay "Guess-$i-2026"
    [ "$status" = 401 ]
  done
  login_from 127.0.0.2 thr.fay 'Guess-4-2026'
  [ "$status" = 429 ]
  # From an address the account never succeeded at, the account waits too...
  login_from 127.0.0.3 thr.fay 'Fay-xishe-2026'
  [ "$status" = 429 ]
  # ... but Fay at her desk is not locked out.
  login_from 127.0.0.1 thr.fay 'Fay-xishe-2026'
  [ "$status" = 200 ]
  # And the stranger is still backed off.
  login_from 127.0.0.2 thr.fay 'Fay-xishe-2026'
  [ "$status" = 429 ]
}
