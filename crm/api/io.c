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
 * io/ledger_export; an export of more than CRM_EXPORT_MAX_ROWS projects is
 * refused with 422 (counted without parsing).
 *
 * The heavy parts run on the offload threads, never on the worker's loop:
 * decoding and parsing the uploaded file, reading project_import's report
 * and writing the answer, reading projects_export's rows and building the
 * file (XLSX goes through a temporary file). Each is an offload job holding
 * copies (or PGresults taken from the db result), so the thread never
 * touches the exchange; too many at once is a 503.
 *
 * Ownership: an import's ledger lives in the exchange's state between the
 * two offload jobs, and in each job while it runs; an offload job frees
 * whatever it still holds.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/db_answers.h"
#include "api/routes.h"
#include "core/bounds.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/project_stages.h"
#include "db/statements.h"
#include "http/exchange.h"
#include "http/problem.h"
#include "http/query.h"
#include "io/ledger_csv.h"
#include "io/ledger_export.h"
#include "http/worker.h"

/* ---- offloading ---- */

/* Queues job on the offload threads for x: done answers x later; or, when
 * too many are under way, answers 503 now and frees the job. */
static void io_offload(struct exchange *x, offload_run_fn run, offload_done_fn done,
                       offload_free_fn free_job, void *job)
{
    const struct crm_config *cfg = x->worker->server->cfg;
    offload_start(cfg->io_threads, cfg->io_max_in_flight); /* once: the first start wins */
    if (offload_submit(x->worker->base, run, done, free_job, job, x))
        return;
    free_job(job);
    exchange_add_header(x, "Retry-After", "1");
    exchange_send_problem(x, 503, "Too many imports and exports are under way; retry shortly.");
}

/* Answers a job cancelled because the worker stops. */
static void io_send_cancelled(struct exchange *x)
{
    exchange_add_header(x, "Retry-After", "1");
    exchange_send_problem(x, 503, "The service is stopping; retry shortly.");
}

/* Takes the handler's i-th result out of r, so that it outlives the
 * callback (the caller PQclears it). NULL when there is none. */
static PGresult *io_take_result(struct exchange *x, struct db_result *r, int i)
{
    PGresult *res = exchange_result(x, r, i);
    for (int k = 0; res && k < r->ncalls; k++)
        if (r->results[k] == res)
            r->results[k] = NULL;
    return res;
}

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

/* Reading project_import's report, off the loop. */
struct import_report_job {
    PGresult *res;        /* project_import's answer */
    struct ledger ledger; /* moved out of the exchange's state, for the columns */
    int all_or_nothing;
    char request_id[REQUEST_ID_MAX + 1];
    /* results */
    int status;         /* 200, 422, or 500 when the report is unreadable */
    char *text;         /* the answer: the report, or the 422 problem */
    json_t *log_fields; /* the counts, for the log line */
};

static void import_report_free(void *arg)
{
    struct import_report_job *job = arg;
    PQclear(job->res);
    ledger_free(&job->ledger);
    free(job->text);
    json_decref(job->log_fields);
    free(job);
}

static void import_report_run(void *arg)
{
    struct import_report_job *job = arg;
    const char *text = db_value(job->res, 0, 0);
    json_t *report = text ? json_loads(text, 0, NULL) : NULL;
    PQclear(job->res);
    job->res = NULL;
    job->status = 500;
    if (!json_is_object(report)) {
        json_decref(report);
        return;
    }
    const char *mode = job->all_or_nothing ? "all_or_nothing" : "per_row";
    ledger_annotate(&job->ledger, report);
    json_object_set_new(report, "mode", json_string(mode));
    json_object_set_new(report, "encoding", json_string(job->ledger.encoding));
    json_object_set(report, "columns", job->ledger.columns);
    json_object_set(report, "warnings", job->ledger.warnings);
    job->log_fields = json_pack(
        "{s:s, s:O, s:O, s:O, s:O, s:O}", "mode", mode, "written",
        json_object_get(report, "written"), "created", json_object_get(report, "created"),
        "updated", json_object_get(report, "updated"), "unchanged",
        json_object_get(report, "unchanged"), "rejected", json_object_get(report, "rejected"));
    json_t *answer = report;
    int refused = json_is_false(json_object_get(report, "written"));
    if (refused) {
        char detail[160];
        snprintf(detail, sizeof detail, "%lld of the rows were rejected, so nothing was imported.",
                 (long long)json_integer_value(json_object_get(report, "rejected")));
        answer = problem_new(422, detail, job->request_id);
        if (answer)
            json_object_update_missing(answer, report);
        json_decref(report);
    }
    job->text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    json_decref(answer);
    if (job->text)
        job->status = refused ? 422 : 200;
}

static void import_report_done(void *arg, void *job_arg, int cancelled)
{
    struct exchange *x = arg;
    struct import_report_job *job = job_arg;
    if (cancelled) {
        io_send_cancelled(x);
        return;
    }
    if (job->status == 500) {
        log_msg(LOG_ERROR, x->request_id, "import: the report could not be read or written");
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    log_event(LOG_INFO, x->request_id, "import: projects", job->log_fields);
    job->log_fields = NULL;
    if (job->status == 200)
        exchange_send_json_text(x, 200, job->text, strlen(job->text));
    else
        exchange_send(x, 422, "application/problem+json", job->text, strlen(job->text));
}

static void imports_on_done(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    struct import_state *s = x->state;
    if (answer_db_error_for(x, r, DB_IMPORT, NULL))
        return;
    struct import_report_job *job = calloc(1, sizeof *job);
    if (!job) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    job->res = io_take_result(x, r, 1);
    job->ledger = s->ledger;
    memset(&s->ledger, 0, sizeof s->ledger);
    job->all_or_nothing = s->all_or_nothing;
    snprintf(job->request_id, sizeof job->request_id, "%s", x->request_id);
    io_offload(x, import_report_run, import_report_done, import_report_free, job);
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

/* Reading the uploaded file, off the loop. */
struct import_read_job {
    char *data; /* the body, copied */
    size_t len;
    char charset[64];
    /* results */
    enum ledger_status status;
    struct ledger ledger;
    char detail[256];
    char *rows; /* the rows as JSON text, for project_import */
};

static void import_read_free(void *arg)
{
    struct import_read_job *job = arg;
    free(job->data);
    ledger_free(&job->ledger);
    free(job->rows);
    free(job);
}

static void import_read_run(void *arg)
{
    struct import_read_job *job = arg;
    job->status =
        ledger_read(&job->ledger, job->data, job->len, job->charset[0] ? job->charset : NULL,
                    job->detail, sizeof job->detail);
    free(job->data);
    job->data = NULL;
    if (job->status == LEDGER_OK && !(job->rows = json_dumps(job->ledger.rows, JSON_COMPACT)))
        job->status = LEDGER_NOMEM;
}

static void import_read_done(void *arg, void *job_arg, int cancelled)
{
    struct exchange *x = arg;
    struct import_read_job *job = job_arg;
    struct import_state *s = x->state;
    if (cancelled) {
        io_send_cancelled(x);
        return;
    }
    if (job->status != LEDGER_OK) {
        import_refuse(x, job->status, &job->ledger, job->detail);
        return;
    }
    s->ledger = job->ledger;
    memset(&job->ledger, 0, sizeof job->ledger);
    struct db_job *dbjob = exchange_job(x, imports_on_done);
    if (!dbjob)
        return;
    /* A big ledger takes longer than a request: this job alone gets the
     * import's statement timeout. */
    int ms = x->worker->server->cfg->import_timeout_ms;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", ms);
    const char *limit[] = {timeout};
    db_job_add(dbjob, STMT_STATEMENT_TIMEOUT, 1, limit);
    db_job_set_timeout(dbjob, ms);
    const char *params[] = {job->rows, s->all_or_nothing ? "true" : "false"};
    db_job_add(dbjob, STMT_PROJECT_IMPORT, 2, params);
    exchange_db_submit(x, dbjob);
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
    struct import_read_job *job = calloc(1, sizeof *job);
    struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
    size_t len = evbuffer_get_length(in);
    char *data = job ? malloc(len + 1) : NULL;
    if (!s || !job || !data) {
        free(s);
        free(job);
        free(data);
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    s->all_or_nothing = mode && strcmp(mode, "all_or_nothing") == 0;
    x->state = s;
    x->state_free = import_state_free;
    evbuffer_copyout(in, data, len);
    data[len] = '\0';
    job->data = data;
    job->len = len;
    import_charset(x, job->charset, sizeof job->charset);
    io_offload(x, import_read_run, import_read_done, import_read_free, job);
}

/* ---- export ---- */

enum export_format { EXPORT_CSV, EXPORT_XLSX };

/* Building the file, off the loop. */
struct export_job {
    PGresult *res; /* projects_export's answer */
    enum export_format format;
    long max_rows;
    /* results */
    long rows; /* the projects in the answer; -1 when unreadable */
    char *file;
    size_t len;
};

static void export_free(void *arg)
{
    struct export_job *job = arg;
    PQclear(job->res);
    free(job->file);
    free(job);
}

static void export_run(void *arg)
{
    struct export_job *job = arg;
    const char *text = db_value(job->res, 0, 0);
    size_t len = text ? strlen(text) : 0;
    job->rows = text ? ledger_export_count(text, len) : -1;
    if (job->rows < 0 || job->rows > job->max_rows)
        return;
    json_t *rows = json_loadb(text, len, 0, NULL);
    PQclear(job->res); /* the text is no longer needed while the file is built */
    job->res = NULL;
    if (json_is_array(rows))
        job->file = job->format == EXPORT_CSV ? ledger_export_csv(rows, &job->len)
                                              : ledger_export_xlsx(rows, &job->len);
    json_decref(rows);
}

static void export_done(void *arg, void *job_arg, int cancelled)
{
    struct exchange *x = arg;
    struct export_job *job = job_arg;
    if (cancelled) {
        io_send_cancelled(x);
        return;
    }
    if (job->rows > job->max_rows) {
        char detail[200];
        snprintf(detail, sizeof detail,
                 "The export would hold %ld projects; at most %ld are exported at once. Narrow "
                 "it with unit_id, stage or is_key.",
                 job->rows, job->max_rows);
        log_event(LOG_INFO, x->request_id, "export: too many rows",
                  json_pack("{s:I, s:I}", "rows", (json_int_t)job->rows, "max_rows",
                            (json_int_t)job->max_rows));
        json_t *problem = problem_new(422, detail, x->request_id);
        if (problem) {
            json_object_set_new(problem, "rows", json_integer(job->rows));
            json_object_set_new(problem, "max_rows", json_integer(job->max_rows));
        }
        exchange_send_problem_json(x, problem);
        return;
    }
    if (!job->file) {
        log_msg(LOG_ERROR, x->request_id, "export: the ledger could not be written");
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    /* 项目台账: the ledger's name for those whose clients read filename*. */
    const char *ext = job->format == EXPORT_CSV ? "csv" : "xlsx";
    char disposition[160];
    snprintf(disposition, sizeof disposition,
             "attachment; filename=\"projects.%s\"; "
             "filename*=UTF-8''%%E9%%A1%%B9%%E7%%9B%%AE%%E5%%8F%%B0%%E8%%B4%%A6.%s",
             ext, ext);
    exchange_add_header(x, "Content-Disposition", disposition);
    exchange_send(x, 200,
                  job->format == EXPORT_CSV
                      ? "text/csv; charset=utf-8"
                      : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  job->file, job->len);
}

static void exports_on_rows(struct exchange *x, struct db_result *r, enum export_format format)
{
    if (answer_db_error(x, r))
        return;
    struct export_job *job = calloc(1, sizeof *job);
    if (!job) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    job->res = io_take_result(x, r, 0);
    job->format = format;
    job->max_rows = x->worker->server->cfg->export_max_rows;
    io_offload(x, export_run, export_done, export_free, job);
}

static void exports_on_csv(void *arg, struct db_result *r)
{
    exports_on_rows(arg, r, EXPORT_CSV);
}

static void exports_on_xlsx(void *arg, struct db_result *r)
{
    exports_on_rows(arg, r, EXPORT_XLSX);
}

/* The filters of ?unit_id, ?stage and ?is_key as a JSON object, or NULL
 * after answering 400 (or 503). */
static json_t *export_filters(struct exchange *x)
{
    long long unit;
    if (query_int(x, "unit_id", 1, ID_MAX, -1, &unit) != 0)
        return NULL;
    const char *stage = exchange_query(x, "stage"), *key = exchange_query(x, "is_key");
    if (stage && !project_stage_valid(stage)) {
        char detail[200], names[128];
        snprintf(detail, sizeof detail, "The query parameter 'stage' must be a stage: %s.",
                 project_stages_text(names, sizeof names));
        exchange_send_problem(x, 400, detail);
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
