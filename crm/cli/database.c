/*
 * database: see database.h.
 */
#include "cli/database.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "db/migrate.h"

int database_open(struct database *db, const struct crm_config *cfg)
{
    memset(db, 0, sizeof *db);
    if (cfg->database_url && *cfg->database_url) {
        db->app_url = cfg->database_url;
        db->owner_url = cfg->migrate_database_url && *cfg->migrate_database_url
                            ? cfg->migrate_database_url
                            : NULL;
        return 0;
    }
    char err[512];
    if (cluster_start(&db->cluster, cfg->data_dir, cfg->pg_bindir, err, sizeof err) != 0) {
        fprintf(stderr, "crm: embedded PostgreSQL: %s\n", err);
        return -1;
    }
    db->embedded = 1;
    db->app_url = db->cluster.app_url;
    db->owner_url = cfg->migrate_database_url && *cfg->migrate_database_url
                        ? cfg->migrate_database_url
                        : db->cluster.owner_url;
    return 0;
}

void database_close(struct database *db, int stop_cluster)
{
    if (db->embedded && stop_cluster)
        cluster_stop(&db->cluster);
}

static int database_load_migrations(const struct crm_config *cfg, struct migration_set *set)
{
    char dir[4096], err[512];
    snprintf(dir, sizeof dir, "%s/migrations", cfg->sql_dir);
    if (migration_set_load(set, dir, err, sizeof err) != 0) {
        fprintf(stderr, "crm: %s\n", err);
        return -1;
    }
    return 0;
}

int database_load_sql(const struct crm_config *cfg, struct migration_set *migrations,
                      struct migration_set *definitions)
{
    char dir[4096], err[512];
    snprintf(dir, sizeof dir, "%s/schema", cfg->sql_dir);
    int rc = database_load_migrations(cfg, migrations);
    if (definition_set_load(definitions, dir, err, sizeof err) != 0) {
        fprintf(stderr, "crm: %s\n", err);
        rc = -1;
    }
    return rc;
}

int database_expected_version(const struct crm_config *cfg)
{
    struct migration_set set;
    int v = database_load_migrations(cfg, &set) == 0 ? migration_set_latest(&set) : -1;
    migration_set_free(&set);
    return v;
}

/* What `make run` shows of the county's promise (the figures come from the
 * data): each year that has targets, as of today; the current year in full
 * (its time progress, then each quota by rank), another year by its targets'
 * lines only (2024, the work report's, is the demo's history). */
static const char demo_board_sql[] =
    "WITH cur AS (SELECT extract(year FROM crm_today())::integer AS year) "
    "SELECT x.line FROM ("
    "  SELECT y.year, b.n::numeric AS n, b.line "
    "    FROM (SELECT DISTINCT year FROM target) y "
    "    CROSS JOIN LATERAL kpi_board(y.year) WITH ORDINALITY b (line, n), cur "
    "   WHERE y.year = cur.year OR b.line NOT LIKE '  #%' "
    "  UNION ALL "
    "  SELECT cur.year, 1.5, format('  time progress (序时进度) on %s: %s%%', crm_today(), "
    "                              round(100 * kpi_time_progress(cur.year, crm_today()), 1)) "
    "    FROM cur WHERE EXISTS (SELECT 1 FROM target t WHERE t.year = cur.year)) x "
    "ORDER BY x.year, x.n";

static void demo_board_print(PGconn *conn, FILE *out)
{
    PGresult *r = PQexec(conn, demo_board_sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
        fprintf(out, "\nTargets and where each unit stands (GET /api/v1/stats/units/{id}, /stats/ranking):\n");
        for (int i = 0; i < PQntuples(r); i++)
            fprintf(out, "  %s\n", PQgetvalue(r, i, 0));
    }
    PQclear(r);
}

int database_migrate(const struct database *db, const struct crm_config *cfg, int demo)
{
    if (!db->owner_url) {
        fprintf(stderr, "crm: no owner connection (CRM_MIGRATE_DATABASE_URL) to migrate with\n");
        return -1;
    }
    struct migration_set migrations, definitions;
    if (database_load_sql(cfg, &migrations, &definitions) != 0) {
        migration_set_free(&migrations);
        migration_set_free(&definitions);
        return -1;
    }
    PGconn *conn = PQconnectdb(db->owner_url);
    int rc = -1;
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "crm: cannot connect as the owner: %s", PQerrorMessage(conn));
    } else if (migrate_up(conn, &migrations, &definitions, stderr) == 0) {
        rc = 0;
        if (demo) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s/demo", cfg->sql_dir);
            rc = sql_run_dir(conn, dir, stderr);
            if (rc == 0)
                rc = demo_users_load(conn, cfg, stdout);
            if (rc == 0) {
                fprintf(stderr, "crm: demo data loaded\n");
                demo_board_print(conn, stdout);
            }
        }
    }
    PQfinish(conn);
    migration_set_free(&migrations);
    migration_set_free(&definitions);
    return rc;
}
