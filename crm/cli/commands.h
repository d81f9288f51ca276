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

/* The whole file at path (malloc'd, at most 10 MiB) into *data. Returns 0,
 * or -1 after saying why. (cli/import.c) */
int cli_read_file(const char *path, char **data, size_t *len);

/* Takes "--name value" / "--name=value" out of argv (compacting it); the
 * value into out. Returns 1 when found. (cli/user.c) */
int cli_take_flag(int *argc, char **argv, const char *name, char *out, size_t outlen);

/* A password: one line from standard input, or two matching prompts
 * without echo on a terminal, into out. Returns 0, or -1. (cli/user.c) */
int cli_read_password(char *out, size_t outlen);

/* Checks a password against the policy and hashes it (argon2id) into hash
 * (crypto_pwhash_STRBYTES). Returns 0, or -1 after saying why. */
int cli_password_hash(const char *password, const char *username, char *hash);

int cmd_serve(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_unit(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_pg(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
