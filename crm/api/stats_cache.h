/*
 * stats_cache: a worker's copies of the figures GET /stats/units/{id} last
 * answered, each with the generation of the figures it was computed at and
 * the date it is as of (migration 0018). Each request still goes to
 * PostgreSQL, which checks the session and the unit's visibility and reads
 * the generation; the figures are computed again only when the copy is not
 * current (stats_unit_cached), about a tenth of the cost otherwise.
 *
 * A fixed table of STATS_CACHE_SLOTS slots, a key's slot chosen by its hash:
 * a new key takes the slot of the one before. Owned by the worker (one
 * thread): no locks.
 */
#ifndef CRM_STATS_CACHE_H
#define CRM_STATS_CACHE_H

#include <stddef.h>

#define STATS_CACHE_SLOTS 256
#define STATS_CACHE_BODY_MAX (64 * 1024) /* a larger answer is not kept */

struct stats_cache;

/* A copy: the figures as JSON text (compact) of generation gen, as of
 * known ("YYYY-MM-DD"). */
struct stats_copy {
    long long gen;
    char known[11];
    const char *body;
    size_t len;
};

struct stats_cache *stats_cache_new(void);
void stats_cache_free(struct stats_cache *c);

/* The copy kept for (unit, year, as_of as asked: "" when not given), or
 * NULL. Valid until the next stats_cache_put. */
const struct stats_copy *stats_cache_find(struct stats_cache *c, long long unit, int year,
                                          const char *as_of);

/* Keeps body[0..len) as the copy for the key (replacing the slot's). */
void stats_cache_put(struct stats_cache *c, long long unit, int year, const char *as_of,
                     long long gen, const char *known, const char *body, size_t len);

#endif
