/*
 * auth: login, logout, the caller (/me) and their own password.
 *
 * Login: look the user up, verify the password on the hashing threads
 * (against a dummy hash when there is no such user, so that an unknown user
 * and a wrong password cost the same time and get the same answer), rehash
 * when the stored parameters are weaker than today's, open a session and
 * return its token, which is never stored or logged: only its hash is.
 * Failed logins are throttled per (account, client address), per client
 * address, and per account; each attempt is counted before its password is
 * checked (and forgiven when it succeeds), so parallel attempts cannot all
 * pass the check. The account-wide backoff does not apply at an address
 * where the account logged in successfully within the backoff window: a
 * stranger's failures cannot lock the real user out of their own desk.
 *
 * Ownership: a login's state (with its copy of the password, wiped when
 * freed) hangs on the exchange and is freed with it.
 */
#include <ctype.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/db_answers.h"
#include "api/handlers.h"
#include "api/routes.h"
#include "auth/hasher.h"
#include "auth/password_policy.h"
#include "auth/throttle.h"
#include "auth/token.h"
#include "core/clock.h"
#include "core/log.h"
#include "db/statements.h"
#include "http/body.h"
#include "http/exchange.h"
#include "http/worker.h"

struct login {
    struct exchange *x;
    char user_key[72];    /* "u:" + username, for the throttle */
    char address_key[72]; /* "a:" + client address */
    char pair_key[140];   /* "p:" + username + " " + client address */
    int counted;          /* which of the three keys counted this attempt */
    char username[65];
    char *password;
    size_t len;
    long long user_id; /* 0: no such user */
    char new_hash[crypto_pwhash_STRBYTES];
    char token[TOKEN_CHARS + 1]; /* given to the client, never stored */
};

static void login_free(void *arg)
{
    struct login *l = arg;
    if (l->password) {
        sodium_memzero(l->password, l->len);
        free(l->password);
    }
    sodium_memzero(l, sizeof *l);
    free(l);
}

static struct throttle_rule login_rule(const struct exchange *x, int per_address)
{
    const struct crm_config *cfg = x->worker->server->cfg;
    struct throttle_rule r = {
        .threshold = per_address ? cfg->login_max_failures_address : cfg->login_max_failures,
        .base_delay_s = 1,
        .max_delay_s = cfg->login_backoff_max_s,
        .window_s = cfg->login_backoff_max_s * 2,
    };
    return r;
}

enum { COUNTED_PAIR = 1, COUNTED_ADDRESS = 2, COUNTED_ACCOUNT = 4 };

/* Takes back the failures this attempt counted. */
static void login_forgive(struct login *l)
{
    if (l->counted & COUNTED_PAIR)
        throttle_forgive(l->pair_key);
    if (l->counted & COUNTED_ADDRESS)
        throttle_forgive(l->address_key);
    if (l->counted & COUNTED_ACCOUNT)
        throttle_forgive(l->user_key);
    l->counted = 0;
}

/* Counts the attempt against the (account, address) pair, the address and
 * (unless the account succeeded here lately) the account; when one of them
 * is in its backoff, takes back what was counted, answers 429 with
 * Retry-After and returns 1. Returns 0 when the attempt may go on. */
static int login_answer_throttled(struct exchange *x, struct login *l)
{
    struct throttle_rule ru = login_rule(x, 0), ra = login_rule(x, 1);
    long long now = clock_monotonic_ms();
    int wait = throttle_attempt(&ru, l->pair_key, now);
    if (!wait) {
        l->counted |= COUNTED_PAIR;
        wait = throttle_attempt(&ra, l->address_key, now);
    }
    if (!wait) {
        l->counted |= COUNTED_ADDRESS;
        if (!throttle_known(l->pair_key, now, ru.window_s)) {
            wait = throttle_attempt(&ru, l->user_key, now);
            l->counted |= wait ? 0 : COUNTED_ACCOUNT;
        }
    }
    if (!wait)
        return 0;
    login_forgive(l);
    char secs[16];
    snprintf(secs, sizeof secs, "%d", wait);
    exchange_add_header(x, "Retry-After", secs);
    exchange_send_problem(x, 429, "Too many failed logins; wait before trying again.");
    return 1;
}

/* Answers a failed login 401. The failure was counted when the attempt
 * began (login_answer_throttled). */
static void login_answer_failed(struct exchange *x, struct login *l)
{
    l->counted = 0;
    log_event(LOG_INFO, x->request_id, "login failed", json_pack("{s:s}", "username", l->username));
    exchange_send_unauthorized(x, "The username or password is not correct.");
}

static void login_on_open(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    struct login *l = x->state;
    if (answer_db_error(x, r))
        return;
    const char *text = db_value(exchange_result(x, r, 0), 0, 0);
    json_t *answer = text && *text ? json_loads(text, 0, NULL) : NULL;
    if (!answer) {
        /* Disabled between the lookup and now. */
        login_answer_failed(x, l);
        return;
    }
    json_object_set_new(answer, "token", json_string(l->token));
    login_forgive(l);
    throttle_clear(l->user_key);
    throttle_succeed(l->pair_key, clock_monotonic_ms());
    log_event(LOG_INFO, x->request_id, "login", json_pack("{s:I}", "user_id", (json_int_t)l->user_id));
    exchange_send_json(x, 200, answer);
}

/* The password matched: open the session (storing the rehash, if any). */
static void login_open(struct exchange *x, struct login *l)
{
    unsigned char hash[TOKEN_HASH_BYTES];
    char hash_hex[TOKEN_HASH_HEX_CHARS + 1], user_id[24], lifetime[16];
    token_new(l->token, hash);
    token_hash_hex(hash, hash_hex);
    snprintf(user_id, sizeof user_id, "%lld", l->user_id);
    snprintf(lifetime, sizeof lifetime, "%d", x->worker->server->cfg->session_lifetime_s);
    const char *params[] = {user_id, hash_hex, lifetime, x->request_id,
                            l->new_hash[0] ? l->new_hash : NULL};
    struct db_job *job = exchange_job(x, login_on_open);
    if (!job)
        return;
    db_job_add(job, STMT_SESSION_OPEN, 5, params);
    exchange_db_submit(x, job);
}

static void login_on_rehash(void *arg, const struct hasher_result *r)
{
    struct exchange *x = arg;
    struct login *l = x->state;
    if (r->outcome == HASHER_DONE)
        memcpy(l->new_hash, r->hash, sizeof l->new_hash);
    /* A failed rehash is no reason to refuse a good password. */
    login_open(x, l);
}

static void login_on_verify(void *arg, const struct hasher_result *r)
{
    struct exchange *x = arg;
    struct login *l = x->state;
    switch (r->outcome) {
    case HASHER_MATCH:
        if (r->needs_rehash &&
            hasher_submit(x->worker->base, HASHER_HASH, l->password, l->len, NULL, login_on_rehash,
                          x) == 0)
            return;
        login_open(x, l);
        return;
    case HASHER_REFUSED:
        log_event(LOG_ERROR, x->request_id, "login: stored password hash refused",
                  json_pack("{s:I}", "user_id", (json_int_t)l->user_id));
        login_answer_failed(x, l);
        return;
    case HASHER_MISMATCH:
    case HASHER_DONE:
        login_answer_failed(x, l);
        return;
    case HASHER_ERROR:
        break;
    }
    login_forgive(l);
    exchange_add_header(x, "Retry-After", "1");
    exchange_send_problem(x, 503, "The password could not be checked now; retry shortly.");
}

static void login_on_lookup(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    struct login *l = x->state;
    if (answer_db_error(x, r))
        return;
    const PGresult *res = exchange_result(x, r, 0);
    const char *stored = NULL;
    if (PQntuples(res) == 1) {
        l->user_id = atoll(PQgetvalue(res, 0, 0));
        stored = PQgetvalue(res, 0, 1);
    }
    if (hasher_submit(x->worker->base, HASHER_VERIFY, l->password, l->len, stored, login_on_verify,
                      x) != 0) {
        login_forgive(l);
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Too many logins at once; retry shortly.");
    }
}

static const struct field_spec login_fields[] = {
    {"username", FIELD_STRING, 1, 64, 0, NULL},
    {"password", FIELD_STRING, 1, PASSWORD_MAX_BYTES, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

void auth_login(struct exchange *x)
{
    json_t *body = body_object(x);
    if (!body || body_check(x, body, login_fields) != 0) {
        json_decref(body);
        return;
    }
    struct login *l = calloc(1, sizeof *l);
    const char *password = json_string_value(json_object_get(body, "password"));
    size_t len = json_string_length(json_object_get(body, "password"));
    if (l)
        l->password = malloc(len + 1);
    if (!l || !l->password) {
        free(l);
        json_decref(body);
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    x->state = l;
    x->state_free = login_free;
    memcpy(l->password, password, len);
    l->password[len] = '\0';
    l->len = len;
    /* Usernames are lowercase; the lookup and the throttle use that form. */
    const char *name = json_string_value(json_object_get(body, "username"));
    size_t i;
    for (i = 0; name[i] && i < sizeof l->username - 1; i++)
        l->username[i] = (char)tolower((unsigned char)name[i]);
    l->username[i] = '\0';
    json_decref(body);
    snprintf(l->user_key, sizeof l->user_key, "u:%s", l->username);
    char *peer = NULL;
    ev_uint16_t port;
    evhttp_connection_get_peer(evhttp_request_get_connection(x->req), &peer, &port);
    snprintf(l->address_key, sizeof l->address_key, "a:%s", peer ? peer : "?");
    snprintf(l->pair_key, sizeof l->pair_key, "p:%s %s", l->username, peer ? peer : "?");
    if (login_answer_throttled(x, l))
        return;
    struct db_job *job = exchange_job(x, login_on_lookup);
    if (!job)
        return;
    const char *params[] = {l->username};
    db_job_add(job, STMT_LOGIN_LOOKUP, 1, params);
    exchange_db_submit(x, job);
}

/* ---- logout, me ---- */

static void auth_on_logout(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (!answer_db_error(x, r))
        exchange_send_empty(x, 204);
}

void auth_logout(struct exchange *x)
{
    struct db_job *job = exchange_job(x, auth_on_logout);
    if (!job)
        return;
    const char *params[] = {x->token_hash_hex};
    db_job_add(job, STMT_SESSION_CLOSE, 1, params);
    exchange_db_submit(x, job);
}

void auth_me(struct exchange *x)
{
    handler_json_query(x, STMT_ME, 0, NULL);
}

/* ---- the caller's own password ---- */

struct password_change {
    char *current, *next;
    size_t current_len, next_len;
    char user_key[72];
    char new_hash[crypto_pwhash_STRBYTES];
};

static void password_change_free(void *arg)
{
    struct password_change *p = arg;
    if (p->current) {
        sodium_memzero(p->current, p->current_len);
        free(p->current);
    }
    if (p->next) {
        sodium_memzero(p->next, p->next_len);
        free(p->next);
    }
    sodium_memzero(p, sizeof *p);
    free(p);
}

static void password_on_set(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    log_msg(LOG_INFO, x->request_id, "password changed by its user");
    exchange_send_empty(x, 204);
}

static void password_on_hashed(void *arg, const struct hasher_result *r)
{
    struct exchange *x = arg;
    struct password_change *p = x->state;
    if (r->outcome != HASHER_DONE) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "The password could not be hashed now; retry shortly.");
        return;
    }
    memcpy(p->new_hash, r->hash, sizeof p->new_hash);
    struct db_job *job = exchange_job(x, password_on_set);
    if (!job)
        return;
    const char *params[] = {p->new_hash, x->token_hash_hex};
    db_job_add(job, STMT_MY_PASSWORD_SET, 2, params);
    exchange_db_submit(x, job);
}

static void password_on_verified(void *arg, const struct hasher_result *r)
{
    struct exchange *x = arg;
    struct password_change *p = x->state;
    if (r->outcome == HASHER_MISMATCH || r->outcome == HASHER_REFUSED) {
        /* Counted when the check began (password_on_current). */
        json_t *problem = NULL;
        body_error(&problem, x, "current_password", "is not correct");
        body_send_errors(x, problem);
        return;
    }
    throttle_forgive(p->user_key);
    if (r->outcome != HASHER_MATCH ||
        hasher_submit(x->worker->base, HASHER_HASH, p->next, p->next_len, NULL, password_on_hashed,
                      x) != 0) {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "The password could not be checked now; retry shortly.");
    }
}

static void password_on_current(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    struct password_change *p = x->state;
    struct caller c;
    if (answer_db_error(x, r) || exchange_caller(x, r, &c) != 0) {
        if (r->failure == DB_OK)
            exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    enum password_verdict v = password_check(p->next, p->next_len, c.username);
    if (v != PASSWORD_OK) {
        json_t *problem = NULL;
        body_error(&problem, x, "new_password", password_verdict_message(v));
        body_send_errors(x, problem);
        return;
    }
    snprintf(p->user_key, sizeof p->user_key, "u:%s", c.username);
    struct throttle_rule rule = login_rule(x, 0);
    int wait = throttle_attempt(&rule, p->user_key, clock_monotonic_ms());
    if (wait) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", wait);
        exchange_add_header(x, "Retry-After", secs);
        exchange_send_problem(x, 429, "Too many wrong passwords; wait before trying again.");
        return;
    }
    const char *stored = db_value(exchange_result(x, r, 0), 0, 0);
    if (hasher_submit(x->worker->base, HASHER_VERIFY, p->current, p->current_len,
                      stored ? stored : "$refused", password_on_verified, x) != 0) {
        throttle_forgive(p->user_key);
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 503, "Too many password checks at once; retry shortly.");
    }
}

static const struct field_spec password_fields[] = {
    {"current_password", FIELD_STRING, 1, PASSWORD_MAX_BYTES, 0, NULL},
    {"new_password", FIELD_STRING, 1, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

void auth_password_change(struct exchange *x)
{
    json_t *body = body_object(x);
    if (!body || body_check(x, body, password_fields) != 0) {
        json_decref(body);
        return;
    }
    struct password_change *p = calloc(1, sizeof *p);
    json_t *cur = json_object_get(body, "current_password"), *nxt = json_object_get(body, "new_password");
    if (p) {
        p->current_len = json_string_length(cur);
        p->next_len = json_string_length(nxt);
        p->current = malloc(p->current_len + 1);
        p->next = malloc(p->next_len + 1);
    }
    if (!p || !p->current || !p->next) {
        if (p)
            password_change_free(p);
        json_decref(body);
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    memcpy(p->current, json_string_value(cur), p->current_len + 1);
    memcpy(p->next, json_string_value(nxt), p->next_len + 1);
    json_decref(body);
    x->state = p;
    x->state_free = password_change_free;
    struct db_job *job = exchange_job(x, password_on_current);
    if (!job)
        return;
    db_job_add(job, STMT_MY_HASH, 0, NULL);
    exchange_db_submit(x, job);
}
