/*
 * fuzz_query: a query string parsed as the server parses it (libevent's
 * evhttp_parse_query_str, what exchange.c does with the URI's query), then
 * every value read as the getters of http/query read theirs: integers in
 * the ranges the handlers use (query_parse_int, against a slow reference
 * that reads the digits itself), dates (date_valid, against one that knows
 * the calendar), and cursors (garbage refused cleanly).
 */
#include <ctype.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <limits.h>
#include <string.h>

#include "fuzz.h"
#include "http/body.h"
#include "http/query.h"

/* strtoll's reading of text, done by hand: optional blanks, a sign, one
 * digit at least and nothing after. 0 with *out, or -1 (also when out of
 * [min, max] or of long long). */
static int reference_int(const char *t, long long min, long long max, long long *out)
{
    while (isspace((unsigned char)*t))
        t++;
    int negative = *t == '-';
    if (*t == '-' || *t == '+')
        t++;
    if (!isdigit((unsigned char)*t))
        return -1;
    /* Accumulated as a negative number: LLONG_MIN has no positive twin. */
    long long v = 0;
    for (; isdigit((unsigned char)*t); t++) {
        int d = *t - '0';
        if (v < (LLONG_MIN + d) / 10)
            return -1;
        v = v * 10 - d;
    }
    if (*t)
        return -1;
    if (!negative) {
        if (v == LLONG_MIN)
            return -1;
        v = -v;
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int reference_date(const char *t)
{
    if (strlen(t) != 10 || t[4] != '-' || t[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !(t[i] >= '0' && t[i] <= '9'))
            return 0;
    int y = atoi(t), m = atoi(t + 5), d = atoi(t + 8);
    int leap = y % 400 == 0 || (y % 4 == 0 && y % 100 != 0);
    int days = m == 2 ? 28 + leap : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
    return y >= 1900 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= days;
}

/* The ranges the handlers read integers in: limit, year, ids, anything. */
static const long long ranges[][2] = {
    {1, QUERY_LIMIT_MAX}, {1900, 2999}, {1, LLONG_MAX}, {LLONG_MIN, LLONG_MAX}, {0, 0},
};

static void check_value(const char *v)
{
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        long long got = 12345, want = 12345;
        int rc = query_parse_int(v, ranges[i][0], ranges[i][1], &got);
        FUZZ_CHECK(rc == reference_int(v, ranges[i][0], ranges[i][1], &want));
        FUZZ_CHECK(got == want);
    }
    FUZZ_CHECK(!date_valid(v) == !reference_date(v));
    long long id;
    char key[CURSOR_KEY_MAX + 1];
    FUZZ_CHECK(cursor_decode("projects", v, &id) != 0);
    FUZZ_CHECK(cursor_decode_text("alerts", v, key, sizeof key) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = malloc(size + 1);
    FUZZ_CHECK(query);
    memcpy(query, data, size);
    query[size] = '\0';
    check_value(query);

    struct evkeyvalq params;
    TAILQ_INIT(&params);
    if (evhttp_parse_query_str(query, &params) == 0) {
        struct evkeyval *kv;
        TAILQ_FOREACH(kv, &params, next)
        {
            check_value(kv->value);
            FUZZ_CHECK(evhttp_find_header(&params, kv->key) != NULL);
        }
    }
    evhttp_clear_headers(&params);
    free(query);
    return 0;
}
