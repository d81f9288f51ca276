/*
 * json_text: JSON text from PostgreSQL made to read like the rest of the
 * API. PostgreSQL prints jsonb with a space after every ':' and ',', and
 * numerics with the scale they were computed at (a rate of 0.7 stored as
 * numeric(5,4) prints 0.7000); every body the service sends is compact,
 * with numbers in their shortest exact form.
 */
#ifndef CRM_JSON_TEXT_H
#define CRM_JSON_TEXT_H

#include <stddef.h>

/* Copies the JSON text in[0..len) to out (len bytes at least), without the
 * whitespace between tokens and without the trailing zeros of decimal
 * fractions (0.7000 -> 0.7, 1.000 -> 1; numbers with an exponent are left
 * as they are); strings are copied untouched. The value is unchanged
 * exactly. Returns the length written; out is not terminated. Text that is
 * not JSON comes out with its whitespace outside strings removed. */
size_t json_text_compact(const char *in, size_t len, char *out);

/* The integer member key of the object at the top of the JSON text (as
 * PostgreSQL writes it: valid JSON), found by a scan that skips strings and
 * nested values without parsing them: 0 and *value set, or -1 when there is
 * no such member or it is not an integer. A point read's ETag is its
 * version: parsing the whole row (jansson) to find it was a tenth of crm's
 * time for the request. */
int json_text_top_integer(const char *text, const char *key, long long *value);

#endif
