/*
 * unit: a county's first run without SQL.
 *
 * `crm init` migrates an empty database and creates its root unit and
 * first admin in one transaction; it refuses a database that has units
 * already. `crm unit import FILE` loads or updates a unit tree from a CSV
 * (编码, 名称, 类型, 上级编码), read as the ledger is (io/ledger_csv: UTF-8,
 * GB18030, UTF-16) and stored by unit_import (migration 0010), all or
 * nothing. Both run as the owner role and may block (never on a loop).
 */
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password_policy.h"
#include "cli/commands.h"
#include "cli/database.h"
#include "io/ledger_csv.h"

/* Runs sql as the owner; the first value of the first row into *value
 * (malloc'd, NULL for none) when value is given. Returns 0, or -1 after
 * printing the error. */
static int unit_owner_exec(PGconn *conn, const char *sql, int n, const char *const *params,
                           char **value)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        const char *column = PQresultErrorField(r, PG_DIAG_COLUMN_NAME);
        fprintf(stderr, "crm: %s%s%s", column ? column : "", column ? ": " : "",
                PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                    ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                    : PQerrorMessage(conn));
        fputc('\n', stderr);
    } else if (value) {
        *value = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/* ---- crm unit import ---- */

static const char unit_usage[] =
    "usage: crm unit import FILE [--json] [--charset NAME] [options]\n\n"
    "Loads a unit tree from a CSV saved by Excel (UTF-8 with or without a byte order mark,\n"
    "GB18030/GBK or UTF-16) with the columns 编码, 名称, 类型 and 上级编码 (or code, name,\n"
    "kind, parent_code). 类型: 省 市 县 区 镇 乡 园区 开发区 部门, or province, city, county,\n"
    "town, township, zone, department. Rows may come in any order. A new code is created,\n"
    "a known one renamed or moved as the file says. All or nothing: when a row is refused,\n"
    "nothing is stored and each refused line is printed with the reason.\n"
    "Runs as the owner role: CRM_MIGRATE_DATABASE_URL, or the embedded cluster.";

static void unit_import_print(const char *path, const struct ledger *l, json_t *report)
{
    size_t i;
    json_t *e;
    printf("%s: %s, %zu rows\n", path, l->encoding, json_array_size(l->rows));
    json_array_foreach(l->warnings, i, e)
    {
        printf("warning: %s\n", json_string_value(e));
    }
    json_array_foreach(json_object_get(report, "errors"), i, e)
    {
        printf("line %-6lld %s: %s\n", (long long)json_integer_value(json_object_get(e, "line")),
               json_string_value(json_object_get(e, "field")),
               json_string_value(json_object_get(e, "message")));
    }
    if (json_is_true(json_object_get(report, "stored")))
        printf("%lld created, %lld updated, %lld unchanged\n",
               (long long)json_integer_value(json_object_get(report, "created")),
               (long long)json_integer_value(json_object_get(report, "updated")),
               (long long)json_integer_value(json_object_get(report, "unchanged")));
    else
        printf("%zu rows refused: nothing was stored\n",
               json_array_size(json_object_get(report, "errors")));
}

/* Reads and stores the file; the report into *report. Returns 0 when
 * stored, 1 when refused or failed. */
static int unit_import_file(const struct crm_config *cfg, const char *path, const char *charset,
                            struct ledger *l, json_t **report)
{
    char *data = NULL, detail[256];
    size_t len = 0;
    if (cli_read_file(path, &data, &len) != 0)
        return 1;
    enum ledger_status st =
        ledger_read_as(l, &ledger_units, data, len, charset, detail, sizeof detail);
    free(data);
    if (st == LEDGER_MISSING) {
        size_t i;
        json_t *m;
        json_array_foreach(l->missing, i, m)
        {
            fprintf(stderr, "crm: %s: the column %s is missing\n", path,
                    json_string_value(json_object_get(m, "column")));
        }
        return 1;
    }
    if (st != LEDGER_OK) {
        fprintf(stderr, "crm: %s: %s\n", path, detail);
        return 1;
    }
    struct database db;
    int rc = 1;
    if (database_open(&db, cfg) != 0)
        return 1;
    char *rows = json_dumps(l->rows, JSON_COMPACT);
    PGconn *conn = db.owner_url && rows ? PQconnectdb(db.owner_url) : NULL;
    char *text = NULL;
    if (!db.owner_url) {
        fprintf(stderr, "crm: no owner connection (CRM_MIGRATE_DATABASE_URL)\n");
    } else if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "crm: %s", PQerrorMessage(conn));
    } else {
        const char *params[] = {rows};
        if (unit_owner_exec(conn, "SELECT unit_import($1::jsonb)", 1, params, &text) == 0 && text &&
            (*report = json_loads(text, 0, NULL)))
            rc = json_is_true(json_object_get(*report, "stored")) ? 0 : 1;
    }
    free(text);
    free(rows);
    PQfinish(conn);
    database_close(&db, db.cluster.started_here);
    return rc;
}

int cmd_unit(int argc, char **argv)
{
    const char *path = NULL;
    char charset[64] = "";
    int as_json = 0, n = 0;
    int import = argc > 0 && strcmp(argv[0], "import") == 0;
    argc -= import, argv += import;
    cli_take_flag(&argc, argv, "charset", charset, sizeof charset);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (!path && n == 0 && argv[i][0] != '-')
            path = argv[i];
        else
            argv[n++] = argv[i];
    }
    struct crm_config cfg = {0};
    int rc = cli_load_config(&cfg, unit_usage, n, argv);
    if (rc >= 0 || !import || !path) {
        if (rc < 0)
            fprintf(stderr, "%s\n", unit_usage);
        config_free(&cfg);
        return rc >= 0 ? rc : 2;
    }
    struct ledger l;
    json_t *report = NULL;
    rc = unit_import_file(&cfg, path, *charset ? charset : NULL, &l, &report);
    if (report && as_json) {
        json_object_set_new(report, "encoding", json_string(l.encoding));
        json_object_set(report, "warnings", l.warnings);
        json_dumpf(report, stdout, JSON_INDENT(2));
        putchar('\n');
    } else if (report) {
        unit_import_print(path, &l, report);
    }
    json_decref(report);
    ledger_free(&l);
    config_free(&cfg);
    return rc;
}

/* ---- crm init ---- */

static const char init_usage[] =
    "usage: crm init --unit-code CODE --unit-name NAME --unit-kind KIND --admin USERNAME\n"
    "                [--admin-name NAME] [options]\n\n"
    "The first run of a deployment: migrates the database, then creates its root unit (a\n"
    "county, city or province: --unit-kind county) and its first administrator, in one\n"
    "transaction. Refused when the database has units already. The password is read from\n"
    "standard input (one line) or asked for twice without echo. Next: `crm unit import FILE`\n"
    "for the townships, zones and departments, then `crm serve`; the admin does the rest\n"
    "through the API (users, targets, quotas).\n"
    "Runs as the owner role: CRM_MIGRATE_DATABASE_URL, or the embedded cluster.";

static const char init_sql[] =
    "WITH root AS (INSERT INTO unit (code, name, kind) "
    "  SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM unit) RETURNING id) "
    "INSERT INTO app_user (username, display_name, role, unit_id, password_hash) "
    "SELECT $4, $5, 'admin', id, $6 FROM root RETURNING unit_id";

/* Creates the root and the admin through conn. Returns 0, or 1. */
static int init_store(PGconn *conn, const char *const *params)
{
    char *unit_id = NULL;
    if (unit_owner_exec(conn, "BEGIN", 0, NULL, NULL) != 0)
        return 1;
    if (unit_owner_exec(conn, init_sql, 6, params, &unit_id) != 0) {
        unit_owner_exec(conn, "ROLLBACK", 0, NULL, NULL);
        return 1;
    }
    if (!unit_id) {
        unit_owner_exec(conn, "ROLLBACK", 0, NULL, NULL);
        fprintf(stderr, "crm: this database has units already: crm init is for an empty one "
                        "(crm unit import and crm user add change an existing one)\n");
        return 1;
    }
    int rc = unit_owner_exec(conn, "COMMIT", 0, NULL, NULL) == 0 ? 0 : 1;
    if (rc == 0)
        printf("unit %s (%s, %s) is the root, id %s; admin %s can log in\n", params[0], params[1],
               params[2], unit_id, params[3]);
    free(unit_id);
    return rc;
}

int cmd_init(int argc, char **argv)
{
    char code[128] = "", name[256] = "", kind[32] = "", admin[128] = "", admin_name[256] = "";
    cli_take_flag(&argc, argv, "unit-code", code, sizeof code);
    cli_take_flag(&argc, argv, "unit-name", name, sizeof name);
    cli_take_flag(&argc, argv, "unit-kind", kind, sizeof kind);
    cli_take_flag(&argc, argv, "admin", admin, sizeof admin);
    cli_take_flag(&argc, argv, "admin-name", admin_name, sizeof admin_name);
    struct crm_config cfg = {0};
    int rc = cli_load_config(&cfg, init_usage, argc, argv);
    if (rc >= 0 || !*code || !*name || !*kind || !*admin) {
        if (rc < 0)
            fprintf(stderr, "%s\n", init_usage);
        config_free(&cfg);
        return rc >= 0 ? rc : 2;
    }
    char password[PASSWORD_MAX_BYTES + 2], hash[crypto_pwhash_STRBYTES];
    int bad = cli_read_password(password, sizeof password) != 0 ||
              cli_password_hash(password, admin, hash) != 0;
    sodium_memzero(password, sizeof password);
    if (bad) {
        config_free(&cfg);
        return 1;
    }
    struct database db;
    rc = 1;
    if (database_open(&db, &cfg) == 0) {
        if (database_migrate(&db, &cfg, 0) == 0) {
            PGconn *conn = PQconnectdb(db.owner_url);
            if (PQstatus(conn) != CONNECTION_OK) {
                fprintf(stderr, "crm: %s", PQerrorMessage(conn));
            } else {
                const char *params[] = {code, name, kind, admin, admin_name, hash};
                rc = init_store(conn, params);
            }
            PQfinish(conn);
        }
        database_close(&db, db.cluster.started_here);
    }
    config_free(&cfg);
    return rc;
}
