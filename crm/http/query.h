/*
 * query: query-string parameters: integers, years, dates, the page size and
 * the opaque keyset cursor. Each getter answers 400 naming the parameter
 * when it is malformed and returns -1; the caller just returns.
 */
#ifndef CRM_QUERY_H
#define CRM_QUERY_H

#include <stddef.h>

struct exchange;

#define QUERY_LIMIT_DEFAULT 50
#define QUERY_LIMIT_MAX 200

/* A cursor's key text is at most CURSOR_KEY_MAX bytes; a cursor is shorter
 * than CURSOR_CHARS characters (the size of a buffer for one). */
#define CURSOR_KEY_MAX 96
#define CURSOR_CHARS 200

/* text as a decimal integer in [min, max] into *out: 0, or -1 (nothing
 * written) when it is not one, has more after it, or is out of range.
 * Leading blanks and a sign are accepted, as strtoll does. */
int query_parse_int(const char *text, long long min, long long max, long long *out);

/* The integer parameter name in [min, max], or def when absent. */
int query_int(struct exchange *x, const char *name, long long min, long long max, long long def,
              long long *out);

/* As query_int, for a parameter that must be given: absent is a 400 too. */
int query_int_required(struct exchange *x, const char *name, long long min, long long max,
                       long long *out);

/* The date parameter name (YYYY-MM-DD, a real date) into out (11 bytes);
 * out is "" when it is absent. */
int query_date(struct exchange *x, const char *name, char *out);

/* ?limit= (default 50, 1..200). */
int query_limit(struct exchange *x, int *limit);

/* ?cursor= of a list of kind ("users", "audit"): *after is the key it
 * carries, or -1 when absent. A cursor of another list, or tampered, is 400. */
int query_cursor(struct exchange *x, const char *kind, long long *after);

/* Sets the key that signs cursors (64 hex characters), so that cursors
 * outlive a restart and work across instances. Without it, a random key of
 * this process. Returns 0, or -1 when hex is not 32 bytes. */
int cursor_key_set(const char *hex);

/* As query_cursor, for a list keyed by text (at most CURSOR_KEY_MAX bytes):
 * the key into after (len bytes), "" when absent. */
int query_cursor_text(struct exchange *x, const char *kind, char *after, size_t len);

/* Writes the cursor for kind and key into out (CURSOR_CHARS bytes). */
void cursor_encode(const char *kind, long long key, char *out, size_t outlen);

/* The same for a text key; -1 when it is empty or longer than
 * CURSOR_KEY_MAX, or out too short. */
int cursor_encode_text(const char *kind, const char *key, char *out, size_t outlen);

/* Decodes text; 0 with *key, or -1. */
int cursor_decode(const char *kind, const char *text, long long *key);

/* The key text of a cursor of kind into key (keylen bytes, terminated), or
 * -1 when text is not a cursor this process's key signed for kind or its
 * key does not fit. */
int cursor_decode_text(const char *kind, const char *text, char *key, size_t keylen);

#endif
