/*
 * idempotency: see idempotency.h. The exchange owns the claimed key (freed
 * with it); the storing job after the answer belongs to the pool alone.
 */
#include "http/idempotency.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/exchange.h"
#include "http/problem.h"
#include "http/server.h"
#include "http/worker.h"

/* The application's statements for the keys. */
static const struct server_statements *idempotency_statements(const struct exchange *x)
{
    return &x->worker->server->app->statements;
}

static int idempotency_key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
            return 0;
    return 1;
}

/* The headers a stored answer had that follow from its body: the ETag of a
 * record (its version) and, for a 201, its Location under the posted path. */
static void idempotency_replay_headers(struct exchange *x, int status, const char *body)
{
    json_t *doc = body ? json_loads(body, 0, NULL) : NULL;
    json_t *version = json_object_get(doc, "version"), *id = json_object_get(doc, "id");
    char value[160];
    if (json_is_integer(version)) {
        snprintf(value, sizeof value, "\"%lld\"", (long long)json_integer_value(version));
        exchange_add_header(x, "ETag", value);
    }
    if (status == 201 && json_is_integer(id)) {
        snprintf(value, sizeof value, "%s/%lld", x->path, (long long)json_integer_value(id));
        exchange_add_header(x, "Location", value);
    }
    json_decref(doc);
}

static void idempotency_on_claim(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    struct caller c;
    if (exchange_answer_db_error(x, r))
        return;
    const PGresult *res = exchange_result(x, r, 0);
    const char *outcome = db_value(res, 0, 0);
    if (!outcome || exchange_caller(x, r, &c) != 0) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    if (strcmp(outcome, "new") == 0) {
        x->idem_user = c.user_id;
        x->match.route->handler(x);
        return;
    }
    free(x->idem_key);
    x->idem_key = NULL;
    if (strcmp(outcome, "replay") == 0) {
        const char *body = db_value(res, 0, 3), *type = db_value(res, 0, 2);
        int status = atoi(db_value(res, 0, 1));
        idempotency_replay_headers(x, status, body);
        exchange_add_header(x, "Idempotent-Replayed", "true");
        if (body && type && strncmp(type, "application/json", 16) == 0)
            exchange_send_json_text(x, status, body, strlen(body)); /* compact, as sent first */
        else
            exchange_send(x, status, type, body, body ? strlen(body) : 0);
    } else if (strcmp(outcome, "written") == 0) {
        exchange_send_problem(x, 409,
                              "The request with this Idempotency-Key was carried out, but its "
                              "answer was not kept: read the record instead of sending it again.");
    } else if (strcmp(outcome, "mismatch") == 0) {
        json_t *problem = problem_new(422, "This Idempotency-Key was used with another request.",
                                      x->request_id);
        problem_add_error(problem, "Idempotency-Key", "was used with another request");
        exchange_send_problem_json(x, problem);
    } else {
        exchange_add_header(x, "Retry-After", "1");
        exchange_send_problem(x, 409, "A request with this Idempotency-Key is still running.");
    }
}

void idempotency_settle(struct exchange *x, struct db_job *job)
{
    if (!x->idem_key || !x->idem_user)
        return;
    const struct server_statements *st = idempotency_statements(x);
    db_job_keep(job, x->idem_key, st->keeper, st->idempotency_written);
}

int idempotency_start(struct exchange *x)
{
    const char *key =
        evhttp_find_header(evhttp_request_get_input_headers(x->req), "Idempotency-Key");
    if (!key)
        return 0;
    if (!idempotency_key_valid(key)) {
        exchange_send_problem(x, 400, "Idempotency-Key must be 1 to 255 visible ASCII characters.");
        return 1;
    }
    /* The request is its route and its body: hash them together. */
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
    size_t len = evbuffer_get_length(in);
    crypto_hash_sha256_update(&st, evbuffer_pullup(in, -1), len);
    crypto_hash_sha256_final(&st, hash);
    char hex[2 + 2 * sizeof hash + 1] = "\\x";
    sodium_bin2hex(hex + 2, sizeof hex - 2, hash, sizeof hash);
    if (!(x->idem_key = strdup(key))) {
        exchange_send_problem(x, 503, "Out of memory.");
        return 1;
    }
    struct db_job *job = exchange_job(x, idempotency_on_claim);
    if (!job)
        return 1;
    const char *params[] = {key, x->match.route->pattern, hex};
    db_job_add(job, idempotency_statements(x)->idempotency_claim, 3, params);
    exchange_db_submit(x, job);
    return 1;
}

/* The answer waiting for its storage, owned by the exchange (idem_answer):
 * its strings are copies. */
struct stored_answer {
    struct exchange_answer answer; /* points to the copies below */
    char *content_type;
    char *body;
};

static void stored_answer_free(struct stored_answer *a)
{
    if (!a)
        return;
    free(a->content_type);
    free(a->body);
    free(a);
}

static void idempotency_on_stored(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    struct stored_answer *a = x->idem_answer;
    x->idem_answer = NULL;
    if (r->failure != DB_OK)
        log_event(LOG_WARN, x->request_id, "idempotency: answer not stored",
                  json_pack("{s:s}", "error", r->message));
    exchange_transmit(x, &a->answer);
    stored_answer_free(a);
}

int idempotency_store(struct exchange *x, const struct exchange_answer *answer)
{
    if (!x->idem_key || !x->idem_user || !x->worker->pool)
        return 0;
    char user[24], status_s[8];
    snprintf(user, sizeof user, "%lld", x->idem_user);
    snprintf(status_s, sizeof status_s, "%d", answer->status);
    struct stored_answer *a = calloc(1, sizeof *a);
    if (a) {
        a->content_type = answer->content_type ? strdup(answer->content_type) : NULL;
        a->body = answer->body ? strndup(answer->body, answer->len) : NULL;
        a->answer = (struct exchange_answer){answer->status, a->content_type, a->body, answer->len};
    }
    struct db_job *job = NULL;
    if (!a || (answer->content_type && !a->content_type) || (answer->body && !a->body) ||
        !(job = db_job_new(idempotency_on_stored, x))) {
        stored_answer_free(a);
        return 0; /* out of memory: answer without storing */
    }
    const char *params[] = {user, x->idem_key, answer->status >= 500 ? NULL : status_s,
                            a->content_type, a->body};
    db_job_add(job, idempotency_statements(x)->idempotency_finish, 5, params);
    free(x->idem_key); /* the answer is being stored: the next step transmits it */
    x->idem_key = NULL;
    x->idem_answer = a;
    db_submit(x->worker->pool, job);
    return 1;
}
