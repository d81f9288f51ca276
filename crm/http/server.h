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

/* Runs until SIGINT or SIGTERM on listener (opened, and still locked, by the
 * caller: the workers take its first socket and join its port; the caller
 * closes it after). database_url is the app role's conninfo. schema_version
 * is the version /readyz expects. Returns 0 after a clean shutdown, 1 when
 * the service could not start. */
int server_run(const struct crm_config *cfg, struct listener *listener,
               const char *database_url, const struct route *routes, size_t nroutes,
               int schema_version);

#endif
