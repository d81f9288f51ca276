/*
 * exchange: see exchange.h. The exchange owns its parsed query; the request
 * (and its path) belongs to evhttp and stays valid until the reply is sent.
 */
#include "http/exchange.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <sodium.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/roles.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/json_text.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/reads.h"
#include "http/sessions.h"
#include "http/server.h"
#include "http/worker.h"

struct exchange *exchange_new(struct evhttp_request *req, struct worker *w, unsigned method)
{
    struct exchange *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->req = req;
    x->worker = w;
    x->method = method;
    x->start_us = clock_monotonic_us();
    x->route_index = w->server->nroutes;
    TAILQ_INIT(&x->query);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    x->path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!x->path || !*x->path)
        x->path = "/";
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (query)
        evhttp_parse_query_str(query, &x->query);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    request_id_choose(evhttp_find_header(in, "X-Request-Id"), x->request_id);
    const char *origin = evhttp_find_header(in, "Origin");
    if (cors_allowed(&w->server->cors, origin))
        x->origin = origin;
    w->in_flight++;
    return x;
}

void exchange_add_header(struct exchange *x, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(x->req), name, value);
}

const char *exchange_query(struct exchange *x, const char *name)
{
    return evhttp_find_header(&x->query, name);
}

static void exchange_access_log(struct exchange *x, int status, size_t bytes, long long us)
{
    if (!x->worker->server->cfg->access_log || !log_enabled(LOG_INFO))
        return;
    const struct server *s = x->worker->server;
    const char *route = x->route_index < s->nroutes ? s->routes[x->route_index].pattern : NULL;
    char *peer = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *conn = evhttp_request_get_connection(x->req);
    if (conn)
        evhttp_connection_get_peer(conn, &peer, &port);
    log_event(LOG_INFO, x->request_id, "request",
              json_pack("{s:s, s:s, s:s?, s:i, s:f, s:I, s:s?}", "method",
                        router_method_name(x->method), "path", x->path, "route", route, "status",
                        status, "duration_ms", (double)us / 1000.0, "bytes", (json_int_t)bytes,
                        "remote", peer));
}

/* Adds name: value unless the handler has set name itself: the web console
 * (api/console.c) relaxes the caching and the Content-Security-Policy meant
 * for JSON, and two policies would both apply, the stricter winning. */
static void exchange_default_header(struct evkeyvalq *out, const char *name, const char *value)
{
    if (!evhttp_find_header(out, name))
        evhttp_add_header(out, name, value);
}

/* Every answer varies with Origin (CORS); a handler's own Vary (Accept, on
 * `GET /`) joins it in the one field. */
static void exchange_vary_header(struct evkeyvalq *out)
{
    const char *own = evhttp_find_header(out, "Vary");
    char both[128];
    if (!own || (size_t)snprintf(both, sizeof both, "%s, Origin", own) >= sizeof both) {
        evhttp_add_header(out, "Vary", "Origin");
        return;
    }
    evhttp_remove_header(out, "Vary");
    evhttp_add_header(out, "Vary", both);
}

/* Adds the headers every answer carries. */
static void exchange_common_headers(struct exchange *x)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(x->req);
    evhttp_add_header(out, "X-Request-Id", x->request_id);
    exchange_default_header(out, "X-Content-Type-Options", "nosniff");
    exchange_default_header(out, "Cache-Control", "no-store");
    exchange_default_header(out, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'");
    exchange_vary_header(out);
    if (x->origin) {
        evhttp_add_header(out, "Access-Control-Allow-Origin", x->origin);
        evhttp_add_header(
            out, "Access-Control-Expose-Headers",
            "X-Request-Id, ETag, Location, Retry-After, Idempotent-Replayed, Content-Disposition");
    }
    if (x->worker->stopping)
        evhttp_add_header(out, "Connection", "close");
}

/* Frees x once it is answered (the request is evhttp's, or a stream's) and
 * tells its worker. */
static void exchange_free(struct exchange *x)
{
    struct worker *w = x->worker;
    free(x->idem_key);
    evhttp_clear_headers(&x->query);
    json_decref(x->pending_problem);
    if (x->state_free)
        x->state_free(x->state);
    sodium_memzero(x, sizeof *x);
    free(x);
    worker_exchange_done(w);
}

void exchange_send(struct exchange *x, int status, const char *content_type, const char *body,
                   size_t len)
{
    struct exchange_answer a = {status, content_type, body, len};
    worker_on_answer(x, &a);
}

void exchange_transmit(struct exchange *x, const struct exchange_answer *a)
{
    exchange_common_headers(x);
    struct evbuffer *buf = NULL;
    if (a->content_type)
        evhttp_add_header(evhttp_request_get_output_headers(x->req), "Content-Type",
                          a->content_type);
    if (a->body) {
        buf = evbuffer_new();
        if (buf)
            evbuffer_add(buf, a->body, a->len);
    }
    long long us = clock_monotonic_us() - x->start_us;
    metrics_observe(x->route_index, a->status, us);
    /* Logged before the send: evhttp_send_reply may free the request (at
     * once when its connection is gone), and the line reads its path and
     * peer. After the send, x->req and x->path must not be touched. */
    exchange_access_log(x, a->status, a->body ? a->len : 0, us);
    evhttp_send_reply(x->req, a->status, NULL, buf);
    if (buf)
        evbuffer_free(buf);
    exchange_free(x);
}

struct evhttp_request *exchange_stream_start(struct exchange *x, const char *content_type)
{
    struct evhttp_request *req = x->req;
    exchange_common_headers(x);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", content_type);
    /* A stream ends by closing its connection: nothing follows it. */
    evhttp_remove_header(out, "Connection");
    evhttp_add_header(out, "Connection", "close");
    evhttp_add_header(out, "X-Accel-Buffering", "no");
    long long us = clock_monotonic_us() - x->start_us;
    metrics_observe(x->route_index, 200, us);
    exchange_access_log(x, 200, 0, us);
    evhttp_send_reply_start(req, 200, "OK");
    exchange_free(x);
    return req;
}

void exchange_send_json_text(struct exchange *x, int status, const char *text, size_t len)
{
    char *compact = malloc(len + 1);
    if (!compact) {
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    size_t n = json_text_compact(text, len, compact);
    exchange_send(x, status, "application/json; charset=utf-8", compact, n);
    free(compact);
}

void exchange_send_json(struct exchange *x, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        exchange_send_problem(x, 500, "The answer could not be encoded.");
        return;
    }
    exchange_send_json_text(x, status, text, strlen(text));
    free(text);
}

static void exchange_on_auth_then_problem(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (exchange_answer_db_error(x, r))
        return;
    json_t *problem = x->pending_problem;
    x->pending_problem = NULL;
    exchange_send_problem_json(x, problem);
}

void exchange_send_problem_json(struct exchange *x, json_t *problem)
{
    json_int_t status = json_integer_value(json_object_get(problem, "status"));
    if (x->authenticated && !x->auth_checked && status >= 400 && status < 500 && status != 401 &&
        !x->pending_problem) {
        x->pending_problem = problem;
        struct db_job *job = exchange_job(x, exchange_on_auth_then_problem);
        if (job)
            exchange_db_submit(x, job);
        return;
    }
    char *text = problem ? json_dumps(problem, JSON_COMPACT) : NULL;
    json_decref(problem);
    if (!text) {
        static const char fallback[] = "{\"type\":\"about:blank\",\"title\":\"Internal Server "
                                       "Error\",\"status\":500}";
        exchange_send(x, 500, "application/problem+json", fallback, sizeof fallback - 1);
        return;
    }
    exchange_send(x, status ? (int)status : 500, "application/problem+json", text, strlen(text));
    free(text);
}

void exchange_send_problem(struct exchange *x, int status, const char *detail)
{
    exchange_send_problem_json(x, problem_new(status, detail, x->request_id));
}

void exchange_send_empty(struct exchange *x, int status)
{
    exchange_send(x, status, NULL, NULL, 0);
}

struct db_pool *exchange_pool(struct exchange *x)
{
    return x->worker->pool;
}

void exchange_db_submit(struct exchange *x, struct db_job *job)
{
    worker_on_job(x, job);
}

/* Every job of an exchange reports here first: once the database has run
 * the auth call (whatever came after), the caller is known to be judged. */
static void exchange_on_result(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (r->failure == DB_OK || r->failure == DB_FAIL_QUERY)
        x->auth_checked = 1;
    if (x->auth_copied && r->ran_as_was) /* the copy was refused: the sessions had changed */
        sessions_count(SESSIONS_REFUSED);
    if (x->authenticated && r->ncalls > 0 && r->results[0] &&
        PQfnumber(r->results[0], "fresh_ms") >= 0) /* auth_session answered: kept */
        sessions_keep(x->worker->sessions, x->token_hash, r->results[0], x->job_sent_us);
    struct reads *reads = x->worker->server->reads;
    if (reads && x->authenticated && (!x->on_replica || r->fell_back)) {
        if (x->on_replica)
            atomic_fetch_add_explicit(&reads_stats(reads)->fell_back, 1, memory_order_relaxed);
        /* The primary answered: where the session's reads may go next. */
        if (r->ncalls > 0 && r->results[0] && PQresultStatus(r->results[0]) == PGRES_TUPLES_OK &&
            PQntuples(r->results[0]) == 1)
            reads_on_primary(reads, x->token_hash, x->job_sent_us,
                             !(x->method & (HTTP_GET | HTTP_HEAD)), clock_monotonic_us());
    }
    const struct server_app *app = x->worker->server->app;
    if (r->failure == DB_OK && !x->on_replica && !(x->method & (HTTP_GET | HTTP_HEAD)) && app &&
        app->wrote)
        app->wrote(x->worker);
    x->db_cb(x, r);
}

struct db_job *exchange_job(struct exchange *x, db_done_cb cb)
{
    struct db_job *job = db_job_new(exchange_on_result, x);
    x->db_cb = cb;
    if (!job) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Out of memory.");
        return NULL;
    }
    if (x->authenticated) {
        const struct crm_config *cfg = x->worker->server->cfg;
        char roles[64], idle[16];
        role_array_literal(x->match.route->roles, roles, sizeof roles);
        snprintf(idle, sizeof idle, "%d", cfg->session_idle_s);
        const char *params[] = {x->token_hash_hex, x->request_id, roles, idle};
        db_job_add(job, x->worker->server->app->statements.auth_session, 4, params);
    }
    return job;
}

PGresult *exchange_result(const struct exchange *x, const struct db_result *r, int i)
{
    int k = i + (x->authenticated ? 1 : 0);
    return k < r->ncalls ? r->results[k] : NULL;
}

int exchange_caller(const struct exchange *x, const struct db_result *r, struct caller *c)
{
    if (!x->authenticated || !r->results[0] || PQntuples(r->results[0]) != 1)
        return -1;
    const PGresult *a = r->results[0];
    c->user_id = atoll(PQgetvalue(a, 0, 0));
    c->username = PQgetvalue(a, 0, 1);
    c->role = PQgetvalue(a, 0, 3);
    c->unit_id = atoll(PQgetvalue(a, 0, 4));
    return 0;
}

void exchange_send_unauthorized(struct exchange *x, const char *detail)
{
    exchange_add_header(x, "WWW-Authenticate", "Bearer realm=\"crm\"");
    exchange_send_problem(x, 401, detail);
}

/* The SQLSTATEs (and classes: two characters) that mean "try again"
 * rather than "this request is wrong", in any application. */
static const char *const sqlstates_transient[] = {
    "57014", /* query_canceled: the statement timeout */
    "40001", /* serialization_failure */
    "40P01", /* deadlock_detected */
    "57P",   /* the admin shutting the server down, a crash, no connection now */
    "08",    /* connection exceptions */
    "53",    /* insufficient resources: disk full, memory, connections */
};

static int sqlstate_transient(const char *s)
{
    for (size_t i = 0; i < sizeof sqlstates_transient / sizeof sqlstates_transient[0]; i++)
        if (strncmp(s, sqlstates_transient[i], strlen(sqlstates_transient[i])) == 0)
            return 1;
    return 0;
}

int exchange_answer_db_error(struct exchange *x, const struct db_result *r)
{
    if (r->failure == DB_OK)
        return 0;
    const struct server_app *app = x->worker->server->app;
    if (app && app->answer_db_error)
        return app->answer_db_error(x, r);
    exchange_answer_db_failure(x, r);
    return 1;
}

void exchange_answer_db_failure(struct exchange *x, const struct db_result *r)
{
    const char *detail;
    switch (r->failure) {
    case DB_FAIL_QUEUE_FULL:
    case DB_FAIL_TIMEOUT:
        detail = "The service is busy; retry shortly.";
        break;
    case DB_FAIL_CONNECTION:
    case DB_FAIL_SHUTDOWN:
        detail = "The database is unavailable; retry shortly.";
        break;
    case DB_FAIL_QUERY:
        if (sqlstate_transient(r->sqlstate)) {
            detail = "The database could not answer in time; retry shortly.";
            break;
        }
        /* fall through */
    default:
        log_event(LOG_ERROR, x->request_id, "db: query failed",
                  json_pack("{s:s, s:s}", "sqlstate", r->sqlstate, "error", r->message));
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    log_event(LOG_WARN, x->request_id, "db: unavailable",
              json_pack("{s:i, s:s, s:s}", "failure", (int)r->failure, "sqlstate", r->sqlstate,
                        "error", r->message));
    exchange_add_header(x, "Retry-After", "1");
    exchange_send_problem(x, 503, detail);
}
