/*
 * sessions: a worker's copies of the sessions PostgreSQL has checked
 * (auth_session), each with the caller it set, the sessions' generation it
 * read in the same snapshot and how long the check may stand (migration
 * 0020, sql/schema/20_identity.sql).
 *
 * While a copy stands, a request of its session sent to the primary sets its
 * caller from the copy (STMT_AUTH_CACHED: a plain statement, a third of
 * auth_session's cost), which PostgreSQL refuses (CRGEN) once the generation
 * has moved; the request then runs again with auth_session
 * (db_job_try_instead). This is exact, not a grace period: a session ended,
 * a user disabled or given another role, unit or name, a unit given another
 * parent all raise the generation when they commit, and a copy stands no
 * longer than the session's lifetime and idle timeout allow, nor than the
 * touch period (so that a session in use is touched as before). A route's
 * roles are checked against the copy's role; a role the route refuses goes
 * to auth_session, which answers 403.
 *
 * A fixed table of SESSIONS_SLOTS slots, a session's slot chosen by its
 * token hash: a new session takes the slot of the one before. Owned by the
 * worker (one thread): no locks; the counters are atomics.
 */
#ifndef CRM_SESSIONS_H
#define CRM_SESSIONS_H

#include <libpq-fe.h>

#include "auth/token.h"

#define SESSIONS_SLOTS 4096

struct session_copy {
    unsigned char th[TOKEN_HASH_BYTES];
    long long until_us; /* it stands until then (monotonic clock); 0: an empty slot */
    unsigned role_bit;  /* auth/roles.h */
    char role[16];
    char user_id[24], unit_id[24], scope_root[24], generation[24];
    char username[72];
};

struct sessions;

struct sessions *sessions_new(void);
void sessions_free(struct sessions *s);

/* The copy of session th that stands at now_us, or NULL. */
const struct session_copy *sessions_find(struct sessions *s, const unsigned char th[TOKEN_HASH_BYTES],
                                         long long now_us);

/* Keeps what auth_session answered (a, its row) for session th, checked by
 * a job sent at sent_us. A result without auth_session's columns (the copy's
 * own statement) or a check that may not stand (fresh_ms 0) is not kept. */
void sessions_keep(struct sessions *s, const unsigned char th[TOKEN_HASH_BYTES], const PGresult *a,
                   long long sent_us);

/* Counters for /metrics, over every worker. */
enum sessions_count {
    SESSIONS_BY_COPY,     /* jobs whose caller is set from a copy */
    SESSIONS_BY_DATABASE, /* jobs whose caller auth_session checks */
    SESSIONS_REFUSED,     /* copies refused (the generation had moved): auth_session ran */
};
void sessions_count(enum sessions_count what);

struct evbuffer;
void sessions_metrics(struct evbuffer *out);

#endif
