/*
 * reads: see reads.h.
 *
 * Sessions live in an open-addressing table keyed by their token hash (a
 * SHA-256, so its first bytes are already a good hash), probed over
 * READS_PROBE slots. A slot is free when empty or when its session has not
 * been seen for longer than the idle timeout (the session has then ended).
 * Samples are a ring of the last READS_SAMPLES, in the order asked.
 */
#include "http/reads.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/pool.h"

#define READS_SESSIONS 8192 /* a power of two */
#define READS_PROBE    32
#define READS_SAMPLES  64 /* 3.2 s of samples */

struct session_slot {
    unsigned char th[TOKEN_HASH_BYTES];
    int used;
    long long seen_us;  /* last answered by the primary (sent then) */
    long long wrote_us; /* last write answered */
    uint64_t lsn;       /* the position past it; 0 until a sample is asked after wrote_us */
};

struct sample {
    long long asked_us;
    uint64_t lsn;
};

struct reads {
    pthread_mutex_t lock;
    long long idle_us;
    long long touch_us; /* auth_session's touch period */
    struct session_slot *slots;
    struct sample samples[READS_SAMPLES];
    int nsamples, next_sample; /* the ring: count, and where the next goes */
    struct reads_stats stats;
};

struct reads *reads_new(int idle_s)
{
    struct reads *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!(r->slots = calloc(READS_SESSIONS, sizeof *r->slots))) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->idle_us = (long long)idle_s * 1000000;
    /* As auth_session: a tenth of the idle timeout, from 1 to 30 s. */
    int touch_s = idle_s / 10 < 1 ? 1 : idle_s / 10 > 30 ? 30 : idle_s / 10;
    r->touch_us = (long long)touch_s * 1000000;
    return r;
}

void reads_free(struct reads *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->slots);
    free(r);
}

struct reads_stats *reads_stats(struct reads *r)
{
    return &r->stats;
}

static size_t slot_home(const unsigned char *th)
{
    uint64_t h;
    memcpy(&h, th, sizeof h);
    return (size_t)(h & (READS_SESSIONS - 1));
}

/* The session's slot, or NULL. Under the lock. */
static struct session_slot *slot_find(struct reads *r, const unsigned char *th)
{
    size_t home = slot_home(th);
    for (size_t i = 0; i < READS_PROBE; i++) {
        struct session_slot *s = &r->slots[(home + i) & (READS_SESSIONS - 1)];
        if (s->used && memcmp(s->th, th, TOKEN_HASH_BYTES) == 0)
            return s;
    }
    return NULL;
}

/* A slot for a session not in the table (empty, or of a session idle past
 * the timeout), or NULL when there is none. Under the lock. */
static struct session_slot *slot_take(struct reads *r, const unsigned char *th, long long now_us)
{
    size_t home = slot_home(th);
    for (size_t i = 0; i < READS_PROBE; i++) {
        struct session_slot *s = &r->slots[(home + i) & (READS_SESSIONS - 1)];
        if (!s->used || now_us - s->seen_us > r->idle_us) {
            memset(s, 0, sizeof *s);
            memcpy(s->th, th, TOKEN_HASH_BYTES);
            s->used = 1;
            return s;
        }
    }
    return NULL;
}

/* The position of the first sample asked after us, or 0 when none was.
 * Under the lock. When samples older than us have left the ring, the
 * oldest one kept is later than needed: a replica must then have replayed
 * further, which is safe. */
static uint64_t sample_after(const struct reads *r, long long us)
{
    for (int k = 0; k < r->nsamples; k++) {
        int i = (r->next_sample - r->nsamples + k + READS_SAMPLES) % READS_SAMPLES;
        if (r->samples[i].asked_us > us)
            return r->samples[i].lsn;
    }
    return 0;
}

int reads_route(struct reads *r, const unsigned char th[TOKEN_HASH_BYTES], long long now_us,
                char *lsn)
{
    uint64_t at = 0;
    pthread_mutex_lock(&r->lock);
    struct session_slot *s = slot_find(r, th);
    if (s && now_us - s->seen_us < r->touch_us) {
        if (!s->lsn)
            s->lsn = sample_after(r, s->wrote_us);
        at = s->lsn;
    }
    pthread_mutex_unlock(&r->lock);
    if (!at) {
        atomic_fetch_add_explicit(&r->stats.primary, 1, memory_order_relaxed);
        return 0;
    }
    snprintf(lsn, READS_LSN_TEXT, "%" PRIX64 "/%" PRIX64, at >> 32, at & 0xffffffffu);
    atomic_fetch_add_explicit(&r->stats.replica, 1, memory_order_relaxed);
    return 1;
}

void reads_on_primary(struct reads *r, const unsigned char th[TOKEN_HASH_BYTES], long long sent_us,
                      int wrote, long long now_us)
{
    pthread_mutex_lock(&r->lock);
    struct session_slot *s = slot_find(r, th);
    int known = s != NULL;
    if (!s)
        s = slot_take(r, th, now_us);
    if (s) {
        if (sent_us > s->seen_us)
            s->seen_us = sent_us;
        /* A session met for the first time may have written just before,
         * through another crm or before this one started. */
        if (wrote || !known) {
            s->wrote_us = now_us;
            s->lsn = 0;
        }
    }
    pthread_mutex_unlock(&r->lock);
}

void reads_metrics(struct reads *r, struct evbuffer *out, const struct db_pool_stats *const *pools,
                   size_t npools)
{
    long ready = 0;
    for (size_t i = 0; i < npools; i++)
        ready += atomic_load_explicit(&pools[i]->ready, memory_order_relaxed);
    evbuffer_add_printf(
        out,
        "# HELP crm_db_replica_connections_ready Connections to the replicas connected and "
        "prepared.\n"
        "# TYPE crm_db_replica_connections_ready gauge\ncrm_db_replica_connections_ready %ld\n"
        "# HELP crm_db_reads_total Reads a replica may serve, by where they were sent.\n"
        "# TYPE crm_db_reads_total counter\n"
        "crm_db_reads_total{to=\"replica\"} %ld\ncrm_db_reads_total{to=\"primary\"} %ld\n"
        "# HELP crm_db_read_fallbacks_total Reads a replica could not serve (unreachable, or "
        "behind the caller's writes), then run on the primary.\n"
        "# TYPE crm_db_read_fallbacks_total counter\ncrm_db_read_fallbacks_total %ld\n",
        ready, atomic_load_explicit(&r->stats.replica, memory_order_relaxed),
        atomic_load_explicit(&r->stats.primary, memory_order_relaxed),
        atomic_load_explicit(&r->stats.fell_back, memory_order_relaxed));
}

void reads_sample(struct reads *r, long long asked_us, const char *text)
{
    unsigned hi, lo;
    char end;
    if (!text || sscanf(text, "%X/%X%c", &hi, &lo, &end) != 2)
        return;
    uint64_t lsn = (uint64_t)hi << 32 | lo;
    if (!lsn)
        return;
    pthread_mutex_lock(&r->lock);
    r->samples[r->next_sample] = (struct sample){asked_us, lsn};
    r->next_sample = (r->next_sample + 1) % READS_SAMPLES;
    if (r->nsamples < READS_SAMPLES)
        r->nsamples++;
    pthread_mutex_unlock(&r->lock);
}
