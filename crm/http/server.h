/*
 * server: the HTTP service. N worker threads, each with its own event_base,
 * evhttp and database pool, accept on sockets bound to the same address with
 * SO_REUSEPORT; no other process may bind there (see listener.h). The
 * calling thread waits for SIGINT/SIGTERM and then shuts the workers down
 * gracefully: stop accepting, let in-flight requests finish within the grace
 * period, answer the rest 503, exit.
 */
#ifndef CRM_SERVER_H
#define CRM_SERVER_H

#include <stddef.h>

#include "core/config.h"
#include "http/router.h"

/* The limits the service enforces itself (answered with problem+json). */
#define SERVER_MAX_BODY (1024 * 1024)
#define SERVER_MAX_HEADERS (8 * 1024)

struct listener;
struct exchange;
struct worker;
struct janitor;
struct db_result;
struct db_statement;

/* The statements http/ runs on the application's behalf, as ids of the
 * application's registry: http/ names none of them itself. */
struct server_statements {
    const struct db_statement *all; /* the registry, prepared on every connection */
    size_t count;
    int auth_session;        /* (token hash, request id, roles, idle s) -> the caller; sets it */
    int auth_session_at;     /* the same and a WAL position a replica must have replayed */
    int wal_position;        /* () -> the primary's WAL position (text) */
    int auth_cached;         /* (user id, username, role, unit id, scope root, request id,
                                generation) -> the caller set again from a copy; CRGEN once
                                the sessions have changed (http/sessions.h) */
    int idempotency_claim;   /* (key, route, hash) -> outcome, status, content type, body */
    int idempotency_finish;  /* (user, key, status or NULL, content type, body) */
    int idempotency_written; /* (key) */
    int (*keeper)(int stmt); /* the twin of stmt that also keeps its answer, or -1 */
};

/* What the application (api/app.c) hands the server at start-up. */
struct server_app {
    const struct route *routes;
    size_t nroutes;
    struct server_statements statements;
    /* When r is a failure, answers it as the application's table says
     * (through http/'s generic answers for what the table leaves) and
     * returns 1; returns 0 on success. */
    int (*answer_db_error)(struct exchange *x, const struct db_result *r);
    /* The application's periodic work, on the first worker's loop: started
     * with the worker (NULL when out of memory), stopped and freed when it
     * stops. */
    struct janitor *(*janitor_start)(struct worker *w);
    void (*janitor_stop)(struct janitor *j);
    /* The application's own state on every worker (the live events): made
     * with the worker (NULL when out of memory), ended when the worker
     * begins to stop (its streams end then, so their connections close),
     * freed after the worker's loop has ended. */
    void *(*worker_start)(struct worker *w);
    void (*worker_stopping)(void *state);
    void (*worker_free)(void *state);
    /* Server settings for each connection to the primary ("-c name=value
     * ...", db_pool_config.settings), or NULL. */
    const char *db_settings;
    /* The primary answered a job of a request that may write (any method
     * but GET and HEAD) without an error: called on the worker that sent
     * it, or NULL. */
    void (*wrote)(struct worker *w);
};

/* Runs until SIGINT or SIGTERM on listener (opened, and still locked, by the
 * caller: the workers take its first socket and join its port; the caller
 * closes it after). database_url is the app role's conninfo. app must
 * outlive the call. schema_version is the version /readyz expects. Returns
 * 0 after a clean shutdown, 1 when the service could not start. */
int server_run(const struct crm_config *cfg, struct listener *listener,
               const char *database_url, const struct server_app *app, int schema_version);

#endif
