/*
 * Unit test of auth/hasher's cancel path for a task that has finished
 * hashing but is not yet delivered (its event is active on a loop that has
 * not run since): hasher_cancel answers it once, with HASHER_ERROR, at once,
 * and nothing is delivered afterwards. Before the fix (issue 13, item 6) such
 * a task was in neither the queue nor the running slots: it was delivered
 * later with its real outcome if the loop ran again (after the caller may
 * have freed what the callback uses), or leaked with its password copy, its
 * event and its place under the cap if the loop never ran again
 * (worker_cleanup: hasher_cancel, then event_base_free).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_clock_net.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/hasher.h"

struct seen {
    int calls;
    enum hasher_outcome outcome;
};

static void done_on_result(void *arg, const struct hasher_result *r)
{
    struct seen *s = arg;
    s->calls++;
    s->outcome = r->outcome;
}

static void test_cancel_finished_undelivered(void **state)
{
    (void)state;
    assert_int_equal(hasher_start(1, 4), 0);
    struct event_base *base = event_base_new(), *probe = event_base_new();
    assert_non_null(base);
    assert_non_null(probe);

    /* Our task, then one on another loop: with one thread they run in
     * order, so once the probe's is delivered ours has finished hashing
     * (and its event is active on base, whose loop has not run). */
    struct seen *ours = calloc(1, sizeof *ours), probe_seen = {0};
    assert_non_null(ours);
    assert_int_equal(hasher_submit(base, HASHER_HASH, "pw", 2, NULL, done_on_result, ours), 0);
    assert_int_equal(hasher_submit(probe, HASHER_HASH, "pw", 2, NULL, done_on_result, &probe_seen),
                     0);
    long long end = test_now_ms() + 30000;
    while (!probe_seen.calls && test_now_ms() < end) {
        struct timeval tv = {0, 20 * 1000};
        event_base_loopexit(probe, &tv);
        event_base_dispatch(probe);
    }
    assert_int_equal(probe_seen.calls, 1);
    assert_int_equal(ours->calls, 0);

    /* The worker stops: everything of base is answered now, as errors. */
    hasher_cancel(base);
    assert_int_equal(ours->calls, 1);
    assert_int_equal(ours->outcome, HASHER_ERROR);
    free(ours);
    /* Whatever base's loop still holds must not reach the freed record. */
    struct timeval tv = {0, 100 * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    event_base_free(base);
    event_base_free(probe);
    hasher_stop();
}

int main(void)
{
    evthread_use_pthreads();
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_finished_undelivered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
