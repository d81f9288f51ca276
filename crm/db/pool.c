/*
 * pool: see pool.h.
 *
 * Each connection walks DOWN -> CONNECTING -> PREPARING -> READY and back to
 * DOWN when anything goes wrong; a timer brings it back. The statements are
 * prepared by an internal job, so the result reader knows one kind of work.
 * Results arrive in order: each call yields exactly one non-NULL result (the
 * NULL separators libpq returns are skipped), and the job ends at its
 * PGRES_PIPELINE_SYNC.
 *
 * Deadlines: one 50 ms tick per pool checks them all. A job's clock starts
 * when it becomes its connection's oldest (results come in order, so a job
 * behind another cannot answer before it), and a connection's when it starts
 * connecting. PQcancel would block, so a silent connection is dropped.
 */
#include "db/pool.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/offload.h"

#define POOL_CONNECT_TIMEOUT_MS   5000
#define POOL_JOB_GRACE_MS         1000 /* past the statement timeout, for the answer to arrive */
#define POOL_KEEPALIVE_COUNT_TEXT "3"

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_PREPARING, CONN_READY };
enum call_kind { CALL_EXECUTE, CALL_PREPARE };

struct db_call {
    enum call_kind kind;
    int stmt;
    int nparams;
    char *values[DB_CALL_MAX_PARAMS];
};

struct db_job {
    struct db_job *next;
    db_done_cb cb;
    void *arg;
    int ncalls;
    struct db_call calls[DB_JOB_MAX_CALLS];
    PGresult *results[DB_JOB_MAX_CALLS];
    int cursor;            /* results received so far */
    int memory_failed;     /* db_job_add ran out of memory */
    int is_prepare;        /* internal: prepares the registry on a new connection */
    long long started_ms;  /* queued or sent */
    PGresult *first_error; /* borrowed from results[] */
    int timeout_ms;        /* 0: the pool's statement timeout */
    struct db_pool *fallback;           /* where it goes if its own pool cannot run it */
    const char *const *fallback_states; /* and the SQLSTATEs that send it there too */
    int fell_back;                      /* it went there */
    struct db_pool *was_pool; /* db_job_try_instead: where it runs again as it was */
    const char *was_state;    /* when PostgreSQL answers this SQLSTATE */
    int was_index;            /* the call replaced */
    struct db_call was;       /* and that call as it was */
    int ran_as_was;           /* it did */
};

struct db_conn {
    struct db_pool *pool;
    int index;
    enum conn_state state;
    PGconn *pg;
    int fd;
    struct event *ev_read;      /* READY/PREPARING: persistent read watch */
    struct event *ev_write;     /* pending flush */
    struct event *ev_connect;   /* one-shot watch while connecting */
    struct event *ev_retry;     /* reconnect timer */
    struct db_job *head, *tail; /* jobs in flight, oldest first */
    int inflight;
    int long_jobs;           /* jobs in flight with their own longer timeout */
    long long head_since_ms; /* when the oldest job became the oldest */
    long long connect_ms;    /* when connecting started */
    int awaiting_address;    /* DOWN until the host name is resolved */
};

struct db_pool {
    struct event_base *base;
    struct db_pool_config cfg;
    char *conninfo;
    char options[256];
    char host[256];     /* the host name libpq would resolve, or "" when none needs it */
    char hostaddr[512]; /* their addresses (at start-up, or later off the loop), or "" */
    char hosts[256];    /* with spread_hosts: the host list, its port list, and how many */
    char ports[128];
    int nhosts;
    struct offload_task *resolving; /* the resolution in flight */
    int job_timeout_ms;
    const struct db_statement *statements;
    size_t nstatements;
    struct db_conn *conns;
    struct db_job *queue_head, *queue_tail;
    size_t queued;
    struct event *ev_tick;       /* queue timeouts and the in-flight watchdog */
    struct db_pool_stats *stats; /* owned by the caller */
    enum db_health health;
    int freeing;
    struct db_pool_listen listen; /* listen.count == 0: nobody listens */
};

static void conn_connect(struct db_conn *c);
static void conn_fail(struct db_conn *c, const char *why);
static void conn_drop(struct db_conn *c, const char *why, enum db_health health);
static void pool_resolve_later(struct db_pool *pool);
static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void pool_dispatch(struct db_pool *pool);

/* ---- jobs ---- */

struct db_job *db_job_new(db_done_cb cb, void *arg)
{
    struct db_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->cb = cb;
    job->arg = arg;
    return job;
}

static int job_add_call(struct db_job *job, enum call_kind kind, int stmt, int nparams,
                        const char *const *values)
{
    if (job->ncalls == DB_JOB_MAX_CALLS || nparams < 0 || nparams > DB_CALL_MAX_PARAMS) {
        job->memory_failed = 1;
        return -1;
    }
    struct db_call *call = &job->calls[job->ncalls++];
    call->kind = kind;
    call->stmt = stmt;
    call->nparams = nparams;
    for (int i = 0; i < nparams; i++) {
        if (!values[i])
            continue;
        if (!(call->values[i] = strdup(values[i]))) {
            job->memory_failed = 1;
            return -1;
        }
    }
    return 0;
}

int db_job_add(struct db_job *job, int stmt, int nparams, const char *const *values)
{
    return job_add_call(job, CALL_EXECUTE, stmt, nparams, values);
}

void db_job_keep(struct db_job *job, const char *key, int (*keeper)(int stmt), int written_stmt)
{
    for (int i = 0; i < job->ncalls; i++) {
        struct db_call *call = &job->calls[i];
        int k = call->kind == CALL_EXECUTE ? keeper(call->stmt) : -1;
        if (k < 0)
            continue;
        if (call->nparams == DB_CALL_MAX_PARAMS ||
            !(call->values[call->nparams] = strdup(key))) {
            job->memory_failed = 1;
            return;
        }
        call->nparams++;
        call->stmt = k;
    }
    const char *params[] = {key};
    job_add_call(job, CALL_EXECUTE, written_stmt, 1, params);
}

void db_job_set_fallback(struct db_job *job, struct db_pool *fallback, const char *const *states)
{
    job->fallback = fallback;
    job->fallback_states = states;
}

int db_job_retarget(struct db_job *job, int call, int stmt, const char *extra)
{
    if (call < 0 || call >= job->ncalls || job->calls[call].kind != CALL_EXECUTE)
        return -1;
    struct db_call *c = &job->calls[call];
    if (extra) {
        if (c->nparams == DB_CALL_MAX_PARAMS || !(c->values[c->nparams] = strdup(extra))) {
            job->memory_failed = 1;
            return -1;
        }
        c->nparams++;
    }
    c->stmt = stmt;
    return 0;
}

static void call_free(struct db_call *c)
{
    for (int p = 0; p < c->nparams; p++) {
        free(c->values[p]);
        c->values[p] = NULL;
    }
}

int db_job_try_instead(struct db_job *job, struct db_pool *pool, int call, int stmt, int nparams,
                       const char *const *values, const char *state)
{
    if (call < 0 || call >= job->ncalls || job->calls[call].kind != CALL_EXECUTE ||
        job->was_pool || nparams < 0 || nparams > DB_CALL_MAX_PARAMS)
        return -1;
    struct db_call c = {.kind = CALL_EXECUTE, .stmt = stmt, .nparams = nparams};
    for (int i = 0; i < nparams; i++) {
        if (values[i] && !(c.values[i] = strdup(values[i]))) {
            call_free(&c);
            return -1;
        }
    }
    job->was = job->calls[call];
    job->calls[call] = c;
    job->was_index = call;
    job->was_pool = pool;
    job->was_state = state;
    return 0;
}

/* Runs the job again as it was before db_job_try_instead, once, when
 * PostgreSQL answered its SQLSTATE. Returns 1 when it did. */
static int job_try_as_was(struct db_job *job, enum db_failure failure)
{
    struct db_pool *to = job->was_pool;
    if (!to || failure != DB_OK || !job->first_error)
        return 0;
    const char *state = PQresultErrorField(job->first_error, PG_DIAG_SQLSTATE);
    if (!state || strcmp(state, job->was_state) != 0)
        return 0;
    call_free(&job->calls[job->was_index]);
    job->calls[job->was_index] = job->was;
    memset(&job->was, 0, sizeof job->was);
    job->was_pool = NULL;
    job->ran_as_was = 1;
    for (int i = 0; i < job->ncalls; i++) {
        PQclear(job->results[i]);
        job->results[i] = NULL;
    }
    job->first_error = NULL;
    job->cursor = 0;
    db_submit(to, job);
    return 1;
}

static void job_free(struct db_job *job)
{
    call_free(&job->was);
    for (int i = 0; i < job->ncalls; i++) {
        for (int p = 0; p < job->calls[i].nparams; p++)
            free(job->calls[i].values[p]);
        PQclear(job->results[i]);
    }
    free(job);
}

/* Sends the job to its fallback pool, once, when its failure is one that
 * pool may not have: this pool could not run it (no live connection, queue
 * full or timed out, the connection lost), or PostgreSQL answered one of the
 * fallback SQLSTATEs. Returns 1 when it did (the job is the other pool's). */
static int job_fall_back(struct db_job *job, enum db_failure failure)
{
    struct db_pool *to = job->fallback;
    if (!to)
        return 0;
    int go = failure == DB_FAIL_CONNECTION || failure == DB_FAIL_TIMEOUT ||
             failure == DB_FAIL_QUEUE_FULL;
    if (failure == DB_OK && job->first_error) {
        const char *state = PQresultErrorField(job->first_error, PG_DIAG_SQLSTATE);
        for (const char *const *s = job->fallback_states; state && s && *s; s++)
            go |= strcmp(state, *s) == 0;
    }
    if (!go)
        return 0;
    job->fallback = NULL;
    job->fell_back = 1;
    for (int i = 0; i < job->ncalls; i++) {
        PQclear(job->results[i]);
        job->results[i] = NULL;
    }
    job->first_error = NULL;
    job->cursor = 0;
    db_submit(to, job);
    return 1;
}

/* Calls the job's callback once with the outcome, then frees the job. */
static void job_finish(struct db_job *job, enum db_failure failure, const char *message)
{
    if (job_try_as_was(job, failure) || job_fall_back(job, failure))
        return;
    struct db_result r = {.failure = failure,
                          .ncalls = job->ncalls,
                          .fell_back = job->fell_back,
                          .ran_as_was = job->ran_as_was};
    memcpy(r.results, job->results, sizeof r.results);
    if (failure == DB_OK && job->first_error) {
        r.failure = DB_FAIL_QUERY;
        r.sqlstate = PQresultErrorField(job->first_error, PG_DIAG_SQLSTATE);
        r.message = PQresultErrorMessage(job->first_error);
        r.primary = PQresultErrorField(job->first_error, PG_DIAG_MESSAGE_PRIMARY);
        r.column = PQresultErrorField(job->first_error, PG_DIAG_COLUMN_NAME);
        r.constraint = PQresultErrorField(job->first_error, PG_DIAG_CONSTRAINT_NAME);
    }
    if (!r.sqlstate)
        r.sqlstate = "";
    if (!r.primary)
        r.primary = "";
    if (!r.column)
        r.column = "";
    if (!r.constraint)
        r.constraint = "";
    r.message = r.message ? r.message : (message ? message : "");
    if (job->cb)
        job->cb(job->arg, &r);
    /* The callback may have taken results by clearing its copy's slots. */
    for (int i = 0; i < job->ncalls; i++)
        if (!r.results[i])
            job->results[i] = NULL;
    job_free(job);
}

void db_job_set_timeout(struct db_job *job, int ms)
{
    job->timeout_ms = ms;
}

void db_job_fail(struct db_job *job, enum db_failure failure)
{
    job->fallback = NULL;
    job_finish(job, failure, "not submitted");
}

const char *db_value(const PGresult *res, int row, int col)
{
    if (!res || row >= PQntuples(res) || col >= PQnfields(res))
        return "";
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

/* ---- stats ---- */

static void stats_add(_Atomic long *counter, long delta)
{
    atomic_fetch_add_explicit(counter, delta, memory_order_relaxed);
}

static void stats_refresh(struct db_pool *pool)
{
    long ready = 0, busy = 0;
    for (int i = 0; i < pool->cfg.size; i++) {
        if (pool->conns[i].state == CONN_READY) {
            ready++;
            busy += pool->conns[i].inflight > 0;
        }
    }
    atomic_store_explicit(&pool->stats->ready, ready, memory_order_relaxed);
    atomic_store_explicit(&pool->stats->busy, busy, memory_order_relaxed);
    atomic_store_explicit(&pool->stats->waiting, (long)pool->queued, memory_order_relaxed);
}

/* ---- sending ---- */

/* Flushes libpq's output buffer, arming the write watch if the socket is
 * full. Returns 0, or -1 when the connection failed (already handled). */
static int conn_flush(struct db_conn *c)
{
    int r = PQflush(c->pg);
    if (r < 0) {
        conn_fail(c, PQerrorMessage(c->pg));
        return -1;
    }
    if (r == 1 && !event_pending(c->ev_write, EV_WRITE, NULL))
        event_add(c->ev_write, NULL);
    return 0;
}

static void conn_on_write(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    if (c->state == CONN_READY || c->state == CONN_PREPARING)
        conn_flush(c);
}

/* Queues the job's calls and a Sync on the connection. Returns 0, or -1 when
 * libpq refused (the connection is failed, the job is not yet attached and
 * stays with the caller). */
static int conn_send(struct db_conn *c, struct db_job *job)
{
    const struct db_pool *pool = c->pool;
    for (int i = 0; i < job->ncalls; i++) {
        const struct db_call *call = &job->calls[i];
        const struct db_statement *st = &pool->statements[call->stmt];
        int ok;
        if (call->kind == CALL_PREPARE)
            ok = PQsendPrepare(c->pg, st->name, st->sql, 0, NULL);
        else
            ok = PQsendQueryPrepared(c->pg, st->name, call->nparams,
                                     (const char *const *)call->values, NULL, NULL, 0);
        if (!ok)
            return -1;
    }
    if (!PQpipelineSync(c->pg))
        return -1;
    job->next = NULL;
    job->started_ms = clock_monotonic_ms();
    if (c->tail) {
        c->tail->next = job;
    } else {
        c->head = job;
        c->head_since_ms = job->started_ms;
    }
    c->tail = job;
    c->inflight++;
    c->long_jobs += job->timeout_ms > 0;
    return 0;
}

/* Sends job on c, failing the connection (and the job) if libpq refuses. */
static void conn_send_or_fail(struct db_conn *c, struct db_job *job)
{
    if (conn_send(c, job) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", PQerrorMessage(c->pg));
        job_finish(job, DB_FAIL_CONNECTION, why);
        conn_fail(c, why);
        return;
    }
    conn_flush(c);
}

/* ---- results ---- */

static void conn_job_done(struct db_conn *c)
{
    struct db_job *job = c->head;
    c->head = job->next;
    if (!c->head)
        c->tail = NULL;
    else
        c->head_since_ms = clock_monotonic_ms(); /* the next one's answer can come from now on */
    c->inflight--;
    c->long_jobs -= job->timeout_ms > 0;
    if (job->first_error)
        stats_add(&c->pool->stats->errors, 1);
    job_finish(job, DB_OK, NULL);
}

/* ---- notifications ----
 *
 * The first connection runs the listener's LISTEN statements each time it
 * is ready (after every reconnection), then hands each notification read on
 * it to the listener. Notifications sent while it was down are lost:
 * on_listening tells the listener to catch up from the data itself. */

static void conn_on_listening(void *arg, struct db_result *r)
{
    struct db_pool *pool = arg;
    if (r->failure != DB_OK) {
        if (r->failure == DB_FAIL_QUERY)
            log_msg(LOG_ERROR, NULL, "db: LISTEN failed: %s", r->message);
        return; /* the connection was lost: it listens again once ready */
    }
    if (pool->listen.on_listening)
        pool->listen.on_listening(pool->listen.arg);
}

static void conn_listen(struct db_conn *c)
{
    struct db_pool *pool = c->pool;
    if (!pool->listen.count || c->state != CONN_READY)
        return;
    struct db_job *job = db_job_new(conn_on_listening, pool);
    if (!job) {
        conn_fail(c, "out of memory");
        return;
    }
    for (size_t i = 0; i < pool->listen.count; i++)
        db_job_add(job, pool->listen.statements[i], 0, NULL);
    conn_send_or_fail(c, job);
}

/* Hands every notification libpq has read to the listener. */
static void conn_deliver_notifications(struct db_conn *c)
{
    PGnotify *n;
    while (c->pg && (n = PQnotifies(c->pg))) {
        if (c->pool->listen.on_notify)
            c->pool->listen.on_notify(c->pool->listen.arg, n->relname, n->extra);
        PQfreemem(n);
    }
}

static void conn_on_prepared(void *arg, struct db_result *r)
{
    struct db_conn *c = arg;
    if (r->failure != DB_OK) {
        if (r->failure == DB_FAIL_QUERY)
            log_msg(LOG_ERROR, NULL, "db: preparing statements failed: %s", r->message);
        return; /* the connection is being failed or freed by whoever failed us */
    }
    c->state = CONN_READY;
    c->pool->health = DB_HEALTH_UP;
    log_msg(LOG_DEBUG, NULL, "db: connection %d ready", c->index);
    if (c->index == 0)
        conn_listen(c);
}

/* Reads every result that is available without waiting. */
static void conn_read_results(struct db_conn *c)
{
    int idle = 0;
    while (c->head) {
        if (PQisBusy(c->pg))
            return;
        PGresult *res = PQgetResult(c->pg);
        if (!res) {
            /* One NULL ends a call's results; two in a row mean libpq expects
             * nothing more although a job is in flight: the link is broken. */
            if (++idle == 2 || PQstatus(c->pg) == CONNECTION_BAD) {
                conn_fail(c, PQerrorMessage(c->pg));
                return;
            }
            continue;
        }
        idle = 0;
        c->pool->health = DB_HEALTH_UP; /* it answers */
        struct db_job *job = c->head;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            int prepare_failed = job->is_prepare && job->first_error;
            conn_job_done(c);
            if (prepare_failed) {
                conn_fail(c, "preparing statements failed");
                return;
            }
            continue;
        }
        if (job->cursor >= job->ncalls) {
            PQclear(res); /* more results than calls: not ours to keep */
            continue;
        }
        if (st == PGRES_PIPELINE_ABORTED) {
            PQclear(res);
            job->cursor++;
            continue;
        }
        job->results[job->cursor++] = res;
        if ((st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR) && !job->first_error)
            job->first_error = res;
    }
}

static void conn_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    struct db_pool *pool = c->pool;
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, PQerrorMessage(c->pg));
        pool_dispatch(pool);
        return;
    }
    conn_read_results(c);
    if (c->state != CONN_DOWN && PQstatus(c->pg) == CONNECTION_BAD)
        conn_fail(c, PQerrorMessage(c->pg));
    if (c->state != CONN_DOWN && pool->listen.count)
        conn_deliver_notifications(c);
    pool_dispatch(pool);
}

/* ---- connection lifecycle ---- */

static void conn_free_events(struct db_conn *c)
{
    struct event **evs[] = {&c->ev_read, &c->ev_write, &c->ev_connect};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        if (*evs[i]) {
            event_free(*evs[i]);
            *evs[i] = NULL;
        }
    }
}

/* Why jobs fail at once, for the logs. */
static const char *pool_health_text(const struct db_pool *pool)
{
    return pool->health == DB_HEALTH_NOT_ANSWERING ? "the database is not answering"
                                                   : "the database is unreachable";
}

/* Whether some connection is ready or about to be (preparing). */
static int pool_has_live(const struct db_pool *pool)
{
    for (int i = 0; i < pool->cfg.size; i++)
        if (pool->conns[i].state == CONN_READY || pool->conns[i].state == CONN_PREPARING)
            return 1;
    return 0;
}

static struct db_job *queue_pop(struct db_pool *pool);

static void pool_fail_queue(struct db_pool *pool, enum db_failure failure, const char *why)
{
    struct db_job *job;
    while ((job = queue_pop(pool)))
        job_finish(job, failure, why);
}

/* Drops the connection: fails its jobs, closes it and arms the retry timer
 * (unless the pool is being freed). A failed attempt to connect makes the
 * database unreachable. */
static void conn_fail(struct db_conn *c, const char *why)
{
    conn_drop(c, why, c->state == CONN_CONNECTING ? DB_HEALTH_UNREACHABLE : DB_HEALTH_UP);
}

/* conn_fail, recording health unless it is DB_HEALTH_UP (nothing learnt).
 * Once no connection is live, the queued jobs fail too. */
static void conn_drop(struct db_conn *c, const char *why, enum db_health health)
{
    struct db_pool *pool = c->pool;
    if (c->state == CONN_DOWN)
        return;
    char reason[256];
    snprintf(reason, sizeof reason, "%s", why && *why ? why : "connection lost");
    size_t n = strlen(reason);
    while (n && (reason[n - 1] == '\n' || reason[n - 1] == ' '))
        reason[--n] = '\0';
    if (!pool->freeing) {
        log_event(LOG_WARN, NULL, "db: connection lost",
                  json_pack("{s:i, s:s, s:i}", "connection", c->index, "reason", reason,
                            "in_flight", c->inflight));
        stats_add(&pool->stats->errors, 1);
    }
    if (health != DB_HEALTH_UP)
        pool->health = health;
    /* A failed attempt may mean the name now points elsewhere (failover). */
    if (c->state == CONN_CONNECTING && pool->host[0])
        pool_resolve_later(pool);
    c->state = CONN_DOWN;
    conn_free_events(c);
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    c->fd = -1;
    struct db_job *job = c->head;
    c->head = c->tail = NULL;
    c->inflight = 0;
    c->long_jobs = 0;
    while (job) {
        struct db_job *next = job->next;
        job_finish(job, pool->freeing ? DB_FAIL_SHUTDOWN : DB_FAIL_CONNECTION, reason);
        job = next;
    }
    if (pool->health != DB_HEALTH_UP && !pool_has_live(pool))
        pool_fail_queue(pool, DB_FAIL_CONNECTION, pool_health_text(pool));
    if (!pool->freeing) {
        struct timeval tv = {pool->cfg.reconnect_ms / 1000, (pool->cfg.reconnect_ms % 1000) * 1000};
        event_add(c->ev_retry, &tv);
    }
    stats_refresh(pool);
}

static void conn_on_retry(evutil_socket_t fd, short what, void *arg)
{
    conn_connect(arg);
}

/* Connected: switch to non-blocking pipeline mode and prepare everything. */
static void conn_start_preparing(struct db_conn *c)
{
    struct db_pool *pool = c->pool;
    if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    c->fd = PQsocket(c->pg);
    c->ev_read = event_new(pool->base, c->fd, EV_READ | EV_PERSIST, conn_on_read, c);
    c->ev_write = event_new(pool->base, c->fd, EV_WRITE, conn_on_write, c);
    if (!c->ev_read || !c->ev_write) {
        conn_fail(c, "out of memory");
        return;
    }
    event_add(c->ev_read, NULL);
    c->state = CONN_PREPARING;
    /* One job holds at most DB_JOB_MAX_CALLS prepares; the last one carries
     * conn_on_prepared, so READY means every statement is prepared. */
    size_t n = pool->nstatements;
    for (size_t i = 0; i == 0 || i < n; i += DB_JOB_MAX_CALLS) {
        int last = i + DB_JOB_MAX_CALLS >= n;
        struct db_job *part = db_job_new(last ? conn_on_prepared : NULL, c);
        if (!part) {
            conn_fail(c, "out of memory");
            return;
        }
        part->is_prepare = 1;
        for (size_t s = i; s < n && s < i + DB_JOB_MAX_CALLS; s++)
            if (pool->statements[s].sql)
                job_add_call(part, CALL_PREPARE, (int)s, 0, NULL);
        if (conn_send(c, part) != 0) {
            job_free(part);
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
    }
    conn_flush(c);
    stats_refresh(pool);
}

static void conn_on_connect_io(evutil_socket_t fd, short what, void *arg);

/* Advances PQconnectPoll and waits for what it asks. */
static void conn_poll(struct db_conn *c)
{
    struct db_pool *pool = c->pool;
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    if (c->ev_connect) {
        event_free(c->ev_connect);
        c->ev_connect = NULL;
    }
    switch (st) {
    case PGRES_POLLING_OK:
        conn_start_preparing(c);
        return;
    case PGRES_POLLING_READING:
    case PGRES_POLLING_WRITING:
        c->ev_connect =
            event_new(pool->base, PQsocket(c->pg), st == PGRES_POLLING_READING ? EV_READ : EV_WRITE,
                      conn_on_connect_io, c);
        if (!c->ev_connect) {
            conn_fail(c, "out of memory");
            return;
        }
        event_add(c->ev_connect, NULL);
        return;
    default:
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
}

static void conn_on_connect_io(evutil_socket_t fd, short what, void *arg)
{
    conn_poll(arg);
}

/* ---- host names ----
 *
 * PQconnectStart resolves a host name with a blocking getaddrinfo: libpq is
 * given the address instead (hostaddr), which the pool looks up once when it
 * is created (before the loops run) and, when that fails or a connection
 * attempt does, again on the offload threads. Socket folders need no lookup;
 * an explicit hostaddr is left alone. */

struct resolve_job {
    char hosts[256];
    char addrs[512];
    int ok;
};

/* Resolves a comma-separated host list into the matching hostaddr list (an
 * empty entry for a socket folder). Blocks: never on a loop. Returns 0, or
 * -1 when a name does not resolve. */
static int resolve_hosts(const char *hosts, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = hosts;; p++) {
        size_t n = strcspn(p, ",");
        char name[256], addr[INET6_ADDRSTRLEN] = "";
        if (n >= sizeof name)
            return -1;
        memcpy(name, p, n);
        name[n] = '\0';
        if (n > 0 && name[0] != '/' && name[0] != '@') {
            struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
            if (getaddrinfo(name, NULL, &hints, &ai) == 0 && ai) {
                const void *a = ai->ai_family == AF_INET6
                                    ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                                    : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
                inet_ntop(ai->ai_family, a, addr, sizeof addr);
            }
            if (ai)
                freeaddrinfo(ai);
            if (!addr[0])
                return -1;
        }
        int w = snprintf(out + used, outlen - used, "%s%s", p == hosts ? "" : ",", addr);
        if (w < 0 || (size_t)w >= outlen - used)
            return -1;
        used += (size_t)w;
        p += n;
        if (!*p)
            return 0;
    }
}

static int list_count(const char *list);

/* The host list libpq would look up (the URL's, else PGHOST), into
 * pool->host; left empty when nothing needs a lookup. With spread_hosts,
 * the host and port lists, into pool->hosts and pool->ports. */
static void pool_find_host(struct db_pool *pool)
{
    PQconninfoOption *opts = PQconninfoParse(pool->conninfo, NULL);
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    if (!host || !*host)
        host = getenv("PGHOST");
    if (!hostaddr || !*hostaddr)
        hostaddr = getenv("PGHOSTADDR");
    if (!port || !*port)
        port = getenv("PGPORT");
    if (pool->cfg.spread_hosts && host && strlen(host) < sizeof pool->hosts &&
        (!port || strlen(port) < sizeof pool->ports)) {
        snprintf(pool->hosts, sizeof pool->hosts, "%s", host);
        snprintf(pool->ports, sizeof pool->ports, "%s", port ? port : "");
        pool->nhosts = list_count(host);
    }
    int needs = 0;
    for (const char *p = host; p && !(hostaddr && *hostaddr); p++) {
        size_t n = strcspn(p, ",");
        needs |= n > 0 && *p != '/' && *p != '@';
        p += n;
        if (!*p)
            break;
    }
    if (needs && strlen(host) < sizeof pool->host)
        snprintf(pool->host, sizeof pool->host, "%s", host);
    PQconninfoFree(opts);
}

static void resolve_run(void *arg)
{
    struct resolve_job *job = arg;
    job->ok = resolve_hosts(job->hosts, job->addrs, sizeof job->addrs) == 0;
}

static void resolve_free(void *job)
{
    free(job);
}

/* The connections waiting for the address try again after the retry delay
 * (and ask for the lookup again then). */
static void pool_resolve_failed(struct db_pool *pool)
{
    log_event(LOG_WARN, NULL, "db: host name not resolved", json_pack("{s:s}", "host", pool->host));
    if (!pool->hostaddr[0]) {
        pool->health = DB_HEALTH_UNREACHABLE;
        if (!pool_has_live(pool))
            pool_fail_queue(pool, DB_FAIL_CONNECTION, pool_health_text(pool));
    }
    struct timeval tv = {pool->cfg.reconnect_ms / 1000, (pool->cfg.reconnect_ms % 1000) * 1000};
    for (int i = 0; i < pool->cfg.size; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->awaiting_address) {
            c->awaiting_address = 0;
            event_add(c->ev_retry, &tv);
        }
    }
}

static void resolve_done(void *arg, void *job_arg, int cancelled)
{
    struct db_pool *pool = arg;
    struct resolve_job *job = job_arg;
    pool->resolving = NULL;
    if (cancelled)
        return;
    if (!job->ok) {
        pool_resolve_failed(pool);
        return;
    }
    if (strcmp(pool->hostaddr, job->addrs) != 0)
        log_event(LOG_INFO, NULL, "db: host name resolved",
                  json_pack("{s:s, s:s}", "host", pool->host, "address", job->addrs));
    snprintf(pool->hostaddr, sizeof pool->hostaddr, "%s", job->addrs);
    for (int i = 0; i < pool->cfg.size; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->awaiting_address) {
            c->awaiting_address = 0;
            conn_connect(c);
        }
    }
}

/* Looks the host name up on the offload threads, unless that is under way. */
static void pool_resolve_later(struct db_pool *pool)
{
    if (pool->resolving || pool->freeing)
        return;
    struct resolve_job *job = calloc(1, sizeof *job);
    if (job) {
        snprintf(job->hosts, sizeof job->hosts, "%s", pool->host);
        pool->resolving =
            offload_submit(pool->base, resolve_run, resolve_done, resolve_free, job, pool);
    }
    if (!pool->resolving) {
        free(job);
        pool_resolve_failed(pool);
    }
}

/* ---- connecting ---- */

static int list_count(const char *list)
{
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

/* list (n comma-separated items) started at its k-th item, into out; a list
 * of another length (one port for every host, say) is copied as it is. */
static void list_rotate(const char *list, int n, int k, char *out, size_t outlen)
{
    if (list_count(list) != n || n < 2) {
        snprintf(out, outlen, "%s", list);
        return;
    }
    const char *p = list;
    for (int i = 0; i < k % n; i++)
        p = strchr(p, ',') + 1;
    int head = (int)(p - list); /* the first k items, with their comma */
    snprintf(out, outlen, "%s%s%.*s", p, head ? "," : "", head ? head - 1 : 0, list);
}

static void conn_connect(struct db_conn *c)
{
    struct db_pool *pool = c->pool;
    if (pool->host[0] && !pool->hostaddr[0]) {
        /* Never let libpq look the name up here, on the loop. */
        c->awaiting_address = 1;
        pool_resolve_later(pool);
        return;
    }
    /* Keepalives first, so that the URL's own settings win; the rest after
     * the URL, so that they do. */
    const char *keys[12], *vals[12];
    char idle[16], interval[16];
    int n = 0;
    if (pool->cfg.keepalive_s > 0) {
        snprintf(idle, sizeof idle, "%d", pool->cfg.keepalive_s);
        snprintf(interval, sizeof interval, "%d",
                 pool->cfg.keepalive_s >= 3 ? pool->cfg.keepalive_s / 3 : 1);
        keys[n] = "keepalives", vals[n++] = "1";
        keys[n] = "keepalives_idle", vals[n++] = idle;
        keys[n] = "keepalives_interval", vals[n++] = interval;
        keys[n] = "keepalives_count", vals[n++] = POOL_KEEPALIVE_COUNT_TEXT;
    }
    keys[n] = "dbname", vals[n++] = pool->conninfo;
    keys[n] = "options", vals[n++] = pool->options;
    keys[n] = "application_name", vals[n++] = "crm";
    char hosts[sizeof pool->hosts], ports[sizeof pool->ports], addrs[sizeof pool->hostaddr];
    const char *hostaddr = pool->hostaddr;
    if (pool->nhosts > 1) {
        int k = pool->cfg.host_offset + c->index;
        list_rotate(pool->hosts, pool->nhosts, k, hosts, sizeof hosts);
        keys[n] = "host", vals[n++] = hosts;
        if (pool->ports[0]) {
            list_rotate(pool->ports, pool->nhosts, k, ports, sizeof ports);
            keys[n] = "port", vals[n++] = ports;
        }
        if (hostaddr[0]) {
            list_rotate(hostaddr, pool->nhosts, k, addrs, sizeof addrs);
            hostaddr = addrs;
        }
    }
    if (hostaddr[0])
        keys[n] = "hostaddr", vals[n++] = hostaddr;
    keys[n] = NULL, vals[n] = NULL;
    c->pg = PQconnectStartParams(keys, vals, 1);
    c->state = CONN_CONNECTING;
    c->connect_ms = clock_monotonic_ms();
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        return;
    }
    conn_poll(c);
}

/* ---- dispatch ---- */

/* The ready connection with the fewest jobs in flight below the depth, and
 * none with a long one (an import): nothing waits behind that. */
static struct db_conn *pool_pick(struct db_pool *pool)
{
    struct db_conn *best = NULL;
    for (int i = 0; i < pool->cfg.size; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->state != CONN_READY || c->inflight >= pool->cfg.pipeline_depth || c->long_jobs)
            continue;
        if (!best || c->inflight < best->inflight)
            best = c;
    }
    return best;
}

static struct db_job *queue_pop(struct db_pool *pool)
{
    struct db_job *job = pool->queue_head;
    if (job) {
        pool->queue_head = job->next;
        if (!pool->queue_head)
            pool->queue_tail = NULL;
        pool->queued--;
        job->next = NULL;
    }
    return job;
}

static void pool_dispatch(struct db_pool *pool)
{
    struct db_conn *c;
    while (pool->queue_head && (c = pool_pick(pool)))
        conn_send_or_fail(c, queue_pop(pool));
    stats_refresh(pool);
}

void db_submit(struct db_pool *pool, struct db_job *job)
{
    if (job->memory_failed) {
        job_finish(job, DB_FAIL_MEMORY, "out of memory");
        return;
    }
    if (pool->freeing) {
        job_finish(job, DB_FAIL_SHUTDOWN, "shutting down");
        return;
    }
    struct db_conn *c = pool->queue_head ? NULL : pool_pick(pool);
    if (c) {
        conn_send_or_fail(c, job);
        stats_refresh(pool);
        return;
    }
    if (pool->health != DB_HEALTH_UP && !pool_has_live(pool)) {
        /* Fail fast rather than wait out the queue timeout: nothing will
         * answer before the next successful reconnection. */
        job_finish(job, DB_FAIL_CONNECTION, pool_health_text(pool));
        return;
    }
    if (pool->queued >= (size_t)pool->cfg.queue_max) {
        stats_add(&pool->stats->rejected, 1);
        job_finish(job, DB_FAIL_QUEUE_FULL, "queue full");
        return;
    }
    job->next = NULL;
    job->started_ms = clock_monotonic_ms();
    if (pool->queue_tail)
        pool->queue_tail->next = job;
    else
        pool->queue_head = job;
    pool->queue_tail = job;
    pool->queued++;
    stats_refresh(pool);
}

/* How long job may wait for its answer once it is its connection's oldest. */
static int job_deadline(const struct db_pool *pool, const struct db_job *job)
{
    int own = job->timeout_ms > 0 ? job->timeout_ms + POOL_JOB_GRACE_MS : 0;
    return own > pool->job_timeout_ms ? own : pool->job_timeout_ms;
}

/* Every 50 ms: fail queued jobs past their wait, and drop the connections
 * that went silent: connecting past the connect deadline, or with the
 * oldest job past its deadline. */
static void pool_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct db_pool *pool = arg;
    long long now = clock_monotonic_ms();
    while (pool->queue_head && now - pool->queue_head->started_ms >= pool->cfg.queue_timeout_ms) {
        stats_add(&pool->stats->rejected, 1);
        job_finish(queue_pop(pool), DB_FAIL_TIMEOUT, "waited too long for a connection");
    }
    for (int i = 0; i < pool->cfg.size; i++) {
        struct db_conn *c = &pool->conns[i];
        char why[96];
        if (c->state == CONN_CONNECTING && now - c->connect_ms >= pool->cfg.connect_timeout_ms) {
            snprintf(why, sizeof why, "not answering: not connected within %d ms",
                     pool->cfg.connect_timeout_ms);
            conn_drop(c, why, DB_HEALTH_NOT_ANSWERING);
        } else if (c->head && now - c->head_since_ms >= job_deadline(pool, c->head)) {
            snprintf(why, sizeof why, "not answering: no answer within %d ms",
                     job_deadline(pool, c->head));
            conn_drop(c, why, DB_HEALTH_NOT_ANSWERING);
        }
    }
    pool_dispatch(pool);
}

/* ---- pool ---- */

struct db_pool *db_pool_new(struct event_base *base, const struct db_pool_config *cfg,
                            const struct db_statement *statements, size_t nstatements,
                            struct db_pool_stats *stats)
{
    struct db_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->base = base;
    pool->cfg = *cfg;
    pool->statements = statements;
    pool->nstatements = nstatements;
    pool->stats = stats;
    /* DateStyle ISO: the text db/rows_json turns into JSON dates, whatever
     * the server's or the role's default. */
    int len = snprintf(pool->options, sizeof pool->options,
                       "-c statement_timeout=%d -c DateStyle=ISO,YMD%s%s", cfg->statement_timeout_ms,
                       cfg->settings ? " " : "", cfg->settings ? cfg->settings : "");
    if (len < 0 || (size_t)len >= sizeof pool->options)
        goto failed;
    pool->conninfo = strdup(cfg->conninfo);
    pool->conns = calloc((size_t)cfg->size, sizeof *pool->conns);
    pool->ev_tick = event_new(base, -1, EV_PERSIST, pool_on_tick, pool);
    if (!pool->conninfo || !pool->conns || !pool->ev_tick)
        goto failed;
    pool->cfg.conninfo = pool->conninfo;
    if (pool->cfg.connect_timeout_ms <= 0)
        pool->cfg.connect_timeout_ms = POOL_CONNECT_TIMEOUT_MS;
    pool->job_timeout_ms = cfg->job_timeout_ms > 0 ? cfg->job_timeout_ms
                                                   : cfg->statement_timeout_ms + POOL_JOB_GRACE_MS;
    pool_find_host(pool);
    if (pool->host[0] && resolve_hosts(pool->host, pool->hostaddr, sizeof pool->hostaddr) != 0) {
        pool->hostaddr[0] = '\0';
        log_event(LOG_WARN, NULL,
                  "db: host name not resolved at start-up; trying again off the loop",
                  json_pack("{s:s}", "host", pool->host));
    }
    struct timeval tick = {0, 50 * 1000};
    event_add(pool->ev_tick, &tick);
    atomic_store(&stats->connections, cfg->size);
    for (int i = 0; i < cfg->size; i++) {
        struct db_conn *c = &pool->conns[i];
        c->pool = pool;
        c->index = i;
        c->fd = -1;
        c->ev_retry = evtimer_new(base, conn_on_retry, c);
        if (!c->ev_retry)
            goto failed;
    }
    for (int i = 0; i < cfg->size; i++)
        conn_connect(&pool->conns[i]);
    return pool;
failed:
    db_pool_free(pool);
    return NULL;
}

void db_pool_free(struct db_pool *pool)
{
    if (!pool)
        return;
    pool->freeing = 1;
    pool_fail_queue(pool, DB_FAIL_SHUTDOWN, "shutting down");
    if (pool->conns) {
        for (int i = 0; i < pool->cfg.size; i++) {
            struct db_conn *c = &pool->conns[i];
            if (!c->pool)
                continue;
            conn_fail(c, "shutting down");
            if (c->ev_retry)
                event_free(c->ev_retry);
        }
    }
    if (pool->resolving)
        offload_drop(pool->resolving);
    if (pool->ev_tick)
        event_free(pool->ev_tick);
    free(pool->conns);
    free(pool->conninfo);
    free(pool);
}

enum db_health db_pool_health(const struct db_pool *pool)
{
    return pool->health;
}

void db_pool_listen(struct db_pool *pool, const struct db_pool_listen *l)
{
    pool->listen = *l;
    if (pool->listen.count > DB_JOB_MAX_CALLS)
        pool->listen.count = DB_JOB_MAX_CALLS;
    conn_listen(&pool->conns[0]);
}

size_t db_pool_pending(const struct db_pool *pool)
{
    size_t n = pool->queued;
    for (int i = 0; i < pool->cfg.size; i++)
        n += (size_t)pool->conns[i].inflight;
    return n;
}
