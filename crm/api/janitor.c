/*
 * janitor: see janitor.h.
 */
#include "api/janitor.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "core/log.h"
#include "db/pool.h"
#include "db/statements.h"
#include "http/worker.h"

/* The first look at a job, this long after start (at most). */
#define JANITOR_FIRST_LOOK_S 5
#define JANITOR_MAX_PARAMS   2

#define CFG(field) offsetof(struct crm_config, field)

/* A job of the schedule: its statement, the setting giving its interval
 * in seconds, and the settings passed as its parameters. */
struct janitor_job {
    const char *name;
    int stmt;
    size_t interval; /* offset of an int setting */
    int nparams;
    size_t params[JANITOR_MAX_PARAMS]; /* offsets of int settings */
};

static const struct janitor_job janitor_jobs[] = {
    {"alerts", STMT_JOB_ALERTS, CFG(jobs_tick_s), 0, {0}},
    {"expiry",
     STMT_JOB_EXPIRY,
     CFG(jobs_tick_s),
     2,
     {CFG(session_idle_s), CFG(idempotency_keep_s)}},
    {"scores", STMT_JOB_SCORES, CFG(jobs_tick_s), 1, {CFG(score_freeze_day)}},
    {"stalled", STMT_JOB_STALLED, CFG(stall_check_s), 1, {CFG(stall_check_s)}},
};
#define N_JOBS (sizeof janitor_jobs / sizeof janitor_jobs[0])

struct janitor;

/* A job's timer and whether a look at it is in flight. */
struct janitor_slot {
    struct janitor *janitor;
    const struct janitor_job *job;
    struct event *ev; /* NULL when the job never runs */
    int in_flight;
};

struct janitor {
    struct worker *worker;
    struct janitor_slot slots[N_JOBS];
    int in_flight; /* looks in flight, all jobs */
    int stopped;   /* janitor_stop ran: the last answer frees it */
};

/* ---- the board /metrics reads ---- */

struct janitor_row {
    char job[16];
    int has_run;
    double last_run_at; /* Unix time */
    int last_ok;
    long long runs, failures;
};

static pthread_mutex_t janitor_board_lock = PTHREAD_MUTEX_INITIALIZER;
static struct janitor_row janitor_board[N_JOBS + 4];
static int janitor_board_rows;

static int janitor_row_parse(const PGresult *res, int row, struct janitor_row *out)
{
    const char *job = db_value(res, row, 0);
    if (!job || strlen(job) >= sizeof out->job ||
        strspn(job, "abcdefghijklmnopqrstuvwxyz_") != strlen(job))
        return -1;
    memset(out, 0, sizeof *out);
    memcpy(out->job, job, strlen(job) + 1);
    const char *at = db_value(res, row, 1);
    const char *ok = db_value(res, row, 2);
    out->has_run = at && *at;
    out->last_run_at = out->has_run ? strtod(at, NULL) : 0;
    out->last_ok = ok && strcmp(ok, "t") == 0;
    out->runs = atoll(db_value(res, row, 3) ? db_value(res, row, 3) : "0");
    out->failures = atoll(db_value(res, row, 4) ? db_value(res, row, 4) : "0");
    return 0;
}

/* Replaces the board with the rows of job_runs(). */
static void janitor_board_set(const PGresult *res)
{
    struct janitor_row rows[N_JOBS + 4];
    int n = 0;
    for (int i = 0; res && i < PQntuples(res) && n < (int)(N_JOBS + 4); i++)
        if (janitor_row_parse(res, i, &rows[n]) == 0)
            n++;
    pthread_mutex_lock(&janitor_board_lock);
    memcpy(janitor_board, rows, (size_t)n * sizeof rows[0]);
    janitor_board_rows = n;
    pthread_mutex_unlock(&janitor_board_lock);
}

void janitor_metrics(struct evbuffer *out)
{
    struct janitor_row rows[N_JOBS + 4];
    pthread_mutex_lock(&janitor_board_lock);
    int n = janitor_board_rows;
    memcpy(rows, janitor_board, (size_t)n * sizeof rows[0]);
    pthread_mutex_unlock(&janitor_board_lock);
    if (n == 0)
        return;
    evbuffer_add_printf(out, "# HELP crm_job_last_run_timestamp_seconds When the scheduled job's "
                             "last run ended, in any process.\n"
                             "# TYPE crm_job_last_run_timestamp_seconds gauge\n");
    for (int i = 0; i < n; i++)
        if (rows[i].has_run)
            evbuffer_add_printf(out, "crm_job_last_run_timestamp_seconds{job=\"%s\"} %.3f\n",
                                rows[i].job, rows[i].last_run_at);
    evbuffer_add_printf(out, "# HELP crm_job_last_success Whether the scheduled job's last run "
                             "succeeded (1) or failed (0).\n"
                             "# TYPE crm_job_last_success gauge\n");
    for (int i = 0; i < n; i++)
        if (rows[i].has_run)
            evbuffer_add_printf(out, "crm_job_last_success{job=\"%s\"} %d\n", rows[i].job,
                                rows[i].last_ok);
    evbuffer_add_printf(out, "# HELP crm_job_runs_total Runs of the scheduled job, in every "
                             "process.\n# TYPE crm_job_runs_total counter\n");
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(out, "crm_job_runs_total{job=\"%s\"} %lld\n", rows[i].job,
                            rows[i].runs);
    evbuffer_add_printf(out, "# HELP crm_job_failures_total Failed runs of the scheduled job, in "
                             "every process.\n# TYPE crm_job_failures_total counter\n");
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(out, "crm_job_failures_total{job=\"%s\"} %lld\n", rows[i].job,
                            rows[i].failures);
}

/* ---- the looks ---- */

static int janitor_setting(const struct crm_config *cfg, size_t offset)
{
    return *(const int *)((const char *)cfg + offset);
}

static void janitor_schedule(struct janitor_slot *s, int seconds)
{
    struct timeval tv = {seconds, 0};
    evtimer_add(s->ev, &tv);
}

/* The answer of a look: results[1] is the job's (outcome, detail),
 * results[2] every job's record. Frees a stopped janitor with its last
 * answer. */
static void janitor_on_answer(void *arg, struct db_result *r)
{
    struct janitor_slot *s = arg;
    struct janitor *j = s->janitor;
    s->in_flight = 0;
    j->in_flight--;
    if (j->stopped) {
        if (j->in_flight == 0)
            free(j);
        return;
    }
    if (r->failure != DB_OK) {
        log_event(LOG_WARN, NULL, "scheduled job failed",
                  json_pack("{s:s, s:s, s:s?}", "job", s->job->name, "error",
                            r->message ? r->message : "", "sqlstate", r->sqlstate));
        return;
    }
    const char *outcome = db_value(r->results[1], 0, 0);
    const char *detail = db_value(r->results[1], 0, 1);
    outcome = outcome ? outcome : "";
    enum log_level level = strcmp(outcome, "ran") == 0       ? LOG_INFO
                           : strcmp(outcome, "skipped") == 0 ? LOG_DEBUG
                                                             : LOG_WARN;
    if (log_enabled(level))
        log_event(level, NULL, "scheduled job",
                  json_pack("{s:s, s:s, s:s?}", "job", s->job->name, "outcome", outcome, "detail",
                            detail && *detail ? detail : NULL));
    janitor_board_set(r->results[2]);
    if (strcmp(outcome, "ran") == 0)
        app_wrote(j->worker); /* alerts' digests, stalled projects: events */
}

/* Submits a look at the job (unless the previous one is still in flight),
 * then waits for the next. */
static void janitor_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct janitor_slot *s = arg;
    struct janitor *j = s->janitor;
    struct worker *w = j->worker;
    const struct crm_config *cfg = w->server->cfg;
    if (w->stopping || !w->pool)
        return;
    janitor_schedule(s, janitor_setting(cfg, s->job->interval));
    if (s->in_flight)
        return;
    struct db_job *job = db_job_new(janitor_on_answer, s);
    if (!job)
        return;
    char timeout[16], text[JANITOR_MAX_PARAMS][16];
    const char *params[JANITOR_MAX_PARAMS];
    snprintf(timeout, sizeof timeout, "%d", cfg->jobs_timeout_ms);
    for (int i = 0; i < s->job->nparams; i++) {
        snprintf(text[i], sizeof text[i], "%d", janitor_setting(cfg, s->job->params[i]));
        params[i] = text[i];
    }
    const char *timeout_param[] = {timeout};
    db_job_add(job, STMT_STATEMENT_TIMEOUT, 1, timeout_param);
    db_job_add(job, s->job->stmt, s->job->nparams, params);
    db_job_add(job, STMT_JOB_RUNS, 0, NULL);
    db_job_set_timeout(job, cfg->jobs_timeout_ms);
    s->in_flight = 1;
    j->in_flight++;
    db_submit(w->pool, job); /* may answer at once: nothing of s is touched after */
}

struct janitor *janitor_start(struct worker *w)
{
    struct janitor *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->worker = w;
    for (size_t i = 0; i < N_JOBS; i++) {
        struct janitor_slot *s = &j->slots[i];
        s->janitor = j;
        s->job = &janitor_jobs[i];
        int every = janitor_setting(w->server->cfg, s->job->interval);
        if (every <= 0)
            continue;
        if (!(s->ev = evtimer_new(w->base, janitor_on_timer, s))) {
            janitor_stop(j);
            return NULL;
        }
        janitor_schedule(s, every < JANITOR_FIRST_LOOK_S ? every : JANITOR_FIRST_LOOK_S);
    }
    return j;
}

void janitor_stop(struct janitor *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < N_JOBS; i++)
        if (j->slots[i].ev)
            event_free(j->slots[i].ev); /* deletes it first */
    if (j->in_flight == 0) {
        free(j);
        return;
    }
    j->stopped = 1;
    for (size_t i = 0; i < N_JOBS; i++)
        j->slots[i].ev = NULL;
}
