/*
 * io: the project ledger (台账) in and out.
 *
 * POST /imports/projects takes the CSV a county keeps in Excel (UTF-8 with
 * or without a byte order mark, or GB18030/GBK; charset= in Content-Type
 * overrides the guess), reads it with io/ledger_csv and hands the rows to
 * project_import, which stores each row as the caller (row-level security
 * applies) and reports each. ?mode=all_or_nothing stores nothing when any
 * row is refused: the report then comes back as a 422 problem.
 *
 * GET /exports/projects.csv and .xlsx write what projects_export returns
 * (the caller's projects, by ?unit_id, ?stage and ?is_key) with
 * io/ledger_export.
 *
 * Ownership: an import's ledger lives in the exchange's state until the
 * answer is sent.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/routes.h"
#include "core/log.h"
#include "db/statements.h"
#include "http/exchange.h"
#include "http/problem.h"
#include "http/query.h"
#include "io/ledger_csv.h"
#include "io/ledger_export.h"
#include "http/worker.h"

/* ---- import ---- */

struct import_state {
    struct ledger ledger;
    int all_or_nothing;
};

static void import_state_free(void *arg)
{
    struct import_state *s = arg;
    ledger_free(&s->ledger);
    free(s);
}

/* The charset parameter of the request's Content-Type into out ("" when
 * there is none). */
static void import_charset(struct exchange *x, char *out, size_t outlen)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(x->req), "Content-Type");
    const char *p = ct ? strcasestr(ct, "charset=") : NULL;
    out[0] = '\0';
    if (!p)
        return;
    p += 8;
    if (*p == '"')
        p++;
    size_t n = strcspn(p, "\"; \t");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void imports_on_done(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    struct import_state *s = x->state;
    /* A file too big to store within the statement timeout fails the same
     * way however often it is sent: say so rather than "retry". */
    if (r->failure == DB_FAIL_QUERY && strcmp(r->sqlstate, "57014") == 0) {
        log_event(LOG_WARN, x->request_id, "import: timed out",
                  json_pack("{s:I}", "rows", (json_int_t)json_array_size(s->ledger.rows)));
        exchange_send_problem(x, 503,
                              "The import took longer than the service allows; nothing was "
                              "imported. Split the file into smaller ones.");
        return;
    }
    if (exchange_db_failed(x, r))
        return;
    const char *text = db_value(exchange_result(x, r, 1), 0, 0);
    json_t *report = text ? json_loads(text, 0, NULL) : NULL;
    if (!report) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    ledger_annotate(&s->ledger, report);
    json_object_set_new(report, "mode",
                        json_string(s->all_or_nothing ? "all_or_nothing" : "per_row"));
    json_object_set_new(report, "encoding", json_string(s->ledger.encoding));
    json_object_set(report, "columns", s->ledger.columns);
    json_object_set(report, "warnings", s->ledger.warnings);
    json_int_t rejected = json_integer_value(json_object_get(report, "rejected"));
    log_event(LOG_INFO, x->request_id, "import: projects",
              json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "mode",
                        s->all_or_nothing ? "all_or_nothing" : "per_row", "written",
                        json_object_get(report, "written"), "created",
                        json_object_get(report, "created"), "updated",
                        json_object_get(report, "updated"), "unchanged",
                        json_object_get(report, "unchanged"), "rejected",
                        json_object_get(report, "rejected")));
    if (!json_is_false(json_object_get(report, "written"))) {
        exchange_send_json(x, 200, report);
        return;
    }
    char detail[160];
    snprintf(detail, sizeof detail, "%lld of the rows were rejected, so nothing was imported.",
             (long long)rejected);
    json_t *problem = problem_new(422, detail, x->request_id);
    if (problem)
        json_object_update_missing(problem, report);
    json_decref(report);
    exchange_send_problem_json(x, problem);
}

/* Answers the problem of a file that could not be read. */
static void import_refuse(struct exchange *x, enum ledger_status st, const struct ledger *l,
                          const char *detail)
{
    if (st == LEDGER_NOMEM) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    if (st == LEDGER_UNDECODABLE || st == LEDGER_MALFORMED) {
        exchange_send_problem(x, 400, detail);
        return;
    }
    if (st == LEDGER_NO_HEADER) {
        exchange_send_problem(x, 422, detail);
        return;
    }
    json_t *problem = problem_new(422, "The file lacks columns the import needs.", x->request_id);
    if (problem)
        json_object_set(problem, "errors", l->missing);
    exchange_send_problem_json(x, problem);
}

void imports_projects(struct exchange *x)
{
    const char *mode = exchange_query(x, "mode");
    if (mode && strcmp(mode, "per_row") != 0 && strcmp(mode, "all_or_nothing") != 0) {
        exchange_send_problem(x, 400,
                              "The query parameter 'mode' must be per_row or "
                              "all_or_nothing.");
        return;
    }
    struct import_state *s = calloc(1, sizeof *s);
    if (!s) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    s->all_or_nothing = mode && strcmp(mode, "all_or_nothing") == 0;
    x->state = s;
    x->state_free = import_state_free;

    struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
    size_t len = evbuffer_get_length(in);
    const char *data = len ? (const char *)evbuffer_pullup(in, -1) : "";
    char charset[64], detail[256];
    import_charset(x, charset, sizeof charset);
    enum ledger_status st = ledger_read(&s->ledger, data ? data : "", data ? len : 0,
                                        charset[0] ? charset : NULL, detail, sizeof detail);
    if (st != LEDGER_OK) {
        import_refuse(x, st, &s->ledger, detail);
        return;
    }
    char *rows = json_dumps(s->ledger.rows, JSON_COMPACT);
    if (!rows) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    struct db_job *job = exchange_job(x, imports_on_done);
    if (job) {
        /* A big ledger takes longer than a request: this job alone gets
         * the import's statement timeout. */
        int ms = x->worker->server->cfg->import_timeout_ms;
        char timeout[16];
        snprintf(timeout, sizeof timeout, "%d", ms);
        const char *limit[] = {timeout};
        db_job_add(job, STMT_STATEMENT_TIMEOUT, 1, limit);
        db_job_set_timeout(job, ms);
        const char *params[] = {rows, s->all_or_nothing ? "true" : "false"};
        db_job_add(job, STMT_PROJECT_IMPORT, 2, params);
        exchange_db_submit(x, job);
    }
    free(rows);
}

/* ---- export ---- */

enum export_format { EXPORT_CSV, EXPORT_XLSX };

static void exports_on_rows(struct exchange *x, struct db_result *r, enum export_format format)
{
    if (exchange_db_failed(x, r))
        return;
    const char *text = db_value(exchange_result(x, r, 0), 0, 0);
    json_t *rows = text ? json_loads(text, 0, NULL) : NULL;
    size_t len = 0;
    char *file = NULL;
    if (json_is_array(rows))
        file =
            format == EXPORT_CSV ? ledger_export_csv(rows, &len) : ledger_export_xlsx(rows, &len);
    json_decref(rows);
    if (!file) {
        log_msg(LOG_ERROR, x->request_id, "export: the ledger could not be written");
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    /* 项目台账: the ledger's name for those whose clients read filename*. */
    const char *ext = format == EXPORT_CSV ? "csv" : "xlsx";
    char disposition[160];
    snprintf(disposition, sizeof disposition,
             "attachment; filename=\"projects.%s\"; "
             "filename*=UTF-8''%%E9%%A1%%B9%%E7%%9B%%AE%%E5%%8F%%B0%%E8%%B4%%A6.%s",
             ext, ext);
    exchange_add_header(x, "Content-Disposition", disposition);
    exchange_send(x, 200,
                  format == EXPORT_CSV
                      ? "text/csv; charset=utf-8"
                      : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  file, len);
    free(file);
}

static void exports_on_csv(void *arg, struct db_result *r)
{
    exports_on_rows(arg, r, EXPORT_CSV);
}

static void exports_on_xlsx(void *arg, struct db_result *r)
{
    exports_on_rows(arg, r, EXPORT_XLSX);
}

static const char *const export_stages[] = {"planned",     "lead",    "negotiating",
                                            "signed",      "started", "in_production",
                                            "at_capacity", "stalled", "terminated"};

/* The filters of ?unit_id, ?stage and ?is_key as a JSON object, or NULL
 * after answering 400 (or 503). */
static json_t *export_filters(struct exchange *x)
{
    long long unit;
    if (query_int(x, "unit_id", 1, 9223372036854775807LL, -1, &unit) != 0)
        return NULL;
    const char *stage = exchange_query(x, "stage"), *key = exchange_query(x, "is_key");
    int stage_ok = !stage;
    for (size_t i = 0; stage && i < sizeof export_stages / sizeof export_stages[0]; i++)
        stage_ok |= strcmp(stage, export_stages[i]) == 0;
    if (!stage_ok) {
        exchange_send_problem(x, 400,
                              "The query parameter 'stage' must be a stage: planned, lead, "
                              "negotiating, signed, started, in_production, at_capacity, "
                              "stalled or terminated.");
        return NULL;
    }
    if (key && strcmp(key, "true") != 0 && strcmp(key, "false") != 0) {
        exchange_send_problem(x, 400, "The query parameter 'is_key' must be true or false.");
        return NULL;
    }
    json_t *f = json_object();
    if (f && unit > 0)
        json_object_set_new(f, "unit_id", json_integer(unit));
    if (f && stage)
        json_object_set_new(f, "stage", json_string(stage));
    if (f && key)
        json_object_set_new(f, "is_key", json_boolean(strcmp(key, "true") == 0));
    if (!f) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
    }
    return f;
}

static void exports_run(struct exchange *x, db_done_cb cb)
{
    json_t *filters = export_filters(x);
    if (!filters)
        return;
    char *text = json_dumps(filters, JSON_COMPACT);
    json_decref(filters);
    if (!text) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    struct db_job *job = exchange_job(x, cb);
    if (job) {
        const char *params[] = {text};
        db_job_add(job, STMT_PROJECTS_EXPORT, 1, params);
        exchange_db_submit(x, job);
    }
    free(text);
}

void exports_projects_csv(struct exchange *x)
{
    exports_run(x, exports_on_csv);
}

void exports_projects_xlsx(struct exchange *x)
{
    exports_run(x, exports_on_xlsx);
}
