/*
 * Unit tests of io/ledger_export's row count (the export's bound is checked
 * with it before the rows are parsed): elements of the top-level array only,
 * whatever strings, escapes and nested values hold; -1 for anything else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "io/ledger_export.h"

static long count(const char *text)
{
    return ledger_export_count(text, strlen(text));
}

static void test_count_arrays(void **state)
{
    (void)state;
    assert_int_equal(count("[]"), 0);
    assert_int_equal(count(" \n[ ]\n"), 0);
    assert_int_equal(count("[{}]"), 1);
    assert_int_equal(count("[1,2,3]"), 3);
    assert_int_equal(count("[{\"a\": [1, 2], \"b\": {\"c\": 3}}, {\"d\": null}]"), 2);
    /* Commas and brackets inside strings, escaped quotes and backslashes. */
    assert_int_equal(count("[{\"plan\": \"一期, 二期]\"}, \"x\\\",]\", \"\\\\\"]"), 3);
    assert_int_equal(count("[\"项目,台账\"]"), 1);
}

static void test_count_refuses(void **state)
{
    (void)state;
    assert_int_equal(count(""), -1);
    assert_int_equal(count("{}"), -1);
    assert_int_equal(count("[1, 2"), -1);
    assert_int_equal(count("[\"open"), -1);
    assert_int_equal(count("null"), -1);
    /* Only the given length is read. */
    assert_int_equal(ledger_export_count("[1,2]", 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_arrays),
        cmocka_unit_test(test_count_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
