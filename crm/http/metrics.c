/*
 * metrics: see metrics.h. One row per route (plus "unmatched"): a counter per
 * status from a fixed list and a latency histogram. The module owns its
 * tables; metrics_free releases them.
 */
#include "http/metrics.h"

#include <event2/buffer.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "db/pool.h"
#include "http/router.h"

static const int metrics_statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 412,
                                       413, 415, 422, 428, 429, 431, 500, 501, 503};
#define N_STATUSES (sizeof metrics_statuses / sizeof metrics_statuses[0])
#define STATUS_OTHER N_STATUSES

static const double metrics_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5, 5};
#define N_BUCKETS (sizeof metrics_buckets / sizeof metrics_buckets[0])

struct route_metrics {
    _Atomic unsigned long long by_status[N_STATUSES + 1];
    _Atomic unsigned long long buckets[N_BUCKETS]; /* not cumulative; summed when rendered */
    _Atomic unsigned long long count;
    _Atomic unsigned long long sum_us;
};

static const struct route *metrics_routes;
static size_t metrics_nroutes;
static struct route_metrics *metrics_rows;

int metrics_init(const struct route *routes, size_t nroutes)
{
    metrics_rows = calloc(nroutes + 1, sizeof *metrics_rows);
    metrics_routes = routes;
    metrics_nroutes = nroutes;
    return metrics_rows ? 0 : -1;
}

void metrics_free(void)
{
    free(metrics_rows);
    metrics_rows = NULL;
}

static size_t metrics_status_slot(int status)
{
    for (size_t i = 0; i < N_STATUSES; i++)
        if (metrics_statuses[i] == status)
            return i;
    return STATUS_OTHER;
}

void metrics_observe(size_t route_index, int status, long long duration_us)
{
    if (!metrics_rows || route_index > metrics_nroutes)
        return;
    struct route_metrics *m = &metrics_rows[route_index];
    atomic_fetch_add_explicit(&m->by_status[metrics_status_slot(status)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, (unsigned long long)(duration_us > 0 ? duration_us : 0),
                              memory_order_relaxed);
    double seconds = (double)duration_us / 1e6;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        if (seconds <= metrics_buckets[b]) {
            atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
            break;
        }
    }
}

static unsigned long long load(_Atomic unsigned long long *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void metrics_route_labels(size_t i, const char **method, const char **pattern)
{
    if (i < metrics_nroutes) {
        *method = router_method_name(metrics_routes[i].method);
        *pattern = metrics_routes[i].pattern;
    } else {
        *method = "";
        *pattern = "unmatched";
    }
}

static void metrics_render_http(struct evbuffer *out)
{
    evbuffer_add_printf(out, "# HELP crm_http_requests_total HTTP requests answered, by route "
                             "and status.\n# TYPE crm_http_requests_total counter\n");
    for (size_t i = 0; i <= metrics_nroutes; i++) {
        const char *method, *pattern;
        metrics_route_labels(i, &method, &pattern);
        for (size_t s = 0; s <= N_STATUSES; s++) {
            unsigned long long n = load(&metrics_rows[i].by_status[s]);
            if (!n)
                continue;
            char status[8];
            if (s == STATUS_OTHER)
                snprintf(status, sizeof status, "other");
            else
                snprintf(status, sizeof status, "%d", metrics_statuses[s]);
            evbuffer_add_printf(out,
                                "crm_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} "
                                "%llu\n",
                                method, pattern, status, n);
        }
    }
    evbuffer_add_printf(out, "# HELP crm_http_request_duration_seconds Time from a request's "
                             "arrival to its answer.\n"
                             "# TYPE crm_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= metrics_nroutes; i++) {
        unsigned long long count = load(&metrics_rows[i].count);
        if (!count)
            continue;
        const char *method, *pattern;
        metrics_route_labels(i, &method, &pattern);
        unsigned long long cumulative = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cumulative += load(&metrics_rows[i].buckets[b]);
            evbuffer_add_printf(out,
                                "crm_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                                "le=\"%g\"} %llu\n",
                                method, pattern, metrics_buckets[b], cumulative);
        }
        evbuffer_add_printf(out,
                            "crm_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                            "le=\"+Inf\"} %llu\n",
                            method, pattern, count);
        evbuffer_add_printf(out,
                            "crm_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
                            "crm_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
                            "%llu\n",
                            method, pattern, (double)load(&metrics_rows[i].sum_us) / 1e6, method,
                            pattern, count);
    }
}

static void metrics_render_db(struct evbuffer *out, const struct db_pool_stats *const *pools,
                              size_t npools)
{
    long total = 0, ready = 0, busy = 0, waiting = 0, errors = 0, rejected = 0;
    for (size_t i = 0; i < npools; i++) {
        const struct db_pool_stats *p = pools[i];
        if (!p)
            continue;
        total += atomic_load_explicit(&p->connections, memory_order_relaxed);
        ready += atomic_load_explicit(&p->ready, memory_order_relaxed);
        busy += atomic_load_explicit(&p->busy, memory_order_relaxed);
        waiting += atomic_load_explicit(&p->waiting, memory_order_relaxed);
        errors += atomic_load_explicit(&p->errors, memory_order_relaxed);
        rejected += atomic_load_explicit(&p->rejected, memory_order_relaxed);
    }
    evbuffer_add_printf(out,
                        "# HELP crm_db_pool_connections Database connections configured.\n"
                        "# TYPE crm_db_pool_connections gauge\ncrm_db_pool_connections %ld\n"
                        "# HELP crm_db_pool_connections_ready Connections connected and prepared.\n"
                        "# TYPE crm_db_pool_connections_ready gauge\n"
                        "crm_db_pool_connections_ready %ld\n"
                        "# HELP crm_db_pool_connections_busy Connections with a query in flight.\n"
                        "# TYPE crm_db_pool_connections_busy gauge\n"
                        "crm_db_pool_connections_busy %ld\n"
                        "# HELP crm_db_pool_waiting_requests Requests waiting for a connection.\n"
                        "# TYPE crm_db_pool_waiting_requests gauge\n"
                        "crm_db_pool_waiting_requests %ld\n"
                        "# HELP crm_db_errors_total Query errors and lost connections.\n"
                        "# TYPE crm_db_errors_total counter\ncrm_db_errors_total %ld\n"
                        "# HELP crm_db_rejected_total Requests refused for want of a connection "
                        "(queue full or wait timed out).\n"
                        "# TYPE crm_db_rejected_total counter\ncrm_db_rejected_total %ld\n",
                        total, ready, busy, waiting, errors, rejected);
}

/* Webhook delivery attempts: [0] failed, [1] delivered. */
static _Atomic unsigned long long metrics_webhooks[2];

void metrics_webhook_attempt(int delivered)
{
    atomic_fetch_add_explicit(&metrics_webhooks[delivered ? 1 : 0], 1, memory_order_relaxed);
}

static void metrics_render_webhooks(struct evbuffer *out)
{
    evbuffer_add_printf(out,
                        "# HELP crm_webhook_attempts_total Webhook delivery attempts, by outcome.\n"
                        "# TYPE crm_webhook_attempts_total counter\n"
                        "crm_webhook_attempts_total{outcome=\"delivered\"} %llu\n"
                        "crm_webhook_attempts_total{outcome=\"failed\"} %llu\n",
                        load(&metrics_webhooks[1]), load(&metrics_webhooks[0]));
}

void metrics_render(struct evbuffer *out, const struct db_pool_stats *const *pools, size_t npools)
{
    if (metrics_rows)
        metrics_render_http(out);
    metrics_render_db(out, pools, npools);
    metrics_render_webhooks(out);
}
