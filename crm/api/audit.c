/*
 * audit: GET /api/v1/audit, the append-only record of changes, newest first,
 * filtered by table, row, actor and time, keyset-paginated. Administrators
 * and viewers, within their scope (row-level security).
 */
#include <stdio.h>
#include <string.h>

#include "api/db_answers.h"
#include "api/handlers.h"
#include "api/routes.h"
#include "core/bounds.h"
#include "db/statements.h"
#include "http/exchange.h"
#include "http/query.h"

/* YYYY-MM-DD, optionally followed by a time and an offset (RFC 3339). */
static int timestamp_valid(const char *t)
{
    static const char date[] = "dddd-dd-dd";
    size_t n = strlen(t);
    if (n < 10 || n > 35)
        return 0;
    for (size_t i = 0; i < 10; i++)
        if (date[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != date[i])
            return 0;
    for (size_t i = 10; i < n; i++)
        if (!strchr("0123456789T:.+-Z ", t[i]))
            return 0;
    return n == 10 || t[10] == 'T' || t[10] == ' ';
}

static void audit_on_list(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error_for(x, r, DB_AUDIT, NULL))
        return;
    handler_send_page(x, "audit", db_value(exchange_result(x, r, 0), 0, 0));
}

void audit_list(struct exchange *x)
{
    int limit;
    long long before, actor;
    if (query_limit(x, &limit) != 0 || query_cursor(x, "audit", &before) != 0 ||
        query_int(x, "actor_id", 1, ID_MAX, -1, &actor) != 0)
        return;
    const char *table = exchange_query(x, "table"), *row = exchange_query(x, "row_id");
    const char *since = exchange_query(x, "since"), *until = exchange_query(x, "until");
    if ((table && strlen(table) > 63) || (row && strlen(row) > 64)) {
        exchange_send_problem(x, 400, "'table' and 'row_id' are at most 63 and 64 bytes.");
        return;
    }
    if ((since && !timestamp_valid(since)) || (until && !timestamp_valid(until))) {
        exchange_send_problem(x, 400, "'since' and 'until' must be RFC 3339 dates or times.");
        return;
    }
    char before_s[24], limit_s[8], actor_s[24];
    snprintf(before_s, sizeof before_s, "%lld", before);
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    snprintf(actor_s, sizeof actor_s, "%lld", actor);
    const char *params[] = {before > 0 ? before_s : NULL, limit_s, table, row,
                            actor > 0 ? actor_s : NULL, since, until};
    struct db_job *job = exchange_job(x, audit_on_list);
    if (!job)
        return;
    db_job_add(job, STMT_AUDIT_LIST, 7, params);
    exchange_db_submit(x, job);
}
