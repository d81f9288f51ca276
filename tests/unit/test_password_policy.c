/*
 * Unit tests of auth/password_policy: length in code points (8 minimum) and
 * bytes (1024 maximum), UTF-8 validity, control characters, the username, the
 * common list (sorted, lowercase, case-insensitive match) and the pattern
 * rules (repeated character, ascending or descending runs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/password_policy.h"

/* password_check on a NUL-terminated literal, without a username. */
static enum password_verdict check(const char *password)
{
    return password_check(password, strlen(password), NULL);
}

/* A password of n bytes that passes every rule but the length ones. */
static void fill_varied(char *buf, size_t n)
{
    static const char alphabet[] = "Kq7#vR2mZp9!xT4w";
    for (size_t i = 0; i < n; i++)
        buf[i] = alphabet[i % (sizeof alphabet - 1)];
    buf[n] = '\0';
}

static void test_password_7_chars_too_short(void **state)
{
    (void)state;
    assert_int_equal(check("Kq7#vR2"), PASSWORD_TOO_SHORT);
    assert_int_equal(check(""), PASSWORD_TOO_SHORT);
    assert_int_equal(password_check(NULL, 0, NULL), PASSWORD_TOO_SHORT);
}

static void test_password_8_chars_ok(void **state)
{
    (void)state;
    assert_int_equal(check("Kq7#vR2m"), PASSWORD_OK);
}

static void test_password_64_chars_ok(void **state)
{
    (void)state;
    char buf[65];
    fill_varied(buf, 64);
    assert_int_equal(check(buf), PASSWORD_OK);
}

static void test_password_1024_bytes_ok(void **state)
{
    (void)state;
    char buf[PASSWORD_MAX_BYTES + 1];
    fill_varied(buf, PASSWORD_MAX_BYTES);
    assert_int_equal(check(buf), PASSWORD_OK);
}

static void test_password_1025_bytes_too_long(void **state)
{
    (void)state;
    char buf[PASSWORD_MAX_BYTES + 2];
    fill_varied(buf, PASSWORD_MAX_BYTES + 1);
    assert_int_equal(check(buf), PASSWORD_TOO_LONG);
}

static void test_password_max_counts_bytes_not_chars(void **state)
{
    (void)state;
    /* 342 three-byte characters: 342 code points but 1026 bytes. */
    char buf[342 * 3 + 1];
    for (size_t i = 0; i < 342; i++)
        memcpy(buf + i * 3, (i % 2) ? "稷" : "山", 3);
    buf[342 * 3] = '\0';
    assert_int_equal(check(buf), PASSWORD_TOO_LONG);
    buf[341 * 3] = '\0';
    assert_int_equal(check(buf), PASSWORD_OK);
}

static void test_password_chinese_counted_by_code_points(void **state)
{
    (void)state;
    assert_int_equal(check("稷山县招商引资2024"), PASSWORD_OK);
    /* 15 bytes, 5 characters. */
    assert_int_equal(check("稷山县招商"), PASSWORD_TOO_SHORT);
    /* 4-byte characters count once each: 7 emoji are too short, 8 are fine. */
    assert_int_equal(check("😀😁😂🤣😃😄😅"), PASSWORD_TOO_SHORT);
    assert_int_equal(check("😀😁😂🤣😃😄😅😆"), PASSWORD_OK);
}

static void test_password_invalid_utf8_refused(void **state)
{
    (void)state;
    assert_int_equal(check("Kq7#vR2m\x80"), PASSWORD_NOT_UTF8);             /* lone continuation */
    assert_int_equal(check("Kq7#vR2m\xc0\xaf"), PASSWORD_NOT_UTF8);         /* overlong '/' */
    assert_int_equal(check("Kq7#vR2m\xe0\x80\xaf"), PASSWORD_NOT_UTF8);     /* overlong, 3 bytes */
    assert_int_equal(check("Kq7#vR2m\xed\xa0\x80"), PASSWORD_NOT_UTF8);     /* surrogate D800 */
    assert_int_equal(check("Kq7#vR2m\xf4\x90\x80\x80"), PASSWORD_NOT_UTF8); /* > U+10FFFF */
    assert_int_equal(check("Kq7#vR2m\xff"), PASSWORD_NOT_UTF8);
    assert_int_equal(check("Kq7#vR2m\xe7\xa8"), PASSWORD_NOT_UTF8); /* truncated at the end */
    assert_int_equal(check("Kq7#\xe7\xa8vR2m"), PASSWORD_NOT_UTF8); /* truncated mid-way */
}

static void test_password_embedded_nul_refused(void **state)
{
    (void)state;
    static const char pw[] = "Kq7#v\0R2mZp9";
    assert_int_equal(password_check(pw, sizeof pw - 1, NULL), PASSWORD_CONTROL_CHAR);
}

static void test_password_control_chars_refused(void **state)
{
    (void)state;
    assert_int_equal(check("Kq7#\tvR2m"), PASSWORD_CONTROL_CHAR);
    assert_int_equal(check("Kq7#vR2m\n"), PASSWORD_CONTROL_CHAR);
    assert_int_equal(check("Kq7#vR2m\r"), PASSWORD_CONTROL_CHAR);
    assert_int_equal(check("\x1fKq7#vR2m"), PASSWORD_CONTROL_CHAR);
    assert_int_equal(check("Kq7#\x7fvR2m"), PASSWORD_CONTROL_CHAR);
    /* Spaces are characters like any other. */
    assert_int_equal(check("correct horse battery staple"), PASSWORD_OK);
}

static void test_password_common_refused_case_insensitively(void **state)
{
    (void)state;
    assert_int_equal(check("password"), PASSWORD_COMMON);
    assert_int_equal(check("PassWord1"), PASSWORD_COMMON);
    assert_int_equal(check("QWERTYUIOP"), PASSWORD_COMMON);
    assert_int_equal(check("P@ssw0rd"), PASSWORD_COMMON);
    assert_int_equal(check("woaini1314"), PASSWORD_COMMON);
    assert_int_equal(check("1QAZ2WSX"), PASSWORD_COMMON);
    assert_int_equal(check("5201314520"), PASSWORD_COMMON);
    assert_int_equal(check("Zaq12Wsx"), PASSWORD_COMMON);
    /* Near misses pass. */
    assert_int_equal(check("password7x"), PASSWORD_OK);
    assert_int_equal(check("woaini1314!"), PASSWORD_OK);
}

static void test_password_every_listed_entry_refused(void **state)
{
    (void)state;
    const char *e;
    for (size_t i = 0; (e = password_common_entry(i)) != NULL; i++)
        assert_int_equal(check(e), PASSWORD_COMMON);
}

static void test_password_repeated_char_refused(void **state)
{
    (void)state;
    assert_int_equal(check("zzzzzzzzzzzz"), PASSWORD_COMMON);
    assert_int_equal(check("ZzZzZzZzZz"), PASSWORD_COMMON);
    assert_int_equal(check("########"), PASSWORD_COMMON);
    assert_int_equal(check("        "), PASSWORD_COMMON);
    assert_int_equal(check("哈哈哈哈哈哈哈哈"), PASSWORD_COMMON);
    assert_int_equal(check("哈哈哈哈哈哈哈嘿"), PASSWORD_OK);
}

static void test_password_runs_refused(void **state)
{
    (void)state;
    assert_int_equal(check("23456789"), PASSWORD_COMMON);
    assert_int_equal(check("98765432"), PASSWORD_COMMON);
    assert_int_equal(check("abcdefgh"), PASSWORD_COMMON);
    assert_int_equal(check("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), PASSWORD_COMMON);
    assert_int_equal(check("zyxwvuts"), PASSWORD_COMMON);
    assert_int_equal(check("lMnOpQrS"), PASSWORD_COMMON);
    /* Not a run: a break in the step, or a crossing between classes. */
    assert_int_equal(check("23456788"), PASSWORD_OK);
    assert_int_equal(check("56789:;<"), PASSWORD_OK);
    assert_int_equal(check("3456789a"), PASSWORD_OK);
}

static void test_password_equal_to_username_refused(void **state)
{
    (void)state;
    assert_int_equal(password_check("Zhang.Wei88", 11, "zhang.wei88"), PASSWORD_IS_USERNAME);
    assert_int_equal(password_check("zhang.wei88", 11, "ZHANG.WEI88"), PASSWORD_IS_USERNAME);
    assert_int_equal(password_check("zhang.wei888", 12, "zhang.wei88"), PASSWORD_OK);
    assert_int_equal(password_check("zhang.wei88", 11, NULL), PASSWORD_OK);
    assert_int_equal(password_check("zhang.wei88", 11, ""), PASSWORD_OK);
}

static void test_password_list_sorted_and_lowercase(void **state)
{
    (void)state;
    size_t n = 0;
    const char *prev = NULL, *e;
    for (; (e = password_common_entry(n)) != NULL; n++) {
        size_t len = strlen(e);
        assert_true(len >= PASSWORD_MIN_CHARS);
        for (size_t k = 0; k < len; k++) {
            unsigned char c = (unsigned char)e[k];
            assert_true(c > 0x20 && c < 0x7f);
            assert_false(c >= 'A' && c <= 'Z');
        }
        if (prev)
            assert_true(strcmp(prev, e) < 0);
        prev = e;
    }
    assert_true(n >= 300);
}

static void test_password_every_verdict_has_message(void **state)
{
    (void)state;
    for (int v = PASSWORD_OK; v <= PASSWORD_IS_USERNAME; v++) {
        const char *m = password_verdict_message((enum password_verdict)v);
        assert_non_null(m);
        assert_true(m[0] != '\0');
    }
    assert_string_equal(password_verdict_message(PASSWORD_TOO_SHORT),
                        "must be at least 8 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_7_chars_too_short),
        cmocka_unit_test(test_password_8_chars_ok),
        cmocka_unit_test(test_password_64_chars_ok),
        cmocka_unit_test(test_password_1024_bytes_ok),
        cmocka_unit_test(test_password_1025_bytes_too_long),
        cmocka_unit_test(test_password_max_counts_bytes_not_chars),
        cmocka_unit_test(test_password_chinese_counted_by_code_points),
        cmocka_unit_test(test_password_invalid_utf8_refused),
        cmocka_unit_test(test_password_embedded_nul_refused),
        cmocka_unit_test(test_password_control_chars_refused),
        cmocka_unit_test(test_password_common_refused_case_insensitively),
        cmocka_unit_test(test_password_every_listed_entry_refused),
        cmocka_unit_test(test_password_repeated_char_refused),
        cmocka_unit_test(test_password_runs_refused),
        cmocka_unit_test(test_password_equal_to_username_refused),
        cmocka_unit_test(test_password_list_sorted_and_lowercase),
        cmocka_unit_test(test_password_every_verdict_has_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
