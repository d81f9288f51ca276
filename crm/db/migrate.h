/*
 * migrate: applies sql/migrations/NNNN_name.sql in order, as the owner role.
 *
 * Blocking libpq: only for the CLI and start-up, never on a worker loop.
 * Each file runs in its own transaction under a session advisory lock, and
 * is recorded in schema_migrations with its SHA-256; a recorded file whose
 * content changed (or vanished) is an error and nothing more is applied.
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

struct migration_set {
    struct migration *items; /* sorted by version */
    size_t count;
};

/* Reads dir/\*.sql named NNNN_name.sql. Returns 0, or -1 with err filled
 * (bad name, duplicate version, unreadable file). Free with
 * migration_set_free whatever the result. */
int migration_set_load(struct migration_set *set, const char *dir, char *err, size_t errlen);
void migration_set_free(struct migration_set *set);

/* The highest version in the set, 0 when empty. */
int migration_set_latest(const struct migration_set *set);

/* Prints each migration as applied or pending; returns 0, or -1 on a
 * database error or a changed file (reported on out). */
int migrate_status(PGconn *conn, const struct migration_set *set, FILE *out);

/* Applies what is pending. Returns 0, or -1 (reported on out). */
int migrate_up(PGconn *conn, const struct migration_set *set, FILE *out);

/* Runs every .sql file of dir in name order, each in a transaction (the
 * demo data). Returns 0, or -1 (reported on out). */
int sql_run_dir(PGconn *conn, const char *dir, FILE *out);

#endif
