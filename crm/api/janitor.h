/*
 * janitor: the service's periodic work, in one place (as PgBouncer's
 * janitor.c). Today one job: the stalled-project sweep, which runs
 * project_mark_stalled every CRM_STALL_CHECK_S seconds (the first time 5 s
 * after start; never when 0): the rule is the database's, the service only
 * runs it now and then. A job that joins gets its timer here.
 *
 * The server starts one janitor, on its first worker's loop, with that
 * worker's pool (server_app.janitor_start), and stops it when the worker
 * stops. Ownership: the worker holds the janitor; the janitor owns its
 * timers; a sweep's database job belongs to the pool and refers to nothing
 * the janitor frees.
 */
#ifndef CRM_JANITOR_H
#define CRM_JANITOR_H

struct worker;
struct janitor;

/* Starts the periodic work on w's loop (before its thread runs, or on it).
 * Returns the janitor, or NULL when out of memory. */
struct janitor *janitor_start(struct worker *w);

/* Stops the timers and frees j (on w's thread, or once it has ended). */
void janitor_stop(struct janitor *j);

#endif
