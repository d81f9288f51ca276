/*
 * database: which PostgreSQL the CLI talks to. With CRM_DATABASE_URL set,
 * that one (and CRM_MIGRATE_DATABASE_URL for the owner); without, the
 * embedded cluster under the data dir, started on demand.
 */
#ifndef CRM_CLI_DATABASE_H
#define CRM_CLI_DATABASE_H

#include <libpq-fe.h>
#include <stdio.h>

#include "core/config.h"
#include "db/cluster.h"
#include "db/migrate.h"

struct database {
    int embedded;
    struct cluster cluster;
    const char *app_url;   /* borrowed from cfg or cluster */
    const char *owner_url; /* NULL when not configured */
};

/* Resolves (and for the embedded cluster, starts) the database. Returns 0,
 * or -1 after printing why on stderr. */
int database_open(struct database *db, const struct crm_config *cfg);

/* Stops the embedded cluster if this process started it or must own it. */
void database_close(struct database *db, int stop_cluster);

/* Applies pending migrations with the owner role, then (when demo) the demo
 * data. Returns 0, or -1 after printing why. */
int database_migrate(const struct database *db, const struct crm_config *cfg, int demo);

/* Creates or resets the demo users (one per role) with new random
 * passwords, printed on out and saved in <data dir>/demo-logins (0600).
 * Returns 0, or -1. (cli/user.c) */
int demo_users_load(PGconn *conn, const struct crm_config *cfg, FILE *out);

/* Reads <sql-dir>/migrations and <sql-dir>/schema (db/migrate.h). Returns
 * 0, or -1 after printing why; free both sets whatever the result. */
int database_load_sql(const struct crm_config *cfg, struct migration_set *migrations,
                      struct migration_set *definitions);

/* The schema version this build's migrations reach; -1 on error. */
int database_expected_version(const struct crm_config *cfg);

#endif
