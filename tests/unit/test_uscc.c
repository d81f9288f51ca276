/*
 * Unit tests of core/uscc: codes the database's uscc_valid accepts (the
 * standard's own example, the contract's, real-looking ones) are accepted,
 * and every way of breaking one is refused. The C check and the SQL one
 * agreed on 30,000 generated strings when this module was written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/uscc.h"

static const char *const good[] = {
    "91350100M000100Y43", /* GB 32100-2015's example */
    "91140824MA0C4E8A21", /* api/openapi.yaml's example */
    "91110000600037341L", "91440300708461136T", "91110108551385082Q", "91110000100001342C",
};

static int valid(const char *s)
{
    return uscc_valid(s, strlen(s));
}

static void test_uscc_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(valid(good[i]));
        assert_int_equal(uscc_check_char(good[i]), good[i][17]);
    }
}

/* Any other last character is refused: the check character is unique. */
static void test_uscc_check_character(void **state)
{
    (void)state;
    char s[USCC_LEN + 1];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        for (const char *c = USCC_ALPHABET; *c; c++) {
            memcpy(s, good[i], sizeof s);
            s[17] = *c;
            assert_int_equal(valid(s), *c == good[i][17]);
        }
    assert_false(valid("911100001000013428"));
}

static void test_uscc_length_and_alphabet(void **state)
{
    (void)state;
    assert_false(valid(""));
    assert_false(valid("91350100M000100Y4"));
    assert_false(valid("91350100M000100Y430"));
    assert_false(uscc_valid("91350100M000100Y43", 17));
    assert_false(valid("91350100m000100y43"));
    /* I, O, S, V, Z are not in the alphabet, wherever they stand. */
    const char *letters = "IOSVZ";
    char s[USCC_LEN + 1];
    for (const char *l = letters; *l; l++)
        for (int pos = 0; pos < USCC_LEN; pos++) {
            memcpy(s, good[0], sizeof s);
            s[pos] = *l;
            assert_false(valid(s));
            if (pos < USCC_LEN - 1)
                assert_int_equal(uscc_check_char(s), '\0');
        }
    /* A NUL inside is a character like any other outside the alphabet. */
    memcpy(s, good[0], sizeof s);
    s[5] = '\0';
    assert_false(uscc_valid(s, USCC_LEN));
    assert_false(valid("91350100M 00100Y43"));
    assert_false(valid("九一三五〇一〇〇"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uscc_good),
        cmocka_unit_test(test_uscc_check_character),
        cmocka_unit_test(test_uscc_length_and_alphabet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
