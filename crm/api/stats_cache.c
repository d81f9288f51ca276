#include "api/stats_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    long long unit; /* 0: empty */
    int year;
    char as_of[11];
    struct stats_copy copy;
    char *body;
};

struct stats_cache {
    struct slot slots[STATS_CACHE_SLOTS];
};

struct stats_cache *stats_cache_new(void)
{
    return calloc(1, sizeof(struct stats_cache));
}

void stats_cache_free(struct stats_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < STATS_CACHE_SLOTS; i++)
        free(c->slots[i].body);
    free(c);
}

static struct slot *slot_of(struct stats_cache *c, long long unit, int year, const char *as_of)
{
    uint64_t h = (uint64_t)unit * 0x9E3779B97F4A7C15u ^ (uint64_t)year * 0xC2B2AE3D27D4EB4Fu;
    for (const char *p = as_of; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001B3u;
    return &c->slots[(h >> 32) % STATS_CACHE_SLOTS];
}

const struct stats_copy *stats_cache_find(struct stats_cache *c, long long unit, int year,
                                          const char *as_of)
{
    struct slot *s = c ? slot_of(c, unit, year, as_of) : NULL;
    if (!s || s->unit != unit || s->year != year || strcmp(s->as_of, as_of) != 0)
        return NULL;
    return &s->copy;
}

void stats_cache_put(struct stats_cache *c, long long unit, int year, const char *as_of,
                     long long gen, const char *known, const char *body, size_t len)
{
    if (!c || unit <= 0 || strlen(as_of) >= sizeof c->slots[0].as_of ||
        strlen(known) >= sizeof c->slots[0].copy.known || len > STATS_CACHE_BODY_MAX)
        return;
    struct slot *s = slot_of(c, unit, year, as_of);
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, body, len);
    copy[len] = '\0';
    free(s->body);
    s->body = copy;
    s->unit = unit;
    s->year = year;
    strcpy(s->as_of, as_of);
    s->copy.gen = gen;
    strcpy(s->copy.known, known);
    s->copy.body = copy;
    s->copy.len = len;
}
