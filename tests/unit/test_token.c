/*
 * Unit tests of auth/token: a token is exactly 43 base64url characters in
 * the canonical encoding of 32 bytes; token_from_bearer takes
 * "Bearer <token>" and nothing else (junk after the token, another length,
 * the standard base64 alphabet, padding, a non-canonical last character).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/token.h"

static int bearer(const char *fmt, const char *token)
{
    char header[128];
    unsigned char hash[TOKEN_HASH_BYTES];
    snprintf(header, sizeof header, fmt, token);
    return token_from_bearer(header, hash);
}

static void test_token_new_round_trip(void **state)
{
    (void)state;
    char token[TOKEN_CHARS + 1];
    unsigned char made[TOKEN_HASH_BYTES], read[TOKEN_HASH_BYTES];
    token_new(token, made);
    assert_int_equal(strlen(token), TOKEN_CHARS);
    assert_int_equal(token_hash(token, strlen(token), read), 0);
    assert_memory_equal(made, read, TOKEN_HASH_BYTES);
    assert_int_equal(bearer("Bearer %s", token), 0);
    assert_int_equal(bearer("bearer %s", token), 0);
    assert_int_equal(bearer("Bearer   %s  ", token), 0);
}

static void test_token_from_bearer_refuses_junk(void **state)
{
    (void)state;
    char token[TOKEN_CHARS + 1], cut[TOKEN_CHARS + 1];
    unsigned char hash[TOKEN_HASH_BYTES];
    token_new(token, hash);
    memcpy(cut, token, TOKEN_CHARS - 1);
    cut[TOKEN_CHARS - 1] = '\0';
    assert_int_equal(bearer("Bearer %sjunk", token), -1);
    assert_int_equal(bearer("Bearer %s junk", token), -1);
    assert_int_equal(bearer("Bearer %s,x", token), -1);
    assert_int_equal(bearer("Bearer %s", cut), -1);
    assert_int_equal(bearer("Bearer %sA", token), -1);
    assert_int_equal(bearer("Bearer\t%s", token), -1);
    assert_int_equal(bearer("Basic %s", token), -1);
    assert_int_equal(bearer("Bearer%s", token), -1);
    assert_int_equal(bearer("%s", token), -1);
    assert_int_equal(token_from_bearer(NULL, hash), -1);
    assert_int_equal(token_from_bearer("Bearer ", hash), -1);
}

static void test_token_hash_refuses_other_alphabets(void **state)
{
    (void)state;
    char token[TOKEN_CHARS + 1];
    unsigned char hash[TOKEN_HASH_BYTES];
    token_new(token, hash);
    const char bad[] = {'+', '/', '=', ' ', '.', '\0'};
    for (size_t i = 0; i < sizeof bad; i++) {
        char t[TOKEN_CHARS + 1];
        memcpy(t, token, sizeof t);
        t[10] = bad[i];
        assert_int_equal(token_hash(t, TOKEN_CHARS, hash), -1);
    }
    /* 43 characters carry 258 bits: the last one's low two bits must be 0. */
    char t[TOKEN_CHARS + 1];
    memcpy(t, token, sizeof t);
    t[TOKEN_CHARS - 1] = 'B';
    assert_int_equal(token_hash(t, TOKEN_CHARS, hash), -1);
    t[TOKEN_CHARS - 1] = 'E';
    assert_int_equal(token_hash(t, TOKEN_CHARS, hash), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_new_round_trip),
        cmocka_unit_test(test_token_from_bearer_refuses_junk),
        cmocka_unit_test(test_token_hash_refuses_other_alphabets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
