/*
 * hasher: argon2id (crypto_pwhash_str, INTERACTIVE limits) on a small pool of
 * threads, off the event loops, with a cap on the operations in flight.
 *
 * A worker submits from its loop; the result is delivered back on that same
 * loop (event_active), so callbacks never run on a hashing thread. Stored
 * hashes are checked before they are obeyed: one asking for absurd memory or
 * time is refused. A verify that fails for another reason than a mismatch
 * (out of memory) is reported as such, so it is not taken for a wrong
 * password. Passwords are copied, and wiped once used.
 */
#ifndef CRM_HASHER_H
#define CRM_HASHER_H

#include <sodium.h>
#include <stddef.h>

struct event_base;

enum hasher_op { HASHER_HASH, HASHER_VERIFY };

enum hasher_outcome {
    HASHER_DONE,     /* HASHER_HASH: hash holds the new string */
    HASHER_MATCH,    /* HASHER_VERIFY: the password matches */
    HASHER_MISMATCH, /* HASHER_VERIFY: it does not */
    HASHER_REFUSED,  /* the stored hash is malformed or asks for absurd resources */
    HASHER_ERROR,    /* out of memory, or cancelled at shutdown */
};

struct hasher_result {
    enum hasher_outcome outcome;
    int needs_rehash; /* on a match: the stored parameters are weaker than today's */
    char hash[crypto_pwhash_STRBYTES];
};

typedef void (*hasher_cb)(void *arg, const struct hasher_result *r);

/* Starts the threads. Returns 0, or -1. */
int hasher_start(int threads, int max_in_flight);

/* Stops the threads; pending work must have been cancelled. */
void hasher_stop(void);

/* Queues op. For HASHER_VERIFY, stored is the hash to check against (NULL:
 * check against a dummy hash, so that an unknown user costs the same).
 * Returns 0, or -1 when the cap is reached or out of memory (nothing queued;
 * the caller answers 503). cb runs later on base's loop thread. */
int hasher_submit(struct event_base *base, enum hasher_op op, const char *password, size_t len,
                  const char *stored, hasher_cb cb, void *arg);

/* Fails every operation submitted from base with HASHER_ERROR, now, on the
 * calling (base's) thread: queued, running, or hashed but not yet delivered
 * (and any a callback submits from base meanwhile). Each is answered once and
 * nothing of base is delivered afterwards, so the callbacks' memory may be
 * freed on return; operations already running finish unseen. Call it from
 * base's loop, or once that loop has stopped. */
void hasher_cancel(struct event_base *base);

/* Whether a stored hash is one this service will verify: argon2id, v=19,
 * m <= 256 MiB, t <= 10, one lane, a 16-byte salt (what libsodium writes).
 * Sets *weak when m or t are below today's. */
int hasher_hash_acceptable(const char *stored, int *weak);

#endif
