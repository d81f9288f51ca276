/*
 * hasher: see hasher.h.
 *
 * Ownership: a task is created by hasher_submit on the loop thread, queued,
 * taken by a hashing thread, then handed back to the loop through its event
 * and kept on the done list until the loop callback (or hasher_cancel) takes
 * it off and frees it. A task is always in exactly one place, under the lock:
 * the queue, a thread's running slot, or the done list; hasher_cancel looks in
 * all three. A task cancelled while a thread runs it is marked orphaned and
 * freed by that thread instead.
 */
#include "auth/hasher.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"

#define HASHER_MAX_MEM_KIB (256 * 1024)
#define HASHER_MAX_TIME 10
#define HASHER_NICE 10

enum task_state { TASK_QUEUED, TASK_RUNNING, TASK_DONE, TASK_ORPHANED };

struct task {
    struct task *next, *prev; /* the queue (next only) or the done list */
    struct event_base *base;
    struct event *ev;
    enum hasher_op op;
    enum task_state state;
    char *password;
    size_t len;
    char stored[crypto_pwhash_STRBYTES];
    hasher_cb cb;
    void *arg;
    struct hasher_result result;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct task *head, *tail;
    struct task **running; /* what each thread is doing, for cancel */
    struct task *done;     /* hashed, event active, not yet delivered: for cancel */
    pthread_t *threads;
    int nthreads;
    int in_flight;
    int max_in_flight;
    int stopping;
    char dummy[crypto_pwhash_STRBYTES];
} hasher = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void task_free(struct task *t)
{
    if (t->password) {
        sodium_memzero(t->password, t->len);
        free(t->password);
    }
    if (t->ev)
        event_free(t->ev);
    sodium_memzero(&t->result, sizeof t->result);
    free(t);
}

/* Under the lock: t is hashed and waits for its loop. */
static void done_push(struct task *t)
{
    t->state = TASK_DONE;
    t->prev = NULL;
    t->next = hasher.done;
    if (hasher.done)
        hasher.done->prev = t;
    hasher.done = t;
}

/* Under the lock: t leaves the done list, to be delivered or cancelled. */
static void done_unlink(struct task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        hasher.done = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

/* A stored hash taken apart: the parameters, the salt and the digest. */
struct stored_hash {
    unsigned long m, t, p;
    unsigned char salt[crypto_pwhash_SALTBYTES];
    unsigned char digest[64];
    size_t digest_len;
};

/* Parses "$argon2id$v=19$m=M,t=T,p=P$salt$digest" (base64 without padding)
 * within the service's limits. Returns 0, or -1 for anything else. */
static int stored_hash_parse(const char *stored, struct stored_hash *h)
{
    int n = 0;
    if (strncmp(stored, "$argon2id$v=19$", 15) != 0 ||
        sscanf(stored + 15, "m=%lu,t=%lu,p=%lu$%n", &h->m, &h->t, &h->p, &n) != 3 || n == 0)
        return -1;
    if (h->m > HASHER_MAX_MEM_KIB || h->m < 8 || h->t > HASHER_MAX_TIME || h->t < 1 || h->p != 1)
        return -1;
    const char *salt = stored + 15 + n, *dollar = strchr(salt, '$');
    size_t len = 0;
    const char *end = NULL;
    if (!dollar ||
        sodium_base642bin(h->salt, sizeof h->salt, salt, (size_t)(dollar - salt), NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        len != sizeof h->salt || end != dollar)
        return -1;
    const char *digest = dollar + 1;
    size_t dlen = strlen(digest);
    if (sodium_base642bin(h->digest, sizeof h->digest, digest, dlen, NULL, &h->digest_len, &end,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        end != digest + dlen || h->digest_len < 16)
        return -1;
    return 0;
}

int hasher_hash_acceptable(const char *stored, int *weak)
{
    struct stored_hash h;
    if (stored_hash_parse(stored, &h) != 0)
        return 0;
    if (weak)
        *weak = h.m < crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024 ||
                h.t < crypto_pwhash_OPSLIMIT_INTERACTIVE;
    return 1;
}

/* Recomputes the digest with the stored parameters and compares. Unlike
 * crypto_pwhash_str_verify, whose -1 means a mismatch or a failure alike,
 * this tells a wrong password from a failure to compute (memory). */
static enum hasher_outcome hasher_verify(const char *stored, const char *password, size_t len,
                                         int *weak)
{
    struct stored_hash h;
    unsigned char digest[64];
    if (stored_hash_parse(stored, &h) != 0)
        return HASHER_REFUSED;
    *weak = h.m < crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024 || h.t < crypto_pwhash_OPSLIMIT_INTERACTIVE;
    if (crypto_pwhash(digest, h.digest_len, password, len, h.salt, h.t, (size_t)h.m * 1024,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return HASHER_ERROR;
    int same = sodium_memcmp(digest, h.digest, h.digest_len) == 0;
    sodium_memzero(digest, sizeof digest);
    return same ? HASHER_MATCH : HASHER_MISMATCH;
}

static void task_run(struct task *t)
{
    struct hasher_result *r = &t->result;
    if (t->op == HASHER_HASH) {
        r->outcome = crypto_pwhash_str(r->hash, t->password, t->len,
                                       crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                       crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0
                         ? HASHER_DONE
                         : HASHER_ERROR;
        return;
    }
    int weak = 0;
    if (!t->stored[0]) {
        /* No such user: the same work against the dummy, then no. */
        enum hasher_outcome o = hasher_verify(hasher.dummy, t->password, t->len, &weak);
        r->outcome = o == HASHER_ERROR ? HASHER_ERROR : HASHER_MISMATCH;
        return;
    }
    r->outcome = hasher_verify(t->stored, t->password, t->len, &weak);
    r->needs_rehash = r->outcome == HASHER_MATCH && weak;
}

static void *hasher_thread(void *arg)
{
    int index = (int)(size_t)arg;
    /* Below the event loops: in a login storm the CPU goes to answering
     * everything else first, and logins queue a little longer instead. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HASHER_NICE);
    pthread_mutex_lock(&hasher.lock);
    for (;;) {
        while (!hasher.head && !hasher.stopping)
            pthread_cond_wait(&hasher.wake, &hasher.lock);
        if (!hasher.head)
            break;
        struct task *t = hasher.head;
        hasher.head = t->next;
        if (!hasher.head)
            hasher.tail = NULL;
        t->state = TASK_RUNNING;
        hasher.running[index] = t;
        pthread_mutex_unlock(&hasher.lock);

        task_run(t);

        pthread_mutex_lock(&hasher.lock);
        hasher.running[index] = NULL;
        if (t->state == TASK_ORPHANED) {
            task_free(t); /* hasher_cancel already answered and freed its event */
        } else {
            done_push(t);
            event_active(t->ev, EV_READ, 0);
        }
    }
    pthread_mutex_unlock(&hasher.lock);
    return NULL;
}

/* On the submitting loop: hand the result over and free the task. */
static void task_deliver(evutil_socket_t fd, short what, void *arg)
{
    struct task *t = arg;
    pthread_mutex_lock(&hasher.lock);
    done_unlink(t);
    hasher.in_flight--;
    pthread_mutex_unlock(&hasher.lock);
    t->cb(t->arg, &t->result);
    task_free(t);
}

int hasher_start(int threads, int max_in_flight)
{
    /* The dummy verified for unknown users costs what a real one does. */
    unsigned char pw[16];
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str(hasher.dummy, (const char *)pw, sizeof pw,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return -1;
    hasher.threads = calloc((size_t)threads, sizeof *hasher.threads);
    hasher.running = calloc((size_t)threads, sizeof *hasher.running);
    if (!hasher.threads || !hasher.running)
        return -1;
    hasher.max_in_flight = max_in_flight;
    hasher.stopping = 0;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&hasher.threads[i], NULL, hasher_thread, (void *)(size_t)i) != 0)
            return -1;
        hasher.nthreads++;
    }
    return 0;
}

void hasher_stop(void)
{
    pthread_mutex_lock(&hasher.lock);
    hasher.stopping = 1;
    pthread_cond_broadcast(&hasher.wake);
    pthread_mutex_unlock(&hasher.lock);
    for (int i = 0; i < hasher.nthreads; i++)
        pthread_join(hasher.threads[i], NULL);
    free(hasher.threads);
    free(hasher.running);
    hasher.threads = NULL;
    hasher.running = NULL;
    hasher.nthreads = 0;
}

int hasher_submit(struct event_base *base, enum hasher_op op, const char *password, size_t len,
                  const char *stored, hasher_cb cb, void *arg)
{
    struct task *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->base = base;
    t->op = op;
    t->cb = cb;
    t->arg = arg;
    t->len = len;
    t->password = malloc(len + 1);
    t->ev = event_new(base, -1, 0, task_deliver, t);
    if (!t->password || !t->ev) {
        task_free(t);
        return -1;
    }
    memcpy(t->password, password, len);
    t->password[len] = '\0';
    /* A stored value too long to be ours is kept as one that will be refused. */
    if (stored)
        snprintf(t->stored, sizeof t->stored, "%s",
                 strlen(stored) < sizeof t->stored ? stored : "$refused");
    pthread_mutex_lock(&hasher.lock);
    if (hasher.in_flight >= hasher.max_in_flight || hasher.stopping || !hasher.nthreads) {
        pthread_mutex_unlock(&hasher.lock);
        task_free(t);
        return -1;
    }
    hasher.in_flight++;
    if (hasher.tail)
        hasher.tail->next = t;
    else
        hasher.head = t;
    hasher.tail = t;
    pthread_cond_signal(&hasher.wake);
    pthread_mutex_unlock(&hasher.lock);
    return 0;
}

/* Under the lock: moves every queued and every done task of base onto
 * *taken (the caller then owns them) and gives back their places under the
 * cap. A done task's event is still active; task_free deletes it, so it is
 * never delivered. */
static void tasks_take(struct event_base *base, struct task **taken)
{
    struct task **link = &hasher.head;
    hasher.tail = NULL;
    while (*link) {
        struct task *t = *link;
        if (t->base == base) {
            *link = t->next;
            t->next = *taken;
            *taken = t;
            hasher.in_flight--;
        } else {
            hasher.tail = t;
            link = &t->next;
        }
    }
    for (struct task *t = hasher.done, *next; t; t = next) {
        next = t->next;
        if (t->base == base) {
            done_unlink(t);
            t->next = *taken;
            *taken = t;
            hasher.in_flight--;
        }
    }
}

/* Under the lock: orphans one task of base that a thread is running (the
 * thread frees it when done), gives back its place and frees its event.
 * Returns 1 and the callback to answer, or 0 when there is none. */
static int task_orphan(struct event_base *base, hasher_cb *cb, void **arg)
{
    for (int i = 0; i < hasher.nthreads; i++) {
        struct task *t = hasher.running[i];
        if (t && t->base == base && t->state == TASK_RUNNING) {
            t->state = TASK_ORPHANED;
            hasher.in_flight--;
            event_free(t->ev);
            t->ev = NULL;
            *cb = t->cb;
            *arg = t->arg;
            return 1;
        }
    }
    return 0;
}

/* Callbacks run without the lock (they may submit again), and while one
 * runs a thread may finish another task of base: so the lists are looked at
 * again until nothing of base is left anywhere. */
void hasher_cancel(struct event_base *base)
{
    pthread_mutex_lock(&hasher.lock);
    for (;;) {
        struct task *taken = NULL;
        hasher_cb cb;
        void *arg;
        tasks_take(base, &taken);
        if (taken) {
            pthread_mutex_unlock(&hasher.lock);
            while (taken) {
                struct task *next = taken->next;
                struct hasher_result r = {.outcome = HASHER_ERROR};
                taken->cb(taken->arg, &r);
                task_free(taken);
                taken = next;
            }
            pthread_mutex_lock(&hasher.lock);
        } else if (task_orphan(base, &cb, &arg)) {
            pthread_mutex_unlock(&hasher.lock);
            struct hasher_result r = {.outcome = HASHER_ERROR};
            cb(arg, &r);
            pthread_mutex_lock(&hasher.lock);
        } else {
            break;
        }
    }
    pthread_mutex_unlock(&hasher.lock);
}
