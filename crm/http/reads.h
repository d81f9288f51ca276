/*
 * reads: which database a read goes to when replicas serve reads
 * (CRM_DATABASE_READ_URL), so that a caller always sees their own writes.
 *
 * Routes marked as reads (route.reads: lists, figures, exports) go to the
 * worker's replica pool, with the caller's session checked there by
 * auth_session_at and a WAL position: the replica answers only once it has
 * replayed the primary's WAL that far, else it refuses (CRLAG) and the pool
 * sends the job to the primary (db_job_set_fallback), as it does when the
 * replica cannot be reached.
 *
 * The position of a session is the first sample of the primary's WAL
 * position (pg_current_wal_insert_lsn, asked by the first worker every
 * READS_SAMPLE_MS) asked after the session's last write was answered: a
 * position past that write's commit record. The insert position, not the
 * write position: a commit is not always flushed when it returns (one that
 * wrote no row, or under synchronous_commit = off), and the write position
 * can then be short of it. Until such a sample exists, the
 * session's reads go to the primary. So they do for a session this process
 * has not sent to the primary within the touch period (auth_session touches
 * a session there, at most once a period; a replica cannot write), and for
 * one it does not know (its writes may have gone through another crm).
 *
 * Waiting on the replica instead would hold a connection of the replica
 * while it catches up; the primary answers at once, and a caller reads from
 * it only for the few milliseconds after their own write.
 *
 * The sessions (up to READS_SESSIONS, by token hash) and the samples are
 * shared by the workers under one mutex. A session that finds no room goes
 * to the primary. Only a session whose check passed on the primary is
 * remembered, so tokens that are not sessions fill nothing.
 */
#ifndef CRM_READS_H
#define CRM_READS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/token.h"

#define READS_SAMPLE_MS 50
#define READS_LSN_TEXT  32

struct reads;

/* Counters for /metrics, readable from any thread. */
struct reads_stats {
    _Atomic long replica;   /* reads sent to a replica */
    _Atomic long primary;   /* reads kept on the primary (the rules above) */
    _Atomic long fell_back; /* reads a replica could not serve, then run on the primary */
};

/* A table for sessions whose idle timeout is idle_s. NULL when out of memory. */
struct reads *reads_new(int idle_s);
void reads_free(struct reads *r);
struct reads_stats *reads_stats(struct reads *r);

/* Whether a read of session th at now_us may go to a replica: 1, with the
 * WAL position the replica must have replayed in lsn (READS_LSN_TEXT bytes);
 * 0 for the primary. */
int reads_route(struct reads *r, const unsigned char th[TOKEN_HASH_BYTES], long long now_us,
                char *lsn);

/* A job of session th that the primary answered (its session check passed):
 * sent at sent_us, answered at now_us; wrote: it was a write (any method
 * but GET and HEAD). */
void reads_on_primary(struct reads *r, const unsigned char th[TOKEN_HASH_BYTES], long long sent_us,
                      int wrote, long long now_us);

/* Writes the counters, and the replicas' connections ready (pools: the
 * workers' replica pools), as Prometheus text. */
struct evbuffer;
struct db_pool_stats;
void reads_metrics(struct reads *r, struct evbuffer *out, const struct db_pool_stats *const *pools,
                   size_t npools);

/* The primary's WAL position (text, as pg_current_wal_insert_lsn gives it), asked
 * at asked_us. Ignored when it does not parse. */
void reads_sample(struct reads *r, long long asked_us, const char *lsn);

#endif
