/*
 * commands: the subcommands of `crm`. Each takes the arguments after its
 * name and returns the process exit status. These may block (they run
 * before or after the event loops, never on them).
 */
#ifndef CRM_COMMANDS_H
#define CRM_COMMANDS_H

#include "core/config.h"

/* Loads a subcommand's settings (defaults, CRM_* variables, flags) and sets
 * the log level. Prints the usage and settings for --help (returns 0) or the
 * error (returns 2); returns -1 when the command should go on. */
int cli_load_config(struct crm_config *cfg, const char *usage, int argc, char **argv);

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_pg(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
