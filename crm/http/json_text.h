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

#endif
