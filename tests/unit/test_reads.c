/*
 * Unit tests of http/reads: where a read goes when replicas serve reads.
 * A session goes to a replica only once the primary has answered it within
 * the touch period and a sample of the primary's WAL position was asked
 * after its last write; the position given is that first later sample's.
 * Unknown sessions, sessions past the touch period and sessions without a
 * later sample go to the primary; a full table sends newcomers there too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/reads.h"

#define S 1000000LL /* a second, in µs */

static void token(unsigned char th[TOKEN_HASH_BYTES], unsigned seed)
{
    for (int i = 0; i < TOKEN_HASH_BYTES; i++)
        th[i] = (unsigned char)(seed * 131u + (unsigned)i * 7u + (seed >> 8));
}

static void test_unknown_session_reads_on_the_primary(void **state)
{
    (void)state;
    struct reads *r = reads_new(1800);
    unsigned char th[TOKEN_HASH_BYTES];
    token(th, 1);
    char lsn[READS_LSN_TEXT];
    reads_sample(r, 5 * S, "0/100");
    assert_int_equal(reads_route(r, th, 6 * S, lsn), 0);
    assert_int_equal(reads_stats(r)->primary, 1);
    reads_free(r);
}

static void test_a_session_reads_on_a_replica_after_the_next_sample(void **state)
{
    (void)state;
    struct reads *r = reads_new(1800);
    unsigned char th[TOKEN_HASH_BYTES];
    token(th, 2);
    char lsn[READS_LSN_TEXT] = "";
    reads_sample(r, 9 * S, "0/90");
    /* First met at 10 s: it may have written just before. */
    reads_on_primary(r, th, 10 * S, 0, 10 * S);
    assert_int_equal(reads_route(r, th, 10 * S + 10, lsn), 0);
    reads_sample(r, 10 * S + 50000, "1A/2B3C");
    reads_sample(r, 10 * S + 100000, "1A/FFFF");
    assert_int_equal(reads_route(r, th, 10 * S + 120000, lsn), 1);
    assert_string_equal(lsn, "1A/2B3C");
    assert_int_equal(reads_stats(r)->replica, 1);
    reads_free(r);
}

static void test_a_write_needs_a_sample_asked_after_its_answer(void **state)
{
    (void)state;
    struct reads *r = reads_new(1800);
    unsigned char th[TOKEN_HASH_BYTES];
    token(th, 3);
    char lsn[READS_LSN_TEXT] = "";
    reads_on_primary(r, th, 1 * S, 0, 1 * S);
    reads_sample(r, 2 * S, "0/200");
    assert_int_equal(reads_route(r, th, 3 * S, lsn), 1);
    assert_string_equal(lsn, "0/200");
    /* A write sent at 4 s, answered at 4.5 s: a sample asked at 4.2 s is
     * too early, one asked at 4.6 s is the one. */
    reads_sample(r, 4 * S + 200000, "0/300");
    reads_on_primary(r, th, 4 * S, 1, 4 * S + 500000);
    assert_int_equal(reads_route(r, th, 4 * S + 550000, lsn), 0);
    reads_sample(r, 4 * S + 600000, "0/400");
    reads_sample(r, 4 * S + 700000, "0/500");
    assert_int_equal(reads_route(r, th, 4 * S + 800000, lsn), 1);
    assert_string_equal(lsn, "0/400");
    /* A read keeps its position until the next write. */
    reads_sample(r, 5 * S, "0/600");
    assert_int_equal(reads_route(r, th, 5 * S + 1, lsn), 1);
    assert_string_equal(lsn, "0/400");
    reads_free(r);
}

static void test_the_primary_once_a_touch_period(void **state)
{
    (void)state;
    struct reads *r = reads_new(1800); /* touch period: 30 s */
    unsigned char th[TOKEN_HASH_BYTES];
    token(th, 4);
    char lsn[READS_LSN_TEXT];
    reads_on_primary(r, th, 100 * S, 0, 100 * S);
    reads_sample(r, 101 * S, "0/10");
    assert_int_equal(reads_route(r, th, 129 * S, lsn), 1);
    assert_int_equal(reads_route(r, th, 131 * S, lsn), 0);
    reads_on_primary(r, th, 131 * S, 0, 131 * S + 1000);
    assert_int_equal(reads_route(r, th, 132 * S, lsn), 1);
    assert_string_equal(lsn, "0/10");
    reads_free(r);
}

static void test_short_idle_timeouts_touch_more_often(void **state)
{
    (void)state;
    struct reads *r = reads_new(20); /* touch period: 2 s */
    unsigned char th[TOKEN_HASH_BYTES];
    token(th, 5);
    char lsn[READS_LSN_TEXT];
    reads_on_primary(r, th, 1 * S, 0, 1 * S);
    reads_sample(r, 1 * S + 1, "0/1");
    assert_int_equal(reads_route(r, th, 2 * S, lsn), 1);
    assert_int_equal(reads_route(r, th, 3 * S + 1, lsn), 0);
    reads_free(r);
}

static void test_samples_gone_from_the_ring_give_a_later_position(void **state)
{
    (void)state;
    struct reads *r = reads_new(1800);
    unsigned char th[TOKEN_HASH_BYTES];
    token(th, 6);
    char lsn[READS_LSN_TEXT];
    reads_on_primary(r, th, 1 * S, 1, 1 * S);
    char text[32];
    for (int i = 1; i <= 200; i++) {
        snprintf(text, sizeof text, "0/%X", i * 16);
        reads_sample(r, 1 * S + i * 50000LL, text);
    }
    /* The first sample after the write (0/10) has left the ring: the
     * oldest kept is later, which is safe. */
    assert_int_equal(reads_route(r, th, 11 * S, lsn), 1);
    assert_string_not_equal(lsn, "0/10");
    unsigned hi, lo;
    assert_int_equal(sscanf(lsn, "%X/%X", &hi, &lo), 2);
    assert_true(lo > 0x10 && lo <= 200 * 16);
    reads_free(r);
}

static void test_unparsable_samples_are_ignored(void **state)
{
    (void)state;
    struct reads *r = reads_new(1800);
    unsigned char th[TOKEN_HASH_BYTES];
    token(th, 7);
    char lsn[READS_LSN_TEXT];
    reads_on_primary(r, th, 1 * S, 0, 1 * S);
    reads_sample(r, 2 * S, NULL);
    reads_sample(r, 2 * S, "");
    reads_sample(r, 2 * S, "0/0");
    reads_sample(r, 2 * S, "12");
    reads_sample(r, 2 * S, "1/2x");
    assert_int_equal(reads_route(r, th, 3 * S, lsn), 0);
    reads_free(r);
}

static void test_a_full_neighbourhood_sends_newcomers_to_the_primary(void **state)
{
    (void)state;
    struct reads *r = reads_new(1800);
    char lsn[READS_LSN_TEXT];
    /* Tokens whose first eight bytes are equal all want the same slot. */
    unsigned char th[TOKEN_HASH_BYTES];
    int kept = 0;
    for (int i = 0; i < 40; i++) {
        memset(th, 0xAB, sizeof th);
        th[TOKEN_HASH_BYTES - 1] = (unsigned char)i;
        reads_on_primary(r, th, 1 * S, 0, 1 * S);
    }
    reads_sample(r, 2 * S, "0/20");
    for (int i = 0; i < 40; i++) {
        memset(th, 0xAB, sizeof th);
        th[TOKEN_HASH_BYTES - 1] = (unsigned char)i;
        kept += reads_route(r, th, 3 * S, lsn);
    }
    assert_true(kept > 0 && kept < 40);
    /* Once the sessions kept have been idle past the timeout, their slots
     * go to others. */
    memset(th, 0xAB, sizeof th);
    th[TOKEN_HASH_BYTES - 1] = 200;
    reads_on_primary(r, th, 3000 * S, 0, 3000 * S);
    reads_sample(r, 3001 * S, "0/30");
    assert_int_equal(reads_route(r, th, 3002 * S, lsn), 1);
    reads_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_session_reads_on_the_primary),
        cmocka_unit_test(test_a_session_reads_on_a_replica_after_the_next_sample),
        cmocka_unit_test(test_a_write_needs_a_sample_asked_after_its_answer),
        cmocka_unit_test(test_the_primary_once_a_touch_period),
        cmocka_unit_test(test_short_idle_timeouts_touch_more_often),
        cmocka_unit_test(test_samples_gone_from_the_ring_give_a_later_position),
        cmocka_unit_test(test_unparsable_samples_are_ignored),
        cmocka_unit_test(test_a_full_neighbourhood_sends_newcomers_to_the_primary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
