/*
 * resources: the CRM collections (units, investors, contacts, projects, contracts,
 * starts, interactions, problems, batches) served by one set of generic
 * handlers, each driven by a description: its fields, its list filters and
 * its six statements. The rules live in PostgreSQL; these handlers check the
 * shape of what comes in, pass it on as JSON, and map what comes back.
 *
 * - list:   GET  /<name>?filters&limit&cursor -> {items, next_cursor}
 * - get:    GET  /<name>/{id} -> the record, with its ETag
 * - create: POST /<name> -> 201, Location, ETag
 * - update: PATCH /<name>/{id} with If-Match -> 200 (412 stale, 428 missing)
 * - delete: DELETE /<name>/{id} -> 204
 * - the _of variants take the parent from the path (/investors/{id}/contacts).
 */
#ifndef CRM_RESOURCES_H
#define CRM_RESOURCES_H

#include "db/pool.h"
#include "http/body.h"

struct exchange;

/* The largest amount of yuan a contract or a project's planned investment
 * may have: 10^13 (¥10万亿), the same bound as the tables' checks (migration
 * 0011), so that no sum of claims comes near the integers' limits. */
#define AMOUNT_YUAN_MAX 10000000000000ULL

enum filter_type { FILTER_ID, FILTER_TEXT, FILTER_BOOL, FILTER_YEAR, FILTER_ENUM };

struct list_filter {
    const char *name;
    enum filter_type type;
    const char *const *values; /* FILTER_ENUM: NULL-terminated */
};

struct resource {
    const char *name;                   /* "projects": path, cursor kind */
    const struct field_spec *create;    /* POST body */
    const struct field_spec *update;    /* PATCH body */
    const struct list_filter *filters;  /* list query parameters */
    int stmt_first;                     /* page, get, create, update, version, delete */
    const char *scope_field;            /* named when row-level security refuses a write */
    const char *parent_field;           /* set from the path by the _of routes */
    int page_rows; /* the page statement answers rows (limit + 1 at most), not a JSON page */
};

extern const struct resource units, investors, contacts, projects, contracts, starts, interactions,
    problems, batches;

/* The filters of the query string as a JSON object ({"unit_id": 5}); NULL
 * after answering 400 naming a malformed one. The caller owns the result. */
json_t *list_filters_parse(struct exchange *x, const struct list_filter *filters);

void resource_list(struct exchange *x);
void resource_get(struct exchange *x);
void resource_create(struct exchange *x);
void resource_update(struct exchange *x);
void resource_delete(struct exchange *x);
void resource_list_of(struct exchange *x);
void resource_create_of(struct exchange *x);

#endif
