/*
 * targets: a year's targets and quotas (DESIGN.md section 5). PUT
 * /targets/{year} sets the targets of units of the caller's scope; PUT
 * /targets/{year}/quotas divides one unit's target among its direct
 * children. Each replaces its rows as a whole. PostgreSQL (targets_put and
 * quotas_put, migration 0006) decides whether the quotas cover their parent
 * and names the field at fault; it keeps the earlier versions in the audit.
 * Here only the shape of the body is checked: every item with its four
 * members; the rest (a unit listed twice, a rate with more than four
 * decimals, units out of scope) is PostgreSQL's, named the same way.
 */
#include <stdio.h>

#include "api/handlers.h"
#include "api/routes.h"
#include "core/bounds.h"
#include "db/statements.h"
#include "http/body.h"
#include "http/exchange.h"
#include "http/query.h"

#define UNIT_ID_MAX      ((size_t)ID_MAX)
#define TARGET_ITEMS_MAX 500

/* One unit's target or quota. */
static const struct field_spec target_item_fields[] = {
    {"unit_id", FIELD_INTEGER, 1, UNIT_ID_MAX, 0, NULL},
    {"signing_amount_yuan", FIELD_NATURAL, 1, 0, 0, NULL},
    {"signed_count", FIELD_NATURAL, 1, 1000000000, 0, NULL},
    {"start_rate", FIELD_NUMBER, 1, 1, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field_spec targets_fields[] = {
    {"targets", FIELD_OBJECT_ARRAY, 1, TARGET_ITEMS_MAX, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field_spec quotas_fields[] = {
    {"parent_unit_id", FIELD_INTEGER, 1, UNIT_ID_MAX, 0, NULL},
    {"quotas", FIELD_OBJECT_ARRAY, 1, TARGET_ITEMS_MAX, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The body of a PUT: the object checked against fields, then each item of
 * its array list ("targets[2].start_rate"). Returns the body (the caller
 * owns it), or NULL after answering. */
static json_t *targets_body(struct exchange *x, const struct field_spec *fields, const char *list)
{
    json_t *body = body_object(x);
    if (!body || body_check(x, body, fields) != 0) {
        json_decref(body);
        return NULL;
    }
    json_t *problem = NULL, *items = json_object_get(body, list), *item;
    size_t i;
    json_array_foreach(items, i, item)
    {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "%s[%zu].", list, i);
        body_check_members(x, &problem, item, target_item_fields, prefix);
    }
    if (body_send_errors(x, problem) != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

void targets_get(struct exchange *x)
{
    char year[8];
    if (handler_path_year(x, year, sizeof year) != 0)
        return;
    const char *params[] = {year};
    handler_json_query(x, STMT_TARGETS_GET, 1, params);
}

void targets_put(struct exchange *x)
{
    char year[8];
    if (handler_path_year(x, year, sizeof year) != 0)
        return;
    json_t *body = targets_body(x, targets_fields, "targets");
    if (body)
        handler_json_body_write(x, STMT_TARGETS_PUT, year, body, 0);
}

void quotas_get(struct exchange *x)
{
    char year[8], parent_s[24];
    long long parent;
    if (handler_path_year(x, year, sizeof year) != 0 ||
        query_int(x, "parent_unit_id", 1, ID_MAX, -1, &parent) != 0)
        return;
    snprintf(parent_s, sizeof parent_s, "%lld", parent);
    const char *params[] = {year, parent > 0 ? parent_s : NULL};
    handler_json_query(x, STMT_QUOTAS_GET, 2, params);
}

void quotas_put(struct exchange *x)
{
    char year[8];
    if (handler_path_year(x, year, sizeof year) != 0)
        return;
    json_t *body = targets_body(x, quotas_fields, "quotas");
    if (body)
        handler_json_body_write(x, STMT_QUOTAS_PUT, year, body, 0);
}
