#!/usr/bin/env bash
# sql.upgrade: an existing database upgrades in place. tests/fixtures/db-v11.pgdump
# is a database as the releases before issue 13 left it: migrations 0001-0011
# with the functions, triggers, policies and views still inside them, and the
# demo data (made with `crm migrate up --demo` on those files, pg_dump -Fc).
# This build migrates it; then it must have
# - the schema of a database this build makes from nothing (pg_dump
#   --schema-only, compared line by line),
# - the same rows in every table, and the same figures: each unit's KPIs
#   (kpi_fast_both, kpi_reference) and scores for every year with a target;
# - and a second `crm migrate up` must change nothing.
#
# Environment: CRM_BIN, CRM_SOURCE_DIR, CRM_TEST_DB, optional CRM_SQL_DIR.
set -euo pipefail
: "${CRM_BIN:?}" "${CRM_SOURCE_DIR:?}" "${CRM_TEST_DB:?}"
SQL_DIR=${CRM_SQL_DIR:-$CRM_SOURCE_DIR/sql}
FIXTURE=$CRM_SOURCE_DIR/tests/fixtures/db-v11.pgdump
eval "$(cat "$CRM_TEST_DB/env")"
old=crm_upgrade_old fresh=crm_upgrade_fresh
super() { echo "${CRM_PG_SUPERUSER_URL/dbname=postgres/dbname=$1}"; }
migrate() {
  "$CRM_BIN" migrate up --sql-dir "$SQL_DIR" \
    --database-url "${CRM_DATABASE_URL/dbname=crm/dbname=$1}" \
    --migrate-database-url "${CRM_MIGRATE_DATABASE_URL/dbname=crm/dbname=$1}" 2>&1
}
drop_all() { psql "$CRM_PG_SUPERUSER_URL" -q -c "DROP DATABASE IF EXISTS $old" -c "DROP DATABASE IF EXISTS $fresh"; }
schema_of() { pg_dump --schema-only "$(super "$1")" | grep -Ev '^-- Dumped (from|by) |^\\(un)?restrict '; }

# Rows per table (as the superuser: row-level security does not hide any);
# with a second argument, only of the tables it lists (space-separated): the
# tables the released database had, not those later migrations add.
rows_of() {
  psql "$(super "$1")" -At -v tables="${2:-}" <<SQL
    SELECT string_agg(format('%s=%s', c.relname,
             (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname),
                                                  false, true, '')))[1]::text), ' ' ORDER BY c.relname)
      FROM pg_class c
     WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
       AND c.relname NOT IN ('schema_migrations', 'schema_definitions')
       AND (:'tables' = '' OR c.relname = ANY (string_to_array(:'tables', ' ')))
SQL
}

# The figures of every unit in every year that has a target, as of its last day.
figures_of() {
  psql "$(super "$1")" -At -c "
    SELECT count(*) || ' ' || md5(string_agg(format('%s/%s %s %s %s', u.id, y.year,
             (SELECT row(f.*)::text FROM kpi_fast_both(u.id, y.year, make_date(y.year, 12, 31)) f),
             kpi_reference(u.id, y.year, make_date(y.year, 12, 31)),
             unit_score_calc(u.id, y.year, make_date(y.year, 12, 31))), '|' ORDER BY u.id, y.year))
      FROM unit u CROSS JOIN (SELECT DISTINCT year FROM target) y"
}

drop_all
trap drop_all EXIT
psql "$CRM_PG_SUPERUSER_URL" -q -c "CREATE DATABASE $old OWNER crm_owner" -c "CREATE DATABASE $fresh OWNER crm_owner"
pg_restore --exit-on-error -d "$(super "$old")" "$FIXTURE"

rows_before=$(rows_of $old)
tables_before=$(sed -E 's/=[0-9]+//g' <<<"$rows_before")
figures_before=$(figures_of $old)
[ "${figures_before%% *}" -ge 20 ] || { echo "the fixture has too few figures: $figures_before" >&2; exit 1; }

out=$(migrate $old) || { echo "$out" >&2; echo "migrating the released database failed" >&2; exit 1; }
echo "$out"
grep -q '^restated 0001_units.sql' <<<"$out" || { echo "0001 was not restated" >&2; exit 1; }
grep -q '^defined  schema/00_scope.sql' <<<"$out" || { echo "the definitions were not applied" >&2; exit 1; }
again=$(migrate $old)
[ -z "$again" ] || { echo "a second migrate up changed something: $again" >&2; exit 1; }

migrate $fresh >/dev/null
if ! diff -u <(schema_of $fresh) <(schema_of $old) > "${TMPDIR:-/tmp}/upgrade.$$.diff"; then
  echo "The upgraded database's schema differs from a fresh one (- fresh, + upgraded):" >&2
  head -n 80 "${TMPDIR:-/tmp}/upgrade.$$.diff" >&2
  rm -f "${TMPDIR:-/tmp}/upgrade.$$.diff"
  exit 1
fi
rm -f "${TMPDIR:-/tmp}/upgrade.$$.diff"

rows_after=$(rows_of $old "$tables_before")
[ "$rows_after" = "$rows_before" ] || { echo "rows changed: before $rows_before, after $rows_after" >&2; exit 1; }
figures_after=$(figures_of $old)
[ "$figures_after" = "$figures_before" ] || { echo "figures changed: $figures_before -> $figures_after" >&2; exit 1; }
echo "upgraded in place: schema as fresh, $(wc -w <<<"$rows_after") tables' rows and ${figures_after%% *} units' figures unchanged"
