/*
 * worker: what one worker thread owns (its event loop, its evhttp, its
 * database pool), and what all workers share (the server). Only server.c
 * creates and frees these; exchange.c reads them.
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

struct server {
    const struct crm_config *cfg;
    const struct route *routes;
    size_t nroutes;
    struct cors_list cors;
    int schema_version; /* the migrations this build expects */
    struct worker *workers;
    int nworkers;
    int port; /* the port actually bound */
    struct conns_limits limits; /* client connections, shared by the workers */
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
    struct event *ev_stop;
    struct event *ev_grace;
    struct event *ev_stall; /* worker 0 only: the stalled-project sweep */
    int stopping;
    size_t in_flight; /* exchanges received and not yet answered */
};

/* Called by exchange.c when an exchange has been answered and freed. */
void worker_exchange_done(struct worker *w);

#endif
