/*
 * idempotency: Idempotency-Key on POST. The first request with a key runs
 * and its answer is stored under (caller, key); the same key with the same
 * request replays that answer; with another request it is a 422; while the
 * first is still running, a 409. The key is claimed in PostgreSQL (one row
 * per key, so that twenty copies posted at once make one record), and the
 * answer stored before it is sent. A 5xx answer releases the key instead,
 * so that the client may retry.
 */
#ifndef CRM_IDEMPOTENCY_H
#define CRM_IDEMPOTENCY_H

#include <stddef.h>

struct exchange;

/* When the request carries an Idempotency-Key, claims it and returns 1: the
 * route's handler is then called (or a replay or refusal sent) later.
 * Returns 0 when there is no key. */
int idempotency_start(struct exchange *x);

/* Called by exchange_send with the answer. When a key was claimed, stores
 * the answer under it (or releases the key on a 5xx) and returns 1: the
 * answer is sent once it is stored, so that a client who has it and retries
 * gets the replay, never a "still running". Returns 0 when there is nothing
 * to store (send now). */
int idempotency_store(struct exchange *x, int status, const char *content_type, const char *body,
                      size_t len);

#endif
