/*
 * query: query-string parameters for lists: integers, the page size and
 * the opaque keyset cursor. Each getter answers 400 naming the parameter
 * when it is malformed and returns -1; the caller just returns.
 */
#ifndef CRM_QUERY_H
#define CRM_QUERY_H

#include <stddef.h>

struct exchange;

#define QUERY_LIMIT_DEFAULT 50
#define QUERY_LIMIT_MAX 200

/* The integer parameter name in [min, max], or def when absent. */
int query_int(struct exchange *x, const char *name, long long min, long long max, long long def,
              long long *out);

/* ?limit= (default 50, 1..200). */
int query_limit(struct exchange *x, int *limit);

/* ?cursor= of a list of kind ("users", "audit"): *after is the key it
 * carries, or -1 when absent. A cursor of another list, or tampered, is 400. */
int query_cursor(struct exchange *x, const char *kind, long long *after);

/* Sets the key that signs cursors (64 hex characters), so that cursors
 * outlive a restart and work across instances. Without it, a random key of
 * this process. Returns 0, or -1 when hex is not 32 bytes. */
int cursor_key_set(const char *hex);

/* Writes the cursor for kind and key into out (at least 128 bytes). */
void cursor_encode(const char *kind, long long key, char *out, size_t outlen);

/* Decodes text; 0 with *key, or -1. */
int cursor_decode(const char *kind, const char *text, long long *key);

#endif
