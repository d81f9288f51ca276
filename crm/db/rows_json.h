/*
 * rows_json: rows of a PGresult written as JSON objects, each column a key
 * in its order, the bytes PostgreSQL's row_to_json would give for them (its
 * escaping of strings, ISO 8601 timestamps with 'T' and a full offset). A
 * list page asks PostgreSQL for columns and writes the JSON here: building
 * it in the server (json_agg of 50 rows) took about a third of the page's
 * time in PostgreSQL, on the one CPU the whole county's requests share.
 *
 * The columns' text must be in DateStyle ISO (db/pool.c sets it on every
 * connection). Types: bool, integers, numeric, float, json, jsonb, date,
 * timestamp, timestamptz, time and text-like types; any other (an array, a
 * record) is refused: the caller answers 500 rather than a guess.
 */
#ifndef CRM_ROWS_JSON_H
#define CRM_ROWS_JSON_H

#include <libpq-fe.h>
#include <stddef.h>

struct rows_json {
    char *text; /* malloc'd, NUL-terminated; the caller frees it */
    size_t len;
    size_t cap;
    int failed; /* out of memory or a column of a type not written */
};

/* Appends raw bytes; on failure sets b->failed. */
void rows_json_add(struct rows_json *b, const char *s, size_t n);

/* Appends s as a JSON string, escaped as PostgreSQL's escape_json does. */
void rows_json_add_string(struct rows_json *b, const char *s, size_t n);

/* Appends rows [first, first + count) of r as a JSON array of objects,
 * compact as http/json_text.h makes a body (what it appends needs no
 * further pass). */
void rows_json_add_rows(struct rows_json *b, const PGresult *r, int first, int count);

#endif
