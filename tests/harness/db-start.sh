#!/usr/bin/env bash
# CTest fixture: a throwaway embedded PostgreSQL for this test run, migrated
# and loaded with the demo data. Writes $CRM_TEST_DB/env for the tests.
set -euo pipefail
: "${CRM_BIN:?}" "${CRM_TEST_DB:?}"
mkdir -p "$CRM_TEST_DB"
# A previous run's cluster (here or in its /tmp fallback) is stopped and wiped.
if "$CRM_BIN" pg env --data-dir "$CRM_TEST_DB" > "$CRM_TEST_DB/env.old" 2>/dev/null; then
  eval "$(cat "$CRM_TEST_DB/env.old")"
  "$CRM_BIN" pg stop --data-dir "$CRM_TEST_DB" >/dev/null 2>&1 || true
  rm -rf "$CRM_PG_DIR"
fi
"$CRM_BIN" pg start --data-dir "$CRM_TEST_DB" > "$CRM_TEST_DB/env"
eval "$(cat "$CRM_TEST_DB/env")"
"$CRM_BIN" migrate up --database-url "$CRM_DATABASE_URL" \
  --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" --demo
echo "test database ready: $CRM_PG_DIR"
