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

#include "api/db_answers.h"
#include "api/resources.h"
#include "core/bounds.h"
#include "core/log.h"
#include "db/rows_json.h"
#include "http/exchange.h"
#include "http/json_text.h"
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
    /* If-Match compares strongly (RFC 9110, 13.1.1): a weak tag never
     * matches, whatever version it names. */
    if (strncmp(h, "W/", 2) == 0)
        return -2;
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
    if (answer_db_error_for(x, r, how & ANSWER_WRITE ? DB_WRITE : DB_READ, NULL))
        return;
    const PGresult *res = exchange_result(x, r, 0);
    const char *text = PQntuples(res) > 0 ? db_value(res, 0, 0) : NULL;
    if (!text) {
        exchange_send_problem(x, 404, "No such resource.");
        return;
    }
    long long version;
    if ((how & ANSWER_ETAG) && json_text_top_integer(text, "version", &version) == 0)
        handler_set_etag(x, version);
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

/* The cursor of a page's next_after (an id, or a text for lists ordered
 * otherwise) as a JSON value: a string, or null on the last page. NULL when
 * next_after is neither. The caller frees it. */
static json_t *page_cursor(const char *kind, json_t *next)
{
    char cursor[CURSOR_CHARS];
    if (json_is_integer(next)) {
        cursor_encode(kind, json_integer_value(next), cursor, sizeof cursor);
        return json_string(cursor);
    }
    if (json_is_string(next) &&
        cursor_encode_text(kind, json_string_value(next), cursor, sizeof cursor) == 0)
        return json_string(cursor);
    if (!next || json_is_null(next))
        return json_null();
    return NULL;
}

/* The page functions build {"items" : [...], "next_after" : v} with
 * json_build_object: the items are passed on as they are, without parsing
 * and printing them again (a list page of 50 projects is about 37 kB), and
 * only next_after is read. v is a number, null or a short JSON string, whose
 * quotes are escaped: the last unescaped `, "next_after" : ` is the key.
 * Returns -1 for text of another form, which is then parsed whole. */
static int page_splice(struct exchange *x, const char *kind, const char *text)
{
    static const char head[] = "{\"items\" : ";
    static const char key[] = ", \"next_after\" : ";
    size_t len = strlen(text), hlen = sizeof head - 1, klen = sizeof key - 1;
    if (len < hlen + klen + 2 || memcmp(text, head, hlen) != 0 || text[len - 1] != '}')
        return -1;
    const char *k = NULL;
    size_t floor = len - 1 > hlen + klen + CURSOR_CHARS * 6 ? len - 1 - CURSOR_CHARS * 6 : hlen;
    for (size_t i = len - 1 - klen; i + 1 > floor && i >= hlen; i--)
        if (text[i] == ',' && memcmp(text + i, key, klen) == 0) {
            k = text + i;
            break;
        }
    if (!k)
        return -1;
    const char *value = k + klen;
    json_t *next = json_loadb(value, (size_t)(text + len - 1 - value), JSON_DECODE_ANY, NULL);
    json_t *cursor = next ? page_cursor(kind, next) : NULL;
    json_decref(next);
    char *cursor_text = cursor ? json_dumps(cursor, JSON_ENCODE_ANY) : NULL;
    json_decref(cursor);
    if (!cursor_text)
        return -1;
    static const char out_head[] = "{\"items\":", out_key[] = ",\"next_cursor\":";
    size_t items_len = (size_t)(k - text) - hlen, clen = strlen(cursor_text);
    size_t out_len = sizeof out_head - 1 + items_len + sizeof out_key - 1 + clen + 1;
    char *out = malloc(out_len + 1);
    if (!out) {
        free(cursor_text);
        return -1;
    }
    char *o = out;
    memcpy(o, out_head, sizeof out_head - 1), o += sizeof out_head - 1;
    memcpy(o, text + hlen, items_len), o += items_len;
    memcpy(o, out_key, sizeof out_key - 1), o += sizeof out_key - 1;
    memcpy(o, cursor_text, clen), o += clen;
    *o++ = '}';
    *o = '\0';
    free(cursor_text);
    exchange_send_json_text(x, 200, out, out_len);
    free(out);
    return 0;
}

void handler_send_page(struct exchange *x, const char *kind, const char *text)
{
    if (text && page_splice(x, kind, text) == 0)
        return;
    json_t *page = text ? json_loads(text, 0, NULL) : NULL;
    json_t *cursor = page ? page_cursor(kind, json_object_get(page, "next_after")) : NULL;
    if (!cursor) {
        json_decref(page);
        exchange_send_problem(x, 500, "An unexpected error occurred.");
        return;
    }
    json_object_set_new(page, "next_cursor", cursor);
    json_object_del(page, "next_after");
    exchange_send_json(x, 200, page);
}

void handler_send_rows_page(struct exchange *x, const char *kind, const PGresult *r, int limit)
{
    int n = PQntuples(r), id_col = PQfnumber(r, "id");
    int items = n < limit ? n : limit;
    struct rows_json b = {0};
    rows_json_add(&b, "{\"items\":", 9);
    rows_json_add_rows(&b, r, 0, items);
    rows_json_add(&b, ",\"next_cursor\":", 15);
    if (n > limit && id_col >= 0 && items > 0) {
        char cursor[CURSOR_CHARS];
        cursor_encode(kind, atoll(PQgetvalue(r, items - 1, id_col)), cursor, sizeof cursor);
        rows_json_add_string(&b, cursor, strlen(cursor));
    } else if (n > limit) {
        b.failed = 1; /* a page that goes on needs the id of its last item */
    } else {
        rows_json_add(&b, "null", 4);
    }
    rows_json_add(&b, "}", 1);
    if (b.failed) {
        log_msg(LOG_ERROR, x->request_id,
                "list page of %s: a column not written as JSON, or no memory", kind);
        exchange_send_problem(x, 500, "An unexpected error occurred.");
    } else {
        exchange_send(x, 200, "application/json; charset=utf-8", b.text, b.len); /* compact */
    }
    free(b.text);
}
