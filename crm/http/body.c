/*
 * body: see body.h.
 */
#include "http/body.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "http/exchange.h"
#include "http/problem.h"

json_t *body_object(struct exchange *x)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
    size_t len = evbuffer_get_length(in);
    if (len == 0) {
        exchange_send_problem(x, 400, "A JSON object is required as the request body.");
        return NULL;
    }
    const char *text = (const char *)evbuffer_pullup(in, -1);
    json_error_t err;
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!obj) {
        char detail[256];
        snprintf(detail, sizeof detail, "The body is not valid JSON (line %d, column %d): %s",
                 err.line, err.column, err.text);
        exchange_send_problem(x, 400, detail);
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        exchange_send_problem(x, 400, "The body must be a JSON object.");
        return NULL;
    }
    return obj;
}

void body_error(json_t **problem, struct exchange *x, const char *field, const char *message)
{
    if (!*problem)
        *problem = problem_new(422, "Some fields are not acceptable.", x->request_id);
    if (*problem)
        problem_add_error(*problem, field, message);
}

int body_send_errors(struct exchange *x, json_t *problem)
{
    if (!problem)
        return 0;
    exchange_send_problem_json(x, problem);
    return -1;
}

static const struct field_spec *spec_find(const struct field_spec *specs, const char *name)
{
    for (; specs->name; specs++)
        if (strcmp(specs->name, name) == 0)
            return specs;
    return NULL;
}

int body_check(struct exchange *x, json_t *obj, const struct field_spec *specs)
{
    json_t *problem = NULL;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        const struct field_spec *s = spec_find(specs, key);
        if (!s) {
            body_error(&problem, x, key, "is not a field of this request");
            continue;
        }
        int ok = (s->type == FIELD_STRING && json_is_string(value)) ||
                 (s->type == FIELD_INTEGER && json_is_integer(value)) ||
                 (s->type == FIELD_BOOLEAN && json_is_boolean(value));
        if (!ok) {
            static const char *const expected[] = {"must be a string", "must be an integer",
                                                   "must be true or false"};
            body_error(&problem, x, key, expected[s->type]);
            continue;
        }
        if (s->type == FIELD_STRING && s->max_len && json_string_length(value) > s->max_len) {
            char msg[64];
            snprintf(msg, sizeof msg, "must be at most %zu bytes", s->max_len);
            body_error(&problem, x, key, msg);
        }
    }
    for (const struct field_spec *s = specs; s->name; s++)
        if (s->required && !json_object_get(obj, s->name))
            body_error(&problem, x, s->name, "is required");
    return body_send_errors(x, problem);
}
