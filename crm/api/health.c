/*
 * health: liveness, readiness (a database round trip and the schema
 * version) and the Prometheus metrics. /readyz's 503 names the database's
 * state in "database" (see health_database_state).
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/janitor.h"
#include "api/routes.h"
#include "core/log.h"
#include "db/statements.h"
#include "events/feed.h"
#include "http/sessions.h"
#include "http/exchange.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/reads.h"
#include "http/worker.h"

void health_alive(struct exchange *x)
{
    static const char body[] = "{\"status\":\"ok\"}";
    exchange_send_json_text(x, 200, body, sizeof body - 1);
}

/* The database's state when /readyz fails, as the problem's "database". */
struct health_state {
    const char *state;
    const char *detail;
};

/* "not answering" (alive but silent past the pool's deadlines), "busy" (no
 * connection free in time), "error" (it answered with an error) or
 * "unreachable". */
static struct health_state health_database_state(struct exchange *x, const struct db_result *r)
{
    const struct db_pool *pool = x->worker->pool;
    if (pool && db_pool_health(pool) == DB_HEALTH_NOT_ANSWERING)
        return (struct health_state){"not answering", "The database is not answering."};
    switch (r->failure) {
    case DB_FAIL_QUEUE_FULL:
    case DB_FAIL_TIMEOUT:
        return (struct health_state){"busy", "No database connection was free in time."};
    case DB_FAIL_QUERY:
        return (struct health_state){"error", "The database answered with an error."};
    default:
        return (struct health_state){"unreachable", "The database is unreachable."};
    }
}

static void health_on_version(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    int expected = x->worker->server->schema_version;
    if (r->failure != DB_OK) {
        /* Internals (libpq's and PostgreSQL's messages) stay in the log. */
        struct health_state st = health_database_state(x, r);
        log_event(LOG_WARN, x->request_id, "readyz: database unavailable",
                  json_pack("{s:s, s:s, s:s}", "database", st.state, "sqlstate", r->sqlstate,
                            "error", r->message));
        json_t *p = problem_new(503, st.detail, x->request_id);
        if (p)
            json_object_set_new(p, "database", json_string(st.state));
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem_json(x, p);
        return;
    }
    int version = atoi(db_value(r->results[0], 0, 0) ? db_value(r->results[0], 0, 0) : "0");
    if (version != expected) {
        char detail[128];
        snprintf(detail, sizeof detail,
                 "The database schema is at version %d; this build needs %d.", version, expected);
        json_t *p = problem_new(503, detail, x->request_id);
        json_object_set_new(p, "schema_version", json_integer(version));
        json_object_set_new(p, "expected_schema_version", json_integer(expected));
        exchange_add_header(x, "Retry-After", "5");
        exchange_send_problem_json(x, p);
        return;
    }
    exchange_send_json(x, 200,
                       json_pack("{s:s, s:i}", "status", "ready", "schema_version", version));
}

void health_ready(struct exchange *x)
{
    struct db_job *job = db_job_new(health_on_version, x);
    if (!job) {
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    db_job_add(job, STMT_SCHEMA_VERSION, 0, NULL);
    exchange_db_submit(x, job);
}

void health_metrics(struct exchange *x)
{
    const struct server *s = x->worker->server;
    const struct db_pool_stats *pools[256];
    size_t n = 0;
    for (int i = 0; i < s->nworkers && n < 256; i++)
        pools[n++] = &s->workers[i].pool_stats;
    struct evbuffer *buf = evbuffer_new();
    if (!buf) {
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    metrics_render(buf, pools, n);
    if (s->reads) {
        n = 0;
        for (int i = 0; i < s->nworkers && n < 256; i++)
            pools[n++] = &s->workers[i].read_pool_stats;
        reads_metrics(s->reads, buf, pools, n);
    }
    sessions_metrics(buf);
    events_feed_metrics(buf);
    janitor_metrics(buf);
    size_t len = evbuffer_get_length(buf);
    const char *text = (const char *)evbuffer_pullup(buf, -1);
    exchange_send(x, 200, "text/plain; version=0.0.4; charset=utf-8", text ? text : "", len);
    evbuffer_free(buf);
}
