# Shared by the API tests: start a real crm on the run's PostgreSQL, talk to
# it with curl, stop it. Each crm gets a free port (it binds port 0 and
# prints the URL) and its own log files in the test's temp folder.

crm_env() {
  eval "$(cat "$CRM_TEST_DB/env")"
  export CRM_DATABASE_URL CRM_MIGRATE_DATABASE_URL CRM_PG_SUPERUSER_URL CRM_PG_DIR
  export CRM_SQL_DIR
}

# crm_start [flags...]: serve on the run's database; sets CRM_URL, CRM_PID,
# CRM_OUT, CRM_ERR. Extra flags override the defaults.
crm_start() {
  local dir=${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}
  CRM_OUT="$dir/crm.$$.$RANDOM.out"
  CRM_ERR="${CRM_OUT%.out}.err"
  "$CRM_BIN" serve --listen 127.0.0.1:0 --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "" --workers 2 --shutdown-grace-ms 5000 "$@" \
    >"$CRM_OUT" 2>"$CRM_ERR" 3>&- &
  CRM_PID=$!
  local i
  for i in $(seq 1 100); do
    if grep -q '^crm: serving on ' "$CRM_OUT" 2>/dev/null; then
      CRM_URL=$(sed -n 's/^crm: serving on //p' "$CRM_OUT")
      return 0
    fi
    kill -0 "$CRM_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "crm did not start:" >&2
  cat "$CRM_ERR" >&2
  return 1
}

# crm_stop: SIGTERM and wait; returns crm's exit status.
crm_stop() {
  [ -n "${CRM_PID:-}" ] || return 0
  kill -TERM "$CRM_PID" 2>/dev/null || true
  local rc=0
  wait "$CRM_PID" || rc=$?
  CRM_PID=
  return $rc
}

# wait_for_status URL STATUS SECONDS: polls until URL answers STATUS.
wait_for_status() {
  local url=$1 want=$2 secs=$3 got=none
  local deadline=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  echo "$url: wanted $want, last answer $got" >&2
  return 1
}

# The newest migration's version, from the files (what /readyz must report).
latest_migration() {
  ls "$CRM_SQL_DIR/migrations" | sed -n 's/^\([0-9]\{4\}\)_.*\.sql$/\1/p' | sort | tail -n 1 | sed 's/^0*//'
}

# scratch_db NAME: an empty database NAME (made anew) owned by crm_owner, on
# the run's cluster; its URLs in SCRATCH_OWNER and SCRATCH_APP.
scratch_db() {
  local name=$1
  psql "$CRM_PG_SUPERUSER_URL" -q -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name OWNER crm_owner"
  SCRATCH_OWNER="${CRM_MIGRATE_DATABASE_URL/dbname=crm/dbname=$name}"
  SCRATCH_APP="${CRM_DATABASE_URL/dbname=crm/dbname=$name}"
}

# make_user USERNAME ROLE UNIT_CODE PASSWORD: creates (or resets) a user with
# the CLI, as the owner role.
make_user() {
  printf '%s\n' "$4" | "$CRM_BIN" user add --username "$1" --role "$2" --unit "$3" \
    --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" >/dev/null
}

# login USERNAME PASSWORD: prints the token (fails when login does).
login() {
  local body
  body=$(curl -s --max-time 10 -X POST -H 'Content-Type: application/json' \
    -d "$(jq -nc --arg u "$1" --arg p "$2" '{username: $u, password: $p}')" "$CRM_URL/api/v1/auth/login")
  jq -er .token <<<"$body"
}

# api METHOD PATH TOKEN [curl args...]: sets status, body, headers.
api() {
  local method=$1 path=$2 token=$3
  shift 3
  local h="$BATS_TEST_TMPDIR/h.$$" b="$BATS_TEST_TMPDIR/b.$$"
  local auth=()
  [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  status=$(curl -s -X "$method" -D "$h" -o "$b" -w '%{http_code}' --max-time 10 "${auth[@]}" "$@" "$CRM_URL$path")
  headers=$(tr -d '\r' < "$h")
  body=$(cat "$b")
}

# api_json METHOD PATH TOKEN JSON [curl args...]
api_json() {
  local method=$1 path=$2 token=$3 json=$4
  shift 4
  api "$method" "$path" "$token" -H 'Content-Type: application/json' --data-binary "$json" "$@"
}

header() {
  printf '%s\n' "$headers" | sed -n "s/^$1: //Ip" | head -n 1
}

# owner_sql SQL: runs SQL as the owner on the run's database, prints the rows.
owner_sql() {
  psql "$CRM_MIGRATE_DATABASE_URL" -At -v ON_ERROR_STOP=1 -c "$1"
}

unit_id() {
  owner_sql "SELECT id FROM unit WHERE code = '$1'"
}

user_id() {
  owner_sql "SELECT id FROM app_user WHERE username = '$1'"
}

# refused STATUS [FIELD]: the last answer (api) was a problem+json with
# STATUS, naming FIELD in its errors when FIELD is given.
refused() {
  [ "$status" = "$1" ] || { echo "wanted $1, got $status: ${body:0:600}" >&2; return 1; }
  [ "$(header Content-Type)" = application/problem+json ] || { echo "not a problem: $headers" >&2; return 1; }
  if [ -n "${2:-}" ]; then
    jq -e --arg f "$2" '[.errors[]?.field] | index($f) != null' <<<"$body" >/dev/null ||
      { echo "wanted an error on $2: $body" >&2; return 1; }
  fi
}
