/*
 * Unit tests of request-body validation (issue 13, item 6): http/body
 * against the field tables the API really uses (api/resources.c, through the
 * resource descriptions it exports), on exchanges whose answers are captured
 * (reply_capture.h):
 *
 * - body_object: what is not one JSON object is a 400 in our words (never
 *   quoting the input), with its line and column;
 * - body_field_problem: each type's rule, at and past its bounds (bytes, not
 *   characters; the 10^13 yuan cap; enum values; real dates), and nulls
 *   (accepted only where a field is nullable, even for a required field);
 * - body_check: unknown fields, missing required ones, and every fault of a
 *   body in one 422 naming each field; nothing sent for a good body;
 * - body_check_members: a prefix naming an item's fields, cut on a UTF-8
 *   character boundary when long;
 * - each PATCH table accepts exactly the fields a PATCH may change, none
 *   required, each checked as on POST.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/resources.h"
#include "http/body.h"
#include "reply_capture.h"

/* The spec named name in specs; fails the test when there is none. */
static const struct field_spec *spec(const struct field_spec *specs, const char *name)
{
    for (const struct field_spec *s = specs; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    fail_msg("no field %s", name);
    return NULL;
}

/* What body_field_problem says of the JSON value text for specs' name: ""
 * when it is acceptable. Into a static buffer. */
static const char *judge(const struct field_spec *specs, const char *name, const char *text)
{
    static char out[512];
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, err.text);
    char buf[256];
    memset(buf, 'Z', sizeof buf);
    const char *m = body_field_problem(spec(specs, name), v, buf, sizeof buf);
    snprintf(out, sizeof out, "%s", m ? m : "");
    json_decref(v);
    return out;
}

/* A JSON string of n copies of unit (a UTF-8 character or more). */
static char *json_string_of(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 3);
    assert_non_null(s);
    s[0] = '"';
    for (size_t i = 0; i < n; i++)
        memcpy(s + 1 + i * u, unit, u);
    s[1 + u * n] = '"';
    s[2 + u * n] = '\0';
    return s;
}

/* ---- body_object ---- */

/* body_object on body; returns the object or NULL (then captured holds
 * the 400). */
static json_t *object_of(const char *body, size_t len)
{
    int before = captured.calls;
    struct exchange *x = capture_exchange(HTTP_POST, "/api/v1/investors", body, len);
    json_t *obj = body_object(x);
    if (obj) {
        assert_int_equal(captured.calls, before); /* nothing sent */
        exchange_send_empty(x, 204);
    } else {
        assert_int_equal(captured.calls, before + 1);
    }
    return obj;
}

/* The 400's detail for body (NULL bodies are empty). */
static char *refused_detail(const char *body, size_t len)
{
    json_t *obj = object_of(body, len);
    if (obj)
        fail_msg("body accepted: %.*s", (int)len, body);
    assert_int_equal(captured.status, 400);
    assert_string_equal(captured.content_type, "application/problem+json");
    json_t *p = captured_json();
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 400);
    char *detail = strdup(json_string_value(json_object_get(p, "detail")));
    json_decref(p);
    return detail;
}

static void expect_refused(const char *body, size_t len, const char *detail_part)
{
    char *d = refused_detail(body, len);
    if (!strstr(d, detail_part))
        fail_msg("detail \"%s\" lacks \"%s\"", d, detail_part);
    free(d);
}

static void test_body_object(void **state)
{
    (void)state;
    json_t *ok = object_of("{\"name\": \"稷山\", \"n\": [1, {\"a\": null}]}",
                           strlen("{\"name\": \"稷山\", \"n\": [1, {\"a\": null}]}"));
    assert_non_null(ok);
    assert_string_equal(json_string_value(json_object_get(ok, "name")), "稷山");
    json_decref(ok);
    ok = object_of("{}", 2);
    assert_non_null(ok);
    json_decref(ok);

    expect_refused(NULL, 0, "A JSON object is required as the request body.");
    expect_refused("[1, 2]", 6, "The body must be a JSON object.");
    expect_refused("\"text\"", 6, "The body must be a JSON object.");
    expect_refused("null", 4, "The body must be a JSON object.");
    expect_refused("{\"a\": 1, \"a\": 2}", 16, "has a member name twice in one object");
    expect_refused("{\"a\": {\"b\": 1, \"b\": 1}}", 23, "has a member name twice in one object");
    expect_refused("{\"a\": 1", 7, "is incomplete JSON");
    expect_refused("{\"a\": \"x\\u0000y\"}", 17, "\\u0000 escape");
    expect_refused("{\"a\\u0000\": 1}", 14, "\\u0000 escape");
    expect_refused("{\"a\": \"\xff\"}", 10, "is not valid UTF-8");
    expect_refused("{\"a\": \"\xc3\"}", 10, "is not valid UTF-8");
    expect_refused("{} {}", 5, "has more after the JSON value");
    expect_refused("{\"a\": 99999999999999999999}", 27, "has a number too large");
    expect_refused("{\"a\": 1e999}", 12, "has a number too large");
    expect_refused("{\"a\": tru}", 10, "is not valid JSON");
    expect_refused("{\"a\": 1,}", 9, "is not valid JSON");
    expect_refused("{\"a\" 1}", 7, "(line 1, column");
    /* A NUL byte in the body. */
    expect_refused("{\"a\": 1}\0", 9, "The body");
    /* Nested past the parser's limit. */
    size_t depth = 5000;
    char *deep = malloc(depth * 2 + 16);
    assert_non_null(deep);
    strcpy(deep, "{\"a\": ");
    size_t n = strlen(deep);
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    deep[n + 2 * depth] = '}';
    expect_refused(deep, n + 2 * depth + 1, "is nested too deeply");
    free(deep);
    /* The line and column are counted. */
    expect_refused("{\n  \"a\": 1,\n  \"b\": x\n}", 21, "(line 3, column");
    /* Never the input itself, whatever it holds. */
    char *d = refused_detail("{\"password\": hunter2}", 21);
    assert_null(strstr(d, "hunter2"));
    assert_null(strstr(d, "password"));
    free(d);
    d = refused_detail("{\"token\": \"abc\", \"token\": \"sekrit\"}", 35);
    assert_null(strstr(d, "sekrit"));
    assert_null(strstr(d, "token"));
    free(d);
}

/* ---- body_field_problem, one type at a time ---- */

static void test_strings(void **state)
{
    (void)state;
    const struct field_spec *inv = investors.create;
    assert_string_equal(judge(inv, "name", "\"稷山县某公司\""), "");
    assert_string_equal(judge(inv, "name", "\"\""), ""); /* emptiness is the database's rule */
    assert_string_equal(judge(inv, "name", "5"), "must be a string");
    assert_string_equal(judge(inv, "name", "[\"a\"]"), "must be a string");
    assert_string_equal(judge(inv, "name", "{}"), "must be a string");
    assert_string_equal(judge(inv, "name", "true"), "must be a string");
    /* 600 bytes: at the bound, and one past it; in bytes, not characters. */
    char *s = json_string_of("a", 600);
    assert_string_equal(judge(inv, "name", s), "");
    free(s);
    s = json_string_of("a", 601);
    assert_string_equal(judge(inv, "name", s), "must be at most 600 bytes");
    free(s);
    s = json_string_of("西", 200); /* 600 bytes */
    assert_string_equal(judge(inv, "name", s), "");
    free(s);
    s = json_string_of("西", 201); /* 201 characters, 603 bytes */
    assert_string_equal(judge(inv, "name", s), "must be at most 600 bytes");
    free(s);
    s = json_string_of("a", 33);
    assert_string_equal(judge(contacts.create, "phone", s), "must be at most 32 bytes");
    free(s);
    assert_string_equal(judge(contacts.create, "phone", "\"+86 359 555 0101\""), "");
}

static void test_integers(void **state)
{
    (void)state;
    const struct field_spec *inv = investors.create;
    assert_string_equal(judge(inv, "unit_id", "1"), "");
    assert_string_equal(judge(inv, "unit_id", "9223372036854775807"), "");
    assert_string_equal(judge(inv, "unit_id", "0"), "must be a positive integer");
    assert_string_equal(judge(inv, "unit_id", "-1"), "must be a positive integer");
    assert_string_equal(judge(inv, "unit_id", "-9223372036854775808"),
                        "must be a positive integer");
    assert_string_equal(judge(inv, "unit_id", "1.0"), "must be an integer");
    assert_string_equal(judge(inv, "unit_id", "1.5"), "must be an integer");
    assert_string_equal(judge(inv, "unit_id", "1e3"), "must be an integer");
    assert_string_equal(judge(inv, "unit_id", "\"1\""), "must be an integer");
    assert_string_equal(judge(inv, "unit_id", "true"), "must be an integer");
    assert_string_equal(judge(inv, "unit_id", "[1]"), "must be an integer");

    /* Amounts: 1 to 10^13 yuan. */
    const struct field_spec *con = contracts.create;
    assert_string_equal(judge(con, "amount_yuan", "1"), "");
    assert_string_equal(judge(con, "amount_yuan", "10000000000000"), "");
    assert_string_equal(judge(con, "amount_yuan", "10000000000001"),
                        "must be from 1 to 10000000000000");
    assert_string_equal(judge(con, "amount_yuan", "9223372036854775807"),
                        "must be from 1 to 10000000000000");
    assert_string_equal(judge(con, "amount_yuan", "0"), "must be from 1 to 10000000000000");
    assert_string_equal(judge(con, "amount_yuan", "-5"), "must be from 1 to 10000000000000");
    assert_string_equal(judge(con, "amount_yuan", "2.4e10"), "must be an integer");
    assert_string_equal(judge(projects.create, "planned_investment_yuan", "10000000000001"),
                        "must be from 1 to 10000000000000");
    assert_string_equal(judge(projects.update, "planned_investment_yuan", "10000000000001"),
                        "must be from 1 to 10000000000000");
    assert_string_equal(judge(contracts.update, "amount_yuan", "10000000000000"), "");
    assert_string_equal(judge(contracts.update, "amount_yuan", "10000000000001"),
                        "must be from 1 to 10000000000000");
    /* A problem's escalation level: 1 to 4. */
    for (int level = 1; level <= 4; level++) {
        char t[4];
        snprintf(t, sizeof t, "%d", level);
        assert_string_equal(judge(problems.create, "level", t), "");
        assert_string_equal(judge(problems.update, "level", t), "");
    }
    assert_string_equal(judge(problems.create, "level", "0"), "must be from 1 to 4");
    assert_string_equal(judge(problems.create, "level", "5"), "must be from 1 to 4");
    assert_string_equal(judge(problems.update, "level", "-1"), "must be from 1 to 4");
}

static void test_naturals_and_numbers(void **state)
{
    (void)state;
    /* Types the target tables use (api/targets.c), bounded and not. */
    static const struct field_spec t[] = {
        {"count", FIELD_NATURAL, 1, 1000000000, 0, NULL},
        {"amount", FIELD_NATURAL, 1, 0, 0, NULL},
        {"rate", FIELD_NUMBER, 1, 1, 0, NULL},
        {"weight", FIELD_NUMBER, 0, 0, 1, NULL},
        {NULL, 0, 0, 0, 0, NULL},
    };
    assert_string_equal(judge(t, "count", "0"), "");
    assert_string_equal(judge(t, "count", "1000000000"), "");
    assert_string_equal(judge(t, "count", "1000000001"), "must be from 0 to 1000000000");
    assert_string_equal(judge(t, "count", "-1"), "must be from 0 to 1000000000");
    assert_string_equal(judge(t, "count", "0.5"), "must be an integer");
    assert_string_equal(judge(t, "amount", "9223372036854775807"), "");
    assert_string_equal(judge(t, "amount", "-1"), "must be at least 0");
    assert_string_equal(judge(t, "rate", "0"), "");
    assert_string_equal(judge(t, "rate", "0.7"), "");
    assert_string_equal(judge(t, "rate", "1"), "");
    assert_string_equal(judge(t, "rate", "1.0000001"), "must be from 0 to 1");
    assert_string_equal(judge(t, "rate", "-0.1"), "must be from 0 to 1");
    assert_string_equal(judge(t, "rate", "\"0.7\""), "must be a number");
    assert_string_equal(judge(t, "weight", "null"), "");
    assert_string_equal(judge(t, "weight", "123.25"), "");
    assert_string_equal(judge(t, "rate", "null"), "must not be null");
}

static void test_booleans_dates_enums(void **state)
{
    (void)state;
    const struct field_spec *p = projects.create;
    assert_string_equal(judge(p, "is_key", "true"), "");
    assert_string_equal(judge(p, "is_key", "false"), "");
    assert_string_equal(judge(p, "is_key", "\"true\""), "must be true or false");
    assert_string_equal(judge(p, "is_key", "1"), "must be true or false");
    assert_string_equal(judge(p, "is_key", "null"), "must not be null");

    static const char *const good_dates[] = {"2024-02-29", "2000-02-29", "1900-01-01",
                                             "2999-12-31", "2024-12-31", "2023-04-30"};
    static const char *const bad_dates[] = {
        "2023-02-29",  "1900-02-29",     "2100-02-29", "2024-02-30",
        "2024-04-31",  "2024-13-01",     "2024-00-10", "2024-01-00",
        "2024-01-32",  "1899-12-31",     "3000-01-01", "2024-1-05",
        "2024-01-5",   "24-01-05",       "2024/01/05", "2024-01-05T00:00:00",
        " 2024-01-05", "2024-01-05 ",    "+024-01-05", "2024-+1-05",
        "2024-01-+5",  "２０２４-01-05", "",           "2024-01-0x"};
    for (size_t i = 0; i < sizeof good_dates / sizeof good_dates[0]; i++) {
        char t[64];
        snprintf(t, sizeof t, "\"%s\"", good_dates[i]);
        if (*judge(p, "planned_start_on", t))
            fail_msg("date %s refused", good_dates[i]);
        assert_int_equal(date_valid(good_dates[i]), 1);
    }
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        char t[64];
        snprintf(t, sizeof t, "\"%s\"", bad_dates[i]);
        if (strcmp(judge(p, "planned_start_on", t), "must be a date written YYYY-MM-DD") != 0)
            fail_msg("date \"%s\" accepted", bad_dates[i]);
        assert_int_equal(date_valid(bad_dates[i]), 0);
    }
    assert_string_equal(judge(p, "planned_start_on", "20240105"),
                        "must be a date written YYYY-MM-DD");
    assert_string_equal(judge(p, "planned_start_on", "null"), ""); /* nullable: clears it */
    assert_string_equal(judge(contracts.create, "signed_on", "null"), "must not be null");

    /* Enums: exact, case and all; a new project starts early. */
    assert_string_equal(judge(contracts.create, "kind", "\"formal\""), "");
    assert_string_equal(judge(contracts.create, "kind", "\"Formal\""),
                        "must be one of: intent formal capital_increase");
    assert_string_equal(judge(contracts.create, "kind", "\"formal \""),
                        "must be one of: intent formal capital_increase");
    assert_string_equal(judge(contracts.create, "kind", "1"),
                        "must be one of: intent formal capital_increase");
    assert_string_equal(judge(p, "stage", "\"negotiating\""), "");
    assert_string_equal(judge(p, "stage", "\"signed\""),
                        "must be one of: planned lead negotiating");
    assert_string_equal(judge(units.create, "kind", "\"department\""), "");
    /* A long list of values is cut short in a small buffer, terminated. */
    char small[24];
    json_t *v = json_string("nope");
    const char *m = body_field_problem(spec(units.create, "kind"), v, small, sizeof small);
    assert_ptr_equal(m, small);
    assert_true(strlen(small) < sizeof small);
    assert_memory_equal(small, "must be one of:", 15);
    json_decref(v);
}

static void test_objects_arrays_uscc(void **state)
{
    (void)state;
    const struct field_spec *p = projects.create;
    assert_string_equal(judge(p, "five_one", "{}"), "");
    assert_string_equal(judge(p, "five_one", "{\"一个领导\": \"张三\"}"), "");
    assert_string_equal(judge(p, "five_one", "{\"a\": 1}"),
                        "must map names to strings of at most 1000 bytes");
    assert_string_equal(judge(p, "five_one", "{\"a\": null}"),
                        "must map names to strings of at most 1000 bytes");
    assert_string_equal(judge(p, "five_one", "[]"), "must be an object");
    assert_string_equal(judge(p, "five_one", "\"{}\""), "must be an object");
    char *s = json_string_of("a", 1001), obj[1100];
    snprintf(obj, sizeof obj, "{\"k\": %s}", s);
    assert_string_equal(judge(p, "five_one", obj),
                        "must map names to strings of at most 1000 bytes");
    free(s);

    const struct field_spec *in = interactions.create;
    assert_string_equal(judge(in, "leader_ids", "[]"), "");
    assert_string_equal(judge(in, "leader_ids", "[1, 2, 3]"), "");
    assert_string_equal(judge(in, "leader_ids", "[0]"), "must hold positive integers");
    assert_string_equal(judge(in, "leader_ids", "[1, -2]"), "must hold positive integers");
    assert_string_equal(judge(in, "leader_ids", "[\"1\"]"), "must hold positive integers");
    assert_string_equal(judge(in, "leader_ids", "[1.5]"), "must hold positive integers");
    assert_string_equal(judge(in, "leader_ids", "[null]"), "must hold positive integers");
    assert_string_equal(judge(in, "leader_ids", "1"), "must be an array");
    assert_string_equal(judge(in, "leader_ids", "null"), "must not be null");
    char ids[256] = "[";
    for (int i = 1; i <= 21; i++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%d", i > 1 ? "," : "", i);
    strcat(ids, "]");
    assert_string_equal(judge(in, "leader_ids", ids), "must have at most 20 items");
    ids[strlen(ids) - 4] = ']'; /* ...,20] */
    ids[strlen(ids) - 3] = '\0';
    assert_string_equal(judge(in, "leader_ids", ids), "");

    assert_string_equal(judge(in, "participants", "[\"张三\", \"李四\"]"), "");
    assert_string_equal(judge(in, "participants", "[1]"), "must hold strings of at most 200 bytes");
    s = json_string_of("a", 201);
    char arr[300];
    snprintf(arr, sizeof arr, "[%s]", s);
    assert_string_equal(judge(in, "participants", arr), "must hold strings of at most 200 bytes");
    free(s);
    s = json_string_of("a", 200);
    snprintf(arr, sizeof arr, "[%s]", s);
    assert_string_equal(judge(in, "participants", arr), "");
    free(s);
    assert_string_equal(judge(batches.create, "project_ids", "[1, 1, 2]"),
                        ""); /* duplicates are the database's */

    const struct field_spec *inv = investors.create;
    assert_string_equal(judge(inv, "uscc", "\"91350100M000100Y43\""), "");
    assert_string_equal(judge(inv, "uscc", "\"\""), ""); /* none */
    assert_string_equal(judge(inv, "uscc", "null"), "");
    assert_string_equal(judge(inv, "uscc", "\"91350100M000100Y44\""),
                        "must be a unified social credit code: 18 characters of 0-9 and A-Z "
                        "(no I, O, S, V, Z), the last its check character");
    assert_string_equal(judge(inv, "uscc", "\"91350100m000100y43\""),
                        "must be a unified social credit code: 18 characters of 0-9 and A-Z "
                        "(no I, O, S, V, Z), the last its check character");
    assert_string_equal(judge(inv, "uscc", "91350100"), "must be a string");
}

static void test_nulls(void **state)
{
    (void)state;
    /* Nullable fields take null (it clears them); no other field does,
     * required or not. */
    const struct resource *rs[] = {&units,  &investors,    &contacts, &projects, &contracts,
                                   &starts, &interactions, &problems, &batches};
    int nullable = 0, refused = 0;
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
        const struct field_spec *tables[] = {rs[i]->create, rs[i]->update};
        for (int t = 0; t < 2; t++) {
            for (const struct field_spec *s = tables[t]; s && s->name; s++) {
                char buf[64];
                const char *m = body_field_problem(s, json_null(), buf, sizeof buf);
                if (s->nullable) {
                    assert_null(m);
                    nullable++;
                } else {
                    assert_non_null(m);
                    assert_string_equal(m, "must not be null");
                    refused++;
                }
            }
        }
    }
    /* The tables do have both kinds. */
    assert_true(nullable >= 10);
    assert_true(refused >= 50);
    assert_string_equal(judge(projects.create, "investor_id", "null"), "");
    assert_string_equal(judge(projects.update, "leader_id", "null"), "");
    assert_string_equal(judge(projects.create, "code", "null"), "must not be null");
}

/* ---- body_check and body_check_members ---- */

/* body_check of body (JSON text) against specs: 0, or -1 with the 422's
 * errors as "field: message" lines into out. */
static int check(const struct field_spec *specs, const char *body, char *out, size_t outlen)
{
    json_t *obj = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(obj);
    int before = captured.calls;
    struct exchange *x = capture_exchange(HTTP_POST, "/api/v1/x", NULL, 0);
    int rc = body_check(x, obj, specs);
    json_decref(obj);
    out[0] = '\0';
    if (rc == 0) {
        assert_int_equal(captured.calls, before);
        exchange_send_empty(x, 204);
        return 0;
    }
    assert_int_equal(rc, -1);
    assert_int_equal(captured.calls, before + 1);
    assert_int_equal(captured.status, 422);
    assert_string_equal(captured.content_type, "application/problem+json");
    json_t *p = captured_json();
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 422);
    json_t *errors = json_object_get(p, "errors");
    assert_true(json_is_array(errors));
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s: %s\n",
                 json_string_value(json_object_get(e, "field")),
                 json_string_value(json_object_get(e, "message")));
    }
    json_decref(p);
    return -1;
}

static void test_body_check(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(
        check(investors.create, "{\"name\": \"某公司\", \"unit_id\": 3}", out, sizeof out), 0);
    assert_int_equal(check(investors.create,
                           "{\"name\": \"某公司\", \"unit_id\": 3, \"uscc\": null, \"chain_role\": "
                           "\"supporting\", \"notes\": \"\"}",
                           out, sizeof out),
                     0);

    assert_int_equal(check(investors.create, "{}", out, sizeof out), -1);
    assert_string_equal(out, "name: is required\nunit_id: is required\n");

    assert_int_equal(check(investors.create,
                           "{\"name\": \"x\", \"unit_id\": 3, \"unit_path\": [1]}", out,
                           sizeof out),
                     -1);
    assert_string_equal(out, "unit_path: is not a field of this request\n");

    /* A required field given as null is not missing: it is null. */
    assert_int_equal(check(investors.create, "{\"name\": null, \"unit_id\": 3}", out, sizeof out),
                     -1);
    assert_string_equal(out, "name: must not be null\n");

    /* Every fault of the body in one answer, in the body's order, then what
     * is missing. */
    assert_int_equal(
        check(contracts.create,
              "{\"kind\": \"formall\", \"amount_yuan\": 0, \"signed_on\": \"2024-02-30\", "
              "\"verified_by\": 7, \"evidence\": 5}",
              out, sizeof out),
        -1);
    assert_string_equal(out, "kind: must be one of: intent formal capital_increase\n"
                             "amount_yuan: must be from 1 to 10000000000000\n"
                             "signed_on: must be a date written YYYY-MM-DD\n"
                             "verified_by: is not a field of this request\n"
                             "evidence: must be a string\n"
                             "project_id: is required\n");

    /* What a PATCH may not touch: a project's code and stage (they move
     * only through transitions), a claim's project. */
    assert_int_equal(
        check(projects.update, "{\"stage\": \"signed\", \"code\": \"P-1\"}", out, sizeof out), -1);
    assert_string_equal(
        out, "stage: is not a field of this request\ncode: is not a field of this request\n");
    assert_int_equal(check(contracts.update, "{\"project_id\": 2}", out, sizeof out), -1);
    assert_string_equal(out, "project_id: is not a field of this request\n");
    assert_int_equal(check(projects.update, "{}", out, sizeof out), 0); /* nothing required */

    /* Field names are matched exactly. */
    assert_int_equal(check(investors.create, "{\"Name\": \"x\", \"unit_id \": 3}", out, sizeof out),
                     -1);
    assert_string_equal(out, "Name: is not a field of this request\n"
                             "unit_id : is not a field of this request\n"
                             "name: is required\nunit_id: is required\n");
}

static void test_body_check_members(void **state)
{
    (void)state;
    static const struct field_spec item[] = {
        {"unit_id", FIELD_INTEGER, 1, 0, 0, NULL},
        {"signing_amount_yuan", FIELD_NATURAL, 1, 0, 0, NULL},
        {NULL, 0, 0, 0, 0, NULL},
    };
    struct exchange x = {0};
    snprintf(x.request_id, sizeof x.request_id, "req-members");
    json_t *problem = NULL;
    json_t *obj = json_pack("{s:i, s:s}", "signing_amount_yuan", -1, "extra", "x");
    assert_int_equal(body_check_members(&x, &problem, obj, item, "targets[2]."), 3);
    json_decref(obj);
    assert_non_null(problem);
    assert_int_equal(json_integer_value(json_object_get(problem, "status")), 422);
    assert_string_equal(json_string_value(json_object_get(problem, "request_id")), "req-members");
    json_t *errors = json_object_get(problem, "errors");
    assert_int_equal(json_array_size(errors), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                        "targets[2].signing_amount_yuan");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 1), "field")),
                        "targets[2].extra");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 2), "field")),
                        "targets[2].unit_id");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 2), "message")),
                        "is required");

    /* A long unknown name of three-byte characters: the field named is cut
     * on a character boundary, so the error is kept (not dropped for
     * invalid UTF-8). */
    char key[3 * 100 + 1] = "";
    for (int i = 0; i < 100; i++)
        strcat(key, "西");
    obj = json_object();
    json_object_set_new(obj, key, json_integer(1));
    json_object_set_new(obj, "unit_id", json_integer(1));
    json_object_set_new(obj, "signing_amount_yuan", json_integer(0));
    assert_int_equal(body_check_members(&x, &problem, obj, item, "quotas[10]."), 1);
    json_decref(obj);
    assert_int_equal(json_array_size(errors), 4);
    const char *field = json_string_value(json_object_get(json_array_get(errors, 3), "field"));
    assert_non_null(field);
    assert_true(strlen(field) < 128);
    assert_memory_equal(field, "quotas[10].西", strlen("quotas[10].西"));
    assert_int_equal((strlen(field) - strlen("quotas[10].")) % 3, 0);
    json_decref(problem);

    /* A good item adds nothing. */
    problem = NULL;
    obj = json_pack("{s:i, s:i}", "unit_id", 4, "signing_amount_yuan", 0);
    assert_int_equal(body_check_members(&x, &problem, obj, item, "targets[0]."), 0);
    assert_null(problem);
    json_decref(obj);
}

/* ---- the tables ---- */

/* The fields each PATCH accepts, by name: what a PATCH may change (not a
 * project's code or stage, not a claim's project...). A unit's "retired" is
 * PATCH's alone; contacts have no PATCH. */
static const struct {
    const struct resource *res;
    const char *const *fields; /* NULL-terminated; NULL: no PATCH table */
} patch_fields[] = {
    {&units, (const char *const[]){"parent_id", "code", "name", "kind", "retired", NULL}},
    {&investors, (const char *const[]){"name", "unit_id", "uscc", "origin_region", "industry",
                                       "chain_role", "notes", NULL}},
    {&contacts, NULL},
    {&projects,
     (const char *const[]){"name", "unit_id", "investor_id", "leader_id", "industry_chain", "park",
                           "planned_investment_yuan", "is_key", "five_one", "plan",
                           "planned_start_on", "expected_sign_on", NULL}},
    {&contracts, (const char *const[]){"kind", "amount_yuan", "signed_on", "evidence", NULL}},
    {&starts, (const char *const[]){"started_on", "evidence", NULL}},
    {&interactions, (const char *const[]){"kind", "occurred_on", "place", "summary", "leader_ids",
                                          "participants", "next_step", "next_step_due", NULL}},
    {&problems, (const char *const[]){"owner_unit_id", "title", "description", "due_on", "level",
                                      "status", NULL}},
    {&batches, (const char *const[]){"kind", "name", "held_on", "place", "project_ids", NULL}},
};

/* How many times name is a field of specs. */
static int spec_count(const struct field_spec *specs, const char *name)
{
    int n = 0;
    for (const struct field_spec *s = specs; s->name; s++)
        n += strcmp(s->name, name) == 0;
    return n;
}

static void test_patch_fields(void **state)
{
    (void)state;
    int shared = 0;
    for (size_t i = 0; i < sizeof patch_fields / sizeof patch_fields[0]; i++) {
        const struct resource *r = patch_fields[i].res;
        const char *const *want = patch_fields[i].fields;
        if (!want) {
            assert_null(r->update);
            continue;
        }
        assert_non_null(r->update);
        for (const char *const *w = want; *w; w++)
            if (spec_count(r->update, *w) != 1)
                fail_msg("%s: PATCH accepts %s %d times, not once", r->name, *w,
                         spec_count(r->update, *w));
        for (const struct field_spec *u = r->update; u->name; u++) {
            int listed = 0;
            for (const char *const *w = want; *w; w++)
                listed |= strcmp(*w, u->name) == 0;
            if (!listed)
                fail_msg("%s: PATCH accepts %s, which it should not", r->name, u->name);
            assert_int_equal(u->required, 0); /* a PATCH requires nothing */
            /* Checked as on POST (the fix of issue 13, item 5: a contract's
             * amount_yuan had no 10^13 bound on PATCH). */
            if (spec_count(r->create, u->name) == 0)
                continue;
            const struct field_spec *c = spec(r->create, u->name);
            shared++;
            if (c->type != u->type || c->max_len != u->max_len || c->nullable != u->nullable ||
                c->values != u->values)
                fail_msg("%s.%s: POST and PATCH check it differently", r->name, u->name);
        }
    }
    assert_true(shared >= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_object),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_naturals_and_numbers),
        cmocka_unit_test(test_booleans_dates_enums),
        cmocka_unit_test(test_objects_arrays_uscc),
        cmocka_unit_test(test_nulls),
        cmocka_unit_test(test_body_check),
        cmocka_unit_test(test_body_check_members),
        cmocka_unit_test(test_patch_fields),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(captured.body);
    return rc;
}
