/*
 * migrate_cmd: `crm migrate status|up` with the owner role.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/database.h"
#include "db/migrate.h"

static const char migrate_usage[] =
    "usage: crm migrate status|up [options]\n\n"
    "status  lists each migration of <sql-dir>/migrations as applied or pending\n"
    "up      applies the pending ones in order, each in a transaction\n\n"
    "Runs as the owner role: CRM_MIGRATE_DATABASE_URL, or the embedded cluster.";

int cmd_migrate(int argc, char **argv)
{
    const char *action = argc > 0 ? argv[0] : "";
    int up = strcmp(action, "up") == 0, status = strcmp(action, "status") == 0;
    struct crm_config cfg = {0};
    int rc = cli_load_config(&cfg, migrate_usage, argc - (up || status), argv + (up || status));
    if (rc >= 0) {
        config_free(&cfg);
        return rc;
    }
    if (!up && !status) {
        fprintf(stderr, "%s\n", migrate_usage);
        config_free(&cfg);
        return 2;
    }
    struct database db;
    rc = 1;
    if (database_open(&db, &cfg) == 0) {
        if (up) {
            rc = database_migrate(&db, &cfg, cfg.demo) == 0 ? 0 : 1;
        } else if (db.owner_url) {
            char dir[4096], err[512];
            snprintf(dir, sizeof dir, "%s/migrations", cfg.sql_dir);
            struct migration_set set;
            PGconn *conn = PQconnectdb(db.owner_url);
            if (migration_set_load(&set, dir, err, sizeof err) != 0)
                fprintf(stderr, "crm: %s\n", err);
            else if (PQstatus(conn) != CONNECTION_OK)
                fprintf(stderr, "crm: %s", PQerrorMessage(conn));
            else
                rc = migrate_status(conn, &set, stdout) == 0 ? 0 : 1;
            PQfinish(conn);
            migration_set_free(&set);
        } else {
            fprintf(stderr, "crm: no owner connection (CRM_MIGRATE_DATABASE_URL)\n");
        }
        database_close(&db, db.cluster.started_here);
    }
    config_free(&cfg);
    return rc;
}
