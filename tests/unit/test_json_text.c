/*
 * Unit tests of http/json_text: PostgreSQL's spaced jsonb and scaled
 * numerics come out compact and in their shortest exact form; strings are
 * never touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/json_text.h"

static void assert_compacts_to(const char *in, const char *want)
{
    size_t len = strlen(in);
    char *out = malloc(len + 1);
    assert_non_null(out);
    size_t n = json_text_compact(in, len, out);
    out[n] = '\0';
    assert_string_equal(out, want);
    free(out);
}

static void test_json_text_top_integer(void **state)
{
    (void)state;
    long long v = 0;
    assert_int_equal(json_text_top_integer("{\"id\":5,\"version\":3}", "version", &v), 0);
    assert_int_equal(v, 3);
    /* A nested member of that name, a string holding it, an escaped quote:
     * only the top-level member counts. */
    const char *row = "{\"five_one\": {\"version\": 9}, \"name\": \"say \\\"version\\\":7\","
                      " \"list\": [{\"version\": 8}], \"version\" : 12 }";
    assert_int_equal(json_text_top_integer(row, "version", &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(json_text_top_integer("{\"a\":{\"version\":1}}", "version", &v), -1);
    assert_int_equal(json_text_top_integer("{\"version\":\"3\"}", "version", &v), -1);
    assert_int_equal(json_text_top_integer("{\"version\":1.5}", "version", &v), -1);
    assert_int_equal(json_text_top_integer("{\"version\":null}", "version", &v), -1);
    assert_int_equal(json_text_top_integer("[1]", "version", &v), -1);
    assert_int_equal(json_text_top_integer("{\"ver", "version", &v), -1);
}

static void test_json_text_spaces(void **state)
{
    (void)state;
    assert_compacts_to("{\"a\": 1, \"b\": [1, 2, {\"c\": null}]}",
                       "{\"a\":1,\"b\":[1,2,{\"c\":null}]}");
    assert_compacts_to("[{\"a\":1}, \n {\"a\":2}]", "[{\"a\":1},{\"a\":2}]");
    assert_compacts_to("{}", "{}");
}

static void test_json_text_numbers(void **state)
{
    (void)state;
    assert_compacts_to("{\"rate\": 0.7000}", "{\"rate\":0.7}");
    assert_compacts_to("[1.000000, -0.50, 0.000, 100, 10.10, 1.5e10, 2.50E-3]",
                       "[1,-0.5,0,100,10.1,1.5e10,2.50E-3]");
    assert_compacts_to("[18507000000, 0.917808]", "[18507000000,0.917808]");
}

static void test_json_text_strings_untouched(void **state)
{
    (void)state;
    assert_compacts_to("{\"t\": \"a , b : 0.7000 \\\" x \"}", "{\"t\":\"a , b : 0.7000 \\\" x \"}");
    assert_compacts_to("[\"稷山县 ¥1.00亿\", \"\\\\\"]", "[\"稷山县 ¥1.00亿\",\"\\\\\"]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_text_top_integer),
        cmocka_unit_test(test_json_text_spaces),
        cmocka_unit_test(test_json_text_numbers),
        cmocka_unit_test(test_json_text_strings_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
