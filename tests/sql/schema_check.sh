#!/usr/bin/env bash
# sql.schema: the schema an empty database gets from the migrations and the
# definitions of sql/schema, dumped
# with pg_dump --schema-only and compared with the committed snapshot
# tests/sql/schema.snapshot, so that every change to tables, functions,
# views, policies, triggers and grants shows in review (as Rails'
# structure.sql does). It is a dump, not a definition: it lives here, not
# under sql/, and is never applied. A change to the schema updates the snapshot in the same commit:
# CRM_SCHEMA_UPDATE=1 (or `make schema`) writes it instead of comparing.
#
# Environment: CRM_BIN, CRM_SOURCE_DIR, CRM_TEST_DB (whose env file names
# the run's cluster), optional CRM_SQL_DIR.
set -euo pipefail
: "${CRM_BIN:?}" "${CRM_SOURCE_DIR:?}" "${CRM_TEST_DB:?}"
SQL_DIR=${CRM_SQL_DIR:-$CRM_SOURCE_DIR/sql}
SNAPSHOT=$CRM_SOURCE_DIR/tests/sql/schema.snapshot
eval "$(cat "$CRM_TEST_DB/env")"
name=crm_schema_check
super=${CRM_PG_SUPERUSER_URL/dbname=postgres/dbname=$name}
psql "$CRM_PG_SUPERUSER_URL" -q -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name OWNER crm_owner"
trap 'psql "$CRM_PG_SUPERUSER_URL" -q -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true' EXIT
"$CRM_BIN" migrate up --sql-dir "$SQL_DIR" \
  --database-url "${CRM_DATABASE_URL/dbname=crm/dbname=$name}" \
  --migrate-database-url "${CRM_MIGRATE_DATABASE_URL/dbname=crm/dbname=$name}" >/dev/null
dump=$(mktemp)
# The lines that name the server's or pg_dump's version, or carry a random
# key (\restrict), are not the schema's.
pg_dump --schema-only "$super" | grep -Ev '^-- Dumped (from|by) |^\\(un)?restrict ' > "$dump"
if [ -n "${CRM_SCHEMA_UPDATE:-}" ]; then
  mv "$dump" "$SNAPSHOT"
  echo "written: $SNAPSHOT ($(wc -l < "$SNAPSHOT") lines)"
  exit 0
fi
if diff -u "$SNAPSHOT" "$dump" > "$dump.diff"; then
  echo "the schema matches $SNAPSHOT ($(wc -l < "$SNAPSHOT") lines)"
  rm -f "$dump" "$dump.diff"
  exit 0
fi
echo "The schema the migrations make differs from $SNAPSHOT:" >&2
head -n 120 "$dump.diff" >&2
echo "If the change is meant, refresh the snapshot (make schema) and commit it with the change." >&2
rm -f "$dump" "$dump.diff"
exit 1
