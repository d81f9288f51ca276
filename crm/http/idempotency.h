/*
 * idempotency: Idempotency-Key on POST. The first request with a key runs
 * and its answer is stored under (caller, key); the same key with the same
 * request replays that answer; with another request it is a 422; while the
 * first is still running, a 409. The key is claimed in PostgreSQL (one row
 * per key, so that twenty copies posted at once make one record); every
 * transaction the request then runs settles the key (its answer stored, or
 * the key marked written) together with the write, and the answer is stored
 * again before it is sent. A 5xx answer releases a key whose request wrote
 * nothing, so that the client may retry; a key whose request wrote but whose
 * answer could not be kept is answered 409, never run twice.
 *
 * The three are steps of the request path (http/server.c): the claim before
 * the handler (worker_on_request), the settling with each of its jobs
 * (worker_on_job), the storing of its answer (worker_on_answer). The
 * statements are the application's (server_app.statements).
 */
#ifndef CRM_IDEMPOTENCY_H
#define CRM_IDEMPOTENCY_H

#include <stddef.h>

struct exchange;
struct exchange_answer;
struct db_job;

/* When the request carries an Idempotency-Key, claims it and returns 1: the
 * route's handler is then called (or a replay or refusal sent) later.
 * Returns 0 when there is no key. */
int idempotency_start(struct exchange *x);

/* With each job of the exchange: when the request's key was claimed, the
 * job settles it in its own transaction (a statement answering a write
 * stores its answer there; any job marks the key written), so that a retry
 * never runs a committed write again. */
void idempotency_settle(struct exchange *x, struct db_job *job);

/* With the handler's answer a (copied). When a key was claimed, stores the
 * answer under it (or releases the key on a 5xx) and returns 1: the answer
 * is transmitted once it is stored, so that a client who has it and
 * retries gets the replay, never a "still running". Returns 0 when there is
 * nothing to store (transmit now). */
int idempotency_store(struct exchange *x, const struct exchange_answer *a);

#endif
