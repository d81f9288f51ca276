/*
 * Unit tests of api/contract: the embedded api/openapi.yaml (its length, its
 * NUL, its entity tag) and contract_etag_matches (If-None-Match lists, weak
 * tags, "*", malformed headers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/contract.h"

static void test_contract_embedded_yaml(void **state)
{
    (void)state;
    assert_true(contract_openapi_yaml_len > 1000);
    assert_int_equal(contract_openapi_yaml[contract_openapi_yaml_len], 0);
    assert_int_equal(memcmp(contract_openapi_yaml, "openapi: 3.1", 12), 0);
    assert_int_equal(strlen(contract_openapi_yaml_etag), 34);
    assert_int_equal(contract_openapi_yaml_etag[0], '"');
    assert_int_equal(contract_openapi_yaml_etag[33], '"');
}

static void test_contract_etag_matches_exact_and_lists(void **state)
{
    (void)state;
    const char *tag = "\"abc\"";
    assert_true(contract_etag_matches("\"abc\"", tag));
    assert_true(contract_etag_matches("\"x\", \"abc\"", tag));
    assert_true(contract_etag_matches("\"x\",\"abc\" ", tag));
    assert_false(contract_etag_matches("\"x\", \"y\"", tag));
    assert_false(contract_etag_matches("\"abcd\"", tag));
    assert_false(contract_etag_matches("\"ab\"", tag));
}

static void test_contract_etag_matches_weak_and_star(void **state)
{
    (void)state;
    const char *tag = "\"abc\"";
    assert_true(contract_etag_matches("W/\"abc\"", tag));
    assert_true(contract_etag_matches("\"x\", W/\"abc\"", tag));
    assert_true(contract_etag_matches("*", tag));
}

static void test_contract_etag_matches_nothing_when_malformed(void **state)
{
    (void)state;
    const char *tag = "\"abc\"";
    assert_false(contract_etag_matches(NULL, tag));
    assert_false(contract_etag_matches("", tag));
    assert_false(contract_etag_matches("abc", tag));
    assert_false(contract_etag_matches("\"abc", tag));
    assert_false(contract_etag_matches("W/abc", tag));
    assert_false(contract_etag_matches("\"x\" junk \"abc\"", tag));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_embedded_yaml),
        cmocka_unit_test(test_contract_etag_matches_exact_and_lists),
        cmocka_unit_test(test_contract_etag_matches_weak_and_star),
        cmocka_unit_test(test_contract_etag_matches_nothing_when_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
