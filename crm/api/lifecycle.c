/*
 * lifecycle: what moves a project and its claims along: a project's
 * transitions, the verification and revocation of claims (contracts and
 * starts), a project's history (from the audit), and the leaders' own
 * activity. The rules are PostgreSQL's (sql/schema/51_projects.sql); a
 * refusal comes back as 422 with its reason.
 */
#include <stdio.h>
#include <string.h>

#include "api/db_answers.h"
#include "api/handlers.h"
#include "api/resources.h"
#include "api/routes.h"
#include "core/bounds.h"
#include "core/project_stages.h"
#include "db/statements.h"
#include "http/body.h"
#include "http/exchange.h"
#include "http/query.h"

/* A reason is at most this many characters (the contract's maxLength; the
 * database's for a termination), whatever the stage asked for. */
#define TRANSITION_REASON_MAX_CHARS 2000

/* The characters of UTF-8 text s (its bytes that do not continue one). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static const struct field_spec transition_fields[] = {
    {"to", FIELD_ENUM, 1, 0, 0, project_stages},
    {"on", FIELD_DATE, 0, 0, 0, NULL},
    {"reason", FIELD_STRING, 0, 6000, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static void lifecycle_on_transition(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error_for(x, r, DB_TRANSITION, "to"))
        return;
    if (PQntuples(exchange_result(x, r, 0)) != 1) {
        exchange_send_problem(x, 404, "No such resource.");
        return;
    }
    const char *text = db_value(exchange_result(x, r, 1), 0, 0);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    if (!doc) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    handler_set_etag(x, json_integer_value(json_object_get(doc, "version")));
    exchange_send_json(x, 200, doc);
}

void projects_transition(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    json_t *body = body_object(x);
    if (!body || body_check(x, body, transition_fields) != 0) {
        json_decref(body);
        return;
    }
    const char *to = json_string_value(json_object_get(body, "to"));
    json_t *reason = json_object_get(body, "reason");
    const char *why = NULL;
    if (strcmp(to, "terminated") == 0 && (!reason || json_string_length(reason) == 0))
        why = "is required to terminate a project";
    else if (reason && utf8_chars(json_string_value(reason)) > TRANSITION_REASON_MAX_CHARS)
        why = "must be at most 2000 characters";
    if (why) {
        json_t *problem = NULL;
        body_error(&problem, x, "reason", why);
        body_send_errors(x, problem);
        json_decref(body);
        return;
    }
    const char *params[] = {id, to, json_string_value(json_object_get(body, "on")),
                            reason ? json_string_value(reason) : NULL};
    struct db_job *job = exchange_job(x, lifecycle_on_transition);
    if (job) {
        db_job_add(job, STMT_PROJECT_TRANSITION, 4, params);
        db_job_add(job, STMT_PROJECTS_GET, 1, params);
        exchange_db_submit(x, job);
    }
    json_decref(body);
}

void projects_history(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    const char *params[] = {id};
    handler_json_query(x, STMT_PROJECT_HISTORY, 1, params);
}

/* ---- claims ---- */

static int claim_statement(const struct exchange *x, int verify)
{
    int contract = x->match.route->arg == &contracts;
    if (verify)
        return contract ? STMT_CLAIM_VERIFY_CONTRACT : STMT_CLAIM_VERIFY_START;
    return contract ? STMT_CLAIM_REVOKE_CONTRACT : STMT_CLAIM_REVOKE_START;
}

static void lifecycle_on_claim(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error_for(x, r, DB_CLAIM, NULL))
        return;
    const char *text = db_value(exchange_result(x, r, 0), 0, 0);
    if (!text) {
        exchange_send_problem(x, 404, "No such resource.");
        return;
    }
    json_t *doc = json_loads(text, 0, NULL);
    handler_set_etag(x, json_integer_value(json_object_get(doc, "version")));
    exchange_send_json(x, 200, doc);
}

void claims_verify(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    struct db_job *job = exchange_job(x, lifecycle_on_claim);
    if (!job)
        return;
    const char *params[] = {id};
    db_job_add(job, claim_statement(x, 1), 1, params);
    exchange_db_submit(x, job);
}

/* falsified: the claim was false, not merely mistaken (it costs the unit
 * points in its score). */
static const struct field_spec revoke_fields[] = {
    {"reason", FIELD_STRING, 1, 6000, 0, NULL},
    {"falsified", FIELD_BOOLEAN, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

void claims_revoke(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    json_t *body = body_object(x);
    if (!body || body_check(x, body, revoke_fields) != 0) {
        json_decref(body);
        return;
    }
    const char *reason = json_string_value(json_object_get(body, "reason"));
    if (!reason[strspn(reason, " \t\r\n")]) {
        json_t *problem = NULL;
        body_error(&problem, x, "reason", "must say why the claim is revoked");
        body_send_errors(x, problem);
        json_decref(body);
        return;
    }
    struct db_job *job = exchange_job(x, lifecycle_on_claim);
    if (job) {
        const char *params[] = {id, reason,
                                json_is_true(json_object_get(body, "falsified")) ? "true" : "false"};
        db_job_add(job, claim_statement(x, 0), 3, params);
        exchange_db_submit(x, job);
    }
    json_decref(body);
}

/* ---- leaders ---- */

void stats_leaders(struct exchange *x)
{
    long long year;
    if (query_int_required(x, "year", DATE_YEAR_MIN, DATE_YEAR_MAX, &year) != 0)
        return;
    char year_s[24];
    snprintf(year_s, sizeof year_s, "%lld", year);
    const char *params[] = {year_s};
    handler_json_query(x, STMT_STATS_LEADERS, 1, params);
}
