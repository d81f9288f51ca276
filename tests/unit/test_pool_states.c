/*
 * Unit tests of db/pool's state machine (issue 13, item 6) against the test
 * PostgreSQL of the harness (tests/harness/db-start.sh: its env file, in
 * $CRM_TEST_DB, gives CRM_DATABASE_URL; without it the tests that need a
 * database are skipped), on a real event loop:
 *
 * - connecting, then preparing a registry larger than one job holds, then
 *   ready: a job submitted before that waits and runs; every statement is
 *   prepared;
 * - idle and busy: the counters as jobs are pipelined on the connections and
 *   queued behind them; idle connections are never dropped by the deadlines;
 * - a full queue and a wait past the queue timeout fail the job (once);
 * - a query error fails only its job (its results up to the error kept, the
 *   rest aborted) and leaves the connection ready;
 * - db_job_try_instead: the cheaper call runs; when it refuses with the
 *   SQLSTATE named, the job runs once more as it was (any other error is
 *   the job's answer);
 * - broken: the backend terminated under a job fails it, the connection
 *   comes back on the timer (another backend) and takes the jobs that
 *   waited meanwhile;
 * - job deadlines: a job silent past the deadline drops its connection, the
 *   pool says why and fails new jobs at once until it is back; a job with
 *   its own longer timeout is not dropped, and nothing queues behind it on
 *   its connection;
 * - a registry the database refuses to prepare: never ready, retried;
 * - unreachable: every attempt fails, jobs fail at once;
 * - freeing fails every queued and in-flight job once, callbacks that submit
 *   again included;
 * - keepalives (a TCP listener that never answers): the pool's idle time,
 *   the URL's own settings winning, the system's when none are set;
 * - job limits, db_job_fail and db_value without a database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_clock_net.h"
#include "test_db_url.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/offload.h"
#include "db/pool.h"

enum {
    ST_ECHO,  /* $1 */
    ST_PID,   /* the backend's pid */
    ST_SLEEP, /* sleeps $1 seconds, then $2 */
    ST_DIV,   /* 1 / $1: 22012 for 0 */
    ST_NULLS, /* NULL, 'x' */
    ST_F1,
    ST_F2,
    ST_F3,
    ST_F4,
    ST_LAST, /* the tenth: prepared by a second prepare job */
    ST_COUNT
};

static const struct db_statement states_statements[ST_COUNT] = {
    [ST_ECHO] = {"t_echo", "SELECT $1::text"},
    [ST_PID] = {"t_pid", "SELECT pg_backend_pid()::text"},
    [ST_SLEEP] = {"t_sleep", "SELECT pg_sleep($1::float8)::text, $2::text"},
    [ST_DIV] = {"t_div", "SELECT (1 / $1::int)::text"},
    [ST_NULLS] = {"t_nulls", "SELECT NULL::text, 'x'::text"},
    [ST_F1] = {"t_f1", "SELECT 'f1'"},
    [ST_F2] = {"t_f2", "SELECT 'f2'"},
    [ST_F3] = {"t_f3", "SELECT 'f3'"},
    [ST_F4] = {"t_f4", "SELECT 'f4'"},
    [ST_LAST] = {"t_last", "SELECT 'last'::text"},
};

static char states_url[1024]; /* "" when there is no test database */
static int order_counter;


static void need_database(void)
{
    if (!states_url[0]) {
        fprintf(stderr, "no test database ($CRM_TEST_DB/env): skipped\n");
        skip();
    }
}

/* What a job's callback saw. */
struct rec {
    int calls;
    enum db_failure failure;
    char sqlstate[6];
    char primary[160];
    int ncalls;
    int have[DB_JOB_MAX_CALLS]; /* results[i] was there */
    char value[DB_JOB_MAX_CALLS][64];
    int order;
    long long at_ms;
    /* optional: a job to submit from the callback (to pool) */
    struct db_pool *resubmit_to;
    struct rec *resubmitted;
};

static struct db_job *rec_job(struct rec *r);

static void rec_on_done(void *arg, struct db_result *res)
{
    struct rec *r = arg;
    r->calls++;
    r->failure = res->failure;
    snprintf(r->sqlstate, sizeof r->sqlstate, "%s", res->sqlstate);
    snprintf(r->primary, sizeof r->primary, "%s", res->primary);
    r->ncalls = res->ncalls;
    for (int i = 0; i < res->ncalls; i++) {
        r->have[i] = res->results[i] != NULL;
        const char *v = res->results[i] && PQresultStatus(res->results[i]) == PGRES_TUPLES_OK
                            ? db_value(res->results[i], 0, PQnfields(res->results[i]) - 1)
                            : NULL;
        snprintf(r->value[i], sizeof r->value[i], "%s", v ? v : "");
    }
    r->order = ++order_counter;
    r->at_ms = test_now_ms();
    if (r->resubmit_to) {
        struct db_pool *pool = r->resubmit_to;
        r->resubmit_to = NULL;
        struct db_job *job = rec_job(r->resubmitted);
        db_job_add(job, ST_ECHO, 1, (const char *const[]){"again"});
        db_submit(pool, job);
    }
}

static struct db_job *rec_job(struct rec *r)
{
    struct db_job *job = db_job_new(rec_on_done, r);
    assert_non_null(job);
    return job;
}

static void submit_echo(struct db_pool *pool, struct rec *r, const char *text)
{
    struct db_job *job = rec_job(r);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){text}), 0);
    db_submit(pool, job);
}

static void submit_sleep(struct db_pool *pool, struct rec *r, const char *seconds, const char *text)
{
    struct db_job *job = rec_job(r);
    assert_int_equal(db_job_add(job, ST_SLEEP, 2, (const char *const[]){seconds, text}), 0);
    db_submit(pool, job);
}

static void submit_stmt(struct db_pool *pool, struct rec *r, int stmt)
{
    struct db_job *job = rec_job(r);
    assert_int_equal(db_job_add(job, stmt, 0, NULL), 0);
    db_submit(pool, job);
}

/* Runs base's loop for ms. */
static void run_for(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Runs base until *flag >= want, or ms pass. */
static void run_until(struct event_base *base, const int *flag, int want, int ms)
{
    long long end = test_now_ms() + ms;
    while (*flag < want && test_now_ms() < end)
        run_for(base, 10);
}

static void run_until_ready(struct event_base *base, struct db_pool_stats *stats, long want, int ms)
{
    long long end = test_now_ms() + ms;
    while (atomic_load(&stats->ready) < want && test_now_ms() < end)
        run_for(base, 10);
    assert_int_equal(atomic_load(&stats->ready), want);
}

static void states_config(struct db_pool_config *cfg, const char *conninfo, int size)
{
    *cfg = (struct db_pool_config){.conninfo = conninfo,
                                   .size = size,
                                   .pipeline_depth = 2,
                                   .queue_max = 8,
                                   .queue_timeout_ms = 5000,
                                   .statement_timeout_ms = 30000,
                                   .reconnect_ms = 100,
                                   .job_timeout_ms = 0,
                                   .connect_timeout_ms = 5000,
                                   .keepalive_s = 0};
}

struct fixture {
    struct event_base *base;
    struct db_pool_stats stats;
    struct db_pool *pool;
};

static void fixture_open(struct fixture *f, const struct db_pool_config *cfg)
{
    memset(f, 0, sizeof *f);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->pool = db_pool_new(f->base, cfg, states_statements, ST_COUNT, &f->stats);
    assert_non_null(f->pool);
}

/* fixture_open, then run until every connection of cfg is ready (5 s at most). */
static void fixture_open_ready(struct fixture *f, const struct db_pool_config *cfg)
{
    fixture_open(f, cfg);
    run_until_ready(f->base, &f->stats, cfg->size, 5000);
}

/* One connection at pipeline depth 1 (queue_max as given), ready; a job
 * sleeping `seconds` holds it and two echoes, q1 then q2, wait behind it. */
static void fixture_open_one_busy(struct fixture *f, int queue_max, struct rec *busy,
                                  const char *seconds, struct rec *q1, struct rec *q2)
{
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    cfg.pipeline_depth = 1;
    cfg.queue_max = queue_max;
    fixture_open_ready(f, &cfg);
    submit_sleep(f->pool, busy, seconds, "busy");
    submit_echo(f->pool, q1, "q1");
    submit_echo(f->pool, q2, "q2");
}

static void fixture_close(struct fixture *f)
{
    db_pool_free(f->pool);
    event_base_free(f->base);
}

/* The backend pid of the pool's (only ready) connection. */
static long backend_pid(struct fixture *f)
{
    struct rec r = {0};
    submit_stmt(f->pool, &r, ST_PID);
    run_until(f->base, &r.calls, 1, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.failure, DB_OK);
    return atol(r.value[0]);
}

/* ---- connecting, preparing, ready ---- */

static void test_connect_prepare_ready(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 2);
    struct fixture f;
    fixture_open(&f, &cfg);
    /* Connecting: nothing is ready yet, and nothing has failed. */
    assert_int_equal(atomic_load(&f.stats.connections), 2);
    assert_int_equal(atomic_load(&f.stats.ready), 0);
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UP);
    assert_int_equal(db_pool_pending(f.pool), 0);

    /* A job now waits for a connection rather than failing. */
    struct rec early = {0};
    submit_echo(f.pool, &early, "early");
    assert_int_equal(early.calls, 0);
    assert_int_equal(atomic_load(&f.stats.waiting), 1);
    assert_int_equal(db_pool_pending(f.pool), 1);
    run_until(f.base, &early.calls, 1, 5000);
    assert_int_equal(early.calls, 1);
    assert_int_equal(early.failure, DB_OK);
    assert_string_equal(early.value[0], "early");

    run_until_ready(f.base, &f.stats, 2, 5000);
    assert_int_equal(atomic_load(&f.stats.busy), 0);
    assert_int_equal(atomic_load(&f.stats.waiting), 0);
    assert_int_equal(atomic_load(&f.stats.errors), 0);
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UP);

    /* Every statement of the registry is prepared, the tenth (in the
     * second prepare job) too, on both connections. */
    struct rec last[2] = {{0}}, nulls = {0};
    submit_stmt(f.pool, &last[0], ST_LAST);
    submit_stmt(f.pool, &last[1], ST_LAST);
    assert_int_equal(atomic_load(&f.stats.busy), 2); /* one each */
    submit_stmt(f.pool, &nulls, ST_NULLS);
    run_until(f.base, &nulls.calls, 1, 5000);
    run_until(f.base, &last[1].calls, 1, 5000);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(last[i].calls, 1);
        assert_int_equal(last[i].failure, DB_OK);
        assert_string_equal(last[i].value[0], "last");
    }
    assert_int_equal(nulls.failure, DB_OK);
    assert_string_equal(nulls.value[0], "x");
    fixture_close(&f);
}

/* ---- idle and busy ---- */

static void test_busy_pipeline_and_queue(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 2); /* 2 connections x depth 2 */
    struct fixture f;
    fixture_open_ready(&f, &cfg);

    struct rec r[5] = {{0}};
    char text[5][8];
    long long start = test_now_ms();
    for (int i = 0; i < 5; i++) {
        snprintf(text[i], sizeof text[i], "job%d", i);
        submit_sleep(f.pool, &r[i], "0.3", text[i]);
        assert_int_equal(atomic_load(&f.stats.busy), i == 0 ? 1 : 2);
    }
    /* Four in flight (two pipelined on each), the fifth waits. */
    assert_int_equal(atomic_load(&f.stats.waiting), 1);
    assert_int_equal(db_pool_pending(f.pool), 5);
    for (int i = 0; i < 5; i++)
        run_until(f.base, &r[i].calls, 1, 10000);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].failure, DB_OK);
        assert_string_equal(r[i].value[0], text[i]); /* its own answer */
    }
    /* Pipelined jobs of a connection run one after the other: two rounds
     * of 0.3 s at least, and the waiting one after a first one ended. */
    assert_true(r[4].at_ms - start >= 550);
    assert_true(r[4].order > r[0].order);
    assert_true(r[4].order > r[1].order);
    /* Idle again. */
    assert_int_equal(atomic_load(&f.stats.busy), 0);
    assert_int_equal(atomic_load(&f.stats.waiting), 0);
    assert_int_equal(atomic_load(&f.stats.ready), 2);
    assert_int_equal(atomic_load(&f.stats.rejected), 0);
    assert_int_equal(atomic_load(&f.stats.errors), 0);
    assert_int_equal(db_pool_pending(f.pool), 0);
    fixture_close(&f);
}

static void test_idle_connections_stay(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    cfg.job_timeout_ms = 150; /* far shorter than the idle time below */
    cfg.connect_timeout_ms = 150;
    struct fixture f;
    fixture_open_ready(&f, &cfg);
    long pid = backend_pid(&f);
    run_for(f.base, 700);
    assert_int_equal(atomic_load(&f.stats.ready), 1);
    assert_int_equal(atomic_load(&f.stats.errors), 0);
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UP);
    assert_int_equal(backend_pid(&f), pid); /* the same connection */
    fixture_close(&f);
}

/* ---- the queue ---- */

static void test_queue_full(void **state)
{
    (void)state;
    need_database();
    struct fixture f;
    struct rec busy = {0}, q1 = {0}, q2 = {0}, over = {0};
    fixture_open_one_busy(&f, 2, &busy, "0.3", &q1, &q2);
    assert_int_equal(atomic_load(&f.stats.waiting), 2);
    submit_echo(f.pool, &over, "over");
    /* Failed before db_submit returned, once. */
    assert_int_equal(over.calls, 1);
    assert_int_equal(over.failure, DB_FAIL_QUEUE_FULL);
    assert_int_equal(atomic_load(&f.stats.rejected), 1);
    assert_int_equal(atomic_load(&f.stats.waiting), 2);
    run_until(f.base, &q2.calls, 1, 5000);
    assert_int_equal(busy.failure, DB_OK);
    assert_int_equal(q1.failure, DB_OK);
    assert_int_equal(q2.failure, DB_OK);
    assert_true(busy.order < q1.order && q1.order < q2.order); /* in order */
    assert_int_equal(over.calls, 1);
    fixture_close(&f);
}

static void test_queue_timeout(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    cfg.pipeline_depth = 1;
    cfg.queue_timeout_ms = 200;
    struct fixture f;
    fixture_open_ready(&f, &cfg);

    struct rec slow = {0}, waiting = {0};
    submit_sleep(f.pool, &slow, "1", "slow");
    long long start = test_now_ms();
    submit_echo(f.pool, &waiting, "waiting");
    run_until(f.base, &waiting.calls, 1, 3000);
    assert_int_equal(waiting.calls, 1);
    assert_int_equal(waiting.failure, DB_FAIL_TIMEOUT);
    assert_true(waiting.at_ms - start >= 190);
    assert_true(waiting.at_ms - start < 800);
    assert_int_equal(slow.calls, 0); /* still running */
    assert_int_equal(atomic_load(&f.stats.rejected), 1);
    run_until(f.base, &slow.calls, 1, 5000);
    assert_int_equal(slow.failure, DB_OK);
    assert_int_equal(waiting.calls, 1);
    fixture_close(&f);
}

/* ---- errors ---- */

static void rec_take_first(void *arg, struct db_result *res)
{
    PGresult **kept = arg;
    *kept = res->results[0];
    res->results[0] = NULL; /* the callback's now */
}

static void test_query_error_keeps_connection(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    struct fixture f;
    fixture_open_ready(&f, &cfg);
    long pid = backend_pid(&f);

    struct rec r = {0};
    struct db_job *job = rec_job(&r);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"before"}), 0);
    assert_int_equal(db_job_add(job, ST_DIV, 1, (const char *const[]){"0"}), 0);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"after"}), 0);
    db_submit(f.pool, job);
    run_until(f.base, &r.calls, 1, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.failure, DB_FAIL_QUERY);
    assert_string_equal(r.sqlstate, "22012");
    assert_true(strlen(r.primary) > 0);
    assert_int_equal(r.ncalls, 3);
    assert_int_equal(r.have[0], 1); /* ran before the error */
    assert_string_equal(r.value[0], "before");
    assert_int_equal(r.have[1], 1); /* the error */
    assert_int_equal(r.have[2], 0); /* aborted */
    assert_int_equal(atomic_load(&f.stats.errors), 1);

    /* The connection is still the same, and ready. */
    assert_int_equal(atomic_load(&f.stats.ready), 1);
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UP);
    assert_int_equal(backend_pid(&f), pid);

    /* A callback may keep a result: the pool does not clear it. */
    PGresult *kept = NULL;
    job = db_job_new(rec_take_first, &kept);
    assert_non_null(job);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"mine"}), 0);
    db_submit(f.pool, job);
    for (long long end = test_now_ms() + 5000; !kept && test_now_ms() < end;)
        run_for(f.base, 10);
    assert_non_null(kept);
    assert_string_equal(db_value(kept, 0, 0), "mine");
    PQclear(kept);
    fixture_close(&f);
}

/* db_job_try_instead (what crm's session copies use, http/sessions.h). */
static void test_try_instead(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    struct fixture f;
    fixture_open_ready(&f, &cfg);

    /* Accepted: the call as replaced runs, once. */
    struct rec a = {0};
    struct db_job *job = rec_job(&a);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"as it was"}), 0);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"then"}), 0);
    assert_int_equal(db_job_try_instead(job, f.pool, 0, ST_ECHO, 1,
                                        (const char *const[]){"instead"}, "22012"),
                     0);
    db_submit(f.pool, job);
    run_until(f.base, &a.calls, 1, 5000);
    assert_int_equal(a.failure, DB_OK);
    assert_string_equal(a.value[0], "instead");
    assert_string_equal(a.value[1], "then");

    /* Refused with the state named: the job runs again as it was. */
    struct rec b = {0};
    job = rec_job(&b);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"as it was"}), 0);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"then"}), 0);
    assert_int_equal(db_job_try_instead(job, f.pool, 0, ST_DIV, 1, (const char *const[]){"0"},
                                        "22012"),
                     0);
    /* Only once a job. */
    assert_int_equal(db_job_try_instead(job, f.pool, 0, ST_DIV, 1, (const char *const[]){"0"},
                                        "22012"),
                     -1);
    db_submit(f.pool, job);
    run_until(f.base, &b.calls, 1, 5000);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.failure, DB_OK);
    assert_string_equal(b.value[0], "as it was");
    assert_string_equal(b.value[1], "then");

    /* Refused with another state: that is the answer. */
    struct rec c = {0};
    job = rec_job(&c);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"as it was"}), 0);
    assert_int_equal(db_job_try_instead(job, f.pool, 0, ST_DIV, 1, (const char *const[]){"0"},
                                        "CRGEN"),
                     0);
    db_submit(f.pool, job);
    run_until(f.base, &c.calls, 1, 5000);
    assert_int_equal(c.failure, DB_FAIL_QUERY);
    assert_string_equal(c.sqlstate, "22012");

    /* No such call: nothing replaced. */
    struct rec d = {0};
    job = rec_job(&d);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"x"}), 0);
    assert_int_equal(db_job_try_instead(job, f.pool, 1, ST_ECHO, 1, (const char *const[]){"y"},
                                        "22012"),
                     -1);
    db_submit(f.pool, job);
    run_until(f.base, &d.calls, 1, 5000);
    assert_string_equal(d.value[0], "x");
    fixture_close(&f);
}

/* ---- broken, then back ---- */

static void terminate_backend(long pid)
{
    PGconn *c = PQconnectdb(states_url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%ld)", pid);
    PGresult *res = PQexec(c, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    PQfinish(c);
}

static void test_backend_killed_reconnects(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    struct fixture f;
    fixture_open_ready(&f, &cfg);
    long pid = backend_pid(&f);

    struct rec inflight = {0}, again = {0};
    inflight.resubmit_to = f.pool; /* its callback submits a new job */
    inflight.resubmitted = &again;
    submit_sleep(f.pool, &inflight, "5", "never");
    run_for(f.base, 100); /* sent, and running */
    assert_int_equal(inflight.calls, 0);
    assert_int_equal(atomic_load(&f.stats.busy), 1);
    long long start = test_now_ms();
    terminate_backend(pid);
    run_until(f.base, &inflight.calls, 1, 3000);
    assert_int_equal(inflight.calls, 1);
    assert_int_equal(inflight.failure, DB_FAIL_CONNECTION);
    assert_true(inflight.at_ms - start < 1000); /* not the 5 s */
    assert_true(atomic_load(&f.stats.errors) >= 1);
    assert_int_equal(atomic_load(&f.stats.ready), 0);
    /* A lost connection says nothing about the database: jobs wait for
     * the reconnection rather than fail. */
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UP);
    struct rec waited = {0};
    submit_echo(f.pool, &waited, "waited");
    assert_int_equal(waited.calls, 0);
    assert_int_equal(again.calls, 0);
    assert_int_equal(atomic_load(&f.stats.waiting), 2); /* it and the one submitted on failure */
    run_until(f.base, &waited.calls, 1, 5000);
    assert_int_equal(waited.calls, 1);
    assert_int_equal(waited.failure, DB_OK);
    assert_string_equal(waited.value[0], "waited");
    assert_int_equal(atomic_load(&f.stats.ready), 1);
    /* The job submitted from the failed job's callback waited too. */
    assert_int_equal(again.calls, 1);
    assert_int_equal(again.failure, DB_OK);
    assert_string_equal(again.value[0], "again");
    assert_true(backend_pid(&f) != pid); /* a new backend */
    assert_int_equal(inflight.calls, 1);
    fixture_close(&f);
}

/* ---- deadlines ---- */

static void test_job_deadline_then_back(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    cfg.job_timeout_ms = 300; /* the statement timeout stays 30 s */
    cfg.pipeline_depth = 1;
    struct fixture f;
    fixture_open_ready(&f, &cfg);

    struct rec silent = {0}, queued = {0};
    long long start = test_now_ms();
    submit_sleep(f.pool, &silent, "3", "late");
    submit_echo(f.pool, &queued, "queued"); /* waits behind it */
    assert_int_equal(atomic_load(&f.stats.waiting), 1);
    run_until(f.base, &silent.calls, 1, 3000);
    assert_int_equal(silent.calls, 1);
    assert_int_equal(silent.failure, DB_FAIL_CONNECTION);
    assert_true(silent.at_ms - start >= 280);
    assert_true(silent.at_ms - start < 1200);
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_NOT_ANSWERING);
    assert_int_equal(atomic_load(&f.stats.ready), 0);
    /* What waited fails with it, not at the queue timeout (5 s). */
    assert_int_equal(queued.calls, 1);
    assert_int_equal(queued.failure, DB_FAIL_CONNECTION);
    assert_int_equal(db_pool_pending(f.pool), 0);

    /* Nothing live and the database not answering: a job fails at once. */
    struct rec now = {0};
    submit_echo(f.pool, &now, "now");
    assert_int_equal(now.calls, 1);
    assert_int_equal(now.failure, DB_FAIL_CONNECTION);

    /* The connection comes back on the timer; the pool is up again. */
    run_until_ready(f.base, &f.stats, 1, 5000);
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UP);
    struct rec after = {0};
    submit_echo(f.pool, &after, "after");
    run_until(f.base, &after.calls, 1, 5000);
    assert_int_equal(after.failure, DB_OK);
    assert_int_equal(silent.calls, 1);
    assert_int_equal(queued.calls, 1);
    fixture_close(&f);
}

static void test_long_job_own_deadline(void **state)
{
    (void)state;
    need_database();
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    cfg.pipeline_depth = 4;
    cfg.job_timeout_ms = 300;
    struct fixture f;
    fixture_open_ready(&f, &cfg);

    struct rec long_job = {0}, short_job = {0};
    struct db_job *job = rec_job(&long_job);
    assert_int_equal(db_job_add(job, ST_SLEEP, 2, (const char *const[]){"0.8", "long"}), 0);
    db_job_set_timeout(job, 2000);
    long long start = test_now_ms();
    db_submit(f.pool, job);
    /* Depth 4, yet the connection takes nothing behind a long job. */
    submit_echo(f.pool, &short_job, "short");
    assert_int_equal(atomic_load(&f.stats.waiting), 1);
    run_until(f.base, &short_job.calls, 1, 5000);
    assert_int_equal(long_job.calls, 1);
    assert_int_equal(long_job.failure, DB_OK); /* not dropped at 300 ms */
    assert_string_equal(long_job.value[0], "long");
    assert_true(long_job.at_ms - start >= 750);
    assert_int_equal(short_job.calls, 1);
    assert_int_equal(short_job.failure, DB_OK);
    assert_true(short_job.order > long_job.order);
    assert_int_equal(atomic_load(&f.stats.errors), 0);
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UP);
    fixture_close(&f);
}

/* ---- a registry the database refuses ---- */

static void test_prepare_refused(void **state)
{
    (void)state;
    need_database();
    static const struct db_statement bad[] = {
        {"t_ok", "SELECT 1"},
        {"t_bad", "SELECT no_such_function_h2()"},
    };
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 1);
    cfg.queue_timeout_ms = 400;
    struct fixture f;
    memset(&f, 0, sizeof f);
    f.base = event_base_new();
    assert_non_null(f.base);
    f.pool = db_pool_new(f.base, &cfg, bad, 2, &f.stats);
    assert_non_null(f.pool);
    struct rec r = {0};
    struct db_job *job = rec_job(&r);
    assert_int_equal(db_job_add(job, 0, 0, NULL), 0);
    db_submit(f.pool, job);
    /* Never ready: each attempt prepares, is refused and is dropped; the
     * job is never sent, and fails once, at the queue timeout. */
    run_until(f.base, &r.calls, 1, 3000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.failure, DB_FAIL_TIMEOUT);
    run_for(f.base, 300);
    assert_int_equal(r.calls, 1);
    assert_int_equal(atomic_load(&f.stats.ready), 0);
    assert_true(atomic_load(&f.stats.errors) >= 4); /* refused, dropped, again */
    fixture_close(&f);
}

/* ---- unreachable ---- */

static void test_unreachable_fails_fast(void **state)
{
    (void)state;
    struct db_pool_config cfg;
    states_config(&cfg, "host=/nonexistent/crm-test-socket-dir port=5432 dbname=x user=y", 1);
    struct fixture f;
    fixture_open(&f, &cfg);
    /* The first attempt failed at once. */
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UNREACHABLE);
    long errors = atomic_load(&f.stats.errors);
    assert_true(errors >= 1);
    struct rec r = {0};
    submit_echo(f.pool, &r, "x");
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.failure, DB_FAIL_CONNECTION);
    /* It keeps trying on the timer (100 ms). */
    run_for(f.base, 450);
    assert_true(atomic_load(&f.stats.errors) >= errors + 2);
    assert_int_equal(db_pool_health(f.pool), DB_HEALTH_UNREACHABLE);
    assert_int_equal(atomic_load(&f.stats.ready), 0);
    assert_int_equal(db_pool_pending(f.pool), 0);
    fixture_close(&f);
}

/* ---- freeing ---- */

static void test_free_fails_everything_once(void **state)
{
    (void)state;
    need_database();
    struct fixture f;
    struct rec inflight = {0}, q1 = {0}, q2 = {0}, again = {0};
    fixture_open_one_busy(&f, 8, &inflight, "5", &q1, &q2);
    q1.resubmit_to = f.pool; /* its callback submits once more */
    q1.resubmitted = &again;
    run_for(f.base, 50);
    assert_int_equal(db_pool_pending(f.pool), 3);
    db_pool_free(f.pool);
    struct rec *all[] = {&inflight, &q1, &q2, &again};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(all[i]->calls, 1);
        assert_int_equal(all[i]->failure, DB_FAIL_SHUTDOWN);
    }
    run_for(f.base, 100); /* nothing more arrives */
    for (int i = 0; i < 4; i++)
        assert_int_equal(all[i]->calls, 1);
    event_base_free(f.base);

    /* Freed while still connecting, with a job waiting. */
    struct db_pool_config cfg;
    states_config(&cfg, states_url, 2);
    fixture_open(&f, &cfg);
    struct rec early = {0};
    submit_echo(f.pool, &early, "early");
    db_pool_free(f.pool);
    assert_int_equal(early.calls, 1);
    assert_int_equal(early.failure, DB_FAIL_SHUTDOWN);
    event_base_free(f.base);
}

/* ---- keepalives, on a TCP peer that never answers ---- */

/* This process's TCP socket connected to 127.0.0.1:port, or -1. */
static int keepalive_client(int port)
{
    for (int fd = 3; fd < 1024; fd++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && peer.sin_family == AF_INET &&
            ntohs(peer.sin_port) == port)
            return fd;
    }
    return -1;
}

struct keepalive {
    int on, idle, interval, count;
};

/* The keepalive settings of a pool's connection with keepalive_s and the
 * URL's extra parameters. */
static struct keepalive keepalive_of(int keepalive_s, const char *extra)
{
    int port;
    int lfd = test_loopback_listen(&port);
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo,
             "host=127.0.0.1 port=%d dbname=x user=y sslmode=disable gssencmode=disable %s", port,
             extra);
    struct db_pool_config cfg;
    states_config(&cfg, conninfo, 1);
    cfg.keepalive_s = keepalive_s;
    struct fixture f;
    fixture_open(&f, &cfg);
    run_for(f.base, 20);
    int fd = keepalive_client(port);
    assert_true(fd >= 0);
    struct keepalive k = {0};
    socklen_t len = sizeof k.on;
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &k.on, &len), 0);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &k.idle, &len), 0);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &k.interval, &len), 0);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &k.count, &len), 0);
    fixture_close(&f);
    close(lfd);
    return k;
}

static int read_proc_int(const char *path)
{
    FILE *f = fopen(path, "r");
    int v = -1;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static void test_keepalives(void **state)
{
    (void)state;
    struct keepalive k = keepalive_of(9, "");
    assert_int_equal(k.on, 1);
    assert_int_equal(k.idle, 9);
    assert_int_equal(k.interval, 3); /* a third of it */
    assert_int_equal(k.count, 3);

    k = keepalive_of(2, "");
    assert_int_equal(k.idle, 2);
    assert_int_equal(k.interval, 1); /* never 0 */

    /* The URL's own settings win over the pool's. */
    k = keepalive_of(9, "keepalives_idle=7 keepalives_count=5");
    assert_int_equal(k.on, 1);
    assert_int_equal(k.idle, 7);
    assert_int_equal(k.interval, 3);
    assert_int_equal(k.count, 5);
    k = keepalive_of(9, "keepalives=0");
    assert_int_equal(k.on, 0);

    /* 0: the system's settings (libpq turns keepalives on). */
    int sys_idle = read_proc_int("/proc/sys/net/ipv4/tcp_keepalive_time");
    int sys_count = read_proc_int("/proc/sys/net/ipv4/tcp_keepalive_probes");
    k = keepalive_of(0, "");
    assert_int_equal(k.on, 1);
    if (sys_idle > 0)
        assert_int_equal(k.idle, sys_idle);
    if (sys_count > 0)
        assert_int_equal(k.count, sys_count);
}

/* ---- without a database ---- */

static void test_job_limits(void **state)
{
    (void)state;
    struct db_pool_config cfg;
    states_config(&cfg, "host=/nonexistent/crm-test-socket-dir port=5432 dbname=x user=y", 1);
    struct fixture f;
    fixture_open(&f, &cfg);

    /* Nine calls: the ninth is refused, and the job fails when submitted,
     * before anything else is looked at. */
    struct rec r = {0};
    struct db_job *job = rec_job(&r);
    for (int i = 0; i < DB_JOB_MAX_CALLS; i++)
        assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"x"}), 0);
    assert_int_equal(db_job_add(job, ST_ECHO, 1, (const char *const[]){"x"}), -1);
    db_submit(f.pool, job);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.failure, DB_FAIL_MEMORY);

    /* Too many parameters, or a negative count. */
    struct rec p = {0};
    job = rec_job(&p);
    const char *values[DB_CALL_MAX_PARAMS + 1];
    for (int i = 0; i <= DB_CALL_MAX_PARAMS; i++)
        values[i] = "v";
    assert_int_equal(db_job_add(job, ST_ECHO, DB_CALL_MAX_PARAMS + 1, values), -1);
    db_submit(f.pool, job);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.failure, DB_FAIL_MEMORY);
    struct rec neg = {0};
    job = rec_job(&neg);
    assert_int_equal(db_job_add(job, ST_ECHO, -1, values), -1);
    db_job_fail(job, DB_FAIL_MEMORY);
    assert_int_equal(neg.calls, 1);

    /* A job never submitted, failed: its callback once, then it is freed
     * (with its copied values: LeakSanitizer checks). */
    struct rec never = {0};
    job = rec_job(&never);
    assert_int_equal(db_job_add(job, ST_ECHO, 2, (const char *const[]){"a", NULL}), 0);
    db_job_fail(job, DB_FAIL_TIMEOUT);
    assert_int_equal(never.calls, 1);
    assert_int_equal(never.failure, DB_FAIL_TIMEOUT);
    assert_int_equal(never.ncalls, 1);
    assert_int_equal(never.have[0], 0);

    /* A job without a callback is freed quietly. */
    job = db_job_new(NULL, NULL);
    assert_non_null(job);
    db_job_fail(job, DB_FAIL_SHUTDOWN);
    fixture_close(&f);

    /* db_value out of range, or without a result. */
    assert_string_equal(db_value(NULL, 0, 0), "");
    PGresult *empty = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_string_equal(db_value(empty, 0, 0), "");
    PQclear(empty);
}

static void test_db_value(void **state)
{
    (void)state;
    need_database();
    PGconn *c = PQconnectdb(states_url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, "SELECT NULL::text, 'x'::text, ''::text");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_null(db_value(res, 0, 0)); /* SQL NULL */
    assert_string_equal(db_value(res, 0, 1), "x");
    assert_string_equal(db_value(res, 0, 2), ""); /* the empty text */
    assert_non_null(db_value(res, 0, 2));
    assert_string_equal(db_value(res, 1, 0), ""); /* no such row */
    assert_string_equal(db_value(res, 0, 3), ""); /* no such column */
    PQclear(res);
    PQfinish(c);
}

static int states_teardown(void **state)
{
    (void)state;
    offload_stop();
    return 0;
}

int main(void)
{
    evthread_use_pthreads();
    test_db_url(states_url, sizeof states_url);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_prepare_ready),
        cmocka_unit_test(test_busy_pipeline_and_queue),
        cmocka_unit_test(test_idle_connections_stay),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_queue_timeout),
        cmocka_unit_test(test_query_error_keeps_connection),
        cmocka_unit_test(test_try_instead),
        cmocka_unit_test(test_backend_killed_reconnects),
        cmocka_unit_test(test_job_deadline_then_back),
        cmocka_unit_test(test_long_job_own_deadline),
        cmocka_unit_test(test_prepare_refused),
        cmocka_unit_test(test_unreachable_fails_fast),
        cmocka_unit_test(test_free_fails_everything_once),
        cmocka_unit_test(test_keepalives),
        cmocka_unit_test(test_job_limits),
        cmocka_unit_test(test_db_value),
    };
    return cmocka_run_group_tests(tests, NULL, states_teardown);
}
