/*
 * Unit tests of http/exchange: answering hands the request to evhttp, which
 * may free it at once (a request without a connection, as evhttp leaves one
 * whose client went away, is freed inside evhttp_send_reply): nothing after
 * the send may read it, the access log least of all. Run under ASan, a read
 * of the freed request is a failure. (evhttp's own reads of it are not
 * instrumented; the path, which points into the request's parsed URI, is
 * read through jansson's strlen, which ASan checks.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "http/exchange.h"
#include "http/router.h"
#include "http/worker.h"

/* A request as evhttp hands it to the server's callback, parsed from uri,
 * but without a connection (its client has gone). */
static struct evhttp_request *request_without_connection(const char *uri)
{
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);
    assert_non_null(req);
    req->uri = strdup(uri);
    req->uri_elems = evhttp_uri_parse(uri);
    assert_non_null(req->uri);
    assert_non_null(req->uri_elems);
    return req;
}

static void test_exchange_send_then_nothing_reads_the_request(void **state)
{
    (void)state;
    struct crm_config cfg = {.access_log = 1};
    struct server s = {.cfg = &cfg};
    struct worker w = {.server = &s};
    log_set_level(LOG_INFO);
    struct evhttp_request *req = request_without_connection("/healthz?x=1");
    struct exchange *x = exchange_new(req, &w, HTTP_GET);
    assert_non_null(x);
    assert_int_equal(w.in_flight, 1);
    exchange_send_problem(x, 404, "No such resource.");
    assert_int_equal(w.in_flight, 0);
}

static void test_exchange_send_empty_with_access_log(void **state)
{
    (void)state;
    struct crm_config cfg = {.access_log = 1};
    struct server s = {.cfg = &cfg};
    struct worker w = {.server = &s};
    log_set_level(LOG_INFO);
    struct evhttp_request *req = request_without_connection("/api/v1/me");
    struct exchange *x = exchange_new(req, &w, HTTP_OPTIONS);
    assert_non_null(x);
    exchange_add_header(x, "Allow", "GET, HEAD, OPTIONS");
    exchange_send_empty(x, 204);
    assert_int_equal(w.in_flight, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_send_then_nothing_reads_the_request),
        cmocka_unit_test(test_exchange_send_empty_with_access_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
