/*
 * db_answers: see db_answers.h. The table first (it is the module), then
 * the field a refusal names, then the answering.
 */
#include "api/db_answers.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "http/exchange.h"
#include "http/problem.h"

#define ANY_REQUEST (~0u)
#define WRITES      (DB_WRITE | DB_TRANSITION | DB_CLAIM)
#define USERS       (DB_USER_CREATE | DB_USER_UPDATE)

/* The details (of the problem) and messages (of the field) of the rows. */
#define RULE        "The request breaks a rule of the data."
#define CONFLICT    "This conflicts with an existing record."
#define FIELDS      "Some fields are not acceptable."
#define SESSION     "The session is missing, expired or ended; log in again."
#define ROLE        "Your role may not do this."
#define NOT_FOUND   "No such resource."
#define SINCE_UNTIL "'since' and 'until' must be RFC 3339 dates or times."
#define TOO_LONG                                                                                   \
    "The import took longer than the service allows; nothing was imported. Split the file into "  \
    "smaller ones."
#define USERNAME    "This username is taken."
#define UNIT        "is not a unit you can manage"
#define SCOPE       "is not within what you may change"
#define TAKEN       "is already taken"
#define UNSEEN      "does not name a record you can see"
#define REFUSED     "is not acceptable"

/* The last columns of a row: the field named and its message, then the log. */
#define PLAIN            DB_FIELD_NONE, NULL, NULL
#define NAMED(f, m)      DB_FIELD_NAMED, f, m
#define SCOPE_FIELD(m)   DB_FIELD_SCOPE, NULL, m
#define ERROR_FIELD(m)   DB_FIELD_ERROR, NULL, m
#define LIFECYCLE_FIELD  DB_FIELD_LIFECYCLE, NULL, NULL
#define QUIET            NULL, 0
#define LOGS(e, level)   e, level

/* The first row that applies answers: a request's own rows come before
 * those of every write, which come before those of every request. A NULL
 * detail or message is PostgreSQL's own. */
/* clang-format off */
static const struct db_answer db_answers[] = {
    /* PostgreSQL reads the audit's since and until as timestamps. */
    {DB_AUDIT,       "22",    DB_ALWAYS,  400, SINCE_UNTIL, PLAIN, QUIET},
    /* A file too big to store within the statement timeout fails the same
     * way however often it is sent: say so rather than "retry". */
    {DB_IMPORT,      "57014", DB_ALWAYS,  503, TOO_LONG,    PLAIN,
     LOGS("import: timed out", LOG_WARN)},
    /* A unit outside the caller's scope fails the row-level check (42501)
     * or does not exist (23503): either way, no such unit. */
    {USERS,          "42501", DB_ALWAYS,  422, FIELDS,      NAMED("unit_id", UNIT), QUIET},
    {USERS,          "23503", DB_ALWAYS,  422, FIELDS,      NAMED("unit_id", UNIT), QUIET},
    {DB_USER_CREATE, "23505", DB_ALWAYS,  409, USERNAME,    NAMED("username", "is taken"), QUIET},
    /* A lifecycle rule, its message saying which, named by the field of
     * the transition it concerns. */
    {DB_TRANSITION,  "23514", DB_ALWAYS,  422, FIELDS,      LIFECYCLE_FIELD, QUIET},
    /* The claim rules (the reporter verifying, a role that may not, a claim
     * not verifiable), in PostgreSQL's words. */
    {DB_CLAIM,       "23514", DB_NOT_RLS, 409, NULL,        PLAIN, QUIET},
    {DB_CLAIM,       "42501", DB_NOT_RLS, 403, NULL,        PLAIN, QUIET},
    /* A write the data's rules refuse, named by its field. */
    {WRITES,         "42501", DB_RLS,     422, RULE,        SCOPE_FIELD(SCOPE), QUIET},
    {WRITES,         "23505", DB_ALWAYS,  409, CONFLICT,    ERROR_FIELD(TAKEN), QUIET},
    {WRITES,         "23503", DB_ALWAYS,  422, RULE,        ERROR_FIELD(UNSEEN), QUIET},
    {WRITES,         "23",    DB_ALWAYS,  422, RULE,        ERROR_FIELD(REFUSED), QUIET},
    {WRITES,         "22",    DB_ALWAYS,  422, RULE,        ERROR_FIELD(REFUSED), QUIET},
    /* Every request: the caller's session and role (auth_session), a
     * parent record out of scope, the data's rules. */
    {ANY_REQUEST,    "CR401", DB_ALWAYS,  401, SESSION,     PLAIN, QUIET},
    {ANY_REQUEST,    "CR403", DB_ALWAYS,  403, ROLE,        PLAIN, QUIET},
    {ANY_REQUEST,    "CR404", DB_ALWAYS,  404, NOT_FOUND,   PLAIN, QUIET},
    {ANY_REQUEST,    "23505", DB_ALWAYS,  409, CONFLICT,    PLAIN, QUIET},
    {ANY_REQUEST,    "23",    DB_ALWAYS,  422, RULE,        PLAIN, LOGS("db: rejected", LOG_INFO)},
    {ANY_REQUEST,    "22",    DB_ALWAYS,  422, RULE,        PLAIN, LOGS("db: rejected", LOG_INFO)},
};
/* clang-format on */

static int db_answer_applies(const struct db_answer *a, const struct db_result *r,
                             unsigned request)
{
    if (!(a->requests & request) || strncmp(r->sqlstate, a->sqlstate, strlen(a->sqlstate)) != 0)
        return 0;
    int rls = strstr(r->primary, "row-level security") != NULL;
    return a->when == DB_ALWAYS || (a->when == DB_RLS) == rls;
}

const struct db_answer *db_answer_find(const struct db_result *r, unsigned request)
{
    if (r->failure != DB_FAIL_QUERY)
        return NULL;
    for (size_t i = 0; i < sizeof db_answers / sizeof db_answers[0]; i++)
        if (db_answer_applies(&db_answers[i], r, request))
            return &db_answers[i];
    return NULL;
}

/* The field a constraint is about: its name without the table and the
 * suffix ("project_code_check" on table project: "code";
 * "investor_uscc_key": "uscc"). */
static void field_from_constraint(const char *constraint, char *out, size_t len)
{
    static const char *const suffixes[] = {"_check", "_fkey", "_key", "_not_null"};
    /* Tables whose names have an underscore, then the others. */
    static const char *const tables[] = {"project_start_", "start_", "interaction_leader_",
                                         "batch_project_"};
    const char *u = NULL;
    for (size_t i = 0; !u && i < sizeof tables / sizeof tables[0]; i++)
        if (strncmp(constraint, tables[i], strlen(tables[i])) == 0)
            u = constraint + strlen(tables[i]) - 1;
    if (!u)
        u = strchr(constraint, '_');
    snprintf(out, len, "%s", u ? u + 1 : constraint);
    size_t n = strlen(out);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > sl && strcmp(out + n - sl, suffixes[i]) == 0) {
            out[n - sl] = '\0';
            break;
        }
    }
}

const char *db_answer_field(const struct db_answer *a, const struct db_result *r,
                            const char *scope_field, char *field, size_t len)
{
    const char *message = a->message ? a->message : r->primary;
    switch (a->field) {
    case DB_FIELD_NONE:
        field[0] = '\0';
        return NULL;
    case DB_FIELD_NAMED:
        snprintf(field, len, "%s", a->name);
        return message;
    case DB_FIELD_SCOPE:
        snprintf(field, len, "%s", scope_field ? scope_field : "body");
        return message;
    case DB_FIELD_ERROR:
        if (*r->column) {
            snprintf(field, len, "%s", r->column);
            return r->primary;
        }
        if (*r->constraint) {
            field_from_constraint(r->constraint, field, len);
            return message;
        }
        snprintf(field, len, "body");
        return r->primary;
    case DB_FIELD_LIFECYCLE: {
        int date = strcmp(r->column, "production_on") == 0 || strcmp(r->column, "capacity_on") == 0;
        snprintf(field, len, "%s", date ? "on" : "to");
        return message;
    }
    }
    field[0] = '\0';
    return NULL;
}

int answer_db_error_for(struct exchange *x, const struct db_result *r, unsigned request,
                        const char *scope_field)
{
    if (r->failure == DB_OK)
        return 0;
    const struct db_answer *a = db_answer_find(r, request);
    if (!a) {
        exchange_answer_db_failure(x, r);
        return 1;
    }
    if (a->log)
        log_event((enum log_level)a->log_level, x->request_id, a->log,
                  json_pack("{s:s, s:s}", "sqlstate", r->sqlstate, "error", r->message));
    const char *detail = a->detail ? a->detail : r->primary;
    if (a->status == 401) {
        exchange_send_unauthorized(x, detail);
        return 1;
    }
    json_t *problem = problem_new(a->status, detail, x->request_id);
    char field[64];
    const char *message = db_answer_field(a, r, scope_field, field, sizeof field);
    if (problem && message)
        problem_add_error(problem, field, message);
    exchange_send_problem_json(x, problem);
    return 1;
}

int answer_db_error(struct exchange *x, const struct db_result *r)
{
    return answer_db_error_for(x, r, DB_READ, NULL);
}
