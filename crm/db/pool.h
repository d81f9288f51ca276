/*
 * pool: a worker's non-blocking PostgreSQL connections.
 *
 * One pool belongs to one event_base (one worker thread) and is used only
 * from that thread. Connections are opened with PQconnectStartParams and
 * PQconnectPoll, run in non-blocking pipeline mode, and prepare every
 * statement of the registry once, right after connecting. No call here ever
 * waits on the network: results are read when the socket is readable.
 *
 * A job is a short list of prepared-statement executions followed by one
 * Sync, so its statements run in one implicit transaction and cost one round
 * trip; several jobs are pipelined on one connection (up to the configured
 * depth). Jobs that find no connection wait in a bounded queue; a full queue,
 * a wait past the timeout, a lost connection and shutdown all fail the job
 * through its callback, which is called exactly once.
 *
 * A frozen database (alive but silent: a stopped server, a peer that drops
 * packets) is noticed by deadlines rather than waited out: a connection
 * whose oldest job has no answer within the job deadline, or that is not
 * ready within the connect deadline, is dropped (its jobs fail with
 * DB_FAIL_CONNECTION) and reconnected on the timer; TCP keepalives find a
 * dead peer under an idle connection. While no connection is live after such
 * a failure, new jobs fail at once; db_pool_health() says why, for /readyz.
 *
 * A host name is resolved when the pool is created (before the loop runs),
 * and again on the offload threads when that fails or a connection attempt
 * does; libpq is only ever given the address, so no connection attempt
 * resolves a name on the loop.
 *
 * Ownership: db_submit() takes the job. The callback gets a db_result whose
 * PGresults belong to the pool and are cleared after the callback returns
 * (a callback that wants one may take it and set the slot to NULL).
 */
#ifndef CRM_DB_POOL_H
#define CRM_DB_POOL_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stddef.h>

struct event_base;
struct db_pool;
struct db_job;

#define DB_JOB_MAX_CALLS   8
#define DB_CALL_MAX_PARAMS 16

/* One prepared statement of the registry: its index is its id. */
/* A prepared statement of the registry. A slot with no sql (NULL) is one
 * the registry's layout leaves empty: it is not prepared and never run. */
struct db_statement {
    const char *name;
    const char *sql;
};

struct db_pool_config {
    const char *conninfo; /* URL or key=value string */
    int size;             /* connections */
    int pipeline_depth;   /* jobs in flight per connection */
    int queue_max;        /* jobs waiting for a connection */
    int queue_timeout_ms;
    int statement_timeout_ms;
    int reconnect_ms;
    int job_timeout_ms;     /* longest wait for a job's answer once it is the connection's
                               oldest, then the connection is dropped; 0: the statement
                               timeout plus 1000 */
    int connect_timeout_ms; /* longest wait for a new connection to be ready; 0: 5000 */
    int keepalive_s;        /* TCP keepalive idle time (libpq's keepalives_idle; the URL's own
                               keepalive parameters win); 0: the system's settings */
    int spread_hosts;       /* with several hosts, connection i tries them from the
                               (host_offset + i)-th on: the pool's connections spread over
                               them (libpq takes the first that fits target_session_attrs) */
    int host_offset;
    const char *settings; /* more server settings for each connection ("-c name=value ..."),
                             or NULL */
};

/* Why the pool cannot serve, as far as it knows. */
enum db_health {
    DB_HEALTH_UP,            /* no failure since a connection was last ready */
    DB_HEALTH_UNREACHABLE,   /* the last connection attempt failed (refused, no such host) */
    DB_HEALTH_NOT_ANSWERING, /* connecting or a job outlived its deadline: a silent database */
};

enum db_failure {
    DB_OK = 0,
    DB_FAIL_QUERY,      /* PostgreSQL answered an error: see sqlstate */
    DB_FAIL_QUEUE_FULL, /* too many jobs waiting */
    DB_FAIL_TIMEOUT,    /* waited too long for a connection */
    DB_FAIL_CONNECTION, /* the connection was lost or went silent with the job in flight, or
                           the database is known unreachable or silent */
    DB_FAIL_SHUTDOWN,   /* the pool is being freed */
    DB_FAIL_MEMORY,
};

struct db_result {
    enum db_failure failure;
    int ncalls;
    PGresult *results[DB_JOB_MAX_CALLS]; /* one per call; NULL for aborted calls */
    const char *sqlstate;                /* on DB_FAIL_QUERY: five characters */
    const char *message;                 /* internal: for logs only, never for clients */
    const char *primary;                 /* on DB_FAIL_QUERY: the primary message, or "" */
    const char *column;                  /* the column an error names, or "" */
    const char *constraint;              /* the constraint an error names, or "" */
    int fell_back;                       /* the job ran on its fallback pool */
    int ran_as_was;                      /* it ran again as it was (db_job_try_instead) */
};

typedef void (*db_done_cb)(void *arg, struct db_result *result);

/* Counters readable from any thread (relaxed atomics). */
struct db_pool_stats {
    _Atomic long connections; /* configured */
    _Atomic long ready;       /* connected and prepared */
    _Atomic long busy;        /* ready with at least one job in flight */
    _Atomic long waiting;     /* jobs queued for a connection */
    _Atomic long errors;      /* query errors and lost connections, cumulative */
    _Atomic long rejected;    /* jobs failed by queue full or timeout, cumulative */
};

/* Starts connecting at once. Returns NULL when out of memory. May block
 * resolving the URL's host name: call it before the loop runs. The statement
 * array and stats (which the caller owns, zeroed, so that other threads may
 * read it whatever happens to the pool) must outlive the pool. */
struct db_pool *db_pool_new(struct event_base *base, const struct db_pool_config *cfg,
                            const struct db_statement *statements, size_t nstatements,
                            struct db_pool_stats *stats);

/* Fails every queued and in-flight job with DB_FAIL_SHUTDOWN (their callbacks
 * run here), closes the connections and frees the pool. */
void db_pool_free(struct db_pool *pool);

/* A listener of notifications (LISTEN/NOTIFY). The pool's first connection
 * runs the statements (each a LISTEN of the registry: the extended protocol
 * prepares a utility statement like any other) every time it is ready,
 * after each reconnection too, then calls on_listening; from then on each
 * notification read on it goes to on_notify (channel and payload belong to
 * the pool, valid during the call). A notification sent while the
 * connection was down is lost: on_listening is where the listener catches
 * up. All callbacks run on the pool's loop. */
struct db_pool_listen {
    const int *statements; /* registry ids, outliving the pool */
    size_t count;          /* at most DB_JOB_MAX_CALLS */
    void (*on_notify)(void *arg, const char *channel, const char *payload);
    void (*on_listening)(void *arg);
    void *arg;
};

/* Makes the pool listen as l says (copied), at once if its first connection
 * is ready. One listener per pool. */
void db_pool_listen(struct db_pool *pool, const struct db_pool_listen *l);

/* Jobs in flight or queued. */
size_t db_pool_pending(const struct db_pool *pool);

/* What the pool last learnt of the database (on the pool's thread). */
enum db_health db_pool_health(const struct db_pool *pool);

/* A new empty job. Returns NULL when out of memory. */
struct db_job *db_job_new(db_done_cb cb, void *arg);

/* Appends the execution of statement stmt with text parameters (NULL values
 * are SQL NULL); the values are copied. Returns 0, or -1 when the job is full
 * or out of memory (the job is then marked failed with DB_FAIL_MEMORY and
 * db_submit() will fail it). */
int db_job_add(struct db_job *job, int stmt, int nparams, const char *const *values);

/* Makes the job settle an Idempotency-Key in its own transaction: each call
 * whose statement has a keeper (keeper(stmt) >= 0) runs the keeper instead,
 * with key as one more parameter, and a last call written_stmt(key) is
 * added. Out of room or memory, the job fails when submitted
 * (DB_FAIL_MEMORY), as db_job_add's do. */
void db_job_keep(struct db_job *job, const char *key, int (*keeper)(int stmt), int written_stmt);

/* Gives the job a second chance on fallback (a replica's job, the primary):
 * instead of failing, it is submitted there once when its own pool cannot
 * run it (no live connection, queue full or timed out, its connection lost
 * before the answer) or when PostgreSQL answers one of states (SQLSTATEs,
 * NULL-terminated, outliving the job), its results so far dropped. Both
 * pools must be on the job's loop. db_result.fell_back tells the callback. */
void db_job_set_fallback(struct db_job *job, struct db_pool *fallback, const char *const *states);

/* Makes call run statement stmt with values (nparams, copied) instead,
 * keeping the call as it was: when PostgreSQL answers state (an SQLSTATE
 * outliving the job), the job is submitted to pool once more as it was,
 * its results so far dropped (a cheaper form of a call that may refuse).
 * Returns 0, or -1 when there is no such call, it was replaced already or
 * memory ran out (the job is then as it was). */
int db_job_try_instead(struct db_job *job, struct db_pool *pool, int call, int stmt, int nparams,
                       const char *const *values, const char *state);

/* Makes call run statement stmt instead, with extra (copied) as one more
 * parameter when not NULL. Returns 0, or -1 when there is no such call or
 * room (the job then fails when submitted, as db_job_add's do). */
int db_job_retarget(struct db_job *job, int call, int stmt, const char *extra);

/* Lets this job's statements run up to ms (a longer statement timeout the
 * job itself sets in PostgreSQL): its deadline becomes ms plus a second, and
 * its connection takes no other job meanwhile, so that short requests never
 * queue behind it. */
void db_job_set_timeout(struct db_job *job, int ms);

/* Sends or queues the job; the pool owns it from here. The callback may run
 * before db_submit returns (queue full): the caller must not touch anything
 * the callback frees after this call. */
void db_submit(struct db_pool *pool, struct db_job *job);

/* Fails a job that was never submitted: its callback runs with failure,
 * then the job is freed. */
void db_job_fail(struct db_job *job, enum db_failure failure);

/* Text of field (row, col) or NULL for SQL NULL; "" when out of range. */
const char *db_value(const PGresult *res, int row, int col);

#endif
