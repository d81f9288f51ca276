/*
 * password_policy: the rules a new password must meet before it is hashed.
 *
 * At least PASSWORD_MIN_CHARS Unicode code points, at most PASSWORD_MAX_BYTES
 * bytes (so 64 characters and more are always accepted and nothing is ever
 * truncated), valid UTF-8 without control characters, not the username, not
 * one of the most common passwords, not one repeated character and not a plain
 * ascending or descending run ("23456789", "hgfedcba").
 *
 * The module is pure: no allocation, no state; every string it returns is
 * static and owned by the module.
 */
#ifndef CRM_PASSWORD_POLICY_H
#define CRM_PASSWORD_POLICY_H

#include <stddef.h>

#define PASSWORD_MIN_CHARS 8
#define PASSWORD_MAX_BYTES 1024

enum password_verdict {
    PASSWORD_OK,
    PASSWORD_TOO_SHORT,
    PASSWORD_TOO_LONG,
    PASSWORD_NOT_UTF8,
    PASSWORD_CONTROL_CHAR,
    PASSWORD_COMMON,
    PASSWORD_IS_USERNAME,
};

/* Judges password, len bytes that may contain NUL (a JSON string can).
 * Checks run in this order and the first failure is returned: byte length,
 * UTF-8 validity (overlong forms and surrogates refused) and control
 * characters (U+0000-U+001F, U+007F), code point count, equality with
 * username (ASCII case-insensitive; username may be NULL), common passwords
 * and patterns (ASCII case-insensitive). password may be NULL only when len
 * is 0. */
enum password_verdict password_check(const char *password, size_t len, const char *username);

/* A short English predicate for a 422 error on the password field, meant to
 * follow the field name ("must be at least 8 characters"). Never NULL or
 * empty, also for values outside the enum. */
const char *password_verdict_message(enum password_verdict v);

/* The i-th entry of the common-password list (lowercase, sorted by strcmp),
 * or NULL when i is past the end. For tests and audits of the list. */
const char *password_common_entry(size_t i);

#endif
