/*
 * handlers: what many route handlers share: path ids and years, the
 * one-statement JSON read or write, ETags, list pages.
 */
#ifndef CRM_HANDLERS_H
#define CRM_HANDLERS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

struct exchange;

/* The path parameter name as a positive integer, into out (decimal text).
 * Returns 0, or -1 after answering 404 (an id that cannot exist is simply
 * not found). */
int handler_path_id(struct exchange *x, const char *name, char *out, size_t outlen);

/* The path parameter "year" (KPI_YEAR_MIN..KPI_YEAR_MAX, core/bounds.h)
 * into out. Returns 0, or -1 after answering 400 naming it. */
int handler_path_year(struct exchange *x, char *out, size_t outlen);

/* Runs stmt (after the auth call) and answers 200 with the JSON text in its
 * first row's first column, or 404 when there is no row. The _etag variant
 * also sends the JSON's "version" as the ETag. */
void handler_json_query(struct exchange *x, int stmt, int nparams, const char *const *params);
void handler_json_query_etag(struct exchange *x, int stmt, int nparams, const char *const *params);

/* As handler_json_query_etag, for a write: a refusal of the data's rules is
 * answered as db_answers' rows for a write say (422 naming the field, 409
 * for a conflict); success is 200, or 201 when created. */
void handler_json_write(struct exchange *x, int stmt, int nparams, const char *const *params,
                        int created);

/* handler_json_write of stmt(key, body as JSON text). Takes the reference
 * to body. */
void handler_json_body_write(struct exchange *x, int stmt, const char *key, json_t *body,
                             int created);

/* Answers a list page built by PostgreSQL as {"items", "next_after"}: the
 * key of the last item (an id, or a text) becomes the opaque next_cursor of
 * kind (or null). */
void handler_send_page(struct exchange *x, const char *kind, const char *text);

/* Answers a list page from its rows (db/rows_json): the first limit of r's
 * rows as "items"; when r has more (the statement asks for limit + 1), the
 * id of the last item given becomes next_cursor, else it is null. 500 when
 * a column cannot be written. */
void handler_send_rows_page(struct exchange *x, const char *kind, const PGresult *r, int limit);

/* The version an If-Match header names ("3", or a bare 3): 0 and *version,
 * -1 when absent (the caller answers 428), -2 when unparsable or weak (412:
 * If-Match compares strongly, so W/"3" never matches). */
int handler_if_match(struct exchange *x, long long *version);

/* Sets ETag: "<version>". */
void handler_set_etag(struct exchange *x, long long version);

#endif
