/*
 * offload: see offload.h.
 *
 * A task walks QUEUED -> RUNNING -> DONE (its event active on the loop) and
 * is freed by its delivery on the loop. Dropped or cancelled while QUEUED or
 * DONE, the loop frees it at once; while RUNNING it becomes ORPHANED and the
 * thread that runs it frees it when run returns. Every live task is on the
 * `all` list (for cancel), queued ones also on the queue; both under lock.
 */
#include "core/offload.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OFFLOAD_DEFAULT_THREADS 2
#define OFFLOAD_DEFAULT_MAX     64
#define OFFLOAD_NICE            5

enum task_state { TASK_QUEUED, TASK_RUNNING, TASK_DONE, TASK_ORPHANED };

struct offload_task {
    struct offload_task *next;                /* the queue */
    struct offload_task *all_prev, *all_next; /* every live task */
    struct event_base *base;
    struct event *ev;
    enum task_state state;
    offload_run_fn run;
    offload_done_fn done;
    offload_free_fn free_job;
    void *job;
    void *arg;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct offload_task *head, *tail; /* queued */
    struct offload_task *all;
    pthread_t *threads;
    int nthreads;
    int in_flight;
    int max_in_flight;
    int stopping;
} offload = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Under lock. */
static void task_unlink_all(struct offload_task *t)
{
    if (t->all_prev)
        t->all_prev->all_next = t->all_next;
    else
        offload.all = t->all_next;
    if (t->all_next)
        t->all_next->all_prev = t->all_prev;
    t->all_prev = t->all_next = NULL;
}

/* Under lock: takes a queued task off the queue. */
static void task_unqueue(struct offload_task *t)
{
    struct offload_task **link = &offload.head;
    offload.tail = NULL;
    while (*link) {
        if (*link == t)
            *link = t->next;
        else {
            offload.tail = *link;
            link = &(*link)->next;
        }
    }
    t->next = NULL;
}

/* Frees the task and its job (without the lock). */
static void task_free(struct offload_task *t)
{
    if (t->ev)
        event_free(t->ev);
    if (t->free_job)
        t->free_job(t->job);
    free(t);
}

static void *offload_thread(void *unused)
{
    /* Below the event loops: under load the CPU answers requests first. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), OFFLOAD_NICE);
    pthread_mutex_lock(&offload.lock);
    for (;;) {
        while (!offload.head && !offload.stopping)
            pthread_cond_wait(&offload.wake, &offload.lock);
        if (!offload.head)
            break;
        struct offload_task *t = offload.head;
        offload.head = t->next;
        if (!offload.head)
            offload.tail = NULL;
        t->next = NULL;
        t->state = TASK_RUNNING;
        pthread_mutex_unlock(&offload.lock);

        t->run(t->job);

        pthread_mutex_lock(&offload.lock);
        if (t->state == TASK_ORPHANED) {
            /* Dropped or cancelled while it ran: nobody waits for it. */
            pthread_mutex_unlock(&offload.lock);
            task_free(t);
            pthread_mutex_lock(&offload.lock);
        } else {
            t->state = TASK_DONE;
            event_active(t->ev, EV_READ, 0);
        }
    }
    pthread_mutex_unlock(&offload.lock);
    return NULL;
}

/* On the submitting loop: hand the results over, then free everything. */
static void task_deliver(evutil_socket_t fd, short what, void *arg)
{
    struct offload_task *t = arg;
    pthread_mutex_lock(&offload.lock);
    offload.in_flight--;
    task_unlink_all(t);
    pthread_mutex_unlock(&offload.lock);
    t->done(t->arg, t->job, 0);
    task_free(t);
}

/* Under lock. */
static int offload_start_locked(int threads, int max_in_flight)
{
    if (offload.nthreads)
        return 0;
    offload.threads = calloc((size_t)threads, sizeof *offload.threads);
    if (!offload.threads)
        return -1;
    offload.max_in_flight = max_in_flight;
    offload.stopping = 0;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&offload.threads[offload.nthreads], NULL, offload_thread, NULL) != 0)
            break;
        offload.nthreads++;
    }
    return offload.nthreads ? 0 : -1;
}

int offload_start(int threads, int max_in_flight)
{
    pthread_mutex_lock(&offload.lock);
    int rc = offload_start_locked(threads, max_in_flight);
    pthread_mutex_unlock(&offload.lock);
    return rc;
}

void offload_stop(void)
{
    pthread_mutex_lock(&offload.lock);
    offload.stopping = 1;
    pthread_cond_broadcast(&offload.wake);
    int n = offload.nthreads;
    pthread_t *threads = offload.threads;
    pthread_mutex_unlock(&offload.lock);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_lock(&offload.lock);
    free(offload.threads);
    offload.threads = NULL;
    offload.nthreads = 0;
    pthread_mutex_unlock(&offload.lock);
}

struct offload_task *offload_submit(struct event_base *base, offload_run_fn run,
                                    offload_done_fn done, offload_free_fn free_job, void *job,
                                    void *arg)
{
    struct offload_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->base = base;
    t->run = run;
    t->done = done;
    t->free_job = free_job;
    t->job = job;
    t->arg = arg;
    t->ev = event_new(base, -1, 0, task_deliver, t);
    if (!t->ev) {
        free(t);
        return NULL;
    }
    pthread_mutex_lock(&offload.lock);
    if (!offload.nthreads && !offload.stopping)
        offload_start_locked(OFFLOAD_DEFAULT_THREADS, OFFLOAD_DEFAULT_MAX);
    if (offload.stopping || !offload.nthreads || offload.in_flight >= offload.max_in_flight) {
        pthread_mutex_unlock(&offload.lock);
        event_free(t->ev);
        free(t);
        return NULL;
    }
    offload.in_flight++;
    t->state = TASK_QUEUED;
    t->all_next = offload.all;
    if (offload.all)
        offload.all->all_prev = t;
    offload.all = t;
    if (offload.tail)
        offload.tail->next = t;
    else
        offload.head = t;
    offload.tail = t;
    pthread_cond_signal(&offload.wake);
    pthread_mutex_unlock(&offload.lock);
    return t;
}

/* Under lock: takes t out of the pool's hands. Returns 1 when the caller
 * frees it now, 0 when its running thread will. */
static int task_forget_locked(struct offload_task *t)
{
    offload.in_flight--;
    task_unlink_all(t);
    if (t->state == TASK_QUEUED)
        task_unqueue(t);
    if (t->state == TASK_RUNNING) {
        t->state = TASK_ORPHANED;
        /* The thread frees it; its event is the loop's to free, now. */
        event_free(t->ev);
        t->ev = NULL;
        return 0;
    }
    return 1;
}

void offload_drop(struct offload_task *task)
{
    pthread_mutex_lock(&offload.lock);
    int free_now = task_forget_locked(task);
    pthread_mutex_unlock(&offload.lock);
    if (free_now)
        task_free(task);
}

void offload_cancel(struct event_base *base)
{
    for (;;) {
        pthread_mutex_lock(&offload.lock);
        struct offload_task *t = offload.all;
        while (t && t->base != base)
            t = t->all_next;
        if (!t) {
            pthread_mutex_unlock(&offload.lock);
            return;
        }
        offload_done_fn done = t->done;
        void *arg = t->arg;
        int free_now = task_forget_locked(t);
        pthread_mutex_unlock(&offload.lock);
        if (free_now)
            task_free(t);
        done(arg, NULL, 1);
    }
}
