/*
 * problem: RFC 9457 problem details as jansson objects.
 *
 * The caller owns the returned object (json_decref). Details must never carry
 * SQL, file paths or other internals: 5xx callers pass a generic detail.
 */
#ifndef CRM_PROBLEM_H
#define CRM_PROBLEM_H

#include <jansson.h>

/* The standard reason phrase of an HTTP status ("Not Found"), or "Error". */
const char *http_status_reason(int status);

/* {type, title, status, detail, request_id}. type is "about:blank" and title
 * the reason phrase. detail and request_id may be NULL (omitted). Returns
 * NULL only when out of memory. */
json_t *problem_new(int status, const char *detail, const char *request_id);

/* Adds {field, message} to the problem's "errors" array (creating it).
 * Returns 0, or -1 when out of memory. */
int problem_add_error(json_t *problem, const char *field, const char *message);

#endif
