/*
 * Unit tests of http/accept: the quality an Accept header gives a media type
 * (what `GET /` decides HTML or JSON by): browsers' and programs' headers,
 * specificity, weights, and headers that are not what they claim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/accept.h"

#define HTML "text/html"
#define JSON "application/json"

/* What browsers send when they open an address, and what programs send. */
static void test_accept_browsers_and_programs(void **state)
{
    (void)state;
    const char *firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    const char *chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                         "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
    assert_int_equal(accept_quality(firefox, HTML), 1000);
    assert_int_equal(accept_quality(firefox, JSON), 800);
    assert_int_equal(accept_quality(chrome, HTML), 1000);
    assert_int_equal(accept_quality(chrome, JSON), 800);
    /* curl, fetch() and no header at all take anything alike. */
    assert_int_equal(accept_quality("*/*", HTML), 1000);
    assert_int_equal(accept_quality("*/*", JSON), 1000);
    assert_int_equal(accept_quality(NULL, HTML), 1000);
    assert_int_equal(accept_quality(NULL, JSON), 1000);
    assert_int_equal(accept_quality("application/json", HTML), 0);
    assert_int_equal(accept_quality("application/json", JSON), 1000);
    assert_int_equal(accept_quality("application/json, text/plain, */*", HTML), 1000);
}

/* The most specific range decides, whatever its place in the list. */
static void test_accept_most_specific_wins(void **state)
{
    (void)state;
    assert_int_equal(accept_quality("*/*;q=0.1, text/*;q=0.5, text/html;q=0.9", HTML), 900);
    assert_int_equal(accept_quality("text/html;q=0.2, */*", HTML), 200);
    assert_int_equal(accept_quality("text/*;q=0.3, */*;q=1", HTML), 300);
    assert_int_equal(accept_quality("text/*;q=0.3, */*;q=1", JSON), 1000);
    assert_int_equal(accept_quality("text/html;q=0, */*", HTML), 0);
    assert_int_equal(accept_quality("text/html;q=0.4, text/html;q=0.6", HTML), 600);
    assert_int_equal(accept_quality("text/plain", HTML), 0);
    assert_int_equal(accept_quality("text/htmlx, text/htm", HTML), 0);
    assert_int_equal(accept_quality("", HTML), 0);
}

/* Names compare case-insensitively, spaces and other parameters are allowed. */
static void test_accept_syntax(void **state)
{
    (void)state;
    assert_int_equal(accept_quality("Text/HTML", HTML), 1000);
    assert_int_equal(accept_quality(" text/html ; Q=0.5 , application/json", HTML), 500);
    assert_int_equal(accept_quality("text/html;level=1;q=0.7", HTML), 700);
    assert_int_equal(accept_quality("text/html;charset=\"utf-8, or not\";q=0.3, */*;q=0.1", HTML),
                     300);
    assert_int_equal(accept_quality(",, text/html,", HTML), 1000);
    assert_int_equal(accept_quality("text/html;q=1.000", HTML), 1000);
    assert_int_equal(accept_quality("text/html;q=0.001", HTML), 1);
    assert_int_equal(accept_quality("text/html;q=1.", HTML), 1000);
    assert_int_equal(accept_quality("text/html;", HTML), 1000);
    assert_int_equal(accept_quality("text/html; ;q=0.5", HTML), 500);
}

/* An element that is not a media range with a valid weight counts for
 * nothing; the others still do. */
static void test_accept_malformed_elements_ignored(void **state)
{
    (void)state;
    assert_int_equal(accept_quality("text/html;q=2", HTML), 0);
    assert_int_equal(accept_quality("text/html;q=1.5", HTML), 0);
    assert_int_equal(accept_quality("text/html;q=0.0001", HTML), 0);
    assert_int_equal(accept_quality("text/html;q=", HTML), 0);
    assert_int_equal(accept_quality("text/html;q=abc", HTML), 0);
    assert_int_equal(accept_quality("text/html;=1", HTML), 0);
    assert_int_equal(accept_quality("text/html junk", HTML), 0);
    assert_int_equal(accept_quality("text", HTML), 0);
    assert_int_equal(accept_quality("text/", HTML), 0);
    assert_int_equal(accept_quality("*/html", HTML), 0);
    assert_int_equal(accept_quality("/html", HTML), 0);
    assert_int_equal(accept_quality("text/html;q=5, */*;q=0.2", HTML), 200);
    assert_int_equal(accept_quality("text/html;x=\"unterminated, */*;q=0.5", HTML), 500);
    assert_int_equal(accept_quality("junk, text/html;q=0.4", HTML), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_browsers_and_programs),
        cmocka_unit_test(test_accept_most_specific_wins),
        cmocka_unit_test(test_accept_syntax),
        cmocka_unit_test(test_accept_malformed_elements_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
