/*
 * app: the application as the server sees it (struct server_app): the
 * routes, the statement registry and the statements http/ runs on the
 * application's behalf (the caller's check, the Idempotency-Key's), the
 * answers to database errors (api/db_answers.h) and the janitor
 * (api/janitor.h). cli/serve.c hands it to server_run.
 */
#ifndef CRM_APP_H
#define CRM_APP_H

#include "http/server.h"

struct events_feed;
struct stats_cache;

/* What the application keeps per worker (worker.app_state). */
struct app_worker {
    struct events_feed *feed;  /* events/feed.h */
    struct stats_cache *stats; /* api/stats_cache.h */
};

/* Something was written through w's pool (a request's write, a scheduled
 * job): the publisher of the events (worker 0's feed) publishes soon. */
void app_wrote(struct worker *w);

/* The application, filled in. */
struct server_app api_app(void);

#endif
