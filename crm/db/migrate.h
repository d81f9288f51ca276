/*
 * migrate: brings a database to the SQL of this build, as the owner role.
 * The SQL is history plus definitions (sql/schema/README.md):
 *
 * - sql/migrations/NNNN_name.sql: tables, columns, indexes, constraints and
 *   data changes, applied once each, in order. Each runs in its own
 *   transaction and is recorded in schema_migrations with its SHA-256; a
 *   recorded file whose content changed (or vanished) is an error and
 *   nothing more is applied, unless sql/migrations/restated lists the
 *   recorded checksum (a migration restated without changing what it
 *   makes, as issue 13 did): then the new checksum is recorded.
 * - sql/schema/NN_name.sql: functions, views, triggers and policies, each
 *   defined once (CREATE OR REPLACE, DROP POLICY IF EXISTS + CREATE), applied
 *   after the migrations in name order whenever a file's SHA-256 differs
 *   from the one recorded in schema_definitions; every changed file in one
 *   transaction.
 *
 * Function bodies are checked when called, not when created
 * (check_function_bodies off, as pg_restore does): the files are grouped by
 * concept, not by dependency. Blocking libpq: only for the CLI and
 * start-up, never on a worker loop. One session advisory lock serialises
 * concurrent runs.
 */
#ifndef CRM_MIGRATE_H
#define CRM_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

struct migration {
    int version;
    char *name;     /* file name */
    char *sql;      /* content */
    char checksum[65];
};

/* A recorded checksum that sql/migrations/restated accepts for a version. */
struct migration_restated {
    int version;
    char checksum[65];
};

struct migration_set {
    struct migration *items; /* sorted by version (definitions: by name) */
    size_t count;
    struct migration_restated *restated;
    size_t restated_count;
};

/* Reads dir/\*.sql named NNNN_name.sql, and dir/restated if present (lines
 * "NNNN <sha256>", # comments). Returns 0, or -1 with err filled (bad name,
 * duplicate version, unreadable file, bad restated line). Free with
 * migration_set_free whatever the result. */
int migration_set_load(struct migration_set *set, const char *dir, char *err, size_t errlen);

/* Reads dir/\*.sql named NN_name.sql (the definitions), in name order.
 * Same contract as migration_set_load; version is the NN. */
int definition_set_load(struct migration_set *set, const char *dir, char *err, size_t errlen);
void migration_set_free(struct migration_set *set);

/* The highest version in the set, 0 when empty. */
int migration_set_latest(const struct migration_set *set);

/* Prints each migration as applied or pending, and each definition file as
 * current or changed; returns 0, or -1 on a database error or a changed
 * migration (reported on out). */
int migrate_status(PGconn *conn, const struct migration_set *migrations,
                   const struct migration_set *definitions, FILE *out);

/* Applies the pending migrations, then the changed definitions. Returns 0,
 * or -1 (reported on out). */
int migrate_up(PGconn *conn, const struct migration_set *migrations,
               const struct migration_set *definitions, FILE *out);

/* Runs every .sql file of dir in name order, each in a transaction (the
 * demo data). Returns 0, or -1 (reported on out). */
int sql_run_dir(PGconn *conn, const char *dir, FILE *out);

#endif
