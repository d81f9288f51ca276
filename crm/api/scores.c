/*
 * scores: the units' assessment scores (DESIGN.md section 5): the year's
 * rules (weights, caps, deductions; GET|PUT /scores/rules/{year}, set by
 * admins) and the month-end snapshots frozen by the assessment office or an
 * admin (POST /scores/snapshots), which never change afterwards. PostgreSQL
 * (migration 0007) computes and keeps them, and names the field at fault
 * (a cap of 0, a month not yet ended); a month frozen already is its unique
 * violation, answered 409.
 */
#include <stdio.h>

#include "api/handlers.h"
#include "api/routes.h"
#include "core/bounds.h"
#include "db/statements.h"
#include "http/body.h"
#include "http/exchange.h"
#include "http/query.h"

/* The rules, each optional (left out: its default). Weights are points,
 * caps the completion counted at most (1.0 is 100%), deductions points per
 * case. */
static const struct field_spec rules_fields[] = {
    {"signing_weight", FIELD_NUMBER, 0, 1000, 0, NULL},
    {"signed_count_weight", FIELD_NUMBER, 0, 1000, 0, NULL},
    {"start_rate_weight", FIELD_NUMBER, 0, 1000, 0, NULL},
    {"signing_cap", FIELD_NUMBER, 0, 10, 0, NULL},
    {"signed_count_cap", FIELD_NUMBER, 0, 10, 0, NULL},
    {"start_rate_cap", FIELD_NUMBER, 0, 10, 0, NULL},
    {"overdue_deduction", FIELD_NUMBER, 0, 100, 0, NULL},
    {"falsified_deduction", FIELD_NUMBER, 0, 100, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* {"rules": {...}}: the same shape GET answers with. */
static const struct field_spec rules_body_fields[] = {
    {"rules", FIELD_NESTED, 1, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field_spec snapshot_fields[] = {
    {"year", FIELD_INTEGER, 1, KPI_YEAR_MAX, 0, NULL},
    {"month", FIELD_INTEGER, 1, 12, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

void score_rules_get(struct exchange *x)
{
    char year[8];
    if (handler_path_year(x, year, sizeof year) != 0)
        return;
    const char *params[] = {year};
    handler_json_query_etag(x, STMT_SCORE_RULES_GET, 1, params);
}

void score_rules_put(struct exchange *x)
{
    char year[8];
    if (handler_path_year(x, year, sizeof year) != 0)
        return;
    json_t *body = body_object(x), *problem = NULL;
    if (!body || body_check(x, body, rules_body_fields) != 0) {
        json_decref(body);
        return;
    }
    body_check_members(x, &problem, json_object_get(body, "rules"), rules_fields, "rules.");
    if (body_send_errors(x, problem) != 0) {
        json_decref(body);
        return;
    }
    handler_json_body_write(x, STMT_SCORE_RULES_PUT, year, body, 0);
}

void snapshots_freeze(struct exchange *x)
{
    json_t *body = body_object(x);
    if (!body || body_check(x, body, snapshot_fields) != 0) {
        json_decref(body);
        return;
    }
    int year = (int)json_integer_value(json_object_get(body, "year"));
    int month = (int)json_integer_value(json_object_get(body, "month"));
    json_decref(body);
    if (year < KPI_YEAR_MIN) {
        char message[64];
        json_t *problem = NULL;
        snprintf(message, sizeof message, "must be a year from %d to %d", KPI_YEAR_MIN,
                 KPI_YEAR_MAX);
        body_error(&problem, x, "year", message);
        body_send_errors(x, problem);
        return;
    }
    char year_s[16], month_s[16];
    snprintf(year_s, sizeof year_s, "%d", year);
    snprintf(month_s, sizeof month_s, "%d", month);
    const char *params[] = {year_s, month_s};
    handler_json_write(x, STMT_SNAPSHOT_FREEZE, 2, params, 1);
}

void snapshots_list(struct exchange *x)
{
    long long year, month;
    if (query_int_required(x, "year", KPI_YEAR_MIN, KPI_YEAR_MAX, &year) != 0 ||
        query_int(x, "month", 1, 12, 0, &month) != 0)
        return;
    char year_s[24], month_s[24];
    snprintf(year_s, sizeof year_s, "%lld", year);
    snprintf(month_s, sizeof month_s, "%lld", month);
    const char *params[] = {year_s, month > 0 ? month_s : NULL};
    handler_json_query(x, STMT_SNAPSHOTS_LIST, 2, params);
}
