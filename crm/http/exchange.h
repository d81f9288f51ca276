/*
 * exchange: one HTTP request and its answer, as the handlers see it.
 *
 * The server creates an exchange for each request and hands it to a route
 * handler. The handler (or a database callback later) answers exactly once
 * with one of the exchange_send_* functions (or a function named
 * *_answer_*, which calls one): the answer goes through the request path's
 * last step (worker_on_answer: stored first under a claimed
 * Idempotency-Key), then exchange_transmit adds the project's headers
 * (request id, security headers, CORS), writes the body in one reply,
 * records metrics and the access log line, and frees the exchange: after a
 * send the exchange must not be touched.
 */
#ifndef CRM_EXCHANGE_H
#define CRM_EXCHANGE_H

#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stddef.h>

#include "auth/token.h"
#include "db/pool.h"
#include "http/request_id.h"
#include "http/router.h"

struct evhttp_request;
struct worker;

struct exchange {
    struct evhttp_request *req;
    struct worker *worker;
    unsigned method;
    const char *path;  /* owned by the request */
    size_t route_index; /* == nroutes when unmatched */
    struct route_match match;
    struct evkeyvalq query; /* parsed query string */
    char request_id[REQUEST_ID_MAX + 1];
    const char *origin; /* the Origin header when allowed, else NULL */
    long long start_us;
    int authenticated; /* the route needs a caller: token_hash is the presented token's */
    int auth_checked;  /* the database has judged the token (and the caller's role) */
    json_t *pending_problem; /* a 4xx waiting for that judgement */
    db_done_cb db_cb;        /* the handler's callback of the job in flight */
    char *idem_key;          /* the Idempotency-Key claimed for this request */
    long long idem_user;     /* and its caller */
    void *idem_answer;       /* the answer while it is being stored under the key */
    unsigned char token_hash[TOKEN_HASH_BYTES];
    char token_hash_hex[TOKEN_HASH_HEX_CHARS + 1];
    long long job_sent_us;     /* when its latest database job was submitted */
    int on_replica;            /* that job went to a replica (http/reads.h) */
    int auth_copied;           /* its caller was set from a copy (http/sessions.h) */
    void *state;               /* a handler's own state across callbacks */
    void (*state_free)(void *); /* frees it when the exchange is answered */
};

/* The caller, as auth_session returned it (first result of a job made by
 * exchange_job on an authenticated route). */
struct caller {
    long long user_id;
    const char *username;
    const char *role;
    long long unit_id;
};

/* An answer on its way out: what exchange_send was given. */
struct exchange_answer {
    int status;
    const char *content_type; /* or NULL */
    const char *body;         /* len bytes, or NULL */
    size_t len;
};

/* Allocates the exchange for req. Returns NULL when out of memory. */
struct exchange *exchange_new(struct evhttp_request *req, struct worker *w, unsigned method);

/* Answers with body (len bytes, copied) and content_type. */
void exchange_send(struct exchange *x, int status, const char *content_type, const char *body,
                   size_t len);

/* Writes a out (its body copied) and frees the exchange: the request path's
 * very last step, called by worker_on_answer, never by a handler. */
void exchange_transmit(struct exchange *x, const struct exchange_answer *a);

/* Answers 200 with the start of a stream (Server-Sent Events): the
 * project's headers, content_type, Connection: close; then frees the
 * exchange as a send does (metrics and the access log count the start)
 * and hands over the request, whose chunks the caller writes
 * (evhttp_send_reply_chunk) until it ends it (evhttp_send_reply_end) or
 * the connection goes (conns_watch_gone). */
struct evhttp_request *exchange_stream_start(struct exchange *x, const char *content_type);

/* Answers with a JSON document; takes the reference to body. */
void exchange_send_json(struct exchange *x, int status, json_t *body);

/* Answers with JSON text built elsewhere (by PostgreSQL, say). */
void exchange_send_json_text(struct exchange *x, int status, const char *text, size_t len);

/* Answers application/problem+json {type, title, status, detail, request_id}. */
void exchange_send_problem(struct exchange *x, int status, const char *detail);

/* Answers a problem built with problem_new(); takes the reference.
 * On an authenticated route whose caller the database has not yet checked,
 * a 4xx (but 401) waits for that check first, so that a caller without the
 * right gets 401 or 403, never a hint about the request's content. */
void exchange_send_problem_json(struct exchange *x, json_t *problem);

/* Answers with no body (204, or a preflight). */
void exchange_send_empty(struct exchange *x, int status);

/* Adds a response header (before a send). */
void exchange_add_header(struct exchange *x, const char *name, const char *value);

/* A query parameter's value or NULL. */
const char *exchange_query(struct exchange *x, const char *name);

/* The worker's pool, or NULL while stopping after the grace period. */
struct db_pool *exchange_pool(struct exchange *x);

/* A new job for this exchange. On an authenticated route its first call is
 * auth_session (the caller, the route's roles): the handler's own calls come
 * after it, and exchange_result() finds their results. Returns NULL when out
 * of memory (the exchange is then already answered 503). */
struct db_job *exchange_job(struct exchange *x, db_done_cb cb);

/* The result of the handler's i-th call (counting from 0, after the auth). */
PGresult *exchange_result(const struct exchange *x, const struct db_result *r, int i);

/* Fills c from the auth result of r (strings point into r). Returns 0, or -1
 * when the route had no auth call. */
int exchange_caller(const struct exchange *x, const struct db_result *r, struct caller *c);

/* Answers 401 with WWW-Authenticate: Bearer. */
void exchange_send_unauthorized(struct exchange *x, const char *detail);

/* Submits job through the request path (worker_on_job) to the worker's
 * pool; if there is no pool, fails the job the same way a shut-down pool
 * would. */
void exchange_db_submit(struct exchange *x, struct db_job *job);

/* When r is a failure, answers it as the application's table says
 * (server_app.answer_db_error: api/db_answers.c, whose answer_db_error the
 * handlers call themselves) and returns 1; returns 0 on success. For the
 * jobs http/ runs itself: the caller's check, the Idempotency-Key claim.
 * Without an application (unit tests): exchange_answer_db_failure. */
int exchange_answer_db_error(struct exchange *x, const struct db_result *r);

/* Answers a failure (r->failure != DB_OK) as any application would: for
 * want of a connection, a full queue, a lost connection or a SQLSTATE that
 * means "try again" (40001 serialization, 40P01 deadlock, 57014 statement
 * timeout, 57P.. shutdown, 08... connection, 53... insufficient resources):
 * 503 with Retry-After. Anything else: 500, logged with the request id. */
void exchange_answer_db_failure(struct exchange *x, const struct db_result *r);

#endif
