/*
 * Unit tests of core/offload on a real event loop: run executes off the
 * loop's thread and done back on it; the cap refuses (and leaves the job to
 * the caller); a dropped task never calls done, whether it was queued or
 * running; offload_cancel calls done(cancelled) at once for each task of
 * its loop. Every job is freed exactly once (ASan checks the rest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/offload.h"

static atomic_int jobs_freed;

struct job {
    pthread_t ran_on;
    atomic_int started;
    atomic_int release; /* run waits for it when gated */
    int gated;
    int value;
};

struct seen {
    int done;
    int cancelled;
    int value;
    pthread_t done_on;
    struct event_base *base;
};

static void job_run(void *arg)
{
    struct job *j = arg;
    j->ran_on = pthread_self();
    atomic_store(&j->started, 1);
    while (j->gated && !atomic_load(&j->release))
        usleep(1000);
    j->value = 42;
}

static void job_done(void *arg, void *job, int cancelled)
{
    struct seen *s = arg;
    s->done++;
    s->cancelled = cancelled;
    s->done_on = pthread_self();
    if (job)
        s->value = ((struct job *)job)->value;
    event_base_loopbreak(s->base);
}

static void job_free(void *arg)
{
    atomic_fetch_add(&jobs_freed, 1);
    free(arg);
}

static void run_until(struct event_base *base, int *flag, int ms)
{
    for (int waited = 0; !*flag && waited < ms; waited += 10) {
        struct timeval tv = {0, 10 * 1000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

static void wait_started(struct job *j)
{
    for (int i = 0; i < 5000 && !atomic_load(&j->started); i++)
        usleep(1000);
    assert_true(atomic_load(&j->started));
}

static void test_runs_off_the_loop_and_delivers_on_it(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct seen s = {.base = base};
    struct job *j = calloc(1, sizeof *j);
    int freed = atomic_load(&jobs_freed);
    assert_non_null(offload_submit(base, job_run, job_done, job_free, j, &s));
    run_until(base, &s.done, 5000);
    assert_int_equal(s.done, 1);
    assert_int_equal(s.cancelled, 0);
    assert_int_equal(s.value, 42);
    assert_true(pthread_equal(s.done_on, pthread_self()));
    assert_int_equal(atomic_load(&jobs_freed), freed + 1);
    event_base_free(base);
}

static void test_cap_drop_and_cancel(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    int freed = atomic_load(&jobs_freed);
    /* Two threads, two tasks at most (the first start's sizes stay, so
     * these tests start it themselves first: see main). */
    struct seen s1 = {.base = base}, s2 = {.base = base}, s3 = {.base = base};
    struct job *j1 = calloc(1, sizeof *j1), *j2 = calloc(1, sizeof *j2);
    struct job *j3 = calloc(1, sizeof *j3);
    j1->gated = j2->gated = 1;
    struct offload_task *t1 = offload_submit(base, job_run, job_done, job_free, j1, &s1);
    struct offload_task *t2 = offload_submit(base, job_run, job_done, job_free, j2, &s2);
    assert_non_null(t1);
    assert_non_null(t2);
    /* Full: refused, the job stays ours. */
    assert_null(offload_submit(base, job_run, job_done, job_free, j3, &s3));
    free(j3);
    wait_started(j1);
    wait_started(j2);
    assert_false(pthread_equal(j1->ran_on, pthread_self()));
    /* Dropped while running: done never runs; the thread frees the job. */
    offload_drop(t1);
    atomic_store(&j1->release, 1);
    /* Cancelled while running: done(cancelled) at once, here. */
    offload_cancel(base);
    assert_int_equal(s2.done, 1);
    assert_int_equal(s2.cancelled, 1);
    atomic_store(&j2->release, 1);
    for (int i = 0; i < 5000 && atomic_load(&jobs_freed) < freed + 2; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&jobs_freed), freed + 2);
    assert_int_equal(s1.done, 0);
    /* The cap counts them no more. */
    struct seen s4 = {.base = base};
    struct job *j4 = calloc(1, sizeof *j4);
    assert_non_null(offload_submit(base, job_run, job_done, job_free, j4, &s4));
    run_until(base, &s4.done, 5000);
    assert_int_equal(s4.done, 1);
    event_base_free(base);
}

int main(void)
{
    evthread_use_pthreads();
    if (offload_start(2, 2) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_off_the_loop_and_delivers_on_it),
        cmocka_unit_test(test_cap_drop_and_cancel),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    offload_stop();
    return rc;
}
