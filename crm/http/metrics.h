/*
 * metrics: process-wide counters in the Prometheus text format.
 *
 * Observations come from every worker thread (relaxed atomics, no locks).
 * Routes are numbered by the caller (index into its route table); the
 * extra index nroutes stands for requests that matched no route.
 */
#ifndef CRM_METRICS_H
#define CRM_METRICS_H

#include <stddef.h>

struct evbuffer;
struct route;
struct db_pool_stats;

/* Sizes the tables for a route table. Returns 0, or -1 when out of memory.
 * Call once before any worker starts. */
int metrics_init(const struct route *routes, size_t nroutes);
void metrics_free(void);

/* Records one answered request. route_index may be nroutes (unmatched). */
void metrics_observe(size_t route_index, int status, long long duration_us);

/* Records one webhook delivery attempt (events/webhook_sender.c). */
void metrics_webhook_attempt(int delivered);

/* Appends the exposition text; pools may be NULL entries (stopped workers). */
void metrics_render(struct evbuffer *out, const struct db_pool_stats *const *pools,
                    size_t npools);

#endif
