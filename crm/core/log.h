/*
 * log: structured JSON-lines logging on standard error.
 *
 * Every line is one JSON object written with a single write(2), so lines from
 * several worker threads never interleave. Callers pass a request id when
 * there is one. Nothing here ever logs a password or token: callers must not
 * pass them.
 */
#ifndef CRM_LOG_H
#define CRM_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level written; parses "debug", "info", "warn", "error".
 * Returns 0, or -1 for an unknown name (the level is left unchanged). */
int log_set_level_name(const char *name);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* Writes {"ts":..., "level":..., "msg": msg, "request_id": rid?, ...fields}.
 * Takes ownership of fields (may be NULL); rid may be NULL. */
void log_event(enum log_level level, const char *rid, const char *msg, json_t *fields);

/* printf-style convenience without extra fields. */
void log_msg(enum log_level level, const char *rid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
