/*
 * resources: see resources.h. The descriptions come first (they are the
 * API's shape), then the generic handlers.
 */
#include "api/resources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/db_answers.h"
#include "api/handlers.h"
#include "core/bounds.h"
#include "core/project_stages.h"
#include "db/statements.h"
#include "http/exchange.h"
#include "http/query.h"

/*
 * Each resource describes its fields once, a line each, as
 * F(on POST, on PATCH, the field); its POST and PATCH tables are both built
 * from that one list (FIELDS_CREATE, FIELDS_UPDATE), so they cannot disagree
 * on a field's type, bounds or nullability:
 * - on POST: REQ (must be sent), OPT (may be), NO (is not a field of it);
 * - on PATCH: YES (may be sent, never must), NO (is not a field of it: the
 *   field is set once, or moves only through a transition).
 */
/* clang-format off */
#define STR(n, max)      .name = n, .type = FIELD_STRING, .max_len = max
#define INT(n)           .name = n, .type = FIELD_INTEGER
#define INT_UPTO(n, max) INT(n), .max_len = max
#define INT_NULL(n)      INT(n), .nullable = 1
#define AMOUNT(n)        INT_UPTO(n, AMOUNT_YUAN_MAX)
#define AMOUNT_NULL(n)   AMOUNT(n), .nullable = 1
#define BOOL(n)          .name = n, .type = FIELD_BOOLEAN
#define DATE(n)          .name = n, .type = FIELD_DATE
#define DATE_NULL(n)     DATE(n), .nullable = 1
#define ENUM(n, v)       .name = n, .type = FIELD_ENUM, .values = v
#define USCC_NULL(n)     .name = n, .type = FIELD_USCC, .nullable = 1
#define OBJECT(n)        .name = n, .type = FIELD_OBJECT
#define IDS(n, max)      .name = n, .type = FIELD_ID_ARRAY, .max_len = max
#define STRINGS(n, max)  .name = n, .type = FIELD_STRING_ARRAY, .max_len = max

#define POST_REQ(...)  {__VA_ARGS__, .required = 1},
#define POST_OPT(...)  {__VA_ARGS__},
#define POST_NO(...)
#define PATCH_YES(...) {__VA_ARGS__},
#define PATCH_NO(...)
#define ON_POST(post, patch, ...)  POST_##post(__VA_ARGS__)
#define ON_PATCH(post, patch, ...) PATCH_##patch(__VA_ARGS__)
#define END                        {NULL, 0, 0, 0, 0, NULL}
#define FIELDS_CREATE(list)        {list(ON_POST) END}
#define FIELDS_UPDATE(list)        {list(ON_PATCH) END}
/* clang-format on */

static const char *const chain_roles[] = {"chain_leader", "supporting", "none", NULL};
static const char *const contract_kinds[] = {"intent", "formal", "capital_increase", NULL};
static const char *const claim_states[] = {"reported", "verified", "revoked", NULL};
static const char *const interaction_kinds[] = {"meeting",      "site_visit", "negotiation",
                                                "coordination", "call",       NULL};
static const char *const problem_statuses[] = {"open", "in_progress", "resolved", "closed", NULL};
static const char *const problem_levels[] = {"1", "2", "3", "4", NULL};
static const char *const batch_kinds[] = {"signing", "start", "production", NULL};

/* ---- units ---- */

static const char *const unit_kinds[] = {"province", "city", "county",     "town",
                                         "township", "zone", "department", NULL};
/* A unit is retired (and brought back) by PATCH only. */
#define UNIT_FIELDS(F)                                                                             \
    F(REQ, YES, INT("parent_id"))                                                                  \
    F(REQ, YES, STR("code", 64))                                                                   \
    F(REQ, YES, STR("name", 200))                                                                  \
    F(REQ, YES, ENUM("kind", unit_kinds))                                                          \
    F(NO, YES, BOOL("retired"))
static const struct field_spec unit_fields[] = FIELDS_CREATE(UNIT_FIELDS);
static const struct field_spec unit_update_fields[] = FIELDS_UPDATE(UNIT_FIELDS);
_Static_assert(STMT_UNITS_VERSION == STMT_UNITS_LIST + 4, "units follow the resource layout");
const struct resource units = {
    "units", unit_fields, unit_update_fields, NULL, STMT_UNITS_LIST, "parent_id", NULL, 0};

/* ---- investors and contacts ---- */

#define INVESTOR_FIELDS(F)                                                                         \
    F(REQ, YES, STR("name", 600))                                                                  \
    F(REQ, YES, INT("unit_id"))                                                                    \
    F(OPT, YES, USCC_NULL("uscc"))                                                                 \
    F(OPT, YES, STR("origin_region", 300))                                                         \
    F(OPT, YES, STR("industry", 300))                                                              \
    F(OPT, YES, ENUM("chain_role", chain_roles))                                                   \
    F(OPT, YES, STR("notes", 12000))
static const struct field_spec investor_fields[] = FIELDS_CREATE(INVESTOR_FIELDS);
static const struct field_spec investor_update_fields[] = FIELDS_UPDATE(INVESTOR_FIELDS);
static const struct list_filter investor_filters[] = {
    {"unit_id", FILTER_ID, NULL},    {"q", FILTER_TEXT, NULL},
    {"industry", FILTER_TEXT, NULL}, {"chain_role", FILTER_ENUM, chain_roles},
    {"uscc", FILTER_TEXT, NULL},     {NULL, 0, NULL},
};
const struct resource investors = {"investors",
                                   investor_fields,
                                   investor_update_fields,
                                   investor_filters,
                                   STMT_INVESTORS_PAGE,
                                   "unit_id",
                                   NULL,
                                   0};

/* A contact has no PATCH route (api/routes.c), so no PATCH table. */
#define CONTACT_FIELDS(F)                                                                          \
    F(REQ, NO, STR("name", 300))                                                                   \
    F(OPT, NO, STR("title", 300))                                                                  \
    F(OPT, NO, STR("phone", 32))                                                                   \
    F(OPT, NO, STR("email", 200))                                                                  \
    F(OPT, NO, STR("notes", 6000))
static const struct field_spec contact_fields[] = FIELDS_CREATE(CONTACT_FIELDS);
static const struct list_filter contact_filters[] = {
    {"investor_id", FILTER_ID, NULL},
    {NULL, 0, NULL},
};
const struct resource contacts = {
    "contacts",         contact_fields, NULL,          contact_filters,
    STMT_CONTACTS_PAGE, "investor_id",  "investor_id", 0};

/* ---- projects ---- */

/* No code and no stage on PATCH: a project keeps its code, and its stage
 * (with the lifecycle dates, not fields here) moves only through
 * transitions. */
#define PROJECT_FIELDS(F)                                                                          \
    F(REQ, NO, STR("code", 40))                                                                    \
    F(REQ, YES, STR("name", 600))                                                                  \
    F(REQ, YES, INT("unit_id"))                                                                    \
    F(OPT, YES, INT_NULL("investor_id"))                                                           \
    F(OPT, YES, INT_NULL("leader_id"))                                                             \
    F(OPT, YES, STR("industry_chain", 300))                                                        \
    F(OPT, YES, STR("park", 300))                                                                  \
    F(OPT, YES, AMOUNT_NULL("planned_investment_yuan"))                                            \
    F(OPT, YES, BOOL("is_key"))                                                                    \
    F(OPT, YES, OBJECT("five_one"))                                                                \
    F(OPT, YES, STR("plan", 12000))                                                                \
    F(OPT, YES, DATE_NULL("planned_start_on"))                                                     \
    F(OPT, YES, DATE_NULL("expected_sign_on"))                                                     \
    F(OPT, NO, ENUM("stage", project_first_stages))
static const struct field_spec project_fields[] = FIELDS_CREATE(PROJECT_FIELDS);
static const struct field_spec project_update_fields[] = FIELDS_UPDATE(PROJECT_FIELDS);
static const struct list_filter project_filters[] = {
    {"unit_id", FILTER_ID, NULL},
    {"stage", FILTER_ENUM, project_stages},
    {"chain", FILTER_TEXT, NULL},
    {"is_key", FILTER_BOOL, NULL},
    {"leader_id", FILTER_ID, NULL},
    {"investor_id", FILTER_ID, NULL},
    {"year", FILTER_YEAR, NULL},
    {"q", FILTER_TEXT, NULL},
    {NULL, 0, NULL},
};
const struct resource projects = {"projects",
                                  project_fields,
                                  project_update_fields,
                                  project_filters,
                                  STMT_PROJECTS_PAGE,
                                  "unit_id",
                                  NULL,
                                  1};

/* ---- claims ---- */

/* A claim stays with the project it was reported for. */
#define CONTRACT_FIELDS(F)                                                                         \
    F(REQ, NO, INT("project_id"))                                                                  \
    F(REQ, YES, ENUM("kind", contract_kinds))                                                      \
    F(REQ, YES, AMOUNT("amount_yuan"))                                                             \
    F(REQ, YES, DATE("signed_on"))                                                                 \
    F(REQ, YES, STR("evidence", 6000))
static const struct field_spec contract_fields[] = FIELDS_CREATE(CONTRACT_FIELDS);
static const struct field_spec contract_update_fields[] = FIELDS_UPDATE(CONTRACT_FIELDS);
static const struct list_filter claim_filters[] = {
    {"project_id", FILTER_ID, NULL},       {"unit_id", FILTER_ID, NULL},
    {"state", FILTER_ENUM, claim_states},  {"year", FILTER_YEAR, NULL},
    {"kind", FILTER_ENUM, contract_kinds}, {NULL, 0, NULL},
};
const struct resource contracts = {"contracts",
                                   contract_fields,
                                   contract_update_fields,
                                   claim_filters,
                                   STMT_CONTRACTS_PAGE,
                                   "project_id",
                                   NULL,
                                   0};

#define START_FIELDS(F)                                                                            \
    F(REQ, NO, INT("project_id"))                                                                  \
    F(REQ, YES, DATE("started_on"))                                                                \
    F(REQ, YES, STR("evidence", 6000))
static const struct field_spec start_fields[] = FIELDS_CREATE(START_FIELDS);
static const struct field_spec start_update_fields[] = FIELDS_UPDATE(START_FIELDS);
static const struct list_filter start_filters[] = {
    {"project_id", FILTER_ID, NULL},
    {"unit_id", FILTER_ID, NULL},
    {"state", FILTER_ENUM, claim_states},
    {"year", FILTER_YEAR, NULL},
    {NULL, 0, NULL},
};
const struct resource starts = {"starts",
                                start_fields,
                                start_update_fields,
                                start_filters,
                                STMT_STARTS_PAGE,
                                "project_id",
                                NULL,
                                0};

/* ---- interactions, problems, batches ---- */

/* Each keeps the unit, project or investor it was recorded for. */
#define INTERACTION_FIELDS(F)                                                                      \
    F(REQ, NO, INT("unit_id"))                                                                     \
    F(OPT, NO, INT_NULL("project_id"))                                                             \
    F(OPT, NO, INT_NULL("investor_id"))                                                            \
    F(REQ, YES, ENUM("kind", interaction_kinds))                                                   \
    F(REQ, YES, DATE("occurred_on"))                                                               \
    F(OPT, YES, STR("place", 600))                                                                 \
    F(REQ, YES, STR("summary", 12000))                                                             \
    F(OPT, YES, IDS("leader_ids", 20))                                                             \
    F(OPT, YES, STRINGS("participants", 50))                                                       \
    F(OPT, YES, STR("next_step", 6000))                                                            \
    F(OPT, YES, DATE_NULL("next_step_due"))
static const struct field_spec interaction_fields[] = FIELDS_CREATE(INTERACTION_FIELDS);
static const struct field_spec interaction_update_fields[] = FIELDS_UPDATE(INTERACTION_FIELDS);
static const struct list_filter interaction_filters[] = {
    {"unit_id", FILTER_ID, NULL},     {"project_id", FILTER_ID, NULL},
    {"investor_id", FILTER_ID, NULL}, {"kind", FILTER_ENUM, interaction_kinds},
    {"leader_id", FILTER_ID, NULL},   {"year", FILTER_YEAR, NULL},
    {"q", FILTER_TEXT, NULL},         {NULL, 0, NULL},
};
const struct resource interactions = {"interactions",
                                      interaction_fields,
                                      interaction_update_fields,
                                      interaction_filters,
                                      STMT_INTERACTIONS_PAGE,
                                      "unit_id",
                                      NULL,
                                      0};

#define PROBLEM_FIELDS(F)                                                                          \
    F(REQ, NO, INT("project_id"))                                                                  \
    F(REQ, YES, INT("owner_unit_id"))                                                              \
    F(REQ, YES, STR("title", 600))                                                                 \
    F(OPT, YES, STR("description", 12000))                                                         \
    F(REQ, YES, DATE("due_on"))                                                                    \
    F(OPT, YES, INT_UPTO("level", 4))                                                              \
    F(OPT, YES, ENUM("status", problem_statuses))
static const struct field_spec problem_fields[] = FIELDS_CREATE(PROBLEM_FIELDS);
static const struct field_spec problem_update_fields[] = FIELDS_UPDATE(PROBLEM_FIELDS);
static const struct list_filter problem_filters[] = {
    {"unit_id", FILTER_ID, NULL},
    {"project_id", FILTER_ID, NULL},
    {"owner_unit_id", FILTER_ID, NULL},
    {"status", FILTER_ENUM, problem_statuses},
    {"level", FILTER_ENUM, problem_levels},
    {"overdue", FILTER_BOOL, NULL},
    {NULL, 0, NULL},
};
const struct resource problems = {"problems",
                                  problem_fields,
                                  problem_update_fields,
                                  problem_filters,
                                  STMT_PROBLEMS_PAGE,
                                  "project_id",
                                  NULL,
                                  0};

#define BATCH_FIELDS(F)                                                                            \
    F(REQ, NO, INT("unit_id"))                                                                     \
    F(REQ, YES, ENUM("kind", batch_kinds))                                                         \
    F(REQ, YES, STR("name", 600))                                                                  \
    F(REQ, YES, DATE("held_on"))                                                                   \
    F(OPT, YES, STR("place", 600))                                                                 \
    F(OPT, YES, IDS("project_ids", 500))
static const struct field_spec batch_fields[] = FIELDS_CREATE(BATCH_FIELDS);
static const struct field_spec batch_update_fields[] = FIELDS_UPDATE(BATCH_FIELDS);
static const struct list_filter batch_filters[] = {
    {"unit_id", FILTER_ID, NULL},
    {"kind", FILTER_ENUM, batch_kinds},
    {"year", FILTER_YEAR, NULL},
    {NULL, 0, NULL},
};
const struct resource batches = {
    "batches", batch_fields, batch_update_fields, batch_filters, STMT_BATCHES_PAGE, "unit_id", NULL,
    0};

/* ---- handlers ---- */

enum { OP_PAGE, OP_GET, OP_CREATE, OP_UPDATE, OP_VERSION, OP_DELETE };

static const struct resource *resource_of(const struct exchange *x)
{
    return x->match.route->arg;
}

json_t *list_filters_parse(struct exchange *x, const struct list_filter *filters)
{
    json_t *f = json_object();
    for (const struct list_filter *lf = filters; lf && lf->name; lf++) {
        const char *v = exchange_query(x, lf->name);
        if (!v)
            continue;
        const char *problem = NULL;
        long long n;
        switch (lf->type) {
        case FILTER_ID:
        case FILTER_YEAR: {
            char *end;
            errno = 0;
            n = strtoll(v, &end, 10);
            long long lo = lf->type == FILTER_YEAR ? DATE_YEAR_MIN : 1;
            long long hi = lf->type == FILTER_YEAR ? DATE_YEAR_MAX : ID_MAX;
            if (*v == '\0' || *end || errno == ERANGE || n < lo || n > hi)
                problem = lf->type == FILTER_YEAR ? "must be a year" : "must be a positive integer";
            else
                json_object_set_new(f, lf->name, json_integer(n));
            break;
        }
        case FILTER_BOOL:
            if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
                json_object_set_new(f, lf->name, json_boolean(v[0] == 't'));
            else
                problem = "must be true or false";
            break;
        case FILTER_ENUM:
            problem = "is not one of its values";
            for (const char *const *e = lf->values; *e; e++)
                if (strcmp(*e, v) == 0)
                    problem = NULL;
            if (!problem)
                json_object_set_new(f, lf->name, json_string(v));
            break;
        case FILTER_TEXT: {
            json_t *text = strlen(v) <= 200 ? json_string(v) : NULL; /* NULL: not UTF-8 */
            if (text)
                json_object_set_new(f, lf->name, text);
            else
                problem = "must be UTF-8 text of at most 200 bytes";
            break;
        }
        }
        if (problem) {
            char detail[256];
            snprintf(detail, sizeof detail, "The query parameter '%s' %s.", lf->name, problem);
            json_decref(f);
            exchange_send_problem(x, 400, detail);
            return NULL;
        }
    }
    return f;
}

static void resource_on_page(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    const struct resource *res = resource_of(x);
    const PGresult *rows = exchange_result(x, r, 0);
    int limit;
    if (res->page_rows && query_limit(x, &limit) == 0) { /* read before the statement: valid */
        handler_send_rows_page(x, res->name, rows, limit);
        return;
    }
    const char *text = db_value(rows, 0, 0);
    if (!text) {
        exchange_send_problem(x, 404, "No such resource."); /* the parent is not visible */
        return;
    }
    handler_send_page(x, res->name, text);
}

static void resource_page(struct exchange *x, json_t *filters)
{
    const struct resource *res = resource_of(x);
    int limit;
    long long after;
    if (query_limit(x, &limit) != 0 || query_cursor(x, res->name, &after) != 0) {
        json_decref(filters);
        return;
    }
    char *f = json_dumps(filters, JSON_COMPACT);
    json_decref(filters);
    char after_s[24], limit_s[8];
    snprintf(after_s, sizeof after_s, "%lld", after);
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    const char *params[] = {f ? f : "{}", after > 0 ? after_s : NULL, limit_s};
    struct db_job *job = exchange_job(x, resource_on_page);
    if (job) {
        db_job_add(job, res->stmt_first + OP_PAGE, 3, params);
        exchange_db_submit(x, job);
    }
    free(f);
}

void resource_list(struct exchange *x)
{
    json_t *filters = list_filters_parse(x, resource_of(x)->filters);
    if (filters)
        resource_page(x, filters);
}

void resource_list_of(struct exchange *x)
{
    const struct resource *res = resource_of(x);
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    json_t *filters = list_filters_parse(x, res->filters);
    if (!filters)
        return;
    json_object_set_new(filters, res->parent_field, json_integer(atoll(id)));
    resource_page(x, filters);
}

void resource_get(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    const char *params[] = {id};
    handler_json_query_etag(x, resource_of(x)->stmt_first + OP_GET, 1, params);
}

/* Answers a write's JSON result: the record with its ETag (and Location). */
static void resource_send_record(struct exchange *x, int status, const char *text)
{
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    if (!doc) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    json_t *v = json_object_get(doc, "version");
    if (json_is_integer(v))
        handler_set_etag(x, json_integer_value(v));
    if (status == 201) {
        char location[96];
        snprintf(location, sizeof location, "/api/v1/%s/%lld", resource_of(x)->name,
                 (long long)json_integer_value(json_object_get(doc, "id")));
        exchange_add_header(x, "Location", location);
    }
    exchange_send_json(x, status, doc);
}

static void resource_on_created(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error_for(x, r, DB_WRITE, resource_of(x)->scope_field))
        return;
    resource_send_record(x, 201, db_value(exchange_result(x, r, 0), 0, 0));
}

static void resource_create_with(struct exchange *x, const char *parent_id)
{
    const struct resource *res = resource_of(x);
    json_t *body = body_object(x);
    if (!body || body_check(x, body, res->create) != 0) {
        json_decref(body);
        return;
    }
    if (parent_id)
        json_object_set_new(body, res->parent_field, json_integer(atoll(parent_id)));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct db_job *job = text ? exchange_job(x, resource_on_created) : NULL;
    if (job) {
        const char *params[] = {text};
        db_job_add(job, res->stmt_first + OP_CREATE, 1, params);
        exchange_db_submit(x, job);
    } else if (!text) {
        exchange_send_problem(x, 503, "Out of memory.");
    }
    free(text);
}

void resource_create(struct exchange *x)
{
    resource_create_with(x, NULL);
}

void resource_create_of(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) == 0)
        resource_create_with(x, id);
}

static void resource_on_updated(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error_for(x, r, DB_WRITE, resource_of(x)->scope_field))
        return;
    const char *text = db_value(exchange_result(x, r, 0), 0, 0);
    if (text) {
        resource_send_record(x, 200, text);
        return;
    }
    const PGresult *v = exchange_result(x, r, 1);
    if (db_value(v, 0, 0))
        exchange_send_problem(x, 412, "The record changed since you read it; read it again.");
    else
        exchange_send_problem(x, 404, "No such resource.");
}

void resource_update(struct exchange *x)
{
    const struct resource *res = resource_of(x);
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    long long version;
    int m = handler_if_match(x, &version);
    if (m != 0) {
        exchange_send_problem(x, m == -1 ? 428 : 412,
                              m == -1 ? "Send If-Match with the ETag of the record you read."
                                      : "If-Match does not name a version of this record.");
        return;
    }
    json_t *body = body_object(x);
    if (!body || body_check(x, body, res->update) != 0) {
        json_decref(body);
        return;
    }
    if (json_object_size(body) == 0) {
        json_t *problem = NULL;
        body_error(&problem, x, "body", "must change at least one field");
        body_send_errors(x, problem);
        json_decref(body);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char version_s[24];
    snprintf(version_s, sizeof version_s, "%lld", version);
    struct db_job *job = text ? exchange_job(x, resource_on_updated) : NULL;
    if (job) {
        const char *params[] = {id, version_s, text};
        db_job_add(job, res->stmt_first + OP_UPDATE, 3, params);
        db_job_add(job, res->stmt_first + OP_VERSION, 1, params);
        exchange_db_submit(x, job);
    } else if (!text) {
        exchange_send_problem(x, 503, "Out of memory.");
    }
    free(text);
}

static void resource_on_deleted(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error_for(x, r, DB_WRITE, NULL))
        return;
    if (db_value(exchange_result(x, r, 0), 0, 0))
        exchange_send_empty(x, 204);
    else
        exchange_send_problem(x, 404, "No such resource.");
}

void resource_delete(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    struct db_job *job = exchange_job(x, resource_on_deleted);
    if (!job)
        return;
    const char *params[] = {id};
    db_job_add(job, resource_of(x)->stmt_first + OP_DELETE, 1, params);
    exchange_db_submit(x, job);
}
