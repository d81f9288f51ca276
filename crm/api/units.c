/*
 * units: the unit tree (province > city > county > township / zone /
 * department), in tree order.
 */
#include <string.h>

#include "api/routes.h"
#include "db/statements.h"
#include "http/exchange.h"

static void units_on_list(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (exchange_db_failed(x, r))
        return;
    const char *json = db_value(r->results[0], 0, 0);
    if (!json) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    exchange_send_json_text(x, 200, json, strlen(json));
}

void units_list(struct exchange *x)
{
    struct db_job *job = db_job_new(units_on_list, x);
    if (!job) {
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    db_job_add(job, STMT_UNITS_LIST, 0, NULL);
    exchange_db_submit(x, job);
}
