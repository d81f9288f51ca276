/*
 * db/rows_json against PostgreSQL itself: rows read from the test database
 * (db.start) are written by rows_json and compared, byte for byte after
 * json_text_compact (as crm sends every body), with json_agg of the same
 * rows computed by the server, in several time zones: strings needing every
 * kind of escape, numbers, NaN and infinities, json and jsonb, dates,
 * timestamps with whole, half-hour and historical (seconds) offsets,
 * infinity and NULLs. Types it does not write (an array, a BC date) are
 * refused rather than guessed. Skipped without a test database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows_json.h"
#include "http/json_text.h"
#include "test_db_url.h"

static char url[1024];

/* The rows: their SELECT list, two rows (the second mostly NULLs). */
static const char rows_sql[] =
    "SELECT * FROM (VALUES "
    "(1::bigint, E'a\"b\\\\c/\\u00e9\\u4e2d\\x01\\x1f\\b\\f\\n\\r\\t\\x7f end', true, 7::smallint, "
    " 2147483647::integer, 12.5000::numeric, 'NaN'::numeric, 'Infinity'::float8, '-Infinity'::float8, "
    " 1.5::float8, 3::oid, '{\"a\": [1, 2.50, {\"b\": null}], \"z\": \"\\u00e9\"}'::jsonb, "
    " '{\"x\" : 1,  \"y\":[ ]}'::json, '2024-02-29'::date, '2024-01-15 02:00:00.123456+00'::timestamptz, "
    " '2024-07-01 12:34:56+00'::timestamptz, '1900-01-01 00:00:00+00'::timestamptz, "
    " 'infinity'::timestamptz, '-infinity'::timestamptz, '2024-01-15 02:00:00.5'::timestamp, "
    " '13:45:00'::time, 'x'::varchar(3), 'y'::char(2), 'n'::name, "
    " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, ''::text), "
    "(2, NULL, false, NULL, NULL, -0.001, NULL, NULL, NULL, NULL, NULL, '[]'::jsonb, NULL, "
    " 'infinity'::date, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
    ") AS t (id, name, flag, small, int4, num, nan, finf, fminf, fl, o, jb, j, d, ts, ts2, "
    "ts_old, tsinf, tsminf, tsl, tm, vc, bc, nm, u, empty)";

static char *compact(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    assert_non_null(out);
    out[json_text_compact(text, len, out)] = '\0';
    return out;
}

static PGconn *connect_in(const char *zone)
{
    PGconn *c = PQconnectdb(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char set[128];
    snprintf(set, sizeof set, "SET TimeZone = '%s'", zone);
    PQclear(PQexec(c, set));
    PQclear(PQexec(c, "SET DateStyle = ISO, YMD")); /* as db/pool.c's connections */
    return c;
}

static void test_same_as_postgresql(void **state)
{
    (void)state;
    if (!url[0]) {
        skip();
    }
    static const char *zones[] = {"UTC", "Asia/Shanghai", "Asia/Kolkata", "America/St_Johns",
                                  "Pacific/Chatham"};
    for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
        PGconn *c = connect_in(zones[z]);
        PGresult *rows = PQexec(c, rows_sql);
        assert_int_equal(PQresultStatus(rows), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(rows), 2);
        char agg[sizeof rows_sql + 64];
        snprintf(agg, sizeof agg, "SELECT json_agg(q)::text FROM (%s) q", rows_sql);
        PGresult *want = PQexec(c, agg);
        assert_int_equal(PQresultStatus(want), PGRES_TUPLES_OK);

        struct rows_json b = {0};
        rows_json_add_rows(&b, rows, 0, PQntuples(rows));
        assert_false(b.failed);
        char *got_c = compact(b.text, b.len);
        char *want_c = compact(PQgetvalue(want, 0, 0), (size_t)PQgetlength(want, 0, 0));
        if (strcmp(got_c, want_c) != 0)
            print_error("TimeZone %s\n got: %s\nwant: %s\n", zones[z], got_c, want_c);
        assert_string_equal(got_c, want_c);
        assert_string_equal(b.text, got_c); /* compact already: sent as it is */
        free(got_c);
        free(want_c);
        free(b.text);
        PQclear(want);
        PQclear(rows);
        PQfinish(c);
    }
}

/* A part of the rows: the first row alone, or none ("[]"). */
static void test_range(void **state)
{
    (void)state;
    if (!url[0]) {
        skip();
    }
    PGconn *c = connect_in("UTC");
    PGresult *r = PQexec(c, "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y'");
    struct rows_json b = {0};
    rows_json_add_rows(&b, r, 1, 1);
    rows_json_add(&b, " ", 1);
    rows_json_add_rows(&b, r, 0, 0);
    assert_false(b.failed);
    assert_string_equal(b.text, "[{\"a\":2,\"b\":\"y\"}] []");
    free(b.text);
    PQclear(r);
    PQfinish(c);
}

/* What it cannot write as PostgreSQL would is refused. */
static void test_refused(void **state)
{
    (void)state;
    if (!url[0]) {
        skip();
    }
    static const char *cases[] = {
        "SELECT ARRAY[1, 2] AS a",
        "SELECT '0044-03-15 BC'::date AS d",
        "SELECT '0044-03-15 10:00:00+00 BC'::timestamptz AS t",
        "SELECT ROW(1, 2) AS r",
        "SELECT '\\x00'::bytea AS b",
    };
    PGconn *c = connect_in("UTC");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        PGresult *r = PQexec(c, cases[i]);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        struct rows_json b = {0};
        rows_json_add_rows(&b, r, 0, 1);
        if (!b.failed)
            print_error("not refused: %s\n", cases[i]);
        assert_true(b.failed);
        free(b.text);
        PQclear(r);
    }
    PQfinish(c);
}

int main(void)
{
    test_db_url(url, sizeof url);
    if (getenv("CRM_TEST_DB") && !url[0]) {
        fprintf(stderr, "CRM_TEST_DB is set but names no database\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_postgresql),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
