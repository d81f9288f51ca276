/*
 * stats: the KPI figures of DESIGN.md section 5 as the API shows them: one
 * unit's figures against its target (GET /stats/units/{id}), the ranking
 * of a level's units (GET /stats/ranking), a township head's scorecard
 * (GET /units/{id}/scorecard) and the alerts (GET /alerts). PostgreSQL
 * computes everything, for a year and as of a date (migrations 0006, 0007),
 * and applies the caller's scope: a unit out of it is 404 (CR404). Here the
 * query parameters are checked and passed on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/db_answers.h"
#include "api/handlers.h"
#include "api/resources.h"
#include "api/routes.h"
#include "api/stats_cache.h"
#include "core/bounds.h"
#include "db/pool.h"
#include "db/statements.h"
#include "http/exchange.h"
#include "http/json_text.h"
#include "http/worker.h"
#include "http/query.h"

/* The period of a figures route: ?year= (required) and ?as_of= (optional,
 * NULL in params[1] when absent), as text in year (8 bytes) and as_of (11).
 * Returns 0, or -1 after a 400 naming the parameter. */
static int stats_period(struct exchange *x, char *year, char *as_of, const char **params)
{
    long long y;
    if (query_int_required(x, "year", KPI_YEAR_MIN, KPI_YEAR_MAX, &y) != 0 ||
        query_date(x, "as_of", as_of) != 0)
        return -1;
    snprintf(year, 8, "%lld", y);
    params[0] = year;
    params[1] = *as_of ? as_of : NULL;
    return 0;
}

/* Runs stmt(unit from the path, year, as_of). */
static void stats_of_unit(struct exchange *x, int stmt)
{
    char id[24], year[8], as_of[11];
    const char *period[2];
    if (handler_path_id(x, "id", id, sizeof id) != 0 || stats_period(x, year, as_of, period) != 0)
        return;
    const char *params[] = {id, period[0], period[1]};
    handler_json_query(x, stmt, 3, params);
}

/* ---- GET /stats/units/{id}: through the worker's copies ---- */

static void stats_unit_ask(struct exchange *x, int use_copy);

static struct stats_cache *stats_copies(struct exchange *x)
{
    const struct app_worker *a = x->worker->app_state;
    return a ? a->stats : NULL;
}

static void stats_unit_on_answer(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    const PGresult *res = exchange_result(x, r, 0);
    const char *gen = db_value(res, 0, 0), *known = db_value(res, 0, 1), *body = db_value(res, 0, 2);
    char id[24], year[8], as_of[11];
    const char *period[2];
    if (!gen || !known || handler_path_id(x, "id", id, sizeof id) != 0 ||
        stats_period(x, year, as_of, period) != 0) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    struct stats_cache *c = stats_copies(x);
    if (body) {
        size_t len = strlen(body);
        char *compact = malloc(len + 1);
        if (!compact) {
            exchange_send_problem(x, 503, "Out of memory.");
            return;
        }
        len = json_text_compact(body, len, compact);
        stats_cache_put(c, atoll(id), atoi(year), as_of, atoll(gen), known, compact, len);
        exchange_send(x, 200, "application/json; charset=utf-8", compact, len);
        free(compact);
        return;
    }
    /* Ours are current: unless another key took the slot meanwhile. */
    const struct stats_copy *k = stats_cache_find(c, atoll(id), atoi(year), as_of);
    if (k && k->gen == atoll(gen) && strcmp(k->known, known) == 0)
        exchange_send(x, 200, "application/json; charset=utf-8", k->body, k->len);
    else
        stats_unit_ask(x, 0);
}

/* Asks for the unit's figures, naming the copy kept (if use_copy). */
static void stats_unit_ask(struct exchange *x, int use_copy)
{
    char id[24], year[8], as_of[11], gen[24];
    const char *period[2];
    if (handler_path_id(x, "id", id, sizeof id) != 0 || stats_period(x, year, as_of, period) != 0)
        return;
    const struct stats_copy *k =
        use_copy ? stats_cache_find(stats_copies(x), atoll(id), atoi(year), as_of) : NULL;
    if (k)
        snprintf(gen, sizeof gen, "%lld", k->gen);
    const char *params[] = {k ? gen : NULL, k ? k->known : NULL, id, period[0], period[1]};
    struct db_job *job = exchange_job(x, stats_unit_on_answer);
    if (job) {
        db_job_add(job, STMT_STATS_UNIT, 5, params);
        exchange_db_submit(x, job);
    }
}

void stats_unit(struct exchange *x)
{
    stats_unit_ask(x, 1);
}

void units_scorecard(struct exchange *x)
{
    stats_of_unit(x, STMT_UNIT_SCORECARD);
}

void stats_ranking(struct exchange *x)
{
    char year[8], as_of[11], parent_s[24];
    const char *period[2];
    long long parent;
    if (stats_period(x, year, as_of, period) != 0 ||
        query_int(x, "parent", 1, ID_MAX, -1, &parent) != 0)
        return;
    snprintf(parent_s, sizeof parent_s, "%lld", parent);
    const char *params[] = {period[0], parent > 0 ? parent_s : NULL, period[1]};
    handler_json_query(x, STMT_STATS_RANKING, 3, params);
}

/* ---- alerts ---- */

static const char *const alert_kinds[] = {
    "not_started", "at_risk", "no_progress", "behind_time_progress", "forecast_under_target", NULL};
static const char *const alert_levels[] = {"yellow", "red", NULL};

static const struct list_filter alert_filters[] = {
    {"unit_id", FILTER_ID, NULL},
    {"kind", FILTER_ENUM, alert_kinds},
    {"level", FILTER_ENUM, alert_levels},
    {NULL, 0, NULL},
};

static void stats_on_alerts(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    handler_send_page(x, "alerts", db_value(exchange_result(x, r, 0), 0, 0));
}

/* Alerts are computed, not rows with ids: the page's key is a text. The
 * year defaults to the current one (PostgreSQL's today). */
void alerts_list(struct exchange *x)
{
    int limit;
    char after[CURSOR_KEY_MAX + 1], limit_s[8];
    long long year;
    json_t *filters = list_filters_parse(x, alert_filters);
    if (!filters)
        return;
    if (query_int(x, "year", KPI_YEAR_MIN, KPI_YEAR_MAX, 0, &year) != 0 ||
        query_limit(x, &limit) != 0 || query_cursor_text(x, "alerts", after, sizeof after) != 0) {
        json_decref(filters);
        return;
    }
    if (year > 0)
        json_object_set_new(filters, "year", json_integer(year));
    char *f = json_dumps(filters, JSON_COMPACT);
    json_decref(filters);
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    const char *params[] = {f ? f : "{}", *after ? after : NULL, limit_s};
    struct db_job *job = exchange_job(x, stats_on_alerts);
    if (job) {
        db_job_add(job, STMT_ALERTS_PAGE, 3, params);
        exchange_db_submit(x, job);
    }
    free(f);
}
