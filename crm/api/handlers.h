/*
 * handlers: what many route handlers share: path ids, the one-statement
 * JSON read, ETags.
 */
#ifndef CRM_HANDLERS_H
#define CRM_HANDLERS_H

#include <stddef.h>

struct exchange;

/* The path parameter name as a positive integer, into out (decimal text).
 * Returns 0, or -1 after answering 404 (an id that cannot exist is simply
 * not found). */
int handler_path_id(struct exchange *x, const char *name, char *out, size_t outlen);

/* Runs stmt (after the auth call) and answers 200 with the JSON text in its
 * first row's first column, or 404 when there is no row. The _etag variant
 * also sends the JSON's "version" as the ETag. */
void handler_json_query(struct exchange *x, int stmt, int nparams, const char *const *params);
void handler_json_query_etag(struct exchange *x, int stmt, int nparams, const char *const *params);

/* Answers a list page built by PostgreSQL as {"items", "next_after"}: the
 * key of the last item becomes the opaque next_cursor of kind (or null). */
void handler_send_page(struct exchange *x, const char *kind, const char *text);

/* The version an If-Match header names ("3", W/"3" or "3"): 0 and *version,
 * -1 when absent (the caller answers 428), -2 when unparsable (412). */
int handler_if_match(struct exchange *x, long long *version);

/* Sets ETag: "<version>". */
void handler_set_etag(struct exchange *x, long long version);

#endif
