/*
 * user: `crm user add` and `crm user passwd` for bootstrap (the first admin
 * of a deployment), and the demo users of `crm serve --demo`.
 *
 * Passwords come from standard input (one line) or a prompt without echo;
 * they are checked against the password policy, hashed with argon2id and
 * stored through the owner role. No migration ever creates a user.
 */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "auth/password_policy.h"
#include "auth/roles.h"
#include "cli/commands.h"
#include "cli/database.h"

int cli_take_flag(int *argc, char **argv, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
            continue;
        const char *value = NULL;
        int used = 1;
        if (a[2 + n] == '=')
            value = a + 3 + n;
        else if (a[2 + n] == '\0' && i + 1 < *argc)
            value = argv[i + 1], used = 2;
        else
            continue;
        snprintf(out, outlen, "%s", value);
        for (int k = i; k + used < *argc; k++)
            argv[k] = argv[k + used];
        *argc -= used;
        return 1;
    }
    return 0;
}

int cli_read_password(char *out, size_t outlen)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    for (int attempt = 0; attempt < (tty ? 2 : 1); attempt++) {
        char *buf = attempt == 0 ? out : malloc(outlen);
        if (!buf)
            return -1;
        if (tty) {
            fprintf(stderr, attempt == 0 ? "Password: " : "Again: ");
            tcgetattr(STDIN_FILENO, &old);
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
        char *got = fgets(buf, (int)outlen, stdin);
        if (tty) {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
            fprintf(stderr, "\n");
        }
        if (!got) {
            if (buf != out)
                free(buf);
            return -1;
        }
        buf[strcspn(buf, "\r\n")] = '\0';
        if (buf != out) {
            int same = strcmp(buf, out) == 0;
            sodium_memzero(buf, outlen);
            free(buf);
            if (!same) {
                fprintf(stderr, "crm: the two passwords differ\n");
                return -1;
            }
        }
    }
    return 0;
}

int cli_password_hash(const char *password, const char *username, char *hash)
{
    enum password_verdict v = password_check(password, strlen(password), username);
    if (v != PASSWORD_OK) {
        fprintf(stderr, "crm: the password %s\n", password_verdict_message(v));
        return -1;
    }
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(stderr, "crm: out of memory hashing the password\n");
        return -1;
    }
    return 0;
}

static int run_owner(PGconn *conn, const char *sql, int n, const char *const *params, int *rows)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "crm: %s", PQerrorMessage(conn));
    if (rows)
        *rows = ok ? atoi(PQcmdTuples(r)) : 0;
    PQclear(r);
    return ok ? 0 : -1;
}

static const char user_upsert_sql[] =
    "INSERT INTO app_user (username, display_name, role, unit_id, password_hash) "
    "SELECT $1, $2, $3, id, $5 FROM unit WHERE code = $4 "
    "ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name, "
    "role = EXCLUDED.role, unit_id = EXCLUDED.unit_id, password_hash = EXCLUDED.password_hash, "
    "password_changed_at = now(), disabled = false";

static const char user_usage[] =
    "usage: crm user add --username U --role R --unit CODE [--display-name N] [options]\n"
    "       crm user passwd USERNAME [options]\n\n"
    "add     creates a user (role: admin, leader, bureau, unit or viewer; unit: a unit's code)\n"
    "passwd  sets a user's password and ends their sessions\n"
    "The password is read from standard input (one line) or asked for twice without echo.\n"
    "Runs as the owner role: CRM_MIGRATE_DATABASE_URL, or the embedded cluster.";

int cmd_user(int argc, char **argv)
{
    const char *action = argc > 0 ? argv[0] : "";
    int add = strcmp(action, "add") == 0, passwd = strcmp(action, "passwd") == 0;
    char username[128] = "", role[32] = "", unit[128] = "", display[256] = "";
    argc -= add || passwd;
    argv += add || passwd;
    if (add) {
        cli_take_flag(&argc, argv, "username", username, sizeof username);
        cli_take_flag(&argc, argv, "role", role, sizeof role);
        cli_take_flag(&argc, argv, "unit", unit, sizeof unit);
        cli_take_flag(&argc, argv, "display-name", display, sizeof display);
    } else if (passwd && argc > 0 && strncmp(argv[0], "--", 2) != 0) {
        snprintf(username, sizeof username, "%s", argv[0]);
        argc--, argv++;
    }
    struct crm_config cfg = {0};
    int rc = cli_load_config(&cfg, user_usage, argc, argv);
    if (rc >= 0 || !(add || passwd) || !*username || (add && (!*role || !*unit))) {
        if (rc < 0)
            fprintf(stderr, "%s\n", user_usage);
        config_free(&cfg);
        return rc >= 0 ? rc : 2;
    }
    if (add && !role_parse(role)) {
        fprintf(stderr, "crm: role must be admin, leader, bureau, unit or viewer\n");
        config_free(&cfg);
        return 2;
    }
    char password[PASSWORD_MAX_BYTES + 2], hash[crypto_pwhash_STRBYTES];
    struct database db;
    rc = 1;
    if (cli_read_password(password, sizeof password) != 0 ||
        cli_password_hash(password, username, hash) != 0) {
        sodium_memzero(password, sizeof password);
        config_free(&cfg);
        return 1;
    }
    sodium_memzero(password, sizeof password);
    if (database_open(&db, &cfg) == 0 && db.owner_url) {
        PGconn *conn = PQconnectdb(db.owner_url);
        int rows = 0;
        if (PQstatus(conn) != CONNECTION_OK) {
            fprintf(stderr, "crm: %s", PQerrorMessage(conn));
        } else if (add) {
            const char *params[] = {username, display, role, unit, hash};
            if (run_owner(conn, user_upsert_sql, 5, params, &rows) == 0) {
                if (rows == 1) {
                    printf("user %s (%s) in unit %s: ready\n", username, role, unit);
                    rc = 0;
                } else {
                    fprintf(stderr, "crm: no unit has the code '%s'\n", unit);
                }
            }
        } else {
            const char *params[] = {username, hash};
            if (run_owner(conn,
                          "WITH u AS (UPDATE app_user SET password_hash = $2, "
                          "password_changed_at = now() WHERE username = $1 RETURNING id) "
                          "UPDATE session SET revoked_at = now() FROM u "
                          "WHERE session.user_id = u.id AND revoked_at IS NULL",
                          2, params, NULL) == 0 &&
                run_owner(conn, "SELECT 1 FROM app_user WHERE username = $1", 1, params, &rows) ==
                    0) {
                if (rows == 1) {
                    printf("password of %s changed; their sessions are ended\n", username);
                    rc = 0;
                } else {
                    fprintf(stderr, "crm: no user is named '%s'\n", username);
                }
            }
        }
        PQfinish(conn);
        database_close(&db, db.cluster.started_here);
    } else if (db.app_url && !db.owner_url) {
        fprintf(stderr, "crm: no owner connection (CRM_MIGRATE_DATABASE_URL)\n");
    }
    config_free(&cfg);
    return rc;
}

/* The demo users: one per role, with a fresh random password at every load,
 * printed for the person trying the product. */
static const struct {
    const char *username, *display, *role, *unit;
} demo_users[] = {
    {"demo.admin", "稷山县招商管理员", "admin", "sx.yc.js"},
    {"demo.leader", "县级领导（包联）", "leader", "sx.yc.js"},
    {"demo.bureau", "县投资促进中心", "bureau", "sx.yc.js.invest"},
    {"demo.xishe", "西社镇招商负责人", "unit", "sx.yc.js.xishe"},
    {"demo.viewer", "县考核办", "viewer", "sx.yc.js"},
};

/* The file the demo passwords are also written to (mode 0600), for the
 * README's login helper: "<role> <username> <password>" lines. NULL (and a
 * warning) when it cannot be written: the demo still runs. */
static FILE *demo_logins_open(const char *data_dir, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/demo-logins", data_dir);
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "crm: %s: %s (demo logins not saved)\n", data_dir, strerror(errno));
        return NULL;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "crm: %s: %s (demo logins not saved)\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

int demo_users_load(PGconn *conn, const struct crm_config *cfg, FILE *out)
{
    char path[4096];
    FILE *saved = demo_logins_open(cfg->data_dir, path, sizeof path);
    int rc = 0;
    fprintf(out, "\nDemo logins (new passwords at every start):\n");
    for (size_t i = 0; rc == 0 && i < sizeof demo_users / sizeof demo_users[0]; i++) {
        unsigned char raw[12];
        char password[24], hash[crypto_pwhash_STRBYTES];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(password, sizeof password, raw, sizeof raw,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        const char *params[] = {demo_users[i].username, demo_users[i].display, demo_users[i].role,
                                demo_users[i].unit, hash};
        if (cli_password_hash(password, demo_users[i].username, hash) != 0 ||
            run_owner(conn, user_upsert_sql, 5, params, NULL) != 0) {
            rc = -1;
            break;
        }
        fprintf(out, "  %-7s %-12s %s   (%s)\n", demo_users[i].role, demo_users[i].username,
                password, demo_users[i].display);
        if (saved)
            fprintf(saved, "%s %s %s\n", demo_users[i].role, demo_users[i].username, password);
        sodium_memzero(password, sizeof password);
    }
    if (saved && fclose(saved) == 0 && rc == 0)
        fprintf(out, "(also in %s, which the README's login helper reads)\n", path);
    if (rc == 0)
        fprintf(out,
                "Log in: curl -s -X POST -H 'Content-Type: application/json' "
                "-d '{\"username\":\"demo.admin\",\"password\":\"...\"}' "
                "http://%s/api/v1/auth/login\n\n",
                cfg->listen);
    return rc;
}
