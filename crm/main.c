/*
 * crm: the investment-promotion CRM service. One program, several
 * subcommands; see `crm --help`.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} crm_commands[] = {
    {"serve", cmd_serve, "serve the HTTP API (embedded PostgreSQL unless CRM_DATABASE_URL)"},
    {"migrate", cmd_migrate, "status | up: the database schema"},
    {"init", cmd_init, "the first unit and admin of an empty database (a county's first run)"},
    {"unit", cmd_unit, "import FILE: the unit tree from a CSV (编码, 名称, 类型, 上级编码)"},
    {"user", cmd_user, "add | passwd: users from the command line (bootstrap)"},
    {"import", cmd_import, "FILE: the project ledger (台账) from a CSV saved by Excel"},
    {"pg", cmd_pg, "start | stop | env: the embedded PostgreSQL by hand"},
    {"routes", cmd_routes, "list the routes served"},
    {"version", cmd_version, "print the version"},
};

static void crm_usage(FILE *out)
{
    fprintf(out, "usage: crm <command> [options]   (crm <command> --help for its options)\n\n");
    for (size_t i = 0; i < sizeof crm_commands / sizeof crm_commands[0]; i++)
        fprintf(out, "  %-8s %s\n", crm_commands[i].name, crm_commands[i].help);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "crm: libsodium could not initialise\n");
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        crm_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof crm_commands / sizeof crm_commands[0]; i++)
        if (strcmp(argv[1], crm_commands[i].name) == 0)
            return crm_commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "crm: unknown command '%s'\n\n", argv[1]);
    crm_usage(stderr);
    return 2;
}
