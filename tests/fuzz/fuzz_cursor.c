/*
 * fuzz_cursor: the signed keyset cursors of http/query. The first byte
 * picks what is tried, the second the list (kind); the rest is the input:
 *
 * - 0: any text decoded, as ?cursor= brings it: refused cleanly unless it
 *   is a cursor the code made (the seeds are), which must then be exactly
 *   what encoding its key again gives, and into a key buffer of any size
 *   (exactly that size, so that AddressSanitizer sees one byte more);
 * - 1: an id (8 bytes) encoded, into a buffer of any size: a cursor
 *   shorter than CURSOR_CHARS of base64url characters, or "" when it does
 *   not fit; decoded back to the id for its kind only;
 * - 2: a text key encoded: refused when empty or longer than
 *   CURSOR_KEY_MAX, else decoded back to itself.
 *
 * Cursors are signed with a fixed key, so that the seeds stay valid.
 */
#include <string.h>

#include "fuzz.h"
#include "http/query.h"

static const char *const kinds[] = {
    "units",        "investors", "contacts", "projects", "contracts", "starts",
    "interactions", "problems",  "batches",  "users",    "audit",     "alerts",
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* The input after the two bytes as a terminated string (cut at a NUL). */
static char *text_of(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    FUZZ_CHECK(t);
    memcpy(t, data, size);
    t[size] = '\0';
    return t;
}

static int base64url(const char *s)
{
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
           strlen(s);
}

static void decode_any(const char *kind, const char *text, size_t keylen)
{
    long long id = 0;
    if (cursor_decode(kind, text, &id) == 0) {
        char again[CURSOR_CHARS];
        FUZZ_CHECK(id >= 1);
        cursor_encode(kind, id, again, sizeof again);
        FUZZ_CHECK(strcmp(again, text) == 0);
    }
    char *key = malloc(keylen ? keylen : 1);
    FUZZ_CHECK(key);
    if (cursor_decode_text(kind, text, key, keylen) == 0) {
        char again[CURSOR_CHARS];
        FUZZ_CHECK(strlen(key) < keylen);
        FUZZ_CHECK(cursor_encode_text(kind, key, again, sizeof again) == 0);
        FUZZ_CHECK(strcmp(again, text) == 0);
    }
    free(key);
}

static void round_trip_id(size_t k, const uint8_t *data, size_t size)
{
    long long id = 0;
    memcpy(&id, data, size < sizeof id ? size : sizeof id);
    size_t outlen = size > sizeof id ? data[sizeof id] : CURSOR_CHARS;
    char *out = malloc(outlen ? outlen : 1);
    FUZZ_CHECK(out);
    cursor_encode(kinds[k], id, out, outlen);
    if (outlen == 0 || !*out) {
        free(out);
        return; /* did not fit */
    }
    FUZZ_CHECK(strlen(out) < outlen && strlen(out) < CURSOR_CHARS && base64url(out));
    long long back = 0;
    if (id >= 1) {
        FUZZ_CHECK(cursor_decode(kinds[k], out, &back) == 0 && back == id);
    } else {
        FUZZ_CHECK(cursor_decode(kinds[k], out, &back) != 0);
    }
    for (size_t other = 0; other < NKINDS; other++)
        FUZZ_CHECK(other == k || cursor_decode(kinds[other], out, &back) != 0);
    free(out);
}

static void round_trip_text(size_t k, const char *key)
{
    char out[CURSOR_CHARS], back[CURSOR_KEY_MAX + 1];
    int rc = cursor_encode_text(kinds[k], key, out, sizeof out);
    if (!*key || strlen(key) > CURSOR_KEY_MAX) {
        FUZZ_CHECK(rc != 0); /* "" would read as no cursor: the first page again */
        return;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(strlen(out) < CURSOR_CHARS && base64url(out));
    FUZZ_CHECK(cursor_decode_text(kinds[k], out, back, sizeof back) == 0);
    FUZZ_CHECK(strcmp(back, key) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int keyed;
    if (!keyed) {
        FUZZ_CHECK(cursor_key_set("000102030405060708090a0b0c0d0e0f"
                                  "101112131415161718191a1b1c1d1e1f") == 0);
        keyed = 1;
    }
    if (size < 2)
        return 0;
    size_t k = data[1] % NKINDS;
    char *text = text_of(data + 2, size - 2);
    switch (data[0] % 3) {
    case 0:
        decode_any(kinds[k], text, CURSOR_KEY_MAX + 1);
        decode_any(kinds[k], text, data[0] / 3);
        break;
    case 1:
        round_trip_id(k, data + 2, size - 2);
        break;
    default:
        round_trip_text(k, text);
        break;
    }
    free(text);
    return 0;
}
