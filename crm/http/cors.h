/*
 * cors: the allowlist of browser origins (CRM_CORS_ORIGINS).
 *
 * A cors_list owns its strings; cors_free releases them. Matching is exact
 * (scheme, host and port as the browser sends them), case-sensitive.
 */
#ifndef CRM_CORS_H
#define CRM_CORS_H

#include <stddef.h>

struct cors_list {
    char **origins;
    size_t count;
};

/* Parses "https://a.example, http://localhost:5173" (empty items ignored).
 * Returns 0, or -1 when out of memory or an item is not scheme://host[:port]. */
int cors_parse(struct cors_list *list, const char *spec);

/* 1 when origin (may be NULL) is in the list. */
int cors_allowed(const struct cors_list *list, const char *origin);

void cors_free(struct cors_list *list);

#endif
