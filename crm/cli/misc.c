/*
 * misc: `crm pg` (the embedded cluster by hand, used by the test harness),
 * `crm routes` (the served routes, for the contract test) and `crm version`.
 */
#include <stdio.h>
#include <string.h>

#include "api/routes.h"
#include "cli/commands.h"
#include "db/cluster.h"

static const char pg_usage[] =
    "usage: crm pg start|stop|env [options]\n\n"
    "start  initialises (first time) and starts the embedded PostgreSQL under\n"
    "       <data-dir>/pg, creates its roles and database, and prints\n"
    "       CRM_DATABASE_URL, CRM_MIGRATE_DATABASE_URL, CRM_PG_SUPERUSER_URL\n"
    "       and CRM_PG_DIR lines (shell syntax)\n"
    "stop   stops it\n"
    "env    prints the two lines without starting anything";

int cmd_pg(int argc, char **argv)
{
    const char *action = argc > 0 ? argv[0] : "";
    int known = strcmp(action, "start") == 0 || strcmp(action, "stop") == 0 ||
                strcmp(action, "env") == 0;
    struct crm_config cfg = {0};
    int rc = cli_load_config(&cfg, pg_usage, argc - known, argv + known);
    if (rc >= 0 || !known) {
        if (rc < 0)
            fprintf(stderr, "%s\n", pg_usage);
        config_free(&cfg);
        return rc >= 0 ? rc : 2;
    }
    struct cluster c;
    char err[512];
    rc = 1;
    if (strcmp(action, "start") == 0) {
        if (cluster_start(&c, cfg.data_dir, cfg.pg_bindir, err, sizeof err) == 0)
            rc = 0;
    } else if (cluster_locate(&c, cfg.data_dir, cfg.pg_bindir, err, sizeof err) == 0) {
        rc = strcmp(action, "stop") == 0 ? (cluster_stop(&c) == 0 ? 0 : 1) : 0;
    }
    if (rc != 0)
        fprintf(stderr, "crm: %s\n", err);
    else if (strcmp(action, "stop") != 0)
        printf("CRM_DATABASE_URL='%s'\nCRM_MIGRATE_DATABASE_URL='%s'\n"
               "CRM_PG_SUPERUSER_URL='host=%s port=5432 dbname=postgres user=postgres'\n"
               "CRM_PG_DIR='%s'\n",
               c.app_url, c.owner_url, c.sockdir, c.dir);
    config_free(&cfg);
    return rc;
}

int cmd_routes(int argc, char **argv)
{
    for (size_t i = 0; i < api_nroutes; i++)
        printf("%s %s\n", router_method_name(api_routes[i].method), api_routes[i].pattern);
    return 0;
}

int cmd_version(int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: crm version\n\nPrints the version of crm.\n");
        return 0;
    }
    printf("crm %s\n", CRM_VERSION);
    return 0;
}
