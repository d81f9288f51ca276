/*
 * Unit tests of http/problem: the fields of problem_new (type, title,
 * status, optional detail and request_id), http_status_reason, and
 * problem_add_error appending {field, message} to "errors".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>

#include "http/problem.h"

static void test_problem_new_all_fields(void **state)
{
    (void)state;
    json_t *p = problem_new(404, "No such unit.", "req-1");
    assert_non_null(p);
    assert_true(json_is_object(p));
    assert_string_equal(json_string_value(json_object_get(p, "type")), "about:blank");
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Not Found");
    assert_true(json_is_integer(json_object_get(p, "status")));
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 404);
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "No such unit.");
    assert_string_equal(json_string_value(json_object_get(p, "request_id")), "req-1");
    assert_int_equal(json_object_size(p), 5);
    assert_null(json_object_get(p, "errors"));
    json_decref(p);
}

static void test_problem_new_omits_null_detail(void **state)
{
    (void)state;
    json_t *p = problem_new(503, NULL, "req-2");
    assert_non_null(p);
    assert_null(json_object_get(p, "detail"));
    assert_string_equal(json_string_value(json_object_get(p, "request_id")), "req-2");
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Service Unavailable");
    assert_int_equal(json_object_size(p), 4);
    json_decref(p);
}

static void test_problem_new_omits_null_request_id(void **state)
{
    (void)state;
    json_t *p = problem_new(400, "Bad JSON.", NULL);
    assert_non_null(p);
    assert_null(json_object_get(p, "request_id"));
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "Bad JSON.");
    assert_int_equal(json_object_size(p), 4);
    json_decref(p);
}

static void test_problem_new_minimal(void **state)
{
    (void)state;
    json_t *p = problem_new(500, NULL, NULL);
    assert_non_null(p);
    assert_int_equal(json_object_size(p), 3);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "about:blank");
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Internal Server Error");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 500);
    json_decref(p);
}

static void test_problem_new_unknown_status_title(void **state)
{
    (void)state;
    json_t *p = problem_new(599, NULL, NULL);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Error");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 599);
    json_decref(p);
}

static void test_problem_new_serializes(void **state)
{
    (void)state;
    json_t *p = problem_new(409, "Version mismatch.", NULL);
    char *text = json_dumps(p, JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(text);
    assert_string_equal(text, "{\"detail\":\"Version mismatch.\",\"status\":409,"
                              "\"title\":\"Conflict\",\"type\":\"about:blank\"}");
    free(text);
    json_decref(p);
}

static void test_http_status_reason_known(void **state)
{
    (void)state;
    assert_string_equal(http_status_reason(200), "OK");
    assert_string_equal(http_status_reason(404), "Not Found");
    assert_string_equal(http_status_reason(405), "Method Not Allowed");
    assert_string_equal(http_status_reason(413), "Content Too Large");
    assert_string_equal(http_status_reason(415), "Unsupported Media Type");
    assert_string_equal(http_status_reason(422), "Unprocessable Content");
    assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_status_reason(503), "Service Unavailable");
}

static void test_http_status_reason_unknown(void **state)
{
    (void)state;
    assert_string_equal(http_status_reason(0), "Error");
    assert_string_equal(http_status_reason(-1), "Error");
    assert_string_equal(http_status_reason(418), "Error");
    assert_string_equal(http_status_reason(999), "Error");
}

static void test_problem_add_error_creates_array(void **state)
{
    (void)state;
    json_t *p = problem_new(422, "Invalid unit.", NULL);
    assert_int_equal(problem_add_error(p, "name", "must not be empty"), 0);
    json_t *errors = json_object_get(p, "errors");
    assert_true(json_is_array(errors));
    assert_int_equal(json_array_size(errors), 1);
    json_t *e = json_array_get(errors, 0);
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "name");
    assert_string_equal(json_string_value(json_object_get(e, "message")), "must not be empty");
    json_decref(p);
}

static void test_problem_add_error_appends_in_order(void **state)
{
    (void)state;
    json_t *p = problem_new(422, NULL, NULL);
    assert_int_equal(problem_add_error(p, "name", "too long"), 0);
    assert_int_equal(problem_add_error(p, "code", "taken"), 0);
    assert_int_equal(problem_add_error(p, "name", "bad characters"), 0);
    json_t *errors = json_object_get(p, "errors");
    assert_int_equal(json_array_size(errors), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                        "name");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 1), "field")),
                        "code");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 2), "message")),
                        "bad characters");
    json_decref(p);
}

static void test_problem_add_error_null_field_fails(void **state)
{
    (void)state;
    json_t *p = problem_new(422, NULL, NULL);
    assert_int_equal(problem_add_error(p, NULL, "x"), -1);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_new_all_fields),
        cmocka_unit_test(test_problem_new_omits_null_detail),
        cmocka_unit_test(test_problem_new_omits_null_request_id),
        cmocka_unit_test(test_problem_new_minimal),
        cmocka_unit_test(test_problem_new_unknown_status_title),
        cmocka_unit_test(test_problem_new_serializes),
        cmocka_unit_test(test_http_status_reason_known),
        cmocka_unit_test(test_http_status_reason_unknown),
        cmocka_unit_test(test_problem_add_error_creates_array),
        cmocka_unit_test(test_problem_add_error_appends_in_order),
        cmocka_unit_test(test_problem_add_error_null_field_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
