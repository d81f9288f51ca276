/*
 * worker: what one worker thread owns (its event loop, its evhttp, its
 * database pool), and what all workers share (the server). Only server.c
 * creates and frees these; exchange.c reads them, and reaches the request
 * path's steps after the handler (worker_on_job, worker_on_answer) here.
 */
#ifndef CRM_WORKER_H
#define CRM_WORKER_H

#include <pthread.h>
#include <stddef.h>

#include "core/config.h"
#include "db/pool.h"
#include "http/conns.h"
#include "http/cors.h"
#include "http/router.h"

struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct event;
struct db_pool;
struct db_job;
struct exchange;
struct exchange_answer;
struct janitor;
struct server_app;
struct reads;
struct sessions;

struct server {
    const struct crm_config *cfg;
    const struct server_app *app; /* routes, statements, answers, janitor (http/server.h) */
    const struct route *routes;
    size_t nroutes;
    struct cors_list cors;
    int schema_version; /* the migrations this build expects */
    struct worker *workers;
    int nworkers;
    int port; /* the port actually bound */
    struct conns_limits limits; /* client connections, shared by the workers */
    struct reads *reads;        /* NULL unless replicas serve reads (http/reads.h) */
};

struct worker {
    int index;
    struct server *server;
    pthread_t thread;
    int listen_fd;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct conns *conns;  /* its client connections */
    struct db_pool *pool; /* NULL once the grace period has run out */
    struct db_pool_stats pool_stats;
    struct db_pool *read_pool; /* the replicas' (CRM_DATABASE_READ_URL), or NULL */
    struct db_pool_stats read_pool_stats;
    struct event *ev_sample; /* worker 0 with replicas: asks the primary's WAL position */
    int sampling;            /* a sample is in flight */
    long long sample_asked_us;
    struct event *ev_stop;
    struct event *ev_grace;
    struct janitor *janitor; /* worker 0 only: the application's periodic work */
    void *app_state;         /* the application's own (server_app.worker_start) */
    struct sessions *sessions; /* the sessions checked, for a while (http/sessions.h) */
    int stopping;
    size_t in_flight; /* exchanges received and not yet answered */
};

/* Called by exchange.c when an exchange has been answered and freed. */
void worker_exchange_done(struct worker *w);

/* The request path's step for each database job of a handler (called by
 * exchange_db_submit): settles a claimed Idempotency-Key with the job's
 * write, then submits the job. */
void worker_on_job(struct exchange *x, struct db_job *job);

/* The request path's last step, after the handler (called by
 * exchange_send): an answer under a claimed Idempotency-Key is stored,
 * then sent (exchange_transmit). */
void worker_on_answer(struct exchange *x, const struct exchange_answer *a);

#endif
