/*
 * import: `crm import FILE`, the project ledger (台账) from the command line,
 * read as POST /imports/projects reads it (io/ledger_csv) and stored by the
 * same project_import, through the owner role: no caller, so no scope (the
 * unit column is then required for new projects). Prints the report; exits
 * 0 when no row was rejected, 1 otherwise, 2 on a usage error.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/database.h"
#include "db/statements.h"
#include "io/ledger_csv.h"

/* The largest file read: ten times what the API takes. */
#define IMPORT_FILE_MAX (10 * 1024 * 1024)

static const char import_usage[] =
    "usage: crm import FILE [--all-or-nothing] [--charset NAME] [--json] [options]\n\n"
    "Imports a project ledger (台账) saved from Excel as CSV: UTF-8 with or without a byte\n"
    "order mark, or GB18030/GBK (recognised; --charset names it instead). The first line\n"
    "that names 项目编号 and 项目名称 is the header. Rows are matched to projects by\n"
    "项目编号: new codes are created, known ones updated; empty cells change nothing.\n"
    "--all-or-nothing  store nothing when any row is rejected\n"
    "--json            print the report as JSON\n"
    "Runs as the owner role: CRM_MIGRATE_DATABASE_URL, or the embedded cluster.";

int cli_read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || ferror(f))
            break;
        char *bigger = cap < IMPORT_FILE_MAX ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            fprintf(stderr, "crm: %s is larger than %d MiB\n", path, IMPORT_FILE_MAX >> 20);
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = !buf || ferror(f);
    if (buf && ferror(f))
        perror(path);
    fclose(f);
    if (failed) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Runs project_import as the owner; the report into *report. */
static int import_run(const char *owner_url, const struct ledger *l, int all_or_nothing,
                      json_t **report)
{
    PGconn *conn = PQconnectdb(owner_url);
    int rc = -1;
    char *rows = json_dumps(l->rows, JSON_COMPACT);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "crm: %s", PQerrorMessage(conn));
    } else if (rows) {
        const char *params[] = {rows, all_or_nothing ? "true" : "false"};
        PGresult *r =
            PQexecParams(conn, statements[STMT_PROJECT_IMPORT].sql, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            fprintf(stderr, "crm: %s", PQerrorMessage(conn));
        else if ((*report = json_loads(PQgetvalue(r, 0, 0), 0, NULL)))
            rc = 0;
        PQclear(r);
    }
    free(rows);
    PQfinish(conn);
    return rc;
}

static void import_print(const struct ledger *l, json_t *report, const char *path)
{
    size_t i, j;
    json_t *row, *err, *w;
    printf("%s: %s, %zu rows\n", path, l->encoding, json_array_size(l->rows));
    json_array_foreach(l->warnings, i, w)
    {
        printf("warning: %s\n", json_string_value(w));
    }
    json_array_foreach(json_object_get(report, "rows"), i, row)
    {
        const char *outcome = json_string_value(json_object_get(row, "outcome"));
        const char *code = json_string_value(json_object_get(row, "code"));
        printf("line %-6lld %-20s %s\n",
               (long long)json_integer_value(json_object_get(row, "line")), code ? code : "-",
               outcome);
        json_array_foreach(json_object_get(row, "errors"), j, err)
        {
            const char *column = json_string_value(json_object_get(err, "column"));
            const char *field = json_string_value(json_object_get(err, "field"));
            const char *where = column ? column : field;
            printf("    %s: %s\n", where ? where : "row",
                   json_string_value(json_object_get(err, "message")));
        }
    }
    printf("%lld created, %lld updated, %lld unchanged, %lld rejected%s\n",
           (long long)json_integer_value(json_object_get(report, "created")),
           (long long)json_integer_value(json_object_get(report, "updated")),
           (long long)json_integer_value(json_object_get(report, "unchanged")),
           (long long)json_integer_value(json_object_get(report, "rejected")),
           json_is_false(json_object_get(report, "written"))
               ? ": nothing was written (all or nothing)"
               : "");
}

int cmd_import(int argc, char **argv)
{
    const char *path = NULL, *charset = NULL;
    int all_or_nothing = 0, as_json = 0, n = 0, settings = 0;
    /* Takes this command's own arguments out; the rest are settings (the
     * file comes before them). */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all-or-nothing") == 0)
            all_or_nothing = 1;
        else if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (strcmp(argv[i], "--charset") == 0 && i + 1 < argc)
            charset = argv[++i];
        else if (strncmp(argv[i], "--charset=", 10) == 0)
            charset = argv[i] + 10;
        else if (!path && !settings && argv[i][0] != '-')
            path = argv[i];
        else
            argv[n++] = argv[i], settings = 1;
    }
    struct crm_config cfg = {0};
    int rc = cli_load_config(&cfg, import_usage, n, argv);
    if (rc >= 0 || !path) {
        if (rc < 0)
            fprintf(stderr, "%s\n", import_usage);
        config_free(&cfg);
        return rc >= 0 ? rc : 2;
    }
    char *data = NULL, detail[256];
    size_t len = 0;
    struct ledger l;
    json_t *report = NULL;
    struct database db;
    rc = 1;
    if (cli_read_file(path, &data, &len) != 0) {
        config_free(&cfg);
        return 1;
    }
    enum ledger_status st = ledger_read(&l, data, len, charset, detail, sizeof detail);
    free(data);
    if (st == LEDGER_MISSING) {
        size_t i;
        json_t *m;
        json_array_foreach(l.missing, i, m)
        {
            fprintf(stderr, "crm: %s: the column %s is missing\n", path,
                    json_string_value(json_object_get(m, "column")));
        }
    } else if (st != LEDGER_OK) {
        fprintf(stderr, "crm: %s: %s\n", path, detail);
    } else if (database_open(&db, &cfg) == 0) {
        if (!db.owner_url)
            fprintf(stderr, "crm: no owner connection (CRM_MIGRATE_DATABASE_URL)\n");
        else if (import_run(db.owner_url, &l, all_or_nothing, &report) == 0)
            rc = json_integer_value(json_object_get(report, "rejected")) == 0 ? 0 : 1;
        database_close(&db, db.cluster.started_here);
    }
    if (report) {
        ledger_annotate(&l, report);
        if (as_json) {
            json_object_set_new(report, "mode",
                                json_string(all_or_nothing ? "all_or_nothing" : "per_row"));
            json_object_set_new(report, "encoding", json_string(l.encoding));
            json_object_set(report, "columns", l.columns);
            json_object_set(report, "warnings", l.warnings);
            json_dumpf(report, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            import_print(&l, report, path);
        }
        json_decref(report);
    }
    ledger_free(&l);
    config_free(&cfg);
    return rc;
}
