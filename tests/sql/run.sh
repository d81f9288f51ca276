#!/usr/bin/env bash
# sql.rls: the schema's own guarantees (row-level security, the lifecycle rules
# of DESIGN.md section 3...), proven inside PostgreSQL with pgTAP. Makes a
# scratch database crm_rls_test (owned by crm_owner) next to the test database,
# migrates it with `crm migrate up`, loads the demo unit tree, runs every
# tests/sql/*.sql file with one pg_prove call and drops the scratch database
# again. Each test file runs in one transaction that it rolls back, so the files
# do not see each other's fixtures.
#
# Environment: CRM_BIN (the crm binary), CRM_SOURCE_DIR (the repository root),
# CRM_TEST_DB (folder whose `env` file defines CRM_DATABASE_URL (crm_app),
# CRM_MIGRATE_DATABASE_URL (crm_owner) and CRM_PG_SUPERUSER_URL, all libpq
# key=value strings); optional CRM_SQL_DIR (default $CRM_SOURCE_DIR/sql).
# Prints pg_prove's report and exits with its status.
#
# The test runs as crm_owner and switches to crm_app with SET LOCAL ROLE, which
# needs crm_owner to be a member of crm_app. Where it is not (it is not in the
# roles made by `crm pg start` or deploy/postgres-init), pg_prove logs in as the
# superuser with the session role set to crm_owner (PGOPTIONS=-c role=...): the
# test still runs as crm_owner, and no role of the cluster is altered.
set -euo pipefail

: "${CRM_BIN:?CRM_BIN must name the crm binary}"
: "${CRM_SOURCE_DIR:?CRM_SOURCE_DIR must name the repository root}"
: "${CRM_TEST_DB:?CRM_TEST_DB must name the test database folder}"
SQL_DIR=${CRM_SQL_DIR:-$CRM_SOURCE_DIR/sql}
shopt -s nullglob
TEST_FILES=("$CRM_SOURCE_DIR"/tests/sql/*.sql)
shopt -u nullglob
SCRATCH=crm_rls_test

if [ ! -f "$CRM_TEST_DB/env" ]; then
  echo "run.sh: $CRM_TEST_DB/env is missing (is the test database started?)" >&2
  exit 1
fi
if [ "${#TEST_FILES[@]}" -eq 0 ]; then
  echo "run.sh: no test files in $CRM_SOURCE_DIR/tests/sql" >&2
  exit 1
fi
# shellcheck disable=SC1091
. "$CRM_TEST_DB/env"
: "${CRM_DATABASE_URL:?}" "${CRM_MIGRATE_DATABASE_URL:?}" "${CRM_PG_SUPERUSER_URL:?}"
for tool in psql pg_prove; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool is not installed (run scripts/deps.sh test)" >&2
    exit 1
  fi
done

# with_db CONNINFO DB: the same connection, to database DB.
with_db() {
  printf '%s dbname=%s\n' "$(printf '%s\n' "$1" | sed -E 's/(^|[[:space:]])dbname[[:space:]]*=[[:space:]]*[^[:space:]]*//g')" "$2"
}

# pg_env CONNINFO: the libpq environment variables (PGHOST, PGPORT, PGUSER,
# PGDATABASE...) of a key=value connection string, as NAME=VALUE lines. pg_prove
# hands --dbname to its own option parser, which cannot carry a connection
# string, so it connects through these.
pg_env() {
  local rest=$1 key value name
  local re="^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*('(([^'\\\\]|\\\\.)*)'|([^[:space:]]*))(.*)$"
  while [[ $rest =~ $re ]]; do
    key=${BASH_REMATCH[1]}
    if [[ ${BASH_REMATCH[2]} == \'* ]]; then
      value=$(printf '%s' "${BASH_REMATCH[3]}" | sed -E 's/\\(.)/\1/g')
    else
      value=${BASH_REMATCH[5]}
    fi
    rest=${BASH_REMATCH[6]}
    case $key in
      host) name=PGHOST ;; hostaddr) name=PGHOSTADDR ;; port) name=PGPORT ;;
      user) name=PGUSER ;; password) name=PGPASSWORD ;; passfile) name=PGPASSFILE ;;
      dbname) name=PGDATABASE ;; service) name=PGSERVICE ;; options) name=PGOPTIONS ;;
      sslmode) name=PGSSLMODE ;; sslrootcert) name=PGSSLROOTCERT ;; sslcert) name=PGSSLCERT ;;
      sslkey) name=PGSSLKEY ;; sslcrl) name=PGSSLCRL ;; connect_timeout) name=PGCONNECT_TIMEOUT ;;
      application_name) name=PGAPPNAME ;; target_session_attrs) name=PGTARGETSESSIONATTRS ;;
      channel_binding) name=PGCHANNELBINDING ;; gssencmode) name=PGGSSENCMODE ;;
      *) echo "run.sh: connection parameter $key is not supported here" >&2; return 1 ;;
    esac
    printf '%s=%s\n' "$name" "$value"
  done
  if [[ $rest =~ [^[:space:]] ]]; then
    echo "run.sh: cannot parse the connection string near: $rest" >&2
    return 1
  fi
}

# prove CONNINFO [EXTRA_PGOPTIONS]: pg_prove on the test files through CONNINFO.
prove() {
  local -a vars
  local env_lines
  env_lines=$(pg_env "$1") || return 1
  mapfile -t vars <<< "$env_lines"
  if [ -n "${2:-}" ]; then
    local opts=${PGOPTIONS:-} v
    for v in "${vars[@]}"; do [[ $v == PGOPTIONS=* ]] && opts=${v#PGOPTIONS=}; done
    vars+=("PGOPTIONS=${opts:+$opts }$2")
  fi
  env "${vars[@]}" pg_prove "${TEST_FILES[@]}"
}

APP_URL=$(with_db "$CRM_DATABASE_URL" "$SCRATCH")
OWNER_URL=$(with_db "$CRM_MIGRATE_DATABASE_URL" "$SCRATCH")
SUPER_URL=$(with_db "$CRM_PG_SUPERUSER_URL" postgres)
SUPER_SCRATCH_URL=$(with_db "$CRM_PG_SUPERUSER_URL" "$SCRATCH")

super() { psql "$SUPER_URL" --no-psqlrc -X -q -v ON_ERROR_STOP=1 "$@"; }

# shellcheck disable=SC2317  # called by the trap
drop_scratch() {
  super -c "DROP DATABASE IF EXISTS $SCRATCH WITH (FORCE)" >/dev/null 2>&1 || true
}
trap drop_scratch EXIT

super -c "SET client_min_messages TO warning" -c "DROP DATABASE IF EXISTS $SCRATCH WITH (FORCE)"
super -c "CREATE DATABASE $SCRATCH OWNER crm_owner ENCODING 'UTF8' TEMPLATE template0"
psql "$SUPER_SCRATCH_URL" --no-psqlrc -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgtap"

"$CRM_BIN" migrate up --sql-dir "$SQL_DIR" --database-url "$APP_URL" \
  --migrate-database-url "$OWNER_URL"
psql "$OWNER_URL" --no-psqlrc -X -q -v ON_ERROR_STOP=1 -f "$SQL_DIR/demo/0001_units.sql"

owner_in_app=$(super -At -c "SELECT pg_has_role('crm_owner', 'crm_app', 'MEMBER')")
status=0
if [ "$owner_in_app" = t ]; then
  prove "$OWNER_URL" || status=$?
else
  prove "$SUPER_SCRATCH_URL" "-c role=crm_owner" || status=$?
fi
exit "$status"
