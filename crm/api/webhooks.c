/*
 * webhooks: see webhooks.h.
 */
#include "api/webhooks.h"

#include <stdio.h>

#include "api/db_answers.h"
#include "api/handlers.h"
#include "db/statements.h"
#include "events/allowlist.h"
#include "http/exchange.h"
#include "http/query.h"
#include "http/worker.h"

/* The unit is set once (the caller's scope unless given). */
static const struct field_spec webhook_fields[] = {
    {.name = "url", .type = FIELD_STRING, .required = 1, .max_len = 2000},
    {.name = "event_types", .type = FIELD_STRING_ARRAY, .required = 1, .max_len = 50},
    {.name = "secret", .type = FIELD_STRING, .required = 1, .max_len = 200},
    {.name = "description", .type = FIELD_STRING, .max_len = 500},
    {.name = "active", .type = FIELD_BOOLEAN},
    {.name = "unit_id", .type = FIELD_INTEGER},
    {NULL, 0, 0, 0, 0, NULL},
};
static const struct field_spec webhook_update_fields[] = {
    {.name = "url", .type = FIELD_STRING, .max_len = 2000},
    {.name = "event_types", .type = FIELD_STRING_ARRAY, .max_len = 50},
    {.name = "secret", .type = FIELD_STRING, .max_len = 200},
    {.name = "description", .type = FIELD_STRING, .max_len = 500},
    {.name = "active", .type = FIELD_BOOLEAN},
    {NULL, 0, 0, 0, 0, NULL},
};
static const struct list_filter webhook_filters[] = {
    {"unit_id", FILTER_ID, NULL},
    {"active", FILTER_BOOL, NULL},
    {NULL, 0, NULL},
};

_Static_assert(STMT_WEBHOOKS_DELETE == STMT_WEBHOOKS_PAGE + 5,
               "webhooks follow the resource layout");
const struct resource webhooks = {"webhooks",
                                  webhook_fields,
                                  webhook_update_fields,
                                  webhook_filters,
                                  STMT_WEBHOOKS_PAGE,
                                  "unit_id",
                                  NULL,
                                  0};

/* The body's fields (specs), then its URL's destination against
 * CRM_WEBHOOK_ALLOW (read here each time: a few entries). Returns 0, or -1
 * after answering. The generic handler then reads the body again: a
 * webhook is written seldom. */
static int webhook_check(struct exchange *x, const struct field_spec *specs)
{
    json_t *body = body_object(x);
    if (!body || body_check(x, body, specs) != 0) {
        json_decref(body);
        return -1;
    }
    const char *url = json_string_value(json_object_get(body, "url"));
    enum allowlist_url verdict = ALLOWLIST_URL_ALLOWED;
    if (url) {
        struct allowlist allow;
        char err[160];
        verdict = ALLOWLIST_URL_REFUSED;
        if (allowlist_parse(x->worker->server->cfg->webhook_allow, &allow, err, sizeof err) == 0) {
            verdict = allowlist_check_url(&allow, url, NULL);
            allowlist_free(&allow);
        }
    }
    json_decref(body);
    if (verdict == ALLOWLIST_URL_ALLOWED)
        return 0;
    json_t *problem = NULL;
    body_error(&problem, x, "url",
               verdict == ALLOWLIST_URL_MALFORMED
                   ? "must be an http or https URL with a host"
                   : "is not an allowed destination (the service's CRM_WEBHOOK_ALLOW)");
    return body_send_errors(x, problem);
}

void webhooks_create(struct exchange *x)
{
    if (webhook_check(x, webhook_fields) == 0)
        resource_create(x);
}

/* If-Match is judged first (by resource_update: 428, 412), as for every
 * collection. */
void webhooks_update(struct exchange *x)
{
    long long version;
    if (handler_if_match(x, &version) != 0 || webhook_check(x, webhook_update_fields) == 0)
        resource_update(x);
}

static void webhooks_on_deliveries(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    const char *text = db_value(exchange_result(x, r, 0), 0, 0);
    if (!text) {
        exchange_send_problem(x, 404, "No such resource.");
        return;
    }
    handler_send_page(x, "webhook_deliveries", text);
}

void webhooks_deliveries(struct exchange *x)
{
    char id[24];
    int limit;
    long long before;
    if (handler_path_id(x, "id", id, sizeof id) != 0 || query_limit(x, &limit) != 0 ||
        query_cursor(x, "webhook_deliveries", &before) != 0)
        return;
    char before_s[24], limit_s[8];
    snprintf(before_s, sizeof before_s, "%lld", before);
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    const char *params[] = {id, before > 0 ? before_s : NULL, limit_s};
    struct db_job *job = exchange_job(x, webhooks_on_deliveries);
    if (!job)
        return;
    db_job_add(job, STMT_WEBHOOK_DELIVERIES, 3, params);
    exchange_db_submit(x, job);
}
