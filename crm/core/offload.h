/*
 * offload: work that would stall an event loop (reading an imported ledger,
 * building an export file, resolving a host name) on a small pool of
 * threads, with a cap on the tasks queued or running.
 *
 * A loop submits a task; its run function executes on a pool thread, then
 * its done function runs back on the submitting loop (event_active), as the
 * hasher does: done never runs on a pool thread, run never on a loop.
 *
 * Ownership: a task carries a job, the only memory run may touch (the
 * submitter fills it, run reads it and writes its results, done reads
 * them). Whatever happens to the task, free_job is called exactly once,
 * when neither side needs the job any more (after done, or on the pool
 * thread when the task was forgotten while it ran). arg is the submitter's
 * (an exchange, a pool) and is only ever handed to done, on the loop.
 */
#ifndef CRM_OFFLOAD_H
#define CRM_OFFLOAD_H

struct event_base;
struct offload_task;

typedef void (*offload_run_fn)(void *job);
/* cancelled: the task was cancelled (offload_cancel): job is NULL then, and
 * its results must not be awaited. */
typedef void (*offload_done_fn)(void *arg, void *job, int cancelled);
typedef void (*offload_free_fn)(void *job);

/* Starts threads threads taking at most max_in_flight tasks queued or
 * running. Returns 0 (also when already started: the first start's sizes
 * stay), or -1. */
int offload_start(int threads, int max_in_flight);

/* Stops and joins the threads; every task must have been delivered or
 * cancelled. */
void offload_stop(void);

/* Queues run(job) for base's loop, starting the threads with small default
 * sizes if offload_start has not run. Returns the task, which the caller
 * may keep for offload_drop; or NULL when the cap is reached, the pool is
 * stopping or memory ran out: nothing is queued and the job stays the
 * caller's. */
struct offload_task *offload_submit(struct event_base *base, offload_run_fn run,
                                    offload_done_fn done, offload_free_fn free_job, void *job,
                                    void *arg);

/* Forgets a task whose done has not run, on its loop's thread: done will
 * not run, and the job is freed now or, if it is running, by its thread. */
void offload_drop(struct offload_task *task);

/* Calls done(arg, NULL, 1) now, on the calling (base's) thread, for every
 * task submitted from base and not yet delivered: for a worker that stops. */
void offload_cancel(struct event_base *base);

#endif
