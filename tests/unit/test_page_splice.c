/*
 * Unit tests of list pages (issue 13, item 6): handler_send_page turns the
 * {"items", "next_after"} text PostgreSQL builds into the answer
 * {"items", "next_cursor"}. Its fast path (page_splice, static in
 * api/handlers.c, reached through handler_send_page) cuts the items out of
 * the text without parsing them; text of another form takes the slow path,
 * which parses it whole. Checked on captured answers (reply_capture.h):
 *
 * - both paths give the same answer, byte for byte, for ids, text keys and
 *   the last page (null), whatever the items hold (text that looks like the
 *   key, nested next_after members, braces, escapes, UTF-8, big pages);
 * - next_cursor decodes, for its list only, to next_after;
 * - a next_after that is no key (true, an object, a text key too long for a
 *   cursor), text that is not JSON, or no text: 500, never a page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/handlers.h"
#include "http/query.h"
#include "reply_capture.h"

/* handler_send_page(kind, text); returns the status, the body in captured. */
static int page(const char *kind, const char *text)
{
    int before = captured.calls;
    struct exchange *x = capture_exchange(HTTP_GET, "/api/v1/projects", NULL, 0);
    handler_send_page(x, kind, text);
    assert_int_equal(captured.calls, before + 1);
    assert_int_equal(capture_worker.in_flight, 0);
    return captured.status;
}

/* The answer to text by the fast path, and by the slow one (the same text
 * followed by a blank, which the fast path does not take): they must be
 * the same JSON document (the same bytes but for escapes, which the fast
 * path leaves as PostgreSQL wrote them and the slow one writes anew).
 * Returns the fast path's answer (the caller frees it). */
static char *both_paths(const char *kind, const char *text)
{
    assert_int_equal(page(kind, text), 200);
    assert_string_equal(captured.content_type, "application/json; charset=utf-8");
    char *fast = strdup(captured.body);
    size_t n = strlen(text);
    char *slow_text = malloc(n + 2);
    assert_non_null(slow_text);
    memcpy(slow_text, text, n);
    memcpy(slow_text + n, "\n", 2);
    assert_int_equal(page(kind, slow_text), 200);
    free(slow_text);
    json_t *f = json_loads(fast, 0, NULL), *sl = json_loads(captured.body, 0, NULL);
    int same = f && sl && json_equal(f, sl);
    json_decref(f);
    json_decref(sl);
    if (!same)
        fail_msg("fast and slow paths differ:\n  fast %s\n  slow %s", fast, captured.body);
    if (!strchr(text, '\\') && strcmp(fast, captured.body) != 0)
        fail_msg("fast and slow paths differ in bytes:\n  fast %s\n  slow %s", fast, captured.body);
    return fast;
}

/* The answer came by the fast path: the items' escape \u00e9 is there as
 * PostgreSQL wrote it (the slow path, which parses and prints the page,
 * writes the character itself). */
static void assert_fast(const char *answer)
{
    if (!strstr(answer, "\\u00e9"))
        fail_msg("not the fast path: %s", answer);
}

/* The answer's items (as JSON text) and its next_cursor decoded as an id
 * of kind (0 when null). */
static long long next_id(const char *answer, const char *kind, char **items)
{
    json_t *doc = json_loads(answer, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 2);
    json_t *c = json_object_get(doc, "next_cursor");
    assert_non_null(c);
    assert_null(json_object_get(doc, "next_after"));
    if (items)
        *items = json_dumps(json_object_get(doc, "items"), JSON_COMPACT | JSON_ENCODE_ANY);
    long long id = 0;
    if (!json_is_null(c)) {
        assert_true(json_is_string(c));
        assert_int_equal(cursor_decode(kind, json_string_value(c), &id), 0);
        long long other;
        assert_int_equal(cursor_decode("users", json_string_value(c), &other), -1);
    }
    json_decref(doc);
    return id;
}

static void test_id_pages(void **state)
{
    (void)state;
    char *items;
    char *a = both_paths(
        "projects",
        "{\"items\" : [{\"id\": 7, \"name\": \"项目\"}, {\"id\": 9, \"name\": \"\\u00e9\"}], "
        "\"next_after\" : 9}");
    assert_fast(a);
    static const char head[] =
        "{\"items\":[{\"id\":7,\"name\":\"项目\"},{\"id\":9,\"name\":\"\\u00e9\"}],"
        "\"next_cursor\":\"";
    assert_memory_equal(a, head, sizeof head - 1);
    assert_int_equal(next_id(a, "projects", &items), 9);
    assert_string_equal(items, "[{\"id\":7,\"name\":\"项目\"},{\"id\":9,\"name\":\"é\"}]");
    free(items);
    free(a);

    /* The last page: null. */
    a = both_paths("projects", "{\"items\" : [{\"id\": 1}], \"next_after\" : null}");
    assert_int_equal(next_id(a, "projects", NULL), 0);
    assert_non_null(strstr(a, "\"next_cursor\":null"));
    free(a);

    /* An empty page. */
    a = both_paths("investors", "{\"items\" : [], \"next_after\" : null}");
    assert_string_equal(a, "{\"items\":[],\"next_cursor\":null}");
    free(a);

    /* The largest id. */
    a = both_paths(
        "investors",
        "{\"items\" : [{\"id\": 9223372036854775807}], \"next_after\" : 9223372036854775807}");
    assert_int_equal(next_id(a, "investors", NULL), 9223372036854775807LL);
    free(a);
}

static void test_items_that_look_like_the_key(void **state)
{
    (void)state;
    /* Text in the items spelling the key (escaped quotes), items with a
     * next_after member of their own, braces and escapes in strings. */
    static const char *const texts[] = {
        "{\"items\" : [{\"note\": \", \\\"next_after\\\" : 5}\", \"e\": \"\\u00e9\"}], "
        "\"next_after\" : 3}",
        "{\"items\" : [{\"id\": 1, \"e\": \"\\u00e9\", \"next_after\" : 77}], \"next_after\" : 4}",
        "{\"items\" : [{\"id\": 1, \"x\": {\"next_after\" : 77}}, {\"e\": \"\\u00e9\"}], "
        "\"next_after\" : 5}",
        "{\"items\" : [{\"s\": \"}]}\\\\\\\"\\u00e9\\n\"}], \"next_after\" : 6}",
        "{\"items\" : [\", \\\"next_after\\\" : \", \"\\u00e9\"], \"next_after\" : 7}",
    };
    static const long long want[] = {3, 4, 5, 6, 7};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *items;
        char *a = both_paths("problems", texts[i]);
        assert_fast(a);
        assert_int_equal(next_id(a, "problems", &items), want[i]);
        /* The items are passed on as they were (compacted only). */
        json_t *orig = json_loads(texts[i], 0, NULL);
        char *orig_items = json_dumps(json_object_get(orig, "items"), JSON_COMPACT);
        assert_string_equal(items, orig_items);
        free(orig_items);
        json_decref(orig);
        free(items);
        free(a);
    }
}

static void test_text_keys(void **state)
{
    (void)state;
    char key[CURSOR_KEY_MAX + 1];
    char *a = both_paths(
        "alerts", "{\"items\" : [{\"kind\": \"behind\"}], \"next_after\" : \"2|red|西社镇|17\"}");
    json_t *doc = json_loads(a, 0, NULL);
    const char *c = json_string_value(json_object_get(doc, "next_cursor"));
    assert_non_null(c);
    assert_int_equal(cursor_decode_text("alerts", c, key, sizeof key), 0);
    assert_string_equal(key, "2|red|西社镇|17");
    long long id;
    assert_int_equal(cursor_decode("alerts", c, &id), -1); /* not an id */
    json_decref(doc);
    free(a);

    /* A key with quotes and a backslash (escaped in the text). */
    a = both_paths("alerts", "{\"items\" : [], \"next_after\" : \"a\\\"b\\\\c\"}");
    doc = json_loads(a, 0, NULL);
    c = json_string_value(json_object_get(doc, "next_cursor"));
    assert_non_null(c);
    assert_int_equal(cursor_decode_text("alerts", c, key, sizeof key), 0);
    assert_string_equal(key, "a\"b\\c");
    json_decref(doc);
    free(a);

    /* CURSOR_KEY_MAX bytes: still a cursor. */
    char text[512];
    memset(key, 'k', CURSOR_KEY_MAX);
    key[CURSOR_KEY_MAX] = '\0';
    snprintf(text, sizeof text, "{\"items\" : [], \"next_after\" : \"%s\"}", key);
    a = both_paths("alerts", text);
    assert_null(strstr(a, "\"next_cursor\":null"));
    free(a);
}

static void test_big_page(void **state)
{
    (void)state;
    /* 200 items of about 1 kB each, a bigger page than the API serves. */
    size_t cap = 200 * 1200 + 100, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "{\"items\" : [");
    char filler[1001];
    memset(filler, 'x', 1000);
    filler[1000] = '\0';
    for (int i = 1; i <= 200; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s{\"id\": %d, \"f\": \"%s\"}", i > 1 ? ", " : "",
                              i, filler);
    n += (size_t)snprintf(text + n, cap - n, "], \"next_after\" : 200}");
    assert_true(n < cap);
    char *a = both_paths("contracts", text);
    assert_int_equal(next_id(a, "contracts", NULL), 200);
    free(a);
    free(text);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"items\" : [], \"next_after\" : true}",
        "{\"items\" : [], \"next_after\" : {\"id\": 3}}",
        "{\"items\" : [], \"next_after\" : [3]}",
        "{\"items\" : [], \"next_after\" : 1.5}",
        "{\"items\" : [1, 2], \"next_after\" : 3", /* cut short */
        "not json at all",
        "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (page("projects", texts[i]) != 500)
            fail_msg("\"%s\" answered %d: %s", texts[i], captured.status, captured.body);
        assert_string_equal(captured.content_type, "application/problem+json");
        assert_null(strstr(captured.body, "items"));
    }
    assert_int_equal(page("projects", NULL), 500);

    /* A text key longer than a cursor may carry: no page with a cursor
     * that could not be decoded. */
    char text[512], key[CURSOR_KEY_MAX + 2];
    memset(key, 'k', CURSOR_KEY_MAX + 1);
    key[CURSOR_KEY_MAX + 1] = '\0';
    snprintf(text, sizeof text, "{\"items\" : [], \"next_after\" : \"%s\"}", key);
    assert_int_equal(page("alerts", text), 500);
    /* The empty text key: likewise (it would read as "no cursor"). */
    assert_int_equal(page("alerts", "{\"items\" : [], \"next_after\" : \"\"}"), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_pages),  cmocka_unit_test(test_items_that_look_like_the_key),
        cmocka_unit_test(test_text_keys), cmocka_unit_test(test_big_page),
        cmocka_unit_test(test_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(captured.body);
    return rc;
}
