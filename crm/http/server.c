/*
 * server: see server.h.
 *
 * The request path, in order (each step a function here):
 *   worker_on_request  limits, route, the caller's token, media type; a
 *                      POST's Idempotency-Key claimed (idempotency_start);
 *                      then the route's handler
 *   worker_on_job      each database job of the handler: settles a claimed
 *                      key with the write, then goes to the pool
 *   worker_on_answer   the handler's answer: stored under a claimed key,
 *                      then transmitted (exchange_transmit)
 *
 * Ownership: server_run owns the server and its workers; each worker owns its
 * event_base, evhttp, pool, events and (worker 0) the application's janitor,
 * created here before its thread starts and freed here after it ends.
 * Signals are blocked in every thread and taken with sigwait by the calling
 * thread, so no handler runs on a worker loop.
 */
#include "http/server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/hasher.h"
#include "auth/roles.h"
#include "auth/token.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/offload.h"
#include "db/pool.h"
#include "http/conns.h"
#include "http/exchange.h"
#include "http/idempotency.h"
#include "http/listener.h"
#include "http/query.h"
#include "http/reads.h"
#include "http/sessions.h"
#include "http/metrics.h"
#include "http/worker.h"

/* evhttp's own limits sit above ours, as a backstop: a request between the
 * two gets our problem+json answer, a larger one evhttp's bare 413. */
#define EVHTTP_BACKSTOP_BODY (4 * SERVER_MAX_BODY)
#define EVHTTP_BACKSTOP_HEADERS (8 * SERVER_MAX_HEADERS)

static const struct {
    enum evhttp_cmd_type ev;
    unsigned method;
} server_methods[] = {
    {EVHTTP_REQ_GET, HTTP_GET},     {EVHTTP_REQ_HEAD, HTTP_HEAD},
    {EVHTTP_REQ_POST, HTTP_POST},   {EVHTTP_REQ_PUT, HTTP_PUT},
    {EVHTTP_REQ_PATCH, HTTP_PATCH}, {EVHTTP_REQ_DELETE, HTTP_DELETE},
    {EVHTTP_REQ_OPTIONS, HTTP_OPTIONS},
};

static unsigned server_method(enum evhttp_cmd_type ev)
{
    for (size_t i = 0; i < sizeof server_methods / sizeof server_methods[0]; i++)
        if (server_methods[i].ev == ev)
            return server_methods[i].method;
    return 0;
}

/* Bytes of the request line and header fields as the client sent them
 * (give or take the spaces evhttp trimmed). */
static size_t request_header_bytes(struct evhttp_request *req)
{
    size_t n = strlen(evhttp_request_get_uri(req)) + 16;
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
    n += strlen(h->key) + strlen(h->value) + 4;
    return n;
}

/* Whether the parameters of a media type (from its first ';') name no
 * charset or UTF-8 ("utf-8" in any case, quoted or not). */
static int content_type_utf8(const char *params)
{
    const char *p = params;
    while ((p = strchr(p, ';'))) {
        p++;
        p += strspn(p, " \t");
        if (strncasecmp(p, "charset", 7) != 0)
            continue;
        const char *v = p + 7;
        v += strspn(v, " \t");
        if (*v != '=')
            continue;
        v++;
        v += strspn(v, " \t");
        int quoted = *v == '"';
        v += quoted;
        size_t len = strcspn(v, quoted ? "\"" : "; \t");
        if (len != 5 || strncasecmp(v, "utf-8", 5) != 0)
            return 0;
    }
    return 1;
}

/* Whether ct is application/json or application/<name>+json, without a
 * charset or in UTF-8: JSON is UTF-8 (RFC 8259), and a body declared in
 * another charset would be read as what it is not. */
static int content_type_is_json(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    int json = (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
               (n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
                strncasecmp(ct + n - 5, "+json", 5) == 0);
    return json && content_type_utf8(ct + n);
}

/* A route with roles needs a Bearer token in the Authorization header (and
 * never in the query string, where it would end up in logs and histories).
 * Whether the session is valid is for the database to say, in the same
 * transaction as the request. Returns 1, or 0 after answering 401. */
static int server_authenticate(struct exchange *x)
{
    if (exchange_query(x, "access_token") || exchange_query(x, "token")) {
        exchange_send_unauthorized(x, "A token is accepted only in the Authorization header.");
        return 0;
    }
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(x->req), "Authorization");
    if (token_from_bearer(auth, x->token_hash) != 0) {
        exchange_send_unauthorized(x, auth ? "The Authorization header is not a valid Bearer token."
                                           : "This route needs an Authorization: Bearer token.");
        return 0;
    }
    token_hash_hex(x->token_hash, x->token_hash_hex);
    x->authenticated = 1;
    return 1;
}

/* Whether a body of content type ct suits a route taking media (NULL: JSON). */
static int media_acceptable(const char *media, const char *ct)
{
    if (!media)
        return content_type_is_json(ct);
    size_t n = strlen(media);
    return ct && strncasecmp(ct, media, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* OPTIONS: a CORS preflight from an allowed origin, or a plain Allow. */
static void server_answer_options(struct exchange *x, unsigned allowed)
{
    char allow[128];
    router_allow_header(allowed | HTTP_OPTIONS, allow, sizeof allow);
    struct evkeyvalq *in = evhttp_request_get_input_headers(x->req);
    if (x->origin && evhttp_find_header(in, "Access-Control-Request-Method")) {
        exchange_add_header(x, "Access-Control-Allow-Methods", allow);
        exchange_add_header(x, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, If-Match, Idempotency-Key, X-Request-Id");
        exchange_add_header(x, "Access-Control-Max-Age", "600");
    }
    exchange_add_header(x, "Allow", allow);
    exchange_send_empty(x, 204);
}

/* Every request enters here: limits, routing, caller, media type, an
 * Idempotency-Key claimed, then the handler. */
static void worker_on_request(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    const struct server *s = w->server;
    unsigned method = server_method(evhttp_request_get_command(req));
    struct exchange *x = exchange_new(req, w, method);
    if (!x) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    if (conns_request_begin(w->conns, req) != 0) {
        /* A NUL byte came in: evhttp cuts header values at it, so what
         * we would read is not what was sent. */
        exchange_add_header(x, "Connection", "close");
        exchange_send_problem(x, 400, "The request contains a NUL byte.");
        return;
    }
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (query && strstr(query, "%00")) {
        /* Decoded, the parameter would end at the NUL: refuse rather than
         * answer for a shorter value than was sent. */
        exchange_send_problem(x, 400, "The query string contains a NUL byte (%00).");
        return;
    }
    if (w->stopping) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "The service is shutting down.");
        return;
    }
    if (!method) {
        /* evhttp reads no body for a method it does not know, so what
         * follows on the connection cannot be trusted to be a request. */
        exchange_add_header(x, "Connection", "close");
        exchange_send_problem(x, 501, "This method is not supported.");
        return;
    }
    if (request_header_bytes(req) > SERVER_MAX_HEADERS) {
        exchange_send_problem(x, 431, "The request's header fields exceed 8 KiB.");
        return;
    }
    size_t body = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if (body > SERVER_MAX_BODY) {
        exchange_send_problem(x, 413, "The request body exceeds 1 MiB.");
        return;
    }
    char allow[128];
    switch (router_match(s->routes, s->nroutes, method, x->path, &x->match)) {
    case ROUTER_NOT_FOUND:
        exchange_send_problem(x, 404, "No such resource.");
        return;
    case ROUTER_METHOD_NOT_ALLOWED:
        if (method == HTTP_OPTIONS) {
            server_answer_options(x, x->match.allowed);
            return;
        }
        exchange_add_header(x, "Allow", router_allow_header(x->match.allowed, allow, sizeof allow));
        exchange_send_problem(x, 405, "This method is not allowed on this resource.");
        return;
    case ROUTER_FOUND:
        break;
    }
    x->route_index = (size_t)(x->match.route - s->routes);
    if (x->match.route->roles != ROLE_PUBLIC && !server_authenticate(x))
        return;
    if (body > 0 && (method & (HTTP_POST | HTTP_PUT | HTTP_PATCH)) &&
        !media_acceptable(x->match.route->media,
                          evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type"))) {
        exchange_send_problem(x, 415,
                              x->match.route->media
                                  ? "The request body must be text/csv."
                                  : "The request body must be application/json, in UTF-8.");
        return;
    }
    if (method == HTTP_POST && x->authenticated && idempotency_start(x))
        return; /* the handler runs once the key is claimed */
    x->match.route->handler(x);
}

/* What sends a replica's job to the primary besides an unreachable replica:
 * not caught up with the caller's writes (auth_session_at), a read route
 * that tried to write (a bug, but the request should not fail for it), a
 * query cancelled by a conflict with recovery. */
static const char *const replica_fallback_states[] = {"CRLAG", "25006", "40001", NULL};

/* A job of a session whose check stands, on the primary: its first call
 * sets the caller from the copy instead of auth_session (http/sessions.h),
 * unless the route refuses the copy's role (auth_session answers that). */
static void worker_copy_caller(struct worker *w, struct exchange *x, struct db_job *job)
{
    const struct session_copy *c = sessions_find(w->sessions, x->token_hash, x->job_sent_us);
    x->auth_copied = 0;
    if (c && (c->role_bit & x->match.route->roles)) {
        const char *params[] = {c->user_id,    c->username,   c->role,      c->unit_id,
                                c->scope_root, x->request_id, c->generation};
        x->auth_copied = db_job_try_instead(job, w->pool, 0, w->server->app->statements.auth_cached,
                                            7, params, "CRGEN") == 0;
    }
    sessions_count(x->auth_copied ? SESSIONS_BY_COPY : SESSIONS_BY_DATABASE);
}

void worker_on_job(struct exchange *x, struct db_job *job)
{
    idempotency_settle(x, job);
    struct worker *w = x->worker;
    struct db_pool *pool = w->pool;
    x->job_sent_us = clock_monotonic_us();
    x->on_replica = 0;
    if (pool && w->read_pool && x->authenticated && x->match.route->replica) {
        char lsn[READS_LSN_TEXT];
        if (reads_route(w->server->reads, x->token_hash, x->job_sent_us, lsn) &&
            db_job_retarget(job, 0, w->server->app->statements.auth_session_at, lsn) == 0) {
            x->on_replica = 1;
            db_job_set_fallback(job, pool, replica_fallback_states);
            db_submit(w->read_pool, job);
            return;
        }
    }
    if (pool) {
        if (x->authenticated)
            worker_copy_caller(w, x, job);
        db_submit(pool, job);
        return;
    }
    /* After the grace period the pool is gone: fail like a freed pool. */
    db_job_fail(job, DB_FAIL_SHUTDOWN);
}

void worker_on_answer(struct exchange *x, const struct exchange_answer *a)
{
    if (idempotency_store(x, a))
        return; /* transmitted once stored */
    exchange_transmit(x, a);
}

void worker_exchange_done(struct worker *w)
{
    w->in_flight--;
    if (w->stopping && w->in_flight == 0) {
        /* Leave the loop a moment to write the last answers out. */
        struct timeval flush = {0, 100 * 1000};
        event_base_loopexit(w->base, &flush);
    }
}

/* The grace period is over: fail what is left (the pool answers 503). */
static void worker_on_grace(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    log_msg(LOG_WARN, NULL, "worker %d: grace period over with %zu requests in flight", w->index,
            w->in_flight);
    hasher_cancel(w->base);
    offload_cancel(w->base);
    /* The replicas' first: a job of theirs may fall back to the primary's. */
    struct db_pool *read_pool = w->read_pool;
    w->read_pool = NULL;
    db_pool_free(read_pool);
    struct db_pool *pool = w->pool;
    w->pool = NULL;
    db_pool_free(pool);
    struct timeval flush = {0, 100 * 1000};
    event_base_loopexit(w->base, &flush);
}

static void worker_on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    if (w->stopping)
        return;
    w->stopping = 1;
    if (w->app_state && w->server->app->worker_stopping)
        w->server->app->worker_stopping(w->app_state);
    if (w->janitor) {
        w->server->app->janitor_stop(w->janitor);
        w->janitor = NULL;
    }
    if (w->bound) {
        conns_listener_gone(w->conns);
        evhttp_del_accept_socket(w->http, w->bound);
        w->bound = NULL;
        w->listen_fd = -1;
    }
    int ms = w->server->cfg->shutdown_grace_ms;
    struct timeval grace = {ms / 1000, (ms % 1000) * 1000};
    event_add(w->ev_grace, &grace);
    if (w->in_flight == 0)
        event_base_loopexit(w->base, NULL);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    conns_enter(w->conns);
    event_base_dispatch(w->base);
    return NULL;
}

/* ---- the primary's WAL position, for reads on replicas (http/reads.h) ---- */

static void worker_on_sample(void *arg, struct db_result *r)
{
    struct worker *w = arg;
    w->sampling = 0;
    if (r->failure == DB_OK && w->server->reads)
        reads_sample(w->server->reads, w->sample_asked_us, db_value(r->results[0], 0, 0));
}

static void worker_sample(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    if (w->sampling || !w->pool || w->stopping)
        return;
    struct db_job *job = db_job_new(worker_on_sample, w);
    if (!job)
        return;
    db_job_add(job, w->server->app->statements.wal_position, 0, NULL);
    w->sampling = 1;
    w->sample_asked_us = clock_monotonic_us();
    db_submit(w->pool, job); /* may answer at once */
}

static int worker_init(struct worker *w, struct server *s, int index, int fd,
                       const struct db_pool_config *pcfg, const struct db_pool_config *rcfg)
{
    w->index = index;
    w->server = s;
    w->listen_fd = fd;
    if (!(w->base = event_base_new()) || !(w->http = evhttp_new(w->base)))
        return -1;
    /* Every method reaches worker_on_request, those evhttp does not know
     * too (it parses them as an "unknown" type, one more bit of the mask):
     * the answer to them is ours, problem+json, not evhttp's HTML. */
    evhttp_set_allowed_methods(w->http, 0xffff);
    evhttp_set_max_body_size(w->http, EVHTTP_BACKSTOP_BODY);
    evhttp_set_max_headers_size(w->http, EVHTTP_BACKSTOP_HEADERS);
    evhttp_set_timeout(w->http, s->cfg->http_timeout_s);
    evhttp_set_default_content_type(w->http, "application/json; charset=utf-8");
    evhttp_set_gencb(w->http, worker_on_request, w);
    if (!(w->bound = evhttp_accept_socket_with_handle(w->http, fd)))
        return -1;
    if (!(w->conns = conns_new(w->base, w->http, evhttp_bound_socket_get_listener(w->bound),
                               &s->limits, s->nworkers)) ||
        conns_set_request_deadline(w->conns, (long long)s->cfg->http_timeout_s * 1000) != 0)
        return -1;
    w->ev_stop = event_new(w->base, -1, 0, worker_on_stop, w);
    w->ev_grace = evtimer_new(w->base, worker_on_grace, w);
    const struct server_statements *st = &s->app->statements;
    if (!(w->sessions = sessions_new()))
        return -1;
    w->pool = db_pool_new(w->base, pcfg, st->all, st->count, &w->pool_stats);
    if (rcfg) {
        /* Each worker's connections start at other replicas: reads spread over them. */
        struct db_pool_config r = *rcfg;
        r.host_offset = index * rcfg->size;
        if (!(w->read_pool = db_pool_new(w->base, &r, st->all, st->count, &w->read_pool_stats)))
            return -1;
        if (index == 0) {
            struct timeval every = {0, READS_SAMPLE_MS * 1000};
            if (!(w->ev_sample = event_new(w->base, -1, EV_PERSIST, worker_sample, w)) ||
                event_add(w->ev_sample, &every) != 0)
                return -1;
        }
    }
    /* The first worker's loop hosts the service's periodic work. */
    if (index == 0 && s->app->janitor_start && !(w->janitor = s->app->janitor_start(w)))
        return -1;
    if (s->app->worker_start && !(w->app_state = s->app->worker_start(w)))
        return -1;
    return w->ev_stop && w->ev_grace && w->pool ? 0 : -1;
}

static void worker_cleanup(struct worker *w)
{
    if (w->base) {
        hasher_cancel(w->base);
        offload_cancel(w->base);
    }
    if (w->ev_sample)
        event_free(w->ev_sample);
    w->ev_sample = NULL;
    db_pool_free(w->read_pool); /* first: its jobs may fall back to the primary's */
    w->read_pool = NULL;
    db_pool_free(w->pool);
    w->pool = NULL;
    sessions_free(w->sessions);
    w->sessions = NULL;
    if (w->ev_stop)
        event_free(w->ev_stop);
    if (w->ev_grace)
        event_free(w->ev_grace);
    if (w->janitor)
        w->server->app->janitor_stop(w->janitor);
    w->janitor = NULL;
    if (w->app_state)
        w->server->app->worker_free(w->app_state);
    w->app_state = NULL;
    if (w->http)
        evhttp_free(w->http); /* closes the listener and every connection */
    else if (w->listen_fd >= 0)
        close(w->listen_fd);
    conns_free(w->conns); /* after evhttp_free: it closes the connections */
    if (w->base)
        event_base_free(w->base);
}

/* The limits on client connections (conns.h), from the settings or, when
 * they are 0, from the open-file limit (raised to the hard limit first).
 * Returns 0, or -1 when out of memory. */
static int server_limit_connections(struct server *s)
{
    const struct crm_config *cfg = s->cfg;
    int open_files = conns_raise_open_files();
    int reserved = conns_reserved_files(s->nworkers, cfg->db_pool_size * (s->reads ? 2 : 1));
    if (conns_limits_init(&s->limits, cfg->max_connections, cfg->max_connections_per_address,
                          open_files, reserved) != 0)
        return -1;
    log_event(LOG_INFO, NULL, "connection limits",
              json_pack("{s:i, s:i, s:i}", "max_connections", s->limits.max,
                        "max_connections_per_address", s->limits.per_address, "open_files",
                        open_files));
    if (s->limits.max > open_files - reserved)
        log_msg(LOG_WARN, NULL,
                "max-connections %d is more than %d open files allow (%d are kept for crm's "
                "own use): past that, connections are refused as descriptors run out",
                s->limits.max, open_files, reserved);
    return 0;
}

/* Waits for SIGINT/SIGTERM (blocked in every thread). */
static int server_wait_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
}

int server_run(const struct crm_config *cfg, struct listener *listener,
               const char *database_url, const struct server_app *app, int schema_version)
{
    const struct route *routes = app->routes;
    size_t nroutes = app->nroutes;
    struct server s = {.cfg = cfg, .app = app, .routes = routes, .nroutes = nroutes,
                       .schema_version = schema_version, .port = listener->port};
    int rc = 1, started = 0;
    if (cursor_key_set(cfg->cursor_key) != 0) {
        log_msg(LOG_ERROR, NULL, "cursor-key: must be 64 hex characters");
        return 1;
    }
    if (cors_parse(&s.cors, cfg->cors_origins) != 0) {
        log_msg(LOG_ERROR, NULL, "cors-origins: each origin must be scheme://host[:port]");
        return 1;
    }
    s.nworkers = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (s.nworkers < 1)
        s.nworkers = 1;
    s.workers = calloc((size_t)s.nworkers, sizeof *s.workers);
    const char *read_url = cfg->database_read_url;
    if (read_url && *read_url && !(s.reads = reads_new(cfg->session_idle_s)))
        goto done;
    if (!s.workers || evthread_use_pthreads() != 0 || metrics_init(routes, nroutes) != 0 ||
        server_limit_connections(&s) != 0)
        goto done;
    /* Blocked before the first thread starts, so every thread inherits the
     * mask: a signal that comes while the workers start waits for sigwait
     * instead of killing the process from a thread that did not block it. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    if (hasher_start(cfg->hash_threads, cfg->hash_max_in_flight) != 0) {
        log_msg(LOG_ERROR, NULL, "password hashing threads could not start");
        goto done;
    }
    if (offload_start(cfg->io_threads, cfg->io_max_in_flight) != 0) {
        log_msg(LOG_ERROR, NULL, "import and export threads could not start");
        goto done;
    }

    struct db_pool_config pcfg = {
        .conninfo = database_url,
        .size = cfg->db_pool_size,
        .pipeline_depth = cfg->db_pipeline_depth,
        .queue_max = cfg->db_queue_max,
        .queue_timeout_ms = cfg->db_queue_timeout_ms,
        .statement_timeout_ms = cfg->db_statement_timeout_ms,
        .reconnect_ms = cfg->db_reconnect_ms,
        .job_timeout_ms = cfg->db_job_timeout_ms,
        .connect_timeout_ms = cfg->db_connect_timeout_ms,
        .keepalive_s = cfg->db_keepalive_s,
        .settings = app->db_settings,
    };
    /* The replicas' pools: the same settings, another URL. */
    struct db_pool_config rcfg = pcfg;
    rcfg.conninfo = read_url;
    rcfg.spread_hosts = 1;
    for (int i = 0; i < s.nworkers; i++)
        s.workers[i].listen_fd = -1;
    for (int i = 0; i < s.nworkers; i++) {
        /* The first worker takes the socket bound under the port's lock, the
         * others join it with SO_REUSEPORT. */
        int fd = i == 0 ? listener_take(listener) : listener_add(listener);
        if (fd < 0) {
            log_msg(LOG_ERROR, NULL, "listen: %s: %s", cfg->listen, strerror(errno));
            goto done;
        }
        if (worker_init(&s.workers[i], &s, i, fd, &pcfg, s.reads ? &rcfg : NULL) != 0) {
            log_msg(LOG_ERROR, NULL, "worker %d: could not start", i);
            goto done;
        }
    }
    for (int i = 0; i < s.nworkers; i++) {
        if (pthread_create(&s.workers[i].thread, NULL, worker_main, &s.workers[i]) != 0)
            goto stop;
        started++;
    }
    char url[300];
    log_event(LOG_INFO, NULL, "serving",
              json_pack("{s:s, s:i, s:i, s:i, s:s?, s:b}", "host", listener->host, "port",
                        listener->port, "workers", s.nworkers, "db_pool_size",
                        cfg->db_pool_size, "cors_origins", cfg->cors_origins, "read_replicas",
                        s.reads != NULL));
    printf("crm: serving on %s\n", listener_url(listener, url, sizeof url));
    if (s.cors.count)
        printf("crm: browsers may call it from %s (CRM_CORS_ORIGINS)\n", cfg->cors_origins);
    fflush(stdout);

    int sig = server_wait_signal();
    log_msg(LOG_INFO, NULL, "%s received: stopping (grace %d ms)",
            sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->shutdown_grace_ms);
    rc = 0;
stop:
    for (int i = 0; i < started; i++)
        event_active(s.workers[i].ev_stop, EV_READ, 0);
    for (int i = 0; i < started; i++)
        pthread_join(s.workers[i].thread, NULL);
    if (started < s.nworkers && rc == 0)
        rc = 1;
done:
    for (int i = 0; s.workers && i < s.nworkers; i++)
        worker_cleanup(&s.workers[i]);
    free(s.workers);
    reads_free(s.reads);
    conns_limits_free(&s.limits);
    hasher_stop();
    offload_stop();
    cors_free(&s.cors);
    metrics_free();
    libevent_global_shutdown();
    if (rc == 0)
        log_msg(LOG_INFO, NULL, "stopped");
    return rc;
}
