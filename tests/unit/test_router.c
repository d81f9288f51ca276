/*
 * Unit tests of http/router: router_match (literal and {param} segments,
 * trailing and empty segments, HEAD on GET routes, 405 with the Allow mask,
 * first route wins, the ROUTER_MAX_PARAMS limit), router_param,
 * router_allow_header and router_method_name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "http/router.h"

/* Distinct handlers, so tests can tell which route matched. */
static void handler_a(struct exchange *x)
{
    (void)x;
}

static void handler_b(struct exchange *x)
{
    (void)x;
}

static const struct route routes[] = {
    {HTTP_GET, "/healthz", handler_a, 0, NULL, NULL, 0},
    {HTTP_GET, "/api/v1/units", handler_a, 0, NULL, NULL, 0},
    {HTTP_POST, "/api/v1/units", handler_b, 0, NULL, NULL, 0},
    {HTTP_GET, "/api/v1/units/{id}", handler_a, 0, NULL, NULL, 0},
    {HTTP_PATCH, "/api/v1/units/{id}", handler_b, 0, NULL, NULL, 0},
    {HTTP_DELETE, "/api/v1/units/{id}", handler_b, 0, NULL, NULL, 0},
    {HTTP_GET, "/api/v1/units/{unit}/members/{member}", handler_a, 0, NULL, NULL, 0},
    {HTTP_GET, "/", handler_b, 0, NULL, NULL, 0},
};

#define NROUTES (sizeof routes / sizeof routes[0])

static enum router_result match(unsigned method, const char *path, struct route_match *m)
{
    return router_match(routes, NROUTES, method, path, m);
}

static void test_router_literal_path_matches(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/healthz", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[0]);
    assert_int_equal(m.nparams, 0);
}

static void test_router_root_path_matches(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[7]);
}

static void test_router_unknown_path_not_found(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/nope", &m), ROUTER_NOT_FOUND);
    assert_null(m.route);
    assert_int_equal(m.allowed, 0);
}

static void test_router_empty_path_not_found(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "", &m), ROUTER_NOT_FOUND);
}

static void test_router_prefix_of_pattern_not_found(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/api/v1", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/healthzz", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/health", &m), ROUTER_NOT_FOUND);
}

static void test_router_literal_is_case_sensitive(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/HEALTHZ", &m), ROUTER_NOT_FOUND);
}

static void test_router_trailing_slash_not_a_match(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/healthz/", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/api/v1/units/", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/api/v1/units/42/", &m), ROUTER_NOT_FOUND);
}

static void test_router_param_segment_matches(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/api/v1/units/42", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[3]);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.params[0].name_len, 2);
    assert_memory_equal(m.params[0].name, "id", 2);
    assert_int_equal(m.params[0].value_len, 2);
    assert_memory_equal(m.params[0].value, "42", 2);
}

static void test_router_param_points_into_path(void **state)
{
    (void)state;
    const char *path = "/api/v1/units/abc";
    struct route_match m;
    assert_int_equal(match(HTTP_GET, path, &m), ROUTER_FOUND);
    assert_ptr_equal(m.params[0].value, path + strlen("/api/v1/units/"));
}

static void test_router_two_params_in_order(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/api/v1/units/7/members/alice", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[6]);
    assert_int_equal(m.nparams, 2);
    assert_memory_equal(m.params[0].name, "unit", 4);
    assert_memory_equal(m.params[0].value, "7", 1);
    assert_int_equal(m.params[1].value_len, 5);
    assert_memory_equal(m.params[1].value, "alice", 5);
}

static void test_router_empty_param_segment_not_found(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/api/v1/units//members/alice", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/api/v1/units/7/members/", &m), ROUTER_NOT_FOUND);
}

static void test_router_empty_literal_segment_not_found(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/api//v1/units", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "//healthz", &m), ROUTER_NOT_FOUND);
}

static void test_router_param_does_not_span_segments(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_GET, "/api/v1/units/7/8", &m), ROUTER_NOT_FOUND);
}

static void test_router_get_route_answers_head(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_HEAD, "/healthz", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[0]);
    assert_int_equal(match(HTTP_HEAD, "/api/v1/units/9", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[3]);
    assert_int_equal(m.nparams, 1);
}

static void test_router_head_only_on_get_routes(void **state)
{
    (void)state;
    static const struct route post_only[] = {{HTTP_POST, "/things", handler_a, 0, NULL, NULL, 0}};
    struct route_match m;
    assert_int_equal(router_match(post_only, 1, HTTP_HEAD, "/things", &m),
                     ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(m.allowed, HTTP_POST);
}

static void test_router_wrong_method_is_405(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_DELETE, "/healthz", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_null(m.route);
    assert_int_equal(m.allowed, HTTP_GET | HTTP_HEAD);
}

static void test_router_405_mask_aggregates_routes(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_PUT, "/api/v1/units/5", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(m.allowed, HTTP_GET | HTTP_HEAD | HTTP_PATCH | HTTP_DELETE);
    assert_int_equal(match(HTTP_DELETE, "/api/v1/units", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(m.allowed, HTTP_GET | HTTP_HEAD | HTTP_POST);
}

static void test_router_found_still_reports_allowed(void **state)
{
    (void)state;
    struct route_match m;
    /* The mask covers routes after the one that matched, too. */
    assert_int_equal(match(HTTP_GET, "/api/v1/units/5", &m), ROUTER_FOUND);
    assert_int_equal(m.allowed, HTTP_GET | HTTP_HEAD | HTTP_PATCH | HTTP_DELETE);
}

static void test_router_method_selects_route(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(match(HTTP_PATCH, "/api/v1/units/5", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[4]);
    assert_ptr_equal(m.route->handler, handler_b);
    assert_int_equal(m.nparams, 1);
    assert_memory_equal(m.params[0].value, "5", 1);
}

static void test_router_first_matching_route_wins(void **state)
{
    (void)state;
    static const struct route overlap[] = {
        {HTTP_GET, "/units/{id}", handler_a, 0, NULL, NULL, 0},
        {HTTP_GET, "/units/new", handler_b, 0, NULL, NULL, 0},
        {HTTP_GET, "/units/{other}", handler_b, 0, NULL, NULL, 0},
    };
    struct route_match m;
    assert_int_equal(router_match(overlap, 3, HTTP_GET, "/units/new", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &overlap[0]);
    assert_int_equal(m.nparams, 1);
    assert_memory_equal(m.params[0].name, "id", 2);
}

static void test_router_params_of_winner_not_overwritten(void **state)
{
    (void)state;
    static const struct route overlap[] = {
        {HTTP_GET, "/a/{x}", handler_a, 0, NULL, NULL, 0},
        {HTTP_GET, "/{y}/{z}", handler_b, 0, NULL, NULL, 0},
    };
    struct route_match m;
    assert_int_equal(router_match(overlap, 2, HTTP_GET, "/a/b", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &overlap[0]);
    assert_int_equal(m.nparams, 1);
    assert_memory_equal(m.params[0].name, "x", 1);
    assert_memory_equal(m.params[0].value, "b", 1);
}

static void test_router_max_params_matches(void **state)
{
    (void)state;
    static const struct route eight[] = {
        {HTTP_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", handler_a, 0, NULL, NULL, 0},
    };
    struct route_match m;
    assert_int_equal(router_match(eight, 1, HTTP_GET, "/1/2/3/4/5/6/7/8", &m), ROUTER_FOUND);
    assert_int_equal(m.nparams, ROUTER_MAX_PARAMS);
    assert_memory_equal(m.params[7].name, "h", 1);
    assert_memory_equal(m.params[7].value, "8", 1);
}

static void test_router_more_than_max_params_not_found(void **state)
{
    (void)state;
    static const struct route nine[] = {
        {HTTP_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", handler_a, 0, NULL, NULL, 0},
    };
    struct route_match m;
    assert_int_equal(router_match(nine, 1, HTTP_GET, "/1/2/3/4/5/6/7/8/9", &m), ROUTER_NOT_FOUND);
    assert_null(m.route);
}

static void test_router_empty_table_not_found(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(router_match(routes, 0, HTTP_GET, "/healthz", &m), ROUTER_NOT_FOUND);
}

static void test_router_param_present(void **state)
{
    (void)state;
    struct route_match m;
    char out[16];
    assert_int_equal(match(HTTP_GET, "/api/v1/units/7/members/alice", &m), ROUTER_FOUND);
    assert_int_equal(router_param(&m, "member", out, sizeof out), 5);
    assert_string_equal(out, "alice");
    assert_int_equal(router_param(&m, "unit", out, sizeof out), 1);
    assert_string_equal(out, "7");
}

static void test_router_param_absent(void **state)
{
    (void)state;
    struct route_match m;
    char out[16] = "untouched";
    assert_int_equal(match(HTTP_GET, "/api/v1/units/7", &m), ROUTER_FOUND);
    assert_int_equal(router_param(&m, "unit", out, sizeof out), -1);
    assert_int_equal(router_param(&m, "i", out, sizeof out), -1);
    assert_int_equal(router_param(&m, "idx", out, sizeof out), -1);
    assert_int_equal(router_param(&m, "", out, sizeof out), -1);
}

static void test_router_param_exact_fit(void **state)
{
    (void)state;
    struct route_match m;
    char out[6];
    assert_int_equal(match(HTTP_GET, "/api/v1/units/12345", &m), ROUTER_FOUND);
    assert_int_equal(router_param(&m, "id", out, sizeof out), 5);
    assert_string_equal(out, "12345");
}

static void test_router_param_buffer_too_small(void **state)
{
    (void)state;
    struct route_match m;
    char out[5];
    memset(out, 'z', sizeof out);
    assert_int_equal(match(HTTP_GET, "/api/v1/units/12345", &m), ROUTER_FOUND);
    assert_int_equal(router_param(&m, "id", out, sizeof out), -1);
    assert_int_equal(router_param(&m, "id", out, 0), -1);
    /* Nothing written past the end of the caller's buffer. */
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 'z');
}

static void test_router_allow_header_order_and_format(void **state)
{
    (void)state;
    char out[128];
    assert_string_equal(router_allow_header(HTTP_POST | HTTP_GET | HTTP_HEAD, out, sizeof out),
                        "GET, HEAD, POST");
    assert_string_equal(router_allow_header(HTTP_DELETE | HTTP_GET, out, sizeof out),
                        "GET, DELETE");
}

static void test_router_allow_header_all_methods(void **state)
{
    (void)state;
    char out[128];
    unsigned all =
        HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE | HTTP_OPTIONS;
    assert_string_equal(router_allow_header(all, out, sizeof out),
                        "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
}

static void test_router_allow_header_single_and_empty(void **state)
{
    (void)state;
    char out[32];
    assert_ptr_equal(router_allow_header(HTTP_OPTIONS, out, sizeof out), out);
    assert_string_equal(out, "OPTIONS");
    assert_string_equal(router_allow_header(0, out, sizeof out), "");
}

static void test_router_allow_header_exact_fit(void **state)
{
    (void)state;
    char out[sizeof "GET, HEAD"];
    assert_string_equal(router_allow_header(HTTP_GET | HTTP_HEAD, out, sizeof out), "GET, HEAD");
}

static void test_router_method_name_known(void **state)
{
    (void)state;
    assert_string_equal(router_method_name(HTTP_GET), "GET");
    assert_string_equal(router_method_name(HTTP_HEAD), "HEAD");
    assert_string_equal(router_method_name(HTTP_POST), "POST");
    assert_string_equal(router_method_name(HTTP_PUT), "PUT");
    assert_string_equal(router_method_name(HTTP_PATCH), "PATCH");
    assert_string_equal(router_method_name(HTTP_DELETE), "DELETE");
    assert_string_equal(router_method_name(HTTP_OPTIONS), "OPTIONS");
}

static void test_router_method_name_unknown(void **state)
{
    (void)state;
    assert_string_equal(router_method_name(0), "?");
    assert_string_equal(router_method_name(HTTP_GET | HTTP_POST), "?");
    assert_string_equal(router_method_name(1u << 12), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_literal_path_matches),
        cmocka_unit_test(test_router_root_path_matches),
        cmocka_unit_test(test_router_unknown_path_not_found),
        cmocka_unit_test(test_router_empty_path_not_found),
        cmocka_unit_test(test_router_prefix_of_pattern_not_found),
        cmocka_unit_test(test_router_literal_is_case_sensitive),
        cmocka_unit_test(test_router_trailing_slash_not_a_match),
        cmocka_unit_test(test_router_param_segment_matches),
        cmocka_unit_test(test_router_param_points_into_path),
        cmocka_unit_test(test_router_two_params_in_order),
        cmocka_unit_test(test_router_empty_param_segment_not_found),
        cmocka_unit_test(test_router_empty_literal_segment_not_found),
        cmocka_unit_test(test_router_param_does_not_span_segments),
        cmocka_unit_test(test_router_get_route_answers_head),
        cmocka_unit_test(test_router_head_only_on_get_routes),
        cmocka_unit_test(test_router_wrong_method_is_405),
        cmocka_unit_test(test_router_405_mask_aggregates_routes),
        cmocka_unit_test(test_router_found_still_reports_allowed),
        cmocka_unit_test(test_router_method_selects_route),
        cmocka_unit_test(test_router_first_matching_route_wins),
        cmocka_unit_test(test_router_params_of_winner_not_overwritten),
        cmocka_unit_test(test_router_max_params_matches),
        cmocka_unit_test(test_router_more_than_max_params_not_found),
        cmocka_unit_test(test_router_empty_table_not_found),
        cmocka_unit_test(test_router_param_present),
        cmocka_unit_test(test_router_param_absent),
        cmocka_unit_test(test_router_param_exact_fit),
        cmocka_unit_test(test_router_param_buffer_too_small),
        cmocka_unit_test(test_router_allow_header_order_and_format),
        cmocka_unit_test(test_router_allow_header_all_methods),
        cmocka_unit_test(test_router_allow_header_single_and_empty),
        cmocka_unit_test(test_router_allow_header_exact_fit),
        cmocka_unit_test(test_router_method_name_known),
        cmocka_unit_test(test_router_method_name_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
