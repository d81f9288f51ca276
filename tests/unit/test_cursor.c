/*
 * Unit tests of the keyset cursors of http/query (issue 13, item 6): what
 * cursor_encode and cursor_encode_text give out decodes back to its key, for
 * its own list only; anything else is refused: another list's cursor, one
 * signed with another key, a truncated, extended or tampered one (every
 * character changed, every bit of the payload flipped and signed again
 * without the key), characters outside base64url, padding, bytes past
 * ASCII, empty and oversized cursors, and payloads a client could only make
 * with the key (checked by signing them here with a key the test sets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "http/query.h"

#define TEST_KEY_HEX  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define OTHER_KEY_HEX "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff"

/* A cursor of payload (any bytes) signed with the test key, as query.c
 * signs one: base64url(payload + BLAKE2b-128 keyed with the key). */
static void forge(const void *payload, size_t len, char *out, size_t outlen)
{
    unsigned char key[32], raw[512];
    assert_int_equal(sodium_hex2bin(key, sizeof key, TEST_KEY_HEX, 64, NULL, NULL, NULL), 0);
    assert_true(len + 16 <= sizeof raw);
    memcpy(raw, payload, len);
    crypto_generichash(raw + len, 16, raw, len, key, sizeof key);
    sodium_bin2base64(out, outlen, raw, len + 16, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int cursor_setup(void **state)
{
    (void)state;
    return cursor_key_set(TEST_KEY_HEX);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const long long keys[] = {1, 2, 42, 1000000007LL, 9223372036854775807LL};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char c[CURSOR_CHARS];
        long long back = -7;
        cursor_encode("projects", keys[i], c, sizeof c);
        assert_true(strlen(c) > 0 && strlen(c) < CURSOR_CHARS);
        assert_int_equal(
            strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            strlen(c));
        assert_int_equal(cursor_decode("projects", c, &back), 0);
        assert_int_equal(back, keys[i]);
    }
    /* Text keys, up to CURSOR_KEY_MAX bytes, UTF-8 included. */
    char longest[CURSOR_KEY_MAX + 1];
    memset(longest, 'k', CURSOR_KEY_MAX);
    longest[CURSOR_KEY_MAX] = '\0';
    const char *texts[] = {"a", "2024-05-01|red|17", "西社镇:5", longest};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char c[CURSOR_CHARS], back[CURSOR_KEY_MAX + 1];
        assert_int_equal(cursor_encode_text("alerts", texts[i], c, sizeof c), 0);
        assert_true(strlen(c) < CURSOR_CHARS);
        assert_int_equal(cursor_decode_text("alerts", c, back, sizeof back), 0);
        assert_string_equal(back, texts[i]);
    }
}

static void test_encode_refuses(void **state)
{
    (void)state;
    char c[CURSOR_CHARS], over[CURSOR_KEY_MAX + 2];
    memset(over, 'k', CURSOR_KEY_MAX + 1);
    over[CURSOR_KEY_MAX + 1] = '\0';
    assert_int_equal(cursor_encode_text("alerts", "", c, sizeof c), -1);
    assert_int_equal(cursor_encode_text("alerts", over, c, sizeof c), -1);
    /* Too small a buffer: refused, not cut. */
    char small[16];
    assert_int_equal(cursor_encode_text("alerts", "2024-05-01|red|17", small, sizeof small), -1);
    /* An integer cursor that does not fit is written as "", which no
     * decoder takes. */
    char tiny[8] = "x";
    long long back;
    cursor_encode("projects", 5, tiny, sizeof tiny);
    assert_string_equal(tiny, "");
    assert_int_equal(cursor_decode("projects", tiny, &back), -1);
}

static void test_other_list_or_key(void **state)
{
    (void)state;
    char c[CURSOR_CHARS], t[CURSOR_KEY_MAX + 1];
    long long back = -7;
    cursor_encode("projects", 5, c, sizeof c);
    assert_int_equal(cursor_decode("investors", c, &back), -1);
    assert_int_equal(cursor_decode("project", c, &back), -1);   /* a prefix of the kind */
    assert_int_equal(cursor_decode("projectsx", c, &back), -1); /* the kind and more */
    assert_int_equal(cursor_decode("", c, &back), -1);
    assert_int_equal(back, -7);

    cursor_encode_text("alerts", "5", c, sizeof c); /* a text cursor is not an id cursor */
    assert_int_equal(cursor_decode("users", c, &back), -1);
    assert_int_equal(cursor_decode_text("audit", c, t, sizeof t), -1);

    /* Signed with another key (another deployment, or the key changed). */
    cursor_encode("projects", 5, c, sizeof c);
    assert_int_equal(cursor_key_set(OTHER_KEY_HEX), 0);
    assert_int_equal(cursor_decode("projects", c, &back), -1);
    char c2[CURSOR_CHARS];
    cursor_encode("projects", 5, c2, sizeof c2);
    assert_string_not_equal(c, c2);
    assert_int_equal(cursor_decode("projects", c2, &back), 0);
    assert_int_equal(back, 5);
    assert_int_equal(cursor_key_set(TEST_KEY_HEX), 0);
    assert_int_equal(cursor_decode("projects", c2, &back), -1);
    assert_int_equal(cursor_decode("projects", c, &back), 0);

    /* A key that is not 32 bytes of hex is refused and changes nothing;
     * "" keeps the key set. */
    assert_int_equal(cursor_key_set("00"), -1);
    assert_int_equal(cursor_key_set(TEST_KEY_HEX "00"), -1);
    assert_int_equal(
        cursor_key_set("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"), -1);
    assert_int_equal(cursor_key_set(""), 0);
    assert_int_equal(cursor_decode("projects", c, &back), 0);
    assert_int_equal(back, 5);
}

static void test_truncated_extended_tampered(void **state)
{
    (void)state;
    char good[CURSOR_CHARS];
    long long back;
    cursor_encode("interactions", 123456, good, sizeof good);
    size_t n = strlen(good);
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /* Every truncation, including to nothing. */
    for (size_t len = 0; len < n; len++) {
        char c[CURSOR_CHARS];
        memcpy(c, good, len);
        c[len] = '\0';
        assert_int_equal(cursor_decode("interactions", c, &back), -1);
    }
    /* One more character of every kind, one, two and three more. */
    for (const char *a = alphabet; *a; a++) {
        char c[CURSOR_CHARS + 4];
        snprintf(c, sizeof c, "%s%c", good, *a);
        assert_int_equal(cursor_decode("interactions", c, &back), -1);
        snprintf(c, sizeof c, "%s%c%c", good, *a, *a);
        assert_int_equal(cursor_decode("interactions", c, &back), -1);
        snprintf(c, sizeof c, "%sAAA%c", good, *a);
        assert_int_equal(cursor_decode("interactions", c, &back), -1);
    }
    /* Every position changed to every other character (the last one
     * included: its unused low bits are refused, not ignored). */
    for (size_t i = 0; i < n; i++) {
        for (const char *a = alphabet; *a; a++) {
            if (*a == good[i])
                continue;
            char c[CURSOR_CHARS];
            memcpy(c, good, n + 1);
            c[i] = *a;
            if (cursor_decode("interactions", c, &back) == 0)
                fail_msg("position %zu changed to '%c' still decodes (to %lld)", i, *a, back);
        }
    }
    /* The payload with any bit flipped and a tag made without the key. */
    unsigned char raw[256];
    size_t rawlen = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, good, n, NULL, &rawlen, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(rawlen, strlen("interactions:123456") + 16);
    assert_memory_equal(raw, "interactions:123456", rawlen - 16);
    for (size_t bit = 0; bit < (rawlen - 16) * 8; bit++) {
        unsigned char t[256];
        char c[CURSOR_CHARS];
        memcpy(t, raw, rawlen);
        t[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        crypto_generichash(t + rawlen - 16, 16, t, rawlen - 16, NULL, 0); /* unkeyed */
        sodium_bin2base64(c, sizeof c, t, rawlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_int_equal(cursor_decode("interactions", c, &back), -1);
    }
    /* "interactions:123457" with the old tag. */
    raw[rawlen - 17] = '7';
    char c[CURSOR_CHARS];
    sodium_bin2base64(c, sizeof c, raw, rawlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    assert_int_equal(cursor_decode("interactions", c, &back), -1);
    /* The original still decodes. */
    assert_int_equal(cursor_decode("interactions", good, &back), 0);
    assert_int_equal(back, 123456);
}

static void test_foreign_characters(void **state)
{
    (void)state;
    char good[CURSOR_CHARS];
    long long back;
    cursor_encode("users", 77, good, sizeof good);
    size_t n = strlen(good);
    /* The standard alphabet's '+' and '/', padding, blanks, percent
     * encoding, a NUL-free control, and bytes past ASCII (which libsodium
     * would read as '_'), in place of each character. */
    static const char foreign[] = "+/= %.~\t\x7f\x80\xbf\xdf\xff";
    for (size_t i = 0; i < n; i++) {
        for (const char *f = foreign; *f; f++) {
            char c[CURSOR_CHARS];
            memcpy(c, good, n + 1);
            c[i] = *f;
            if (cursor_decode("users", c, &back) == 0)
                fail_msg("position %zu changed to byte 0x%02x still decodes", i, (unsigned char)*f);
        }
    }
    char c[CURSOR_CHARS + 8];
    snprintf(c, sizeof c, "%s=", good);
    assert_int_equal(cursor_decode("users", c, &back), -1);
    snprintf(c, sizeof c, "%s==", good);
    assert_int_equal(cursor_decode("users", c, &back), -1);
    snprintf(c, sizeof c, " %s", good);
    assert_int_equal(cursor_decode("users", c, &back), -1);
    snprintf(c, sizeof c, "%s\n", good);
    assert_int_equal(cursor_decode("users", c, &back), -1);
    /* A '_' replaced by a byte past ASCII, which libsodium would decode
     * to the same bytes. */
    for (size_t i = 0; i < n; i++) {
        if (good[i] != '_')
            continue;
        memcpy(c, good, n + 1);
        c[i] = (char)0xdf;
        assert_int_equal(cursor_decode("users", c, &back), -1);
    }
    /* Oversized: CURSOR_CHARS characters or more, whatever they are. */
    char big[CURSOR_CHARS + 2];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(cursor_decode("users", big, &back), -1);
    big[CURSOR_CHARS] = '\0';
    assert_int_equal(cursor_decode("users", big, &back), -1);
    assert_int_equal(cursor_decode("users", "", &back), -1);
}

static void test_signed_payloads(void **state)
{
    (void)state;
    char c[CURSOR_CHARS], t[CURSOR_KEY_MAX + 1];
    long long back = -7;
    /* The forger matches the code: a payload it signs decodes. */
    forge("users:31", 8, c, sizeof c);
    assert_int_equal(cursor_decode("users", c, &back), 0);
    assert_int_equal(back, 31);

    /* Signed, yet not acceptable as an id cursor. */
    static const char *const bad_ids[] = {
        "users:0",
        "users:-4",
        "users:abc",
        "users:12x",
        "users:",
        "users",
        "users:9223372036854775808",
        "users:99999999999999999999",
        "users:1.5",
        "users:0x10",
    };
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        forge(bad_ids[i], strlen(bad_ids[i]), c, sizeof c);
        back = -7;
        if (cursor_decode("users", c, &back) == 0)
            fail_msg("signed payload \"%s\" decodes as id %lld", bad_ids[i], back);
        assert_int_equal(back, -7);
    }
    /* A NUL inside the payload: "users:5" and more behind it. */
    forge("users:5\0users:9", 15, c, sizeof c);
    assert_int_equal(cursor_decode("users", c, &back), -1);
    assert_int_equal(cursor_decode_text("users", c, t, sizeof t), -1);
    /* An empty text key, and a key too long for the caller's buffer. */
    forge("alerts:", 7, c, sizeof c);
    assert_int_equal(cursor_decode_text("alerts", c, t, sizeof t), -1);
    forge("alerts:abcdef", 13, c, sizeof c);
    char small[6];
    assert_int_equal(cursor_decode_text("alerts", c, small, sizeof small), -1);
    char fits[7];
    assert_int_equal(cursor_decode_text("alerts", c, fits, sizeof fits), 0);
    assert_string_equal(fits, "abcdef");
    /* No tag at all: the payload alone, or shorter than a tag. */
    sodium_bin2base64(c, sizeof c, (const unsigned char *)"users:5", 7,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    assert_int_equal(cursor_decode("users", c, &back), -1);
    forge("", 0, c, sizeof c); /* a tag and nothing else */
    assert_int_equal(cursor_decode_text("", c, t, sizeof t), -1);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_other_list_or_key),
        cmocka_unit_test(test_truncated_extended_tampered),
        cmocka_unit_test(test_foreign_characters),
        cmocka_unit_test(test_signed_payloads),
    };
    return cmocka_run_group_tests(tests, cursor_setup, NULL);
}
