/*
 * body: a request's JSON body, parsed strictly and checked against a small
 * field table. On any problem these functions answer the exchange themselves
 * (400 for a body that is not a JSON object, 422 naming each field at fault)
 * and return failure: the caller just returns.
 */
#ifndef CRM_BODY_H
#define CRM_BODY_H

#include <jansson.h>
#include <stddef.h>

struct exchange;

enum field_type {
    FIELD_STRING,
    FIELD_INTEGER,
    FIELD_BOOLEAN,
    FIELD_DATE,         /* "YYYY-MM-DD", a real calendar date */
    FIELD_ENUM,         /* a string among values */
    FIELD_OBJECT,       /* a JSON object of strings */
    FIELD_ID_ARRAY,     /* an array of positive integers */
    FIELD_STRING_ARRAY, /* an array of strings */
    FIELD_NATURAL,      /* an integer >= 0 (up to max_len when set) */
    FIELD_NUMBER,       /* a number >= 0, integer or not (up to max_len when set) */
    FIELD_OBJECT_ARRAY, /* an array of objects (their members checked by the caller) */
    FIELD_NESTED,       /* an object (its members checked by the caller) */
    FIELD_USCC,         /* a unified social credit code (core/uscc.h), or "" for none */
};

struct field_spec {
    const char *name;
    enum field_type type;
    int required;
    size_t max_len;             /* strings: bytes; arrays: items; integers and numbers:
                                 * largest value; 0 = no limit of its own */
    int nullable;               /* null is accepted (clears the field) */
    const char *const *values;  /* FIELD_ENUM: NULL-terminated */
};

/* Whether text is a real calendar date written YYYY-MM-DD, of a year from
 * DATE_YEAR_MIN to DATE_YEAR_MAX (core/bounds.h). */
int date_valid(const char *text);

/* The body as a JSON object: malformed or truncated JSON, duplicate keys,
 * a NUL escape, invalid UTF-8, or a non-object -> 400 saying so in our
 * words with the line and column (never the parser's, which quote the
 * input), NULL returned. The caller owns the result. */
json_t *body_object(struct exchange *x);

/* What is wrong with value as the field s describes, or NULL when it is
 * acceptable: a message such as "must be a string", static or written into
 * buf (len bytes, len > 0; a long list of values is cut short there). It
 * answers nothing and keeps nothing: body_check's rule for one member. */
const char *body_field_problem(const struct field_spec *s, json_t *value, char *buf, size_t len);

/* Checks obj against specs (terminated by a {NULL} entry): unknown fields,
 * wrong types, missing required ones, strings too long -> one 422 listing
 * every error; returns -1. Returns 0 when all is well. */
int body_check(struct exchange *x, json_t *obj, const struct field_spec *specs);

/* Checks obj against specs as body_check does, but adds the errors to the
 * 422 being built in *problem under prefix and the member's name
 * ("targets[2]." "unit_id"), sending nothing. Returns how many it added. */
int body_check_members(struct exchange *x, json_t **problem, json_t *obj,
                       const struct field_spec *specs, const char *prefix);

/* Adds an error for field to a 422 being built (creating it on first use). */
void body_error(json_t **problem, struct exchange *x, const char *field, const char *message);

/* Sends the 422 built with body_error, if any. Returns -1 when sent, 0 when
 * there was nothing to send. */
int body_send_errors(struct exchange *x, json_t *problem);

#endif
