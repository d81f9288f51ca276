/*
 * body: see body.h.
 */
#include "http/body.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "core/bounds.h"
#include "core/uscc.h"
#include "http/exchange.h"
#include "http/problem.h"

/* What is wrong with a body jansson refused, in our words: its own
 * ("'[' or '{' expected near 'x'") quote the input back and speak of its
 * grammar. */
static const char *body_json_fault(const json_error_t *err)
{
    switch (json_error_code(err)) {
    case json_error_invalid_utf8:
        return "is not valid UTF-8";
    case json_error_premature_end_of_input:
        return "is incomplete JSON";
    case json_error_end_of_input_expected:
        return "has more after the JSON value";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "has a \\u0000 escape, which is not accepted";
    case json_error_duplicate_key:
        return "has a member name twice in one object";
    case json_error_numeric_overflow:
        return "has a number too large";
    case json_error_stack_overflow:
        return "is nested too deeply";
    default:
        return "is not valid JSON";
    }
}

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
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!obj) {
        char detail[160];
        snprintf(detail, sizeof detail, "The body %s (line %d, column %d).", body_json_fault(&err),
                 err.line, err.column);
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

int date_valid(const char *t)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, n = 0;
    if (strlen(t) != 10 || sscanf(t, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
        t[4] != '-' || t[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (t[i] < '0' || t[i] > '9'))
            return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return y >= DATE_YEAR_MIN && y <= DATE_YEAR_MAX && m >= 1 && m <= 12 && d >= 1 &&
           d <= days[m - 1] + (m == 2 && leap);
}

const char *body_field_problem(const struct field_spec *s, json_t *value, char *buf, size_t len)
{
    if (json_is_null(value))
        return s->nullable ? NULL : "must not be null";
    switch (s->type) {
    case FIELD_STRING:
        if (!json_is_string(value))
            return "must be a string";
        if (s->max_len && json_string_length(value) > s->max_len) {
            snprintf(buf, len, "must be at most %zu bytes", s->max_len);
            return buf;
        }
        return NULL;
    case FIELD_INTEGER:
        if (!json_is_integer(value))
            return "must be an integer";
        if (s->max_len && (json_integer_value(value) < 1 ||
                           (size_t)json_integer_value(value) > s->max_len)) {
            snprintf(buf, len, "must be from 1 to %zu", s->max_len);
            return buf;
        }
        if (json_integer_value(value) < 1)
            return "must be a positive integer"; /* ids, and counts from 1 */
        return NULL;
    case FIELD_NATURAL:
    case FIELD_NUMBER:
        if (s->type == FIELD_NATURAL ? !json_is_integer(value) : !json_is_number(value))
            return s->type == FIELD_NATURAL ? "must be an integer" : "must be a number";
        if (json_number_value(value) < 0 ||
            (s->max_len && json_number_value(value) > (double)s->max_len)) {
            if (s->max_len)
                snprintf(buf, len, "must be from 0 to %zu", s->max_len);
            else
                snprintf(buf, len, "must be at least 0");
            return buf;
        }
        return NULL;
    case FIELD_BOOLEAN:
        return json_is_boolean(value) ? NULL : "must be true or false";
    case FIELD_DATE:
        return json_is_string(value) && date_valid(json_string_value(value))
                   ? NULL
                   : "must be a date written YYYY-MM-DD";
    case FIELD_ENUM:
        if (json_is_string(value))
            for (const char *const *v = s->values; *v; v++)
                if (strcmp(*v, json_string_value(value)) == 0)
                    return NULL;
        snprintf(buf, len, "must be one of:");
        for (const char *const *v = s->values; *v; v++) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, " %s", *v);
        }
        return buf;
    case FIELD_NESTED:
        return json_is_object(value) ? NULL : "must be an object";
    case FIELD_USCC:
        if (!json_is_string(value))
            return "must be a string";
        return json_string_length(value) == 0 ||
                       uscc_valid(json_string_value(value), json_string_length(value))
                   ? NULL
                   : "must be a unified social credit code: 18 characters of 0-9 and A-Z "
                     "(no I, O, S, V, Z), the last its check character";
    case FIELD_OBJECT: {
        if (!json_is_object(value))
            return "must be an object";
        const char *k;
        json_t *v;
        json_object_foreach(value, k, v)
        {
            if (!json_is_string(v) || json_string_length(v) > 1000)
                return "must map names to strings of at most 1000 bytes";
        }
        return NULL;
    }
    case FIELD_ID_ARRAY:
    case FIELD_STRING_ARRAY:
    case FIELD_OBJECT_ARRAY: {
        if (!json_is_array(value))
            return "must be an array";
        if (s->max_len && json_array_size(value) > s->max_len) {
            snprintf(buf, len, "must have at most %zu items", s->max_len);
            return buf;
        }
        size_t i;
        json_t *v;
        json_array_foreach(value, i, v)
        {
            if (s->type == FIELD_ID_ARRAY && !(json_is_integer(v) && json_integer_value(v) > 0))
                return "must hold positive integers";
            if (s->type == FIELD_STRING_ARRAY && !(json_is_string(v) && json_string_length(v) <= 200))
                return "must hold strings of at most 200 bytes";
            if (s->type == FIELD_OBJECT_ARRAY && !json_is_object(v))
                return "must hold objects";
        }
        return NULL;
    }
    }
    return "is not acceptable";
}

/* prefix and key as one field name into field (len bytes), cut short on a
 * character boundary: cut inside one, it would not be UTF-8, and the error
 * naming it would be dropped from the 422 (json_pack refuses such text). */
static const char *body_field_name(char *field, size_t len, const char *prefix, const char *key)
{
    size_t p = strlen(prefix), k = strlen(key);
    if (p + k >= len) {
        k = p + 1 < len ? len - 1 - p : 0;
        while (k > 0 && ((unsigned char)key[k] & 0xC0) == 0x80)
            k--;
    }
    snprintf(field, len, "%s%.*s", prefix, (int)k, key);
    return field;
}

int body_check_members(struct exchange *x, json_t **problem, json_t *obj,
                       const struct field_spec *specs, const char *prefix)
{
    int n = 0;
    char field[128];
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        const struct field_spec *s = spec_find(specs, key);
        char buf[256];
        const char *msg =
            s ? body_field_problem(s, value, buf, sizeof buf) : "is not a field of this request";
        if (msg) {
            body_error(problem, x,
                       *prefix ? body_field_name(field, sizeof field, prefix, key) : key, msg);
            n++;
        }
    }
    for (const struct field_spec *s = specs; s->name; s++)
        if (s->required && !json_object_get(obj, s->name)) {
            snprintf(field, sizeof field, "%s%s", prefix, s->name);
            body_error(problem, x, field, "is required");
            n++;
        }
    return n;
}

int body_check(struct exchange *x, json_t *obj, const struct field_spec *specs)
{
    json_t *problem = NULL;
    body_check_members(x, &problem, obj, specs, "");
    return body_send_errors(x, problem);
}
