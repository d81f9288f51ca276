/*
 * Unit tests of http/cors: cors_parse (empty specs, spaces, stray commas,
 * invalid origins rejected) and cors_allowed (exact, case-sensitive match;
 * NULL origin), and the origins `make run` allows by default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/cors.h"

static void test_cors_parse_null_is_empty(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, NULL), 0);
    assert_int_equal(l.count, 0);
    cors_free(&l);
}

static void test_cors_parse_empty_string(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, ""), 0);
    assert_int_equal(l.count, 0);
    cors_free(&l);
}

static void test_cors_parse_only_separators(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, " , ,, "), 0);
    assert_int_equal(l.count, 0);
    cors_free(&l);
}

static void test_cors_parse_single_origin(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "https://a.example"), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.origins[0], "https://a.example");
    cors_free(&l);
}

static void test_cors_parse_trims_spaces(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "  https://a.example ,   http://localhost:5173  "), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.origins[0], "https://a.example");
    assert_string_equal(l.origins[1], "http://localhost:5173");
    cors_free(&l);
}

static void test_cors_parse_ignores_empty_items(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, ",https://a.example,,http://b.example,"), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.origins[0], "https://a.example");
    assert_string_equal(l.origins[1], "http://b.example");
    cors_free(&l);
}

static void test_cors_parse_rejects_missing_scheme(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "example.com"), -1);
    assert_int_equal(l.count, 0);
    assert_null(l.origins);
    cors_free(&l);
}

static void test_cors_parse_rejects_trailing_slash(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "http://x/"), -1);
    assert_int_equal(l.count, 0);
    cors_free(&l);
}

static void test_cors_parse_rejects_empty_host_or_scheme(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "http://"), -1);
    cors_free(&l);
    assert_int_equal(cors_parse(&l, "://a.example"), -1);
    cors_free(&l);
}

static void test_cors_parse_rejects_wildcard_and_null(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "*"), -1);
    cors_free(&l);
    assert_int_equal(cors_parse(&l, "null"), -1);
    cors_free(&l);
}

static void test_cors_parse_rejects_inner_space_and_control(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "http://a example"), -1);
    cors_free(&l);
    assert_int_equal(cors_parse(&l, "http://a.example\t"), -1);
    cors_free(&l);
    assert_int_equal(cors_parse(&l, "http://caf\xc3\xa9.example"), -1);
    cors_free(&l);
}

static void test_cors_parse_one_bad_item_rejects_all(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "https://a.example, b.example, https://c.example"), -1);
    assert_int_equal(l.count, 0);
    assert_null(l.origins);
    cors_free(&l);
}

static void test_cors_allowed_exact_match(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "https://a.example, http://localhost:5173"), 0);
    assert_true(cors_allowed(&l, "https://a.example"));
    assert_true(cors_allowed(&l, "http://localhost:5173"));
    cors_free(&l);
}

static void test_cors_allowed_no_prefix_or_suffix_match(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "https://a.example, http://localhost:5173"), 0);
    assert_false(cors_allowed(&l, "https://a.example.evil.test"));
    assert_false(cors_allowed(&l, "https://a.exampl"));
    assert_false(cors_allowed(&l, "https://sub.a.example"));
    assert_false(cors_allowed(&l, "http://localhost"));
    assert_false(cors_allowed(&l, "http://localhost:51730"));
    assert_false(cors_allowed(&l, "http://a.example"));
    assert_false(cors_allowed(&l, "https://a.example/"));
    assert_false(cors_allowed(&l, ""));
    cors_free(&l);
}

static void test_cors_allowed_case_sensitive(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "https://a.example"), 0);
    assert_false(cors_allowed(&l, "https://A.example"));
    assert_false(cors_allowed(&l, "HTTPS://a.example"));
    cors_free(&l);
}

static void test_cors_allowed_null_origin(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "https://a.example"), 0);
    assert_false(cors_allowed(&l, NULL));
    assert_false(cors_allowed(&l, "null"));
    cors_free(&l);
}

static void test_cors_allowed_empty_list(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, ""), 0);
    assert_false(cors_allowed(&l, "https://a.example"));
    assert_false(cors_allowed(&l, NULL));
    cors_free(&l);
}

/* The Makefile's default for `make run`: a front-end dev server on this machine. */
static void test_cors_make_run_default(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "http://localhost:5173,http://127.0.0.1:5173"), 0);
    assert_int_equal(l.count, 2);
    assert_true(cors_allowed(&l, "http://localhost:5173"));
    assert_true(cors_allowed(&l, "http://127.0.0.1:5173"));
    assert_false(cors_allowed(&l, "http://localhost:8080"));
    assert_false(cors_allowed(&l, "https://localhost:5173"));
    cors_free(&l);
}

static void test_cors_free_resets_list(void **state)
{
    (void)state;
    struct cors_list l;
    assert_int_equal(cors_parse(&l, "https://a.example"), 0);
    cors_free(&l);
    assert_null(l.origins);
    assert_int_equal(l.count, 0);
    cors_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cors_parse_null_is_empty),
        cmocka_unit_test(test_cors_parse_empty_string),
        cmocka_unit_test(test_cors_parse_only_separators),
        cmocka_unit_test(test_cors_parse_single_origin),
        cmocka_unit_test(test_cors_parse_trims_spaces),
        cmocka_unit_test(test_cors_parse_ignores_empty_items),
        cmocka_unit_test(test_cors_parse_rejects_missing_scheme),
        cmocka_unit_test(test_cors_parse_rejects_trailing_slash),
        cmocka_unit_test(test_cors_parse_rejects_empty_host_or_scheme),
        cmocka_unit_test(test_cors_parse_rejects_wildcard_and_null),
        cmocka_unit_test(test_cors_parse_rejects_inner_space_and_control),
        cmocka_unit_test(test_cors_parse_one_bad_item_rejects_all),
        cmocka_unit_test(test_cors_allowed_exact_match),
        cmocka_unit_test(test_cors_allowed_no_prefix_or_suffix_match),
        cmocka_unit_test(test_cors_allowed_case_sensitive),
        cmocka_unit_test(test_cors_allowed_null_origin),
        cmocka_unit_test(test_cors_allowed_empty_list),
        cmocka_unit_test(test_cors_make_run_default),
        cmocka_unit_test(test_cors_free_resets_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
