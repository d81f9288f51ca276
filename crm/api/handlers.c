/*
 * handlers: see handlers.h.
 */
#include "api/handlers.h"

#include <errno.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/exchange.h"
#include "http/query.h"

int handler_path_id(struct exchange *x, const char *name, char *out, size_t outlen)
{
    char raw[32];
    if (router_param(&x->match, name, raw, sizeof raw) > 0) {
        char *end;
        errno = 0;
        long long v = strtoll(raw, &end, 10);
        if (!errno && *end == '\0' && v > 0 && raw[0] != '+' && raw[0] != '0') {
            snprintf(out, outlen, "%lld", v);
            return 0;
        }
    }
    exchange_send_problem(x, 404, "No such resource.");
    return -1;
}

void handler_set_etag(struct exchange *x, long long version)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", version);
    exchange_add_header(x, "ETag", etag);
}

int handler_if_match(struct exchange *x, long long *version)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(x->req), "If-Match");
    if (!h)
        return -1;
    if (strncmp(h, "W/", 2) == 0)
        h += 2;
    char *end;
    errno = 0;
    long long v = strtoll(h + (*h == '"'), &end, 10);
    if (errno || end == h + (*h == '"') || v < 1 || (*h == '"' ? strcmp(end, "\"") : strcmp(end, "")))
        return -2;
    *version = v;
    return 0;
}

static void handler_answer(struct exchange *x, struct db_result *r, int etag)
{
    if (exchange_db_failed(x, r))
        return;
    const PGresult *res = exchange_result(x, r, 0);
    const char *text = PQntuples(res) > 0 ? db_value(res, 0, 0) : NULL;
    if (!text) {
        exchange_send_problem(x, 404, "No such resource.");
        return;
    }
    if (etag) {
        json_t *doc = json_loads(text, 0, NULL);
        json_t *v = json_object_get(doc, "version");
        if (json_is_integer(v))
            handler_set_etag(x, json_integer_value(v));
        json_decref(doc);
    }
    exchange_send_json_text(x, 200, text, strlen(text));
}

static void handler_on_json(void *arg, struct db_result *r)
{
    handler_answer(arg, r, 0);
}

static void handler_on_json_etag(void *arg, struct db_result *r)
{
    handler_answer(arg, r, 1);
}

static void handler_run(struct exchange *x, int stmt, int nparams, const char *const *params,
                        db_done_cb cb)
{
    struct db_job *job = exchange_job(x, cb);
    if (!job)
        return;
    db_job_add(job, stmt, nparams, params);
    exchange_db_submit(x, job);
}

void handler_json_query(struct exchange *x, int stmt, int nparams, const char *const *params)
{
    handler_run(x, stmt, nparams, params, handler_on_json);
}

void handler_json_query_etag(struct exchange *x, int stmt, int nparams, const char *const *params)
{
    handler_run(x, stmt, nparams, params, handler_on_json_etag);
}

void handler_send_page(struct exchange *x, const char *kind, const char *text)
{
    json_t *page = text ? json_loads(text, 0, NULL) : NULL;
    if (!page) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    json_t *next = json_object_get(page, "next_after");
    if (json_is_integer(next)) {
        char cursor[128];
        cursor_encode(kind, json_integer_value(next), cursor, sizeof cursor);
        json_object_set_new(page, "next_cursor", json_string(cursor));
    } else {
        json_object_set_new(page, "next_cursor", json_null());
    }
    json_object_del(page, "next_after");
    exchange_send_json(x, 200, page);
}
