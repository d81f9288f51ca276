#!/usr/bin/env bats
# The program's command line and the migrations: help, version, settings
# from the environment and flags, migrate status/up, checksums, roles.

load helpers

setup() {
  crm_env
}

teardown() {
  crm_stop || true
}

@test "every subcommand has --help; serve --help lists every setting" {
  for cmd in serve migrate pg user version; do
    run "$CRM_BIN" $cmd --help
    [ "$status" -eq 0 ]
    [[ "$output" == usage:* ]]
  done
  run "$CRM_BIN" serve --help
  for var in CRM_LISTEN CRM_WORKERS CRM_DATABASE_URL CRM_MIGRATE_DATABASE_URL CRM_DB_POOL_SIZE \
             CRM_DB_QUEUE_MAX CRM_DB_QUEUE_TIMEOUT_MS CRM_DB_STATEMENT_TIMEOUT_MS CRM_CORS_ORIGINS \
             CRM_SHUTDOWN_GRACE_MS CRM_HTTP_TIMEOUT_S CRM_LOG_LEVEL; do
    [[ "$output" == *"$var"* ]]
  done
  run "$CRM_BIN" version
  [[ "$output" =~ ^crm\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
  run "$CRM_BIN" frobnicate
  [ "$status" -eq 2 ]
}

@test "bad settings are refused with the setting named; flags override the environment" {
  run env CRM_DB_POOL_SIZE=lots "$CRM_BIN" serve
  [ "$status" -eq 2 ]
  [[ "$output" == *CRM_DB_POOL_SIZE* ]]
  run "$CRM_BIN" serve --listen nonsense
  [ "$status" -eq 2 ]
  [[ "$output" == *listen* ]]
  run "$CRM_BIN" serve --no-such-flag
  [ "$status" -eq 2 ]
  # The flag wins over the environment: a pool size from the flag shows in the metrics.
  CRM_DB_POOL_SIZE=7 crm_start --workers 1 --db-pool-size 3
  [ "$(curl -s "$CRM_URL/metrics" | sed -n 's/^crm_db_pool_connections //p')" = 3 ]
}

@test "migrate up applies in order, status tells, a second up changes nothing" {
  scratch_db crm_scratch_a
  run "$CRM_BIN" migrate status --database-url "$SCRATCH_APP" --migrate-database-url "$SCRATCH_OWNER"
  [ "$status" -eq 0 ]
  [[ "$output" == *"pending  0001_units.sql"* ]]
  [[ "$output" == *"pending  0002_identity.sql"* ]]
  run "$CRM_BIN" migrate up --database-url "$SCRATCH_APP" --migrate-database-url "$SCRATCH_OWNER"
  [ "$status" -eq 0 ]
  run "$CRM_BIN" migrate status --database-url "$SCRATCH_APP" --migrate-database-url "$SCRATCH_OWNER"
  [[ "$output" == *"applied  0001_units.sql"* ]]
  [[ "$output" != *pending* ]]
  run "$CRM_BIN" migrate up --database-url "$SCRATCH_APP" --migrate-database-url "$SCRATCH_OWNER"
  [ "$status" -eq 0 ]
  [[ "$output" != *applied* ]]
  n=$(psql "$SCRATCH_OWNER" -At -c "SELECT count(*) FROM schema_migrations")
  [ "$n" = "$(ls "$CRM_SQL_DIR"/migrations/*.sql | wc -l)" ]
}

@test "an applied migration whose file changed is an error" {
  scratch_db crm_scratch_b
  "$CRM_BIN" migrate up --database-url "$SCRATCH_APP" --migrate-database-url "$SCRATCH_OWNER"
  cp -r "$CRM_SQL_DIR" "$BATS_TEST_TMPDIR/sql"
  echo "-- edited after release" >> "$BATS_TEST_TMPDIR/sql/migrations/0001_units.sql"
  echo "CREATE TABLE should_not_exist (x int);" > "$BATS_TEST_TMPDIR/sql/migrations/9000_later.sql"
  run "$CRM_BIN" migrate up --sql-dir "$BATS_TEST_TMPDIR/sql" --database-url "$SCRATCH_APP" \
    --migrate-database-url "$SCRATCH_OWNER"
  [ "$status" -ne 0 ]
  [[ "$output" == *"0001_units.sql changed after it was applied"* ]]
  # Nothing after it was applied.
  [ "$(psql "$SCRATCH_OWNER" -At -c "SELECT to_regclass('should_not_exist') IS NULL")" = t ]
}

@test "a failing migration is rolled back whole and stops the run" {
  scratch_db crm_scratch_c
  cp -r "$CRM_SQL_DIR" "$BATS_TEST_TMPDIR/sql"
  printf 'CREATE TABLE half_done (x int);\nSELECT * FROM no_such_table;\n' > "$BATS_TEST_TMPDIR/sql/migrations/8000_broken.sql"
  echo "CREATE TABLE after_broken (x int);" > "$BATS_TEST_TMPDIR/sql/migrations/8001_after.sql"
  run "$CRM_BIN" migrate up --sql-dir "$BATS_TEST_TMPDIR/sql" --database-url "$SCRATCH_APP" \
    --migrate-database-url "$SCRATCH_OWNER"
  [ "$status" -ne 0 ]
  [[ "$output" == *8000_broken.sql* ]]
  [ "$(psql "$SCRATCH_OWNER" -At -c "SELECT to_regclass('half_done') IS NULL AND to_regclass('after_broken') IS NULL")" = t ]
  [ "$(psql "$SCRATCH_OWNER" -At -c "SELECT max(version) FROM schema_migrations")" = "$(latest_migration)" ]
}

@test "the service's role is neither superuser nor BYPASSRLS and cannot change the schema" {
  run psql "$CRM_DATABASE_URL" -At -c "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
  [ "$output" = "f|f|f|f" ]
  run psql "$CRM_DATABASE_URL" -c "CREATE TABLE intruder (x int)"
  [ "$status" -ne 0 ]
  run psql "$CRM_DATABASE_URL" -c "DELETE FROM unit"
  [ "$status" -ne 0 ]
  run psql "$CRM_DATABASE_URL" -c "DELETE FROM schema_migrations"
  [ "$status" -ne 0 ]
}

@test "concurrent migrate up runs serialize on the advisory lock" {
  scratch_db crm_scratch_d
  for i in 1 2 3; do
    "$CRM_BIN" migrate up --database-url "$SCRATCH_APP" --migrate-database-url "$SCRATCH_OWNER" \
      > "$BATS_TEST_TMPDIR/m$i" 2>&1 &
  done
  wait
  [ "$(cat "$BATS_TEST_TMPDIR"/m* | grep -c 'applied  0001_units.sql')" -eq 1 ]
  [ "$(psql "$SCRATCH_OWNER" -At -c "SELECT count(*) FROM schema_migrations")" = "$(ls "$CRM_SQL_DIR"/migrations/*.sql | wc -l)" ]
}
