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
    "status  lists each migration of <sql-dir>/migrations as applied or pending,\n"
    "        and each definition file of <sql-dir>/schema as current or changed\n"
    "up      applies the pending migrations in order, each in a transaction, then\n"
    "        the changed definition files, together in one transaction\n\n"
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
            struct migration_set migrations, definitions;
            PGconn *conn = PQconnectdb(db.owner_url);
            if (database_load_sql(&cfg, &migrations, &definitions) == 0) {
                if (PQstatus(conn) != CONNECTION_OK)
                    fprintf(stderr, "crm: %s", PQerrorMessage(conn));
                else
                    rc = migrate_status(conn, &migrations, &definitions, stdout) == 0 ? 0 : 1;
            }
            PQfinish(conn);
            migration_set_free(&migrations);
            migration_set_free(&definitions);
        } else {
            fprintf(stderr, "crm: no owner connection (CRM_MIGRATE_DATABASE_URL)\n");
        }
        database_close(&db, db.cluster.started_here);
    }
    config_free(&cfg);
    return rc;
}
