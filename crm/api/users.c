/*
 * users: the administrators' routes over users of their scope: list, read,
 * create, change (role, unit, display name, disabled; with If-Match), reset
 * a password, end a user's sessions. Row-level security limits every
 * statement to the caller's subtree, so a user elsewhere is a 404.
 *
 * New passwords are hashed on the hashing threads only after the caller has
 * been checked (one round trip first), so that no one but an administrator
 * can make the service spend argon2id time.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/db_answers.h"
#include "api/handlers.h"
#include "api/routes.h"
#include "auth/hasher.h"
#include "auth/password_policy.h"
#include "auth/roles.h"
#include "core/bounds.h"
#include "core/log.h"
#include "db/statements.h"
#include "http/body.h"
#include "http/exchange.h"
#include "http/query.h"
#include "http/worker.h"

/* A user being created or having a password reset: the fields to store. */
struct user_write {
    char id[24];
    char username[65];
    char display_name[401];
    int has_display_name;
    char role[16];
    char unit_id[24];
    char *password;
    size_t len;
    char hash[crypto_pwhash_STRBYTES];
};

static void user_write_free(void *arg)
{
    struct user_write *w = arg;
    if (w->password) {
        sodium_memzero(w->password, w->len);
        free(w->password);
    }
    sodium_memzero(w, sizeof *w);
    free(w);
}

static struct user_write *user_write_new(struct exchange *x, const char *password, size_t len)
{
    struct user_write *w = calloc(1, sizeof *w);
    if (w && !(w->password = malloc(len + 1))) {
        free(w);
        w = NULL;
    }
    if (!w) {
        exchange_send_problem(x, 503, "Out of memory.");
        return NULL;
    }
    memcpy(w->password, password, len);
    w->password[len] = '\0';
    w->len = len;
    x->state = w;
    x->state_free = user_write_free;
    return w;
}

static int username_valid(const char *u)
{
    size_t n = strlen(u);
    if (n < 3 || n > 64 || !(islower((unsigned char)u[0]) || isdigit((unsigned char)u[0])))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (!(islower(c) || isdigit(c) || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Hashes w->password, then calls next on the loop with the hash in w. */
static void user_hash_password(struct exchange *x, hasher_cb next)
{
    struct user_write *w = x->state;
    if (hasher_submit(x->worker->base, HASHER_HASH, w->password, w->len, NULL, next, x) != 0) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Too many password operations at once; retry shortly.");
    }
}

/* When the hashing failed, answers 503 and returns 1; returns 0 when done. */
static int user_answer_hash_failed(struct exchange *x, const struct hasher_result *r)
{
    if (r->outcome == HASHER_DONE)
        return 0;
    exchange_add_header(x, "Retry-After", "1");
    exchange_send_problem(x, 503, "The password could not be hashed now; retry shortly.");
    return 1;
}

/* ---- list, read ---- */

static void users_on_list(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    handler_send_page(x, "users", db_value(exchange_result(x, r, 0), 0, 0));
}

void users_list(struct exchange *x)
{
    int limit;
    long long after, unit;
    if (query_limit(x, &limit) != 0 || query_cursor(x, "users", &after) != 0 ||
        query_int(x, "unit_id", 1, ID_MAX, -1, &unit) != 0)
        return;
    const char *role = exchange_query(x, "role");
    if (role && !role_parse(role)) {
        exchange_send_problem(x, 400, "The query parameter 'role' must be admin, leader, bureau, "
                                      "unit or viewer.");
        return;
    }
    const char *q = exchange_query(x, "q");
    if (q && strlen(q) > 100) {
        exchange_send_problem(x, 400, "The query parameter 'q' is longer than 100 bytes.");
        return;
    }
    char after_s[24], limit_s[8], unit_s[24];
    snprintf(after_s, sizeof after_s, "%lld", after);
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    snprintf(unit_s, sizeof unit_s, "%lld", unit);
    const char *params[] = {after > 0 ? after_s : NULL, limit_s, role, unit > 0 ? unit_s : NULL,
                            q && *q ? q : NULL};
    struct db_job *job = exchange_job(x, users_on_list);
    if (!job)
        return;
    db_job_add(job, STMT_USERS_LIST, 5, params);
    exchange_db_submit(x, job);
}

void users_get(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    const char *params[] = {id};
    handler_json_query_etag(x, STMT_USER_GET, 1, params);
}

/* ---- create ---- */

static void users_on_created(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error_for(x, r, DB_USER_CREATE, NULL))
        return;
    const char *text = db_value(exchange_result(x, r, 0), 0, 0);
    json_t *user = text ? json_loads(text, 0, NULL) : NULL;
    if (!user) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    char location[64];
    snprintf(location, sizeof location, "/api/v1/users/%lld",
             (long long)json_integer_value(json_object_get(user, "id")));
    exchange_add_header(x, "Location", location);
    handler_set_etag(x, json_integer_value(json_object_get(user, "version")));
    exchange_send_json(x, 201, user);
}

static void users_on_create_hashed(void *arg, const struct hasher_result *r)
{
    struct exchange *x = arg;
    struct user_write *w = x->state;
    if (user_answer_hash_failed(x, r))
        return;
    memcpy(w->hash, r->hash, sizeof w->hash);
    struct db_job *job = exchange_job(x, users_on_created);
    if (!job)
        return;
    const char *params[] = {w->username, w->has_display_name ? w->display_name : NULL, w->role,
                            w->unit_id, w->hash};
    db_job_add(job, STMT_USER_CREATE, 5, params);
    exchange_db_submit(x, job);
}

/* The caller is an admin (checked by auth): now spend the hash. */
static void users_on_create_caller(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (!answer_db_error(x, r))
        user_hash_password(x, users_on_create_hashed);
}

static const struct field_spec user_create_fields[] = {
    {"username", FIELD_STRING, 1, 64, 0, NULL},
    {"display_name", FIELD_STRING, 0, 400, 0, NULL},
    {"role", FIELD_STRING, 1, 16, 0, NULL},
    {"unit_id", FIELD_INTEGER, 1, 0, 0, NULL},
    {"password", FIELD_STRING, 1, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

void users_create(struct exchange *x)
{
    json_t *body = body_object(x);
    if (!body || body_check(x, body, user_create_fields) != 0) {
        json_decref(body);
        return;
    }
    json_t *problem = NULL;
    const char *username = json_string_value(json_object_get(body, "username"));
    const char *role = json_string_value(json_object_get(body, "role"));
    json_int_t unit = json_integer_value(json_object_get(body, "unit_id"));
    json_t *pw = json_object_get(body, "password");
    json_t *dn = json_object_get(body, "display_name");
    if (!username_valid(username))
        body_error(&problem, x, "username",
                   "must be 3 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
    if (!role_parse(role))
        body_error(&problem, x, "role", "must be admin, leader, bureau, unit or viewer");
    if (unit < 1)
        body_error(&problem, x, "unit_id", "must be a positive integer");
    if (dn && json_string_length(dn) > 100)
        body_error(&problem, x, "display_name", "must be at most 100 characters");
    enum password_verdict v = password_check(json_string_value(pw), json_string_length(pw), username);
    if (v != PASSWORD_OK)
        body_error(&problem, x, "password", password_verdict_message(v));
    if (body_send_errors(x, problem) != 0) {
        json_decref(body);
        return;
    }
    struct user_write *w = user_write_new(x, json_string_value(pw), json_string_length(pw));
    if (w) {
        snprintf(w->username, sizeof w->username, "%s", username);
        snprintf(w->role, sizeof w->role, "%s", role);
        snprintf(w->unit_id, sizeof w->unit_id, "%lld", (long long)unit);
        if (dn) {
            w->has_display_name = 1;
            snprintf(w->display_name, sizeof w->display_name, "%s", json_string_value(dn));
        }
    }
    json_decref(body);
    if (!w)
        return;
    struct db_job *job = exchange_job(x, users_on_create_caller);
    if (job)
        exchange_db_submit(x, job);
}

/* ---- change ---- */

static void users_on_updated(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error_for(x, r, DB_USER_UPDATE, NULL))
        return;
    const char *text = db_value(exchange_result(x, r, 0), 0, 0);
    if (text && PQntuples(exchange_result(x, r, 0)) == 1) {
        json_t *user = json_loads(text, 0, NULL);
        handler_set_etag(x, json_integer_value(json_object_get(user, "version")));
        exchange_send_json(x, 200, user);
        return;
    }
    if (PQntuples(exchange_result(x, r, 1)) == 1)
        exchange_send_problem(x, 412, "The user changed since you read it; read it again.");
    else
        exchange_send_problem(x, 404, "No such resource.");
}

static const struct field_spec user_update_fields[] = {
    {"display_name", FIELD_STRING, 0, 400, 0, NULL},
    {"role", FIELD_STRING, 0, 16, 0, NULL},
    {"unit_id", FIELD_INTEGER, 0, 0, 0, NULL},
    {"disabled", FIELD_BOOLEAN, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

void users_update(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    long long version;
    int m = handler_if_match(x, &version);
    if (m == -1) {
        exchange_send_problem(x, 428, "Send If-Match with the ETag of the user you read.");
        return;
    }
    if (m == -2) {
        exchange_send_problem(x, 412, "If-Match does not name a version of this user.");
        return;
    }
    json_t *body = body_object(x);
    if (!body || body_check(x, body, user_update_fields) != 0) {
        json_decref(body);
        return;
    }
    json_t *problem = NULL;
    json_t *dn = json_object_get(body, "display_name"), *role = json_object_get(body, "role"),
           *unit = json_object_get(body, "unit_id"), *disabled = json_object_get(body, "disabled");
    if (json_object_size(body) == 0)
        body_error(&problem, x, "body", "must change at least one field");
    if (role && !role_parse(json_string_value(role)))
        body_error(&problem, x, "role", "must be admin, leader, bureau, unit or viewer");
    if (unit && json_integer_value(unit) < 1)
        body_error(&problem, x, "unit_id", "must be a positive integer");
    if (dn && json_string_length(dn) > 100)
        body_error(&problem, x, "display_name", "must be at most 100 characters");
    if (body_send_errors(x, problem) != 0) {
        json_decref(body);
        return;
    }
    char version_s[24], unit_s[24];
    snprintf(version_s, sizeof version_s, "%lld", version);
    snprintf(unit_s, sizeof unit_s, "%lld", unit ? (long long)json_integer_value(unit) : 0LL);
    const char *params[] = {id,
                            version_s,
                            dn ? json_string_value(dn) : NULL,
                            role ? json_string_value(role) : NULL,
                            unit ? unit_s : NULL,
                            disabled ? (json_is_true(disabled) ? "true" : "false") : NULL};
    struct db_job *job = exchange_job(x, users_on_updated);
    if (job) {
        db_job_add(job, STMT_USER_UPDATE, 6, params);
        db_job_add(job, STMT_USER_VERSION, 1, params);
        exchange_db_submit(x, job);
    }
    json_decref(body);
}

/* ---- password reset, sessions ---- */

static void users_on_reset(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    if (PQntuples(exchange_result(x, r, 0)) != 1) {
        exchange_send_problem(x, 404, "No such resource.");
        return;
    }
    log_msg(LOG_INFO, x->request_id, "password reset by an administrator");
    exchange_send_empty(x, 204);
}

static void users_on_reset_hashed(void *arg, const struct hasher_result *r)
{
    struct exchange *x = arg;
    struct user_write *w = x->state;
    if (user_answer_hash_failed(x, r))
        return;
    memcpy(w->hash, r->hash, sizeof w->hash);
    struct db_job *job = exchange_job(x, users_on_reset);
    if (!job)
        return;
    const char *params[] = {w->id, w->hash};
    db_job_add(job, STMT_USER_PASSWORD, 2, params);
    db_job_add(job, STMT_SESSIONS_END, 1, params);
    exchange_db_submit(x, job);
}

/* The target exists in scope (and the caller is an admin): check the new
 * password against its username, then hash it. */
static void users_on_reset_target(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    struct user_write *w = x->state;
    if (answer_db_error(x, r))
        return;
    const char *text = db_value(exchange_result(x, r, 0), 0, 0);
    json_t *user = text && PQntuples(exchange_result(x, r, 0)) == 1 ? json_loads(text, 0, NULL)
                                                                     : NULL;
    if (!user) {
        exchange_send_problem(x, 404, "No such resource.");
        return;
    }
    enum password_verdict v = password_check(
        w->password, w->len, json_string_value(json_object_get(user, "username")));
    json_decref(user);
    if (v != PASSWORD_OK) {
        json_t *problem = NULL;
        body_error(&problem, x, "password", password_verdict_message(v));
        body_send_errors(x, problem);
        return;
    }
    user_hash_password(x, users_on_reset_hashed);
}

static const struct field_spec user_password_fields[] = {
    {"password", FIELD_STRING, 1, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

void users_password_reset(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    json_t *body = body_object(x);
    if (!body || body_check(x, body, user_password_fields) != 0) {
        json_decref(body);
        return;
    }
    json_t *pw = json_object_get(body, "password");
    struct user_write *w = user_write_new(x, json_string_value(pw), json_string_length(pw));
    json_decref(body);
    if (!w)
        return;
    snprintf(w->id, sizeof w->id, "%s", id);
    struct db_job *job = exchange_job(x, users_on_reset_target);
    if (!job)
        return;
    const char *params[] = {id};
    db_job_add(job, STMT_USER_GET, 1, params);
    exchange_db_submit(x, job);
}

static void users_on_sessions_end(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    const char *ok = db_value(exchange_result(x, r, 0), 0, 0);
    if (ok && strcmp(ok, "t") == 0)
        exchange_send_empty(x, 204);
    else
        exchange_send_problem(x, 404, "No such resource.");
}

void users_sessions_end(struct exchange *x)
{
    char id[24];
    if (handler_path_id(x, "id", id, sizeof id) != 0)
        return;
    struct db_job *job = exchange_job(x, users_on_sessions_end);
    if (!job)
        return;
    const char *params[] = {id};
    db_job_add(job, STMT_SESSIONS_END, 1, params);
    exchange_db_submit(x, job);
}
