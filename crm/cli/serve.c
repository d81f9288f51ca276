/*
 * serve: `crm serve` — take the address (one crm per port: a second one
 * exits here, before it touches the database, so it can never stop the first
 * one's embedded cluster), resolve the database (starting the embedded
 * cluster when no URL is set), migrate, optionally load the demo data, serve
 * until SIGINT/SIGTERM, then stop the embedded cluster and let the address go.
 */
#include <stdio.h>

#include "api/app.h"
#include "cli/commands.h"
#include "cli/database.h"
#include "core/log.h"
#include "http/listener.h"
#include "http/server.h"

int cli_load_config(struct crm_config *cfg, const char *usage, int argc, char **argv)
{
    char err[512];
    switch (config_load(cfg, argc, argv, err, sizeof err)) {
    case CONFIG_HELP:
        printf("%s\n", usage);
        config_print_help(stdout);
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "crm: %s\n", err);
        return 2;
    case CONFIG_OK:
        break;
    }
    if (log_set_level_name(cfg->log_level) != 0) {
        fprintf(stderr, "crm: log-level: '%s' is not debug, info, warn or error\n",
                cfg->log_level);
        return 2;
    }
    return -1;
}

int cmd_serve(int argc, char **argv)
{
    struct crm_config cfg = {0};
    int rc = cli_load_config(&cfg,
                             "usage: crm serve [options]\n\n"
                             "Serves the HTTP API. Without a database URL it runs the embedded\n"
                             "PostgreSQL under the data dir, migrates it and stops it on exit.",
                             argc, argv);
    if (rc >= 0) {
        config_free(&cfg);
        return rc;
    }
    struct listener listener;
    struct database db;
    char err[512];
    rc = 1;
    if (listener_open(&listener, cfg.listen, err, sizeof err) != 0) {
        fprintf(stderr, "crm: %s\n", err);
        goto done;
    }
    if (database_open(&db, &cfg) != 0)
        goto done;
    int expected = database_expected_version(&cfg);
    if (expected < 0)
        goto close;
    if ((db.embedded || db.owner_url) && database_migrate(&db, &cfg, cfg.demo) != 0)
        goto close;
    struct server_app app = api_app();
    rc = server_run(&cfg, &listener, db.app_url, &app, expected);
close:
    database_close(&db, 1);
done:
    listener_close(&listener);
    config_free(&cfg);
    return rc;
}
