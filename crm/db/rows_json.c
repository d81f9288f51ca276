#include "db/rows_json.h"

#include "http/json_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs (pg_type.dat; stable across PostgreSQL versions). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_CHAR = 18,
    OID_NAME = 19,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_OID = 26,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_BPCHAR = 1042,
    OID_VARCHAR = 1043,
    OID_DATE = 1082,
    OID_TIME = 1083,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
    OID_UUID = 2950,
    OID_JSONB = 3802,
};

/* Room for n more bytes and the NUL in b: 0, or -1 (b->failed set). */
static int reserve(struct rows_json *b, size_t n)
{
    if (b->failed)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t) {
            b->failed = 1;
            return -1;
        }
        b->text = t;
        b->cap = cap;
    }
    return 0;
}

void rows_json_add(struct rows_json *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

void rows_json_add_string(struct rows_json *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] >= ' ' && s[i] != '"' && s[i] != '\\')
        i++;
    if (i == n) { /* nothing to escape, most often: one copy */
        if (reserve(b, n + 2) != 0)
            return;
        b->text[b->len] = '"';
        memcpy(b->text + b->len + 1, s, n);
        b->text[b->len + 1 + n] = '"';
        b->len += n + 2;
        b->text[b->len] = '\0';
        return;
    }
    rows_json_add(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, pending */
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= ' ' && c != '"' && c != '\\') /* what escape_json leaves */
            continue;
        char esc[8];
        switch (c) {
        case '"': memcpy(esc, "\\\"", 3); break;
        case '\\': memcpy(esc, "\\\\", 3); break;
        case '\b': memcpy(esc, "\\b", 3); break;
        case '\f': memcpy(esc, "\\f", 3); break;
        case '\n': memcpy(esc, "\\n", 3); break;
        case '\r': memcpy(esc, "\\r", 3); break;
        case '\t': memcpy(esc, "\\t", 3); break;
        default: snprintf(esc, sizeof esc, "\\u%04x", c);
        }
        rows_json_add(b, s + run, i - run);
        rows_json_add(b, esc, strlen(esc));
        run = i + 1;
    }
    rows_json_add(b, s + run, n - run);
    rows_json_add(b, "\"", 1);
}

/* A JSON value from PostgreSQL (json, jsonb, a number) written compact,
 * as http/json_text would send it: no space between tokens, no trailing
 * zeros of a fraction. */
static void add_compact(struct rows_json *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0) /* compact is never longer */
        return;
    b->len += json_text_compact(s, n, b->text + b->len);
    b->text[b->len] = '\0';
}

/* A timestamp's ISO text ("2024-01-15 02:00:00.5+08", DateStyle ISO) as
 * JSON writes it ("2024-01-15T02:00:00.5+08:00"): 'T' between date and
 * time, and the offset's minutes always given. infinity stays as it is. */
static void add_timestamp(struct rows_json *b, const char *s, size_t n, int with_zone)
{
    const char *sp = memchr(s, ' ', n);
    if (!sp || n > 64) {
        rows_json_add_string(b, s, n);
        return;
    }
    char t[80];
    memcpy(t, s, n);
    t[sp - s] = 'T';
    size_t len = n;
    if (with_zone) {
        /* The offset starts at the last sign after the time's colons. */
        size_t i = len;
        while (i > (size_t)(sp - s) && t[i - 1] != '+' && t[i - 1] != '-')
            i--;
        if (i > (size_t)(sp - s) && len - i == 2) { /* +HH */
            memcpy(t + len, ":00", 3);
            len += 3;
        }
    }
    if (reserve(b, len + 2) != 0)
        return;
    b->text[b->len] = '"';
    memcpy(b->text + b->len + 1, t, len);
    b->text[b->len + 1 + len] = '"';
    b->len += len + 2;
    b->text[b->len] = '\0';
}

/* A number as PostgreSQL's to_json writes it: as it is, but NaN and the
 * infinities (float, numeric) as strings. */
static void add_number(struct rows_json *b, const char *s, size_t n)
{
    if (n > 0 && (s[n - 1] == 'N' || s[n - 1] == 'y')) /* NaN, Infinity, -Infinity */
        rows_json_add_string(b, s, n);
    else
        add_compact(b, s, n);
}

static void add_value(struct rows_json *b, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) {
        rows_json_add(b, "null", 4);
        return;
    }
    const char *s = PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    if (n > 3 && memcmp(s + n - 3, " BC", 3) == 0) { /* JSON writes year -N + 1: not guessed */
        b->failed = 1;
        return;
    }
    switch (PQftype(r, col)) {
    case OID_BOOL:
        rows_json_add(b, s[0] == 't' ? "true" : "false", s[0] == 't' ? 4 : 5);
        break;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        add_number(b, s, n);
        break;
    case OID_JSON:
    case OID_JSONB:
        add_compact(b, s, n);
        break;
    case OID_TIMESTAMP:
        add_timestamp(b, s, n, 0);
        break;
    case OID_TIMESTAMPTZ:
        add_timestamp(b, s, n, 1);
        break;
    case OID_DATE:
    case OID_TIME:
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME:
    case OID_CHAR:
    case OID_UUID:
    case OID_OID: /* a number in JSON only for PostgreSQL's numeric types */
        rows_json_add_string(b, s, n);
        break;
    default: /* BC dates, arrays, records...: not written by guessing */
        b->failed = 1;
    }
}

/* Columns whose keys are written once per result, not once per row. */
#define ROWS_JSON_KEYS_MAX 64

void rows_json_add_rows(struct rows_json *b, const PGresult *r, int first, int count)
{
    int ncols = PQnfields(r);
    /* Each column's key as it is written before its value ('"name":', then
     * ',"name":'), made once: a page of 50 rows of 28 columns wrote 1,400. */
    struct rows_json keys = {0};
    size_t at[ROWS_JSON_KEYS_MAX + 1];
    int made = ncols <= ROWS_JSON_KEYS_MAX;
    for (int col = 0; made && col < ncols; col++) {
        at[col] = keys.len;
        if (col > 0)
            rows_json_add(&keys, ",", 1);
        const char *name = PQfname(r, col);
        rows_json_add_string(&keys, name, strlen(name));
        rows_json_add(&keys, ":", 1);
        made = !keys.failed;
    }
    at[made ? ncols : 0] = keys.len;
    rows_json_add(b, "[", 1);
    for (int row = first; row < first + count; row++) {
        rows_json_add(b, row > first ? ",{" : "{", row > first ? 2 : 1);
        for (int col = 0; col < ncols; col++) {
            if (made) {
                rows_json_add(b, keys.text + at[col], at[col + 1] - at[col]);
            } else {
                if (col > 0)
                    rows_json_add(b, ",", 1);
                const char *name = PQfname(r, col);
                rows_json_add_string(b, name, strlen(name));
                rows_json_add(b, ":", 1);
            }
            add_value(b, r, row, col);
        }
        rows_json_add(b, "}", 1);
    }
    rows_json_add(b, "]", 1);
    free(keys.text);
}
