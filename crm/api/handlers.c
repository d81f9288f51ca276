/*
 * handlers: see handlers.h. The JSON a statement answers is sent as it is;
 * only the version is read from it, for the ETag.
 */
#include "api/handlers.h"

#include <errno.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/resources.h"
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

enum { ANSWER_ETAG = 1, ANSWER_WRITE = 2, ANSWER_CREATED = 4 };

static void handler_answer(struct exchange *x, struct db_result *r, int how)
{
    if ((how & ANSWER_WRITE) && resource_write_refused(x, r, NULL))
        return;
    if (exchange_db_failed(x, r))
        return;
    const PGresult *res = exchange_result(x, r, 0);
    const char *text = PQntuples(res) > 0 ? db_value(res, 0, 0) : NULL;
    if (!text) {
        exchange_send_problem(x, 404, "No such resource.");
        return;
    }
    if (how & ANSWER_ETAG) {
        json_t *doc = json_loads(text, 0, NULL);
        json_t *v = json_object_get(doc, "version");
        if (json_is_integer(v))
            handler_set_etag(x, json_integer_value(v));
        json_decref(doc);
    }
    exchange_send_json_text(x, how & ANSWER_CREATED ? 201 : 200, text, strlen(text));
}

static void handler_on_json(void *arg, struct db_result *r)
{
    handler_answer(arg, r, 0);
}

static void handler_on_json_etag(void *arg, struct db_result *r)
{
    handler_answer(arg, r, ANSWER_ETAG);
}

static void handler_on_write(void *arg, struct db_result *r)
{
    handler_answer(arg, r, ANSWER_WRITE | ANSWER_ETAG);
}

static void handler_on_created(void *arg, struct db_result *r)
{
    handler_answer(arg, r, ANSWER_WRITE | ANSWER_ETAG | ANSWER_CREATED);
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

void handler_json_write(struct exchange *x, int stmt, int nparams, const char *const *params,
                        int created)
{
    handler_run(x, stmt, nparams, params, created ? handler_on_created : handler_on_write);
}

void handler_json_body_write(struct exchange *x, int stmt, const char *key, json_t *body,
                             int created)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        exchange_send_problem(x, 503, "Out of memory.");
        return;
    }
    const char *params[] = {key, text};
    handler_json_write(x, stmt, 2, params, created);
    free(text);
}

int handler_path_year(struct exchange *x, char *out, size_t outlen)
{
    char raw[8];
    if (router_param(&x->match, "year", raw, sizeof raw) == 4 &&
        strspn(raw, "0123456789") == 4 && atoi(raw) >= KPI_YEAR_MIN && atoi(raw) <= KPI_YEAR_MAX) {
        snprintf(out, outlen, "%s", raw);
        return 0;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "The path parameter 'year' must be a year from %d to %d.",
             KPI_YEAR_MIN, KPI_YEAR_MAX);
    exchange_send_problem(x, 400, detail);
    return -1;
}

void handler_send_page(struct exchange *x, const char *kind, const char *text)
{
    json_t *page = text ? json_loads(text, 0, NULL) : NULL;
    if (!page) {
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    /* The key of the last item: an id, or a text for lists ordered otherwise. */
    json_t *next = json_object_get(page, "next_after");
    char cursor[CURSOR_CHARS];
    if (json_is_integer(next)) {
        cursor_encode(kind, json_integer_value(next), cursor, sizeof cursor);
        json_object_set_new(page, "next_cursor", json_string(cursor));
    } else if (json_is_string(next) &&
               cursor_encode_text(kind, json_string_value(next), cursor, sizeof cursor) == 0) {
        json_object_set_new(page, "next_cursor", json_string(cursor));
    } else if (json_is_null(next) || !next) {
        json_object_set_new(page, "next_cursor", json_null());
    } else {
        json_decref(page);
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    json_object_del(page, "next_after");
    exchange_send_json(x, 200, page);
}
