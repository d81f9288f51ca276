/*
 * janitor: the service's periodic work, in one place (as PgBouncer's
 * janitor.c): a table of jobs, each a statement of sql/schema/94_schedule.sql
 * looked at on its own timer:
 *
 *   alerts   every CRM_JOBS_TICK_S   the daily alerts digest (once a day, China time)
 *   expiry   every CRM_JOBS_TICK_S   expired sessions and old Idempotency-Keys (once an hour)
 *   scores   every CRM_JOBS_TICK_S   last month's scores frozen (once a month, from
 *                                    day CRM_SCORE_FREEZE_DAY)
 *   stalled  every CRM_STALL_CHECK_S projects without progress marked stalled
 *
 * The first look is 5 s after start (sooner when the interval is shorter);
 * an interval of 0 turns a job off. The database decides whether a look
 * runs the job: each job takes its advisory lock and runs only for a period
 * that job_run does not record as done, so however many workers and
 * processes share the database, a job runs once per period; the answer
 * (ran, skipped, failed) is logged. A failed run is retried at the next
 * look. A look never overlaps the same job's previous one in this process.
 *
 * Each answer also brings every job's record (job_runs()), which /metrics
 * shows through janitor_metrics: read from job_run, it is the truth across
 * processes, at most one look old. It is kept here rather than read by
 * /metrics itself so that /metrics answers without a database connection
 * (while the pool is saturated or the database is down).
 *
 * The server starts one janitor, on its first worker's loop, with that
 * worker's pool (server_app.janitor_start), and stops it when the worker
 * stops. Ownership: the worker holds the janitor; the janitor owns its
 * timers; a job in flight when the janitor stops keeps it alive until the
 * pool answers it (the last answer frees it). The board janitor_metrics
 * reads is the process's, behind a mutex.
 */
#ifndef CRM_JANITOR_H
#define CRM_JANITOR_H

struct worker;
struct janitor;
struct evbuffer;

/* Starts the periodic work on w's loop (before its thread runs, or on it).
 * Returns the janitor, or NULL when out of memory. */
struct janitor *janitor_start(struct worker *w);

/* Stops the timers and frees j, or leaves that to the answer of its last
 * job in flight (on w's thread, or once it has ended). */
void janitor_stop(struct janitor *j);

/* Appends each job's last run, outcome, runs and failures, as last read from
 * job_run, in the Prometheus text format (nothing before the first read).
 * Any thread. */
void janitor_metrics(struct evbuffer *out);

#endif
