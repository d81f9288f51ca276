/*
 * query: see query.h. A cursor is base64url("kind:key" + a keyed BLAKE2b
 * tag): opaque to clients, and one they changed is refused. It grants
 * nothing: the database still applies the caller's scope to the page. The
 * key is an id, or for lists ordered otherwise a short text.
 */
#include "http/query.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bounds.h"
#include "http/body.h"
#include "http/exchange.h"

int query_parse_int(const char *text, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int query_int(struct exchange *x, const char *name, long long min, long long max, long long def,
              long long *out)
{
    const char *v = exchange_query(x, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (query_parse_int(v, min, max, out) == 0)
        return 0;
    char detail[160];
    snprintf(detail, sizeof detail, "The query parameter '%s' must be an integer from %lld to %lld.",
             name, min, max);
    exchange_send_problem(x, 400, detail);
    return -1;
}

int query_limit(struct exchange *x, int *limit)
{
    long long v;
    if (query_int(x, "limit", 1, QUERY_LIMIT_MAX, QUERY_LIMIT_DEFAULT, &v) != 0)
        return -1;
    *limit = (int)v;
    return 0;
}

/* The key that signs cursors: set from the configuration, or random for
 * this process (cursors then do not outlive it). */
static unsigned char cursor_key[crypto_generichash_KEYBYTES];
static int cursor_key_ready;
static pthread_once_t cursor_once = PTHREAD_ONCE_INIT;

static void cursor_key_random(void)
{
    if (!cursor_key_ready) {
        randombytes_buf(cursor_key, sizeof cursor_key);
        cursor_key_ready = 1;
    }
}

int cursor_key_set(const char *hex)
{
    size_t len = 0;
    if (!hex || !*hex)
        return 0;
    if (sodium_hex2bin(cursor_key, sizeof cursor_key, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != sizeof cursor_key)
        return -1;
    cursor_key_ready = 1;
    return 0;
}

#define CURSOR_MAC_BYTES 16

static void cursor_mac(const unsigned char *payload, size_t len, unsigned char *mac)
{
    pthread_once(&cursor_once, cursor_key_random);
    crypto_generichash(mac, CURSOR_MAC_BYTES, payload, len, cursor_key, sizeof cursor_key);
}

/* "kind:key" and its tag, base64url. Returns -1 when it does not fit. */
static int cursor_pack(const char *kind, const char *key, char *out, size_t outlen)
{
    unsigned char raw[CURSOR_KEY_MAX + 32 + CURSOR_MAC_BYTES];
    int n = snprintf((char *)raw, sizeof raw - CURSOR_MAC_BYTES, "%s:%s", kind, key);
    if (n < 0 || (size_t)n >= sizeof raw - CURSOR_MAC_BYTES ||
        sodium_base64_ENCODED_LEN((size_t)n + CURSOR_MAC_BYTES,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING) > outlen)
        return -1;
    cursor_mac(raw, (size_t)n, raw + n);
    sodium_bin2base64(out, outlen, raw, (size_t)n + CURSOR_MAC_BYTES,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int cursor_decode_text(const char *kind, const char *text, char *key, size_t keylen)
{
    unsigned char raw[CURSOR_KEY_MAX + 32 + CURSOR_MAC_BYTES + 1], mac[CURSOR_MAC_BYTES];
    size_t len = 0;
    const char *end = NULL;
    size_t tlen = strlen(text);
    /* Only base64url characters: libsodium's decoder (1.0.18) reads every
     * byte past ASCII as '_', which would give a cursor many spellings. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (tlen == 0 || tlen >= CURSOR_CHARS || strspn(text, alphabet) != tlen ||
        sodium_base642bin(raw, sizeof raw - 1, text, tlen, NULL, &len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text + tlen || len <= CURSOR_MAC_BYTES)
        return -1;
    len -= CURSOR_MAC_BYTES;
    cursor_mac(raw, len, mac);
    if (sodium_memcmp(mac, raw + len, CURSOR_MAC_BYTES) != 0)
        return -1; /* not one we gave out */
    raw[len] = '\0';
    size_t klen = strlen(kind);
    if (len <= klen + 1 || memcmp(raw, kind, klen) != 0 || raw[klen] != ':' ||
        strlen((const char *)raw) != len || len - klen - 1 >= keylen)
        return -1;
    memcpy(key, raw + klen + 1, len - klen);
    return 0;
}

void cursor_encode(const char *kind, long long key, char *out, size_t outlen)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", key);
    if (cursor_pack(kind, text, out, outlen) != 0 && outlen)
        out[0] = '\0';
}

int cursor_decode(const char *kind, const char *text, long long *key)
{
    char k[CURSOR_KEY_MAX + 1];
    if (cursor_decode_text(kind, text, k, sizeof k) != 0)
        return -1;
    return query_parse_int(k, 1, ID_MAX, key);
}

int cursor_encode_text(const char *kind, const char *key, char *out, size_t outlen)
{
    /* What cursor_decode_text would refuse: "" (no cursor at all to
     * query_cursor_text) and keys past CURSOR_KEY_MAX. */
    if (!*key || strlen(key) > CURSOR_KEY_MAX)
        return -1;
    return cursor_pack(kind, key, out, outlen);
}

int query_cursor(struct exchange *x, const char *kind, long long *after)
{
    const char *v = exchange_query(x, "cursor");
    *after = -1;
    if (!v)
        return 0;
    if (cursor_decode(kind, v, after) == 0)
        return 0;
    exchange_send_problem(x, 400, "The cursor is not one this list gave out.");
    return -1;
}

int query_cursor_text(struct exchange *x, const char *kind, char *after, size_t len)
{
    const char *v = exchange_query(x, "cursor");
    after[0] = '\0';
    if (!v || cursor_decode_text(kind, v, after, len) == 0)
        return 0;
    after[0] = '\0';
    exchange_send_problem(x, 400, "The cursor is not one this list gave out.");
    return -1;
}

int query_int_required(struct exchange *x, const char *name, long long min, long long max,
                       long long *out)
{
    if (!exchange_query(x, name)) {
        char detail[160];
        snprintf(detail, sizeof detail, "The query parameter '%s' is required.", name);
        exchange_send_problem(x, 400, detail);
        return -1;
    }
    return query_int(x, name, min, max, 0, out);
}

int query_date(struct exchange *x, const char *name, char *out)
{
    const char *v = exchange_query(x, name);
    out[0] = '\0';
    if (!v)
        return 0;
    if (date_valid(v)) {
        memcpy(out, v, 11);
        return 0;
    }
    char detail[160];
    snprintf(detail, sizeof detail, "The query parameter '%s' must be a date written YYYY-MM-DD.",
             name);
    exchange_send_problem(x, 400, detail);
    return -1;
}
