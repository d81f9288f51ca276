/*
 * Unit tests of http/request_id: request_id_valid (length 1..64, allowed
 * characters), request_id_generate (20 lowercase hex, random) and
 * request_id_choose (echo a valid client id, else generate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "http/request_id.h"

static int request_id_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void assert_generated_shape(const char *id)
{
    assert_int_equal(strlen(id), 20);
    for (const char *c = id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            fail_msg("'%c' in generated id %s is not lowercase hex", *c, id);
}

static void test_request_id_valid_simple(void **state)
{
    (void)state;
    assert_true(request_id_valid("a"));
    assert_true(request_id_valid("abc-123"));
    assert_true(request_id_valid("A.b_c:d-9"));
    assert_true(request_id_valid("0123456789abcdefABCDEF"));
}

static void test_request_id_valid_empty_rejected(void **state)
{
    (void)state;
    assert_false(request_id_valid(""));
}

static void test_request_id_valid_64_accepted(void **state)
{
    (void)state;
    char id[65];
    memset(id, 'x', 64);
    id[64] = '\0';
    assert_true(request_id_valid(id));
}

static void test_request_id_valid_65_rejected(void **state)
{
    (void)state;
    char id[66];
    memset(id, 'x', 65);
    id[65] = '\0';
    assert_false(request_id_valid(id));
}

static void test_request_id_valid_very_long_rejected(void **state)
{
    (void)state;
    char id[1001];
    memset(id, 'a', 1000);
    id[1000] = '\0';
    assert_false(request_id_valid(id));
}

static void test_request_id_valid_bad_chars_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "a b", "a\"b", "a\nb", "a\rb", "a\tb",     "a/b",     "a,b", "a;b",
        "a=b", "a+b",  "a\\b", "a<b>", "\xc3\xa9", "abc\xff", "{x}", "a%20b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (request_id_valid(bad[i]))
            fail_msg("bad id #%zu accepted", i);
}

static void test_request_id_valid_bad_char_at_end_rejected(void **state)
{
    (void)state;
    char id[65];
    memset(id, 'x', 63);
    id[63] = ' ';
    id[64] = '\0';
    assert_false(request_id_valid(id));
}

static void test_request_id_generate_is_20_hex(void **state)
{
    (void)state;
    char out[21];
    request_id_generate(out);
    assert_generated_shape(out);
    assert_true(request_id_valid(out));
}

static void test_request_id_generate_two_calls_differ(void **state)
{
    (void)state;
    char a[21], b[21];
    request_id_generate(a);
    request_id_generate(b);
    assert_string_not_equal(a, b);
}

static void test_request_id_choose_echoes_valid(void **state)
{
    (void)state;
    char out[REQUEST_ID_MAX + 1];
    request_id_choose("client-id_1.2:3", out);
    assert_string_equal(out, "client-id_1.2:3");
}

static void test_request_id_choose_echoes_64_chars(void **state)
{
    (void)state;
    char client[65], out[REQUEST_ID_MAX + 1];
    memset(client, 'Z', 64);
    client[64] = '\0';
    request_id_choose(client, out);
    assert_string_equal(out, client);
}

static void test_request_id_choose_replaces_null(void **state)
{
    (void)state;
    char out[REQUEST_ID_MAX + 1];
    request_id_choose(NULL, out);
    assert_generated_shape(out);
}

static void test_request_id_choose_replaces_invalid(void **state)
{
    (void)state;
    char out[REQUEST_ID_MAX + 1];
    request_id_choose("evil\r\nSet-Cookie: x=1", out);
    assert_generated_shape(out);
    request_id_choose("", out);
    assert_generated_shape(out);
}

static void test_request_id_choose_replaces_too_long(void **state)
{
    (void)state;
    char client[66], out[REQUEST_ID_MAX + 1];
    memset(client, 'a', 65);
    client[65] = '\0';
    request_id_choose(client, out);
    assert_generated_shape(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_id_valid_simple),
        cmocka_unit_test(test_request_id_valid_empty_rejected),
        cmocka_unit_test(test_request_id_valid_64_accepted),
        cmocka_unit_test(test_request_id_valid_65_rejected),
        cmocka_unit_test(test_request_id_valid_very_long_rejected),
        cmocka_unit_test(test_request_id_valid_bad_chars_rejected),
        cmocka_unit_test(test_request_id_valid_bad_char_at_end_rejected),
        cmocka_unit_test(test_request_id_generate_is_20_hex),
        cmocka_unit_test(test_request_id_generate_two_calls_differ),
        cmocka_unit_test(test_request_id_choose_echoes_valid),
        cmocka_unit_test(test_request_id_choose_echoes_64_chars),
        cmocka_unit_test(test_request_id_choose_replaces_null),
        cmocka_unit_test(test_request_id_choose_replaces_invalid),
        cmocka_unit_test(test_request_id_choose_replaces_too_long),
    };
    return cmocka_run_group_tests(tests, request_id_setup, NULL);
}
