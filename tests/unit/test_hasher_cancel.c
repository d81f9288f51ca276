/*
 * Unit tests of auth/hasher's cancel path (issue 13, item 6), on real event
 * loops and one hashing thread:
 *
 * - tasks cancelled while queued and one cancelled while it hashes are each
 *   answered exactly once, at once, with HASHER_ERROR; nothing is delivered
 *   for them afterwards, although the loop runs on past the end of the
 *   orphaned hash (their callbacks' memory is freed right after the cancel,
 *   as a worker frees its exchanges: a late delivery is a use after free
 *   under ASan); their places under the cap are given back;
 * - a cancel touches only the tasks of its own loop;
 * - what is not cancelled is delivered once, on the loop, with the right
 *   outcome (a hash that verifies, a match, a mismatch, a refused hash).
 *
 * Leaks (a cancelled task, its password copy, its event) are LeakSanitizer's
 * to find when the program ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_clock_net.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/hasher.h"

#define CANCEL_CAP 4

/* Verified against, it keeps the one thread busy for a second or so:
 * 128 MiB, 10 passes (within what the hasher accepts), a zero salt and a
 * digest no password gives. */
static const char slow_stored[] = "$argon2id$v=19$m=131072,t=10,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
                                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/* What a callback saw; heap-allocated, freed by the test once answered. */
struct seen {
    int calls;
    enum hasher_outcome outcome;
    int needs_rehash;
    pthread_t on;
    char hash[crypto_pwhash_STRBYTES];
};

static void cancel_on_result(void *arg, const struct hasher_result *r)
{
    struct seen *s = arg;
    s->calls++;
    s->outcome = r->outcome;
    s->needs_rehash = r->needs_rehash;
    s->on = pthread_self();
    memcpy(s->hash, r->hash, sizeof s->hash);
}

static struct seen *seen_new(void)
{
    struct seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    return s;
}

/* Runs base's loop for ms. */
static void cancel_run_for(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Runs base's loop until every one of n records was called, or ms pass. */
static void cancel_run_until_called(struct event_base *base, struct seen **s, int n, int ms)
{
    long long end = test_now_ms() + ms;
    for (;;) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= s[i]->calls > 0;
        if (all || test_now_ms() >= end)
            return;
        cancel_run_for(base, 20);
    }
}

static int cancel_submit_hash(struct event_base *base, const char *pw, struct seen *s)
{
    return hasher_submit(base, HASHER_HASH, pw, strlen(pw), NULL, cancel_on_result, s);
}

static int cancel_submit_slow(struct event_base *base, struct seen *s)
{
    return hasher_submit(base, HASHER_VERIFY, "password", 8, slow_stored, cancel_on_result, s);
}

static int cancel_setup(void **state)
{
    (void)state;
    return hasher_start(1, CANCEL_CAP);
}

static int cancel_teardown(void **state)
{
    (void)state;
    hasher_stop();
    return 0;
}

static void test_slow_stored_is_acceptable(void **state)
{
    (void)state;
    int weak = -1;
    /* Else the slow verify would be refused at once and hash nothing. */
    assert_int_equal(hasher_hash_acceptable(slow_stored, &weak), 1);
    assert_int_equal(weak, 0);
}

static void test_cancel_queued_and_running(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    assert_non_null(base);

    /* One task on the one thread, three queued behind it: the cap. */
    struct seen *running = seen_new();
    assert_int_equal(cancel_submit_slow(base, running), 0);
    usleep(150 * 1000); /* the thread has taken it */
    struct seen *queued[3];
    for (int i = 0; i < 3; i++) {
        queued[i] = seen_new();
        assert_int_equal(cancel_submit_hash(base, "queued password", queued[i]), 0);
    }
    struct seen *refused = seen_new();
    assert_int_equal(cancel_submit_hash(base, "over the cap", refused), -1);

    pthread_t self = pthread_self();
    long long before = test_now_ms();
    hasher_cancel(base);
    /* At once (not after the slow hash), once each, as errors, here. */
    assert_true(test_now_ms() - before < 300);
    struct seen *all[] = {running, queued[0], queued[1], queued[2]};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(all[i]->calls, 1);
        assert_int_equal(all[i]->outcome, HASHER_ERROR);
        assert_true(pthread_equal(all[i]->on, self));
        free(all[i]); /* answered: the exchange behind it is gone */
    }
    assert_int_equal(refused->calls, 0);
    free(refused);

    /* The cap is whole again: four more are taken (behind the orphaned
     * slow hash, which the thread finishes first), a fifth is not. */
    struct seen *next[CANCEL_CAP];
    for (int i = 0; i < CANCEL_CAP; i++) {
        next[i] = seen_new();
        assert_int_equal(cancel_submit_hash(base, "after the cancel", next[i]), 0);
    }
    struct seen *over = seen_new();
    assert_int_equal(cancel_submit_hash(base, "over the cap", over), -1);

    /* The loop runs past the end of the orphaned hash and of the new ones:
     * only the new ones are delivered, each once. */
    cancel_run_until_called(base, next, CANCEL_CAP, 30000);
    cancel_run_for(base, 200);
    for (int i = 0; i < CANCEL_CAP; i++) {
        assert_int_equal(next[i]->calls, 1);
        assert_int_equal(next[i]->outcome, HASHER_DONE);
        assert_true(pthread_equal(next[i]->on, self));
        assert_int_equal(crypto_pwhash_str_verify(next[i]->hash, "after the cancel", 16), 0);
        free(next[i]);
    }
    assert_int_equal(over->calls, 0);
    free(over);
    /* Nothing left in flight: the whole cap is free. */
    struct seen *last[CANCEL_CAP];
    for (int i = 0; i < CANCEL_CAP; i++) {
        last[i] = seen_new();
        assert_int_equal(cancel_submit_hash(base, "last", last[i]), 0);
    }
    hasher_cancel(base);
    for (int i = 0; i < CANCEL_CAP; i++) {
        assert_int_equal(last[i]->calls, 1);
        assert_int_equal(last[i]->outcome, HASHER_ERROR);
        free(last[i]);
    }
    cancel_run_for(base, 300);
    event_base_free(base);
}

static void test_cancel_spares_other_loops(void **state)
{
    (void)state;
    struct event_base *a = event_base_new(), *b = event_base_new();
    assert_non_null(a);
    assert_non_null(b);
    struct seen *sa = seen_new(), *sb = seen_new();
    assert_int_equal(cancel_submit_slow(a, sa), 0);
    usleep(100 * 1000);
    assert_int_equal(cancel_submit_hash(b, "other loop", sb), 0);

    hasher_cancel(a);
    assert_int_equal(sa->calls, 1);
    assert_int_equal(sa->outcome, HASHER_ERROR);
    assert_int_equal(sb->calls, 0); /* b's task is b's */
    free(sa);

    cancel_run_until_called(b, &sb, 1, 30000);
    assert_int_equal(sb->calls, 1);
    assert_int_equal(sb->outcome, HASHER_DONE);
    assert_int_equal(crypto_pwhash_str_verify(sb->hash, "other loop", 10), 0);
    /* Cancelling a loop with nothing left is harmless. */
    hasher_cancel(b);
    assert_int_equal(sb->calls, 1);
    free(sb);
    cancel_run_for(a, 100);
    event_base_free(a);
    event_base_free(b);
}

static void test_delivered_outcomes(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    assert_non_null(base);
    struct seen *h = seen_new();
    assert_int_equal(cancel_submit_hash(base, "correct horse", h), 0);
    cancel_run_until_called(base, &h, 1, 30000);
    assert_int_equal(h->calls, 1);
    assert_int_equal(h->outcome, HASHER_DONE);
    assert_true(pthread_equal(h->on, pthread_self()));

    struct seen *match = seen_new(), *mismatch = seen_new(), *refused = seen_new(),
                *unknown = seen_new();
    assert_int_equal(
        hasher_submit(base, HASHER_VERIFY, "correct horse", 13, h->hash, cancel_on_result, match),
        0);
    assert_int_equal(hasher_submit(base, HASHER_VERIFY, "correct horsf", 13, h->hash,
                                   cancel_on_result, mismatch),
                     0);
    /* Absurd memory: refused without being computed. */
    assert_int_equal(hasher_submit(base, HASHER_VERIFY, "x", 1,
                                   "$argon2id$v=19$m=4194304,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
                                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                   cancel_on_result, refused),
                     0);
    /* No stored hash (no such user): a mismatch after the same work. */
    assert_int_equal(hasher_submit(base, HASHER_VERIFY, "x", 1, NULL, cancel_on_result, unknown),
                     0);
    struct seen *all[] = {match, mismatch, refused, unknown};
    cancel_run_until_called(base, all, 4, 30000);
    cancel_run_for(base, 100);
    assert_int_equal(match->calls, 1);
    assert_int_equal(match->outcome, HASHER_MATCH);
    assert_int_equal(match->needs_rehash, 0);
    assert_int_equal(mismatch->calls, 1);
    assert_int_equal(mismatch->outcome, HASHER_MISMATCH);
    assert_int_equal(refused->calls, 1);
    assert_int_equal(refused->outcome, HASHER_REFUSED);
    assert_int_equal(unknown->calls, 1);
    assert_int_equal(unknown->outcome, HASHER_MISMATCH);
    for (int i = 0; i < 4; i++)
        free(all[i]);
    free(h);
    event_base_free(base);
}

int main(void)
{
    evthread_use_pthreads();
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_stored_is_acceptable),
        cmocka_unit_test(test_cancel_queued_and_running),
        cmocka_unit_test(test_cancel_spares_other_loops),
        cmocka_unit_test(test_delivered_outcomes),
    };
    return cmocka_run_group_tests(tests, cancel_setup, cancel_teardown);
}
