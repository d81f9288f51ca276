/*
 * fuzz_body: a request body parsed as body_object parses it (jansson, no
 * duplicate keys) and checked against field tables shaped like the API's
 * (every field type, with and without limits, nullable or not):
 *
 * - body_field_problem, member by member, against a slow reference of each
 *   type's rule: it refuses exactly what the reference refuses, with a
 *   terminated message, also into a buffer of any size;
 * - body_check_members, as the handlers call it (with a prefix for the
 *   items of an array, as targets.c does), on an exchange that only carries
 *   a request id (all body_error reads): one error in the 422 for each
 *   fault it counts, each naming its field.
 */
#include <math.h>
#include <string.h>

#include "core/uscc.h"
#include "fuzz.h"
#include "http/body.h"
#include "http/exchange.h"

static const char *const kinds[] = {"intent", "formal", "capital_increase", NULL};
static const char *const many[] = {
    "planned",       "lead",        "negotiating", "signed",     "started",
    "in_production", "at_capacity", "stalled",     "terminated", NULL};

/* clang-format off */
static const struct field_spec investor[] = {
    {"name", FIELD_STRING, 1, 600, 0, NULL},
    {"unit_id", FIELD_INTEGER, 1, 0, 0, NULL},
    {"uscc", FIELD_USCC, 0, 0, 1, NULL},
    {"notes", FIELD_STRING, 0, 12000, 0, NULL},
    {"chain_role", FIELD_ENUM, 0, 0, 0, kinds},
    {NULL, 0, 0, 0, 0, NULL},
};
static const struct field_spec project[] = {
    {"code", FIELD_STRING, 1, 40, 0, NULL},
    {"investor_id", FIELD_INTEGER, 0, 0, 1, NULL},
    {"planned_investment_yuan", FIELD_INTEGER, 0, 10000000000000ULL, 1, NULL},
    {"is_key", FIELD_BOOLEAN, 0, 0, 0, NULL},
    {"five_one", FIELD_OBJECT, 0, 0, 0, NULL},
    {"planned_start_on", FIELD_DATE, 0, 0, 1, NULL},
    {"stage", FIELD_ENUM, 0, 0, 0, many},
    {NULL, 0, 0, 0, 0, NULL},
};
static const struct field_spec interaction[] = {
    {"leader_ids", FIELD_ID_ARRAY, 0, 20, 0, NULL},
    {"participants", FIELD_STRING_ARRAY, 0, 50, 0, NULL},
    {"project_ids", FIELD_ID_ARRAY, 0, 0, 0, NULL},
    {"occurred_on", FIELD_DATE, 1, 0, 0, NULL},
    {"rules", FIELD_NESTED, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
static const struct field_spec targets[] = {
    {"targets", FIELD_OBJECT_ARRAY, 1, 500, 0, NULL},
    {"parent_unit_id", FIELD_INTEGER, 0, 9223372036854775807ULL, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
static const struct field_spec target_item[] = {
    {"unit_id", FIELD_INTEGER, 1, 9223372036854775807ULL, 0, NULL},
    {"signing_amount_yuan", FIELD_NATURAL, 1, 0, 0, NULL},
    {"signed_count", FIELD_NATURAL, 1, 1000000000, 0, NULL},
    {"start_rate", FIELD_NUMBER, 1, 1, 0, NULL},
    {"weight", FIELD_NUMBER, 0, 0, 1, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
/* clang-format on */

static const struct field_spec *const tables[] = {investor, project, interaction, targets,
                                                  target_item};

static int reference_date(const char *t)
{
    if (strlen(t) != 10 || t[4] != '-' || t[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !(t[i] >= '0' && t[i] <= '9'))
            return 0;
    int y = atoi(t), m = atoi(t + 5), d = atoi(t + 8);
    int leap = y % 400 == 0 || (y % 4 == 0 && y % 100 != 0);
    int days = m == 2 ? 28 + leap : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
    return y >= 1900 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= days;
}

/* Whether value meets s, decided from the field types' descriptions in
 * body.h, not from body.c. */
static int reference_ok(const struct field_spec *s, json_t *v)
{
    if (json_is_null(v))
        return s->nullable;
    size_t i;
    json_t *item;
    const char *k;
    switch (s->type) {
    case FIELD_STRING:
        return json_is_string(v) && (!s->max_len || json_string_length(v) <= s->max_len);
    case FIELD_INTEGER:
        /* Integers are positive (ids and counts from 1), and at most max_len. */
        return json_is_integer(v) && json_integer_value(v) >= 1 &&
               (!s->max_len || (unsigned long long)json_integer_value(v) <= s->max_len);
    case FIELD_NATURAL:
        return json_is_integer(v) && json_integer_value(v) >= 0 &&
               (!s->max_len || (unsigned long long)json_integer_value(v) <= s->max_len);
    case FIELD_NUMBER: {
        if (!json_is_number(v))
            return 0;
        double d = json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
        return d >= 0 && (!s->max_len || d <= (double)s->max_len);
    }
    case FIELD_BOOLEAN:
        return json_is_boolean(v);
    case FIELD_DATE:
        return json_is_string(v) && reference_date(json_string_value(v));
    case FIELD_ENUM:
        if (!json_is_string(v))
            return 0;
        for (const char *const *e = s->values; *e; e++)
            if (strcmp(*e, json_string_value(v)) == 0)
                return 1;
        return 0;
    case FIELD_NESTED:
        return json_is_object(v);
    case FIELD_OBJECT:
        if (!json_is_object(v))
            return 0;
        json_object_foreach(v, k, item)
        {
            if (!json_is_string(item) || json_string_length(item) > 1000)
                return 0;
        }
        return 1;
    case FIELD_ID_ARRAY:
    case FIELD_STRING_ARRAY:
    case FIELD_OBJECT_ARRAY:
        if (!json_is_array(v) || (s->max_len && json_array_size(v) > s->max_len))
            return 0;
        json_array_foreach(v, i, item)
        {
            if (s->type == FIELD_ID_ARRAY &&
                !(json_is_integer(item) && json_integer_value(item) > 0))
                return 0;
            if (s->type == FIELD_STRING_ARRAY &&
                !(json_is_string(item) && json_string_length(item) <= 200))
                return 0;
            if (s->type == FIELD_OBJECT_ARRAY && !json_is_object(item))
                return 0;
        }
        return 1;
    case FIELD_USCC:
        return json_is_string(v) && (json_string_length(v) == 0 ||
                                     uscc_valid(json_string_value(v), json_string_length(v)));
    }
    return 0;
}

static const struct field_spec *spec_of(const struct field_spec *specs, const char *name)
{
    for (; specs->name; specs++)
        if (strcmp(specs->name, name) == 0)
            return specs;
    return NULL;
}

/* Each member against its spec, into buffers of two sizes. */
static void check_members(const struct field_spec *specs, json_t *obj, size_t small)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        const struct field_spec *s = spec_of(specs, key);
        if (!s)
            continue;
        char buf[256];
        const char *msg = body_field_problem(s, value, buf, sizeof buf);
        FUZZ_CHECK((msg == NULL) == reference_ok(s, value));
        FUZZ_CHECK(!msg || strlen(msg) < sizeof buf);
        char *tiny = malloc(small);
        FUZZ_CHECK(tiny);
        const char *cut = body_field_problem(s, value, tiny, small);
        FUZZ_CHECK(!cut == !msg);
        FUZZ_CHECK(cut != tiny || strlen(cut) < small);
        free(tiny);
    }
}

/* The faults body_check_members should count in obj. */
static int reference_faults(const struct field_spec *specs, json_t *obj)
{
    int n = 0;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        const struct field_spec *s = spec_of(specs, key);
        n += !s || !reference_ok(s, value);
    }
    for (const struct field_spec *s = specs; s->name; s++)
        n += s->required && !json_object_get(obj, s->name);
    return n;
}

static void check_whole(struct exchange *x, const struct field_spec *specs, json_t *obj,
                        const char *prefix)
{
    json_t *problem = NULL;
    int n = body_check_members(x, &problem, obj, specs, prefix);
    FUZZ_CHECK(n == reference_faults(specs, obj));
    FUZZ_CHECK(!n == !problem);
    json_t *errors = json_object_get(problem, "errors");
    FUZZ_CHECK(json_array_size(errors) == (size_t)n);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        FUZZ_CHECK(field && strncmp(field, prefix, strlen(prefix)) == 0);
        FUZZ_CHECK(json_is_string(json_object_get(e, "message")));
    }
    json_decref(problem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t small = 1 + data[0] % 64;
    json_t *body = json_loadb((const char *)data + 1, size - 1,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    struct exchange x;
    memset(&x, 0, sizeof x);
    snprintf(x.request_id, sizeof x.request_id, "fuzz");
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        check_members(tables[t], body, small);
        check_whole(&x, tables[t], body, "");
    }
    /* The items of an array, as targets_body checks them. */
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(body, "targets"), i, item)
    {
        if (!json_is_object(item))
            continue;
        char prefix[48];
        snprintf(prefix, sizeof prefix, "targets[%zu].", i);
        check_members(target_item, item, small);
        check_whole(&x, target_item, item, prefix);
    }
    json_decref(body);
    return 0;
}
