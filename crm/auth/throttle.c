/*
 * throttle: see throttle.h. Keys are hashed with SipHash (a per-process
 * random key) into a table of THROTTLE_SLOTS entries, probed over a small
 * window; a full window evicts its least recently failed entry.
 */
#include "auth/throttle.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#define THROTTLE_SLOTS 8192
#define THROTTLE_PROBE 8

struct throttle_entry {
    unsigned char id[crypto_shorthash_BYTES];
    int used;
    int failures;
    long long last_failure; /* ms, monotonic */
    long long last_success; /* ms, monotonic; 0: never */
};

static struct throttle_entry throttle_table[THROTTLE_SLOTS];
static unsigned char throttle_key[crypto_shorthash_KEYBYTES];
static pthread_once_t throttle_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;

static void throttle_init(void)
{
    randombytes_buf(throttle_key, sizeof throttle_key);
}

static size_t throttle_id(const char *key, unsigned char id[crypto_shorthash_BYTES])
{
    pthread_once(&throttle_once, throttle_init);
    crypto_shorthash(id, (const unsigned char *)key, strlen(key), throttle_key);
    size_t h;
    memcpy(&h, id, sizeof h);
    return h % THROTTLE_SLOTS;
}

/* The entry of key, or NULL; with create, a new or recycled one. Lock held. */
static struct throttle_entry *throttle_find(const char *key, int create)
{
    unsigned char id[crypto_shorthash_BYTES];
    size_t start = throttle_id(key, id);
    struct throttle_entry *victim = NULL;
    for (size_t i = 0; i < THROTTLE_PROBE; i++) {
        struct throttle_entry *e = &throttle_table[(start + i) % THROTTLE_SLOTS];
        if (e->used && memcmp(e->id, id, sizeof id) == 0)
            return e;
        if (!victim || !e->used || (victim->used && e->last_failure < victim->last_failure))
            victim = e;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    memcpy(victim->id, id, sizeof id);
    victim->used = 1;
    return victim;
}

/* The block after `failures`, in ms. */
static long long throttle_delay_ms(const struct throttle_rule *rule, int failures)
{
    if (failures < rule->threshold)
        return 0;
    int shift = failures - rule->threshold;
    long long delay = shift >= 30 ? rule->max_delay_s : (long long)rule->base_delay_s << shift;
    return (delay > rule->max_delay_s ? rule->max_delay_s : delay) * 1000;
}

/* The wait of e in ms (0: go ahead). Lock held. */
static long long throttle_entry_wait(const struct throttle_rule *rule,
                                     const struct throttle_entry *e, long long now_ms)
{
    if (!e || now_ms - e->last_failure > rule->window_s * 1000LL)
        return 0;
    long long until = e->last_failure + throttle_delay_ms(rule, e->failures);
    return until > now_ms ? until - now_ms : 0;
}

/* Counts a failure in e. Lock held. */
static void throttle_entry_fail(const struct throttle_rule *rule, struct throttle_entry *e,
                                long long now_ms)
{
    if (now_ms - e->last_failure > rule->window_s * 1000LL)
        e->failures = 0;
    e->failures++;
    e->last_failure = now_ms;
}

int throttle_attempt(const struct throttle_rule *rule, const char *key, long long now_ms)
{
    pthread_mutex_lock(&throttle_lock);
    struct throttle_entry *e = throttle_find(key, 1);
    long long wait = throttle_entry_wait(rule, e, now_ms);
    if (!wait)
        throttle_entry_fail(rule, e, now_ms);
    pthread_mutex_unlock(&throttle_lock);
    return (int)((wait + 999) / 1000);
}

void throttle_forgive(const char *key)
{
    pthread_mutex_lock(&throttle_lock);
    struct throttle_entry *e = throttle_find(key, 0);
    if (e && e->failures > 0)
        e->failures--;
    pthread_mutex_unlock(&throttle_lock);
}

void throttle_clear(const char *key)
{
    pthread_mutex_lock(&throttle_lock);
    struct throttle_entry *e = throttle_find(key, 0);
    if (e)
        e->failures = 0;
    pthread_mutex_unlock(&throttle_lock);
}

void throttle_succeed(const char *key, long long now_ms)
{
    pthread_mutex_lock(&throttle_lock);
    struct throttle_entry *e = throttle_find(key, 1);
    e->failures = 0;
    e->last_success = now_ms;
    pthread_mutex_unlock(&throttle_lock);
}

int throttle_known(const char *key, long long now_ms, int window_s)
{
    pthread_mutex_lock(&throttle_lock);
    struct throttle_entry *e = throttle_find(key, 0);
    int known = e && e->last_success && now_ms - e->last_success <= window_s * 1000LL;
    pthread_mutex_unlock(&throttle_lock);
    return known;
}

void throttle_reset(void)
{
    pthread_mutex_lock(&throttle_lock);
    memset(throttle_table, 0, sizeof throttle_table);
    pthread_mutex_unlock(&throttle_lock);
}
