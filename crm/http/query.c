/*
 * query: see query.h. A cursor is base64url("kind:key"): opaque to clients,
 * checked strictly here. It grants nothing: the database still applies the
 * caller's scope to whatever page it names.
 */
#include "http/query.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/exchange.h"

static int parse_ll(const char *text, long long min, long long max, long long *out)
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
    if (parse_ll(v, min, max, out) == 0)
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

void cursor_encode(const char *kind, long long key, char *out, size_t outlen)
{
    char raw[64];
    int n = snprintf(raw, sizeof raw, "%s:%lld", kind, key);
    sodium_bin2base64(out, outlen, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int cursor_decode(const char *kind, const char *text, long long *key)
{
    unsigned char raw[64];
    size_t len = 0;
    const char *end = NULL;
    size_t tlen = strlen(text);
    if (tlen == 0 || tlen > 80 ||
        sodium_base642bin(raw, sizeof raw - 1, text, tlen, NULL, &len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text + tlen)
        return -1;
    raw[len] = '\0';
    size_t klen = strlen(kind);
    if (len <= klen + 1 || memcmp(raw, kind, klen) != 0 || raw[klen] != ':')
        return -1;
    return parse_ll((const char *)raw + klen + 1, 1, 9223372036854775807LL, key);
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
