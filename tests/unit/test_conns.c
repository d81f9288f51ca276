/*
 * Unit tests of http/conns: the connection limits derived from the
 * open-file limit (what crm keeps for itself, an eighth per address, the
 * floors), and limits given explicitly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/conns.h"

static void test_conns_limits_from_open_files(void **state)
{
    (void)state;
    struct conns_limits l;
    int reserved = conns_reserved_files(2, 2);
    assert_int_equal(reserved, 84);
    assert_int_equal(conns_limits_init(&l, 0, 0, 256, reserved), 0);
    assert_int_equal(l.max, 172);
    assert_int_equal(l.per_address, 21);
    assert_int_equal(l.open_files, 256);
    assert_int_equal(l.total, 0);
    conns_limits_free(&l);
    assert_int_equal(conns_limits_init(&l, 0, 0, 65536, conns_reserved_files(8, 4)), 0);
    assert_int_equal(l.max, 65536 - (64 + 8 * 12));
    assert_int_equal(l.per_address, l.max / 8);
    conns_limits_free(&l);
}

static void test_conns_limits_floors(void **state)
{
    (void)state;
    struct conns_limits l;
    /* Fewer files than crm keeps: still some connections, 8 from one address. */
    assert_int_equal(conns_limits_init(&l, 0, 0, 64, conns_reserved_files(4, 2)), 0);
    assert_int_equal(l.max, 16);
    assert_int_equal(l.per_address, 8);
    conns_limits_free(&l);
}

static void test_conns_limits_given(void **state)
{
    (void)state;
    struct conns_limits l;
    assert_int_equal(conns_limits_init(&l, 100, 20, 256, 84), 0);
    assert_int_equal(l.max, 100);
    assert_int_equal(l.per_address, 20);
    conns_limits_free(&l);
    /* A share larger than the whole is the whole. */
    assert_int_equal(conns_limits_init(&l, 10, 50, 256, 84), 0);
    assert_int_equal(l.per_address, 10);
    conns_limits_free(&l);
    conns_limits_free(&l); /* twice is harmless */
}

static void test_conns_raise_open_files(void **state)
{
    (void)state;
    int n = conns_raise_open_files();
    assert_true(n >= 1);
    assert_int_equal(conns_raise_open_files(), n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conns_limits_from_open_files),
        cmocka_unit_test(test_conns_limits_floors),
        cmocka_unit_test(test_conns_limits_given),
        cmocka_unit_test(test_conns_raise_open_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
