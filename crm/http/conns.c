/*
 * conns: see conns.h.
 *
 * evhttp has no hook where a connection begins, but it asks for each new
 * connection's bufferevent (evhttp_set_bevcb) right after accept(). We make
 * that bufferevent, note it as pending, and check it in an event activated
 * for the same turn of the loop, once evhttp has set the connection up (its
 * evhttp_connection is the bufferevent's callback argument) and before a byte
 * of it is read. The check admits it (a close callback then tells us when
 * evhttp closes it) or closes it. A record lives from the bufferevent until
 * that close callback; only this module frees it. (Should evhttp fail to
 * allocate the connection's first request after taking our bufferevent, it
 * frees the bufferevent before the check: out of memory there, the check
 * would read it freed.)
 */
#include "http/conns.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

/* The most open files crm asks for (it waits with epoll: no FD_SETSIZE). */
#define CONNS_OPEN_FILES_MAX 65536
/* Connections accepted in one turn before the listener waits for the check. */
#define CONNS_ACCEPT_BURST 64
/* Queued connections shed at one EMFILE, at most. */
#define CONNS_SHED_MAX 4096

enum conn_state { CONN_PENDING, CONN_IDLE, CONN_BUSY };

struct conn {
    struct conns *owner;
    struct conn *hash_next;  /* admitted: in the owner's buckets */
    TAILQ_ENTRY(conn) link;  /* pending or idle: in that list; busy: in none */
    struct bufferevent *bev; /* evhttp's, made by conns_on_bufferevent */
    struct evhttp_connection *evcon;
    struct evbuffer_cb_entry *watch; /* the NUL watch on the input */
    unsigned char address[16];
    enum conn_state state;
    int poisoned;   /* a NUL byte came in a request line or header field */
    int in_body;    /* the current request's header section has ended */
    int blank_line; /* the header line being scanned is empty so far */
    long long reading_since_ms; /* a request began to arrive and is not yet read whole; 0: none */
    void (*on_gone)(void *arg); /* told when evhttp closes the connection (a live stream) */
    void *on_gone_arg;
};
TAILQ_HEAD(conn_list, conn);

struct conns_address {
    struct conns_address *next;
    unsigned char key[16];
    int count;
};

/* What happened since the last log line (one a second at most). */
struct conns_report {
    long long last_ms;
    unsigned long refused_address, refused_full, evicted, accept_errors, shed;
    int accept_error; /* errno of the last failed accept() */
    unsigned long slow;  /* requests not read whole within the deadline: cut */
};

struct conns {
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener; /* NULL once the worker stops accepting */
    struct conns_limits *limits;
    struct event *ev_check;  /* admits the connections accepted this turn */
    struct event *ev_resume; /* ends a pause of the listener */
    struct event *ev_report; /* writes the report when a second has passed */
    struct event *ev_deadline; /* cuts requests read too slowly (conns_set_request_deadline) */
    long long deadline_ms;
    int paused;
    int reserve_fd; /* given up to shed queued connections on EMFILE */
    struct conn_list pending, idle;
    size_t npending;
    struct conn **buckets; /* admitted connections by evcon */
    size_t nbuckets;
    struct conns_report report;
};

static _Thread_local struct conns *conns_self;

/* The least power of two from lo (one) to hi that is at least n. */
static size_t conns_pow2(size_t n, size_t lo, size_t hi)
{
    size_t p = lo;
    while (p < n && p < hi)
        p <<= 1;
    return p;
}

int conns_raise_open_files(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return 1024;
    rlim_t want = r.rlim_max;
    if (want == RLIM_INFINITY || want > CONNS_OPEN_FILES_MAX)
        want = CONNS_OPEN_FILES_MAX;
    if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < want) {
        struct rlimit raised = {want, r.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            r.rlim_cur = want;
    }
    return r.rlim_cur == RLIM_INFINITY || r.rlim_cur > INT_MAX ? INT_MAX : (int)r.rlim_cur;
}

int conns_reserved_files(int nworkers, int db_pool_size)
{
    return 64 + nworkers * (db_pool_size + 8);
}

int conns_limits_init(struct conns_limits *l, int max, int per_address, int open_files,
                      int reserved)
{
    memset(l, 0, sizeof *l);
    if (max <= 0)
        max = open_files - reserved > 16 ? open_files - reserved : 16;
    if (per_address <= 0)
        per_address = max / 8 > 8 ? max / 8 : 8;
    if (per_address > max)
        per_address = max;
    l->max = max;
    l->per_address = per_address;
    l->open_files = open_files;
    l->naddresses = conns_pow2((size_t)max, 64, 65536);
    l->addresses = calloc(l->naddresses, sizeof *l->addresses);
    if (!l->addresses || pthread_mutex_init(&l->lock, NULL) != 0) {
        free(l->addresses);
        l->addresses = NULL;
        return -1;
    }
    return 0;
}

void conns_limits_free(struct conns_limits *l)
{
    if (!l->addresses)
        return;
    for (size_t i = 0; i < l->naddresses; i++)
        while (l->addresses[i]) {
            struct conns_address *a = l->addresses[i];
            l->addresses[i] = a->next;
            free(a);
        }
    free(l->addresses);
    l->addresses = NULL;
    pthread_mutex_destroy(&l->lock);
}

/* The key an address is counted under: IPv4 as ::ffff:a.b.c.d, IPv6 by its
 * /64 (one subscriber's share; its low half is the subscriber's to choose). */
static void conns_address_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
    memset(key, 0, 16);
    if (ss->ss_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        memcpy(key, a->s6_addr, IN6_IS_ADDR_V4MAPPED(a) ? 16 : 8);
    }
}

/* The slot holding key's count (or where it would go). Under l->lock. */
static struct conns_address **conns_address_slot(struct conns_limits *l,
                                                 const unsigned char key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    struct conns_address **slot = &l->addresses[h & (l->naddresses - 1)];
    while (*slot && memcmp((*slot)->key, key, 16) != 0)
        slot = &(*slot)->next;
    return slot;
}

enum conns_verdict { CONNS_ADMITTED, CONNS_ADDRESS_FULL, CONNS_PROCESS_FULL, CONNS_GONE };

/* Counts a connection from key if both limits allow it. */
static enum conns_verdict conns_limits_take(struct conns_limits *l, const unsigned char key[16])
{
    enum conns_verdict v = CONNS_ADMITTED;
    pthread_mutex_lock(&l->lock);
    struct conns_address **slot = conns_address_slot(l, key);
    if (*slot && (*slot)->count >= l->per_address)
        v = CONNS_ADDRESS_FULL;
    else if (l->total >= l->max)
        v = CONNS_PROCESS_FULL;
    else if (!*slot && !(*slot = calloc(1, sizeof **slot)))
        v = CONNS_PROCESS_FULL; /* out of memory: as good as full */
    else {
        if ((*slot)->count == 0)
            memcpy((*slot)->key, key, 16);
        (*slot)->count++;
        l->total++;
    }
    pthread_mutex_unlock(&l->lock);
    return v;
}

static void conns_limits_give(struct conns_limits *l, const unsigned char key[16])
{
    pthread_mutex_lock(&l->lock);
    struct conns_address **slot = conns_address_slot(l, key);
    if (*slot && --(*slot)->count == 0) {
        struct conns_address *a = *slot;
        *slot = a->next;
        free(a);
    }
    l->total--;
    pthread_mutex_unlock(&l->lock);
}

/* The bucket of an admitted connection, by its evhttp_connection. */
static struct conn **conns_bucket(struct conns *c, const struct evhttp_connection *evcon)
{
    uint64_t p = (uint64_t)(uintptr_t)evcon;
    p = (p ^ (p >> 29)) * UINT64_C(0x9E3779B97F4A7C15);
    return &c->buckets[(p >> 32) & (c->nbuckets - 1)];
}

/* The record of an admitted connection, or NULL (not admitted: untracked). */
static struct conn *conns_find(struct conns *c, const struct evhttp_connection *evcon)
{
    struct conn *k = *conns_bucket(c, evcon);
    while (k && k->evcon != evcon)
        k = k->hash_next;
    return k;
}

static void conns_unhash(struct conns *c, struct conn *k)
{
    struct conn **slot = conns_bucket(c, k->evcon);
    while (*slot && *slot != k)
        slot = &(*slot)->hash_next;
    if (*slot)
        *slot = k->hash_next;
}

/* Writes what happened since the last line, and starts counting anew. */
static void conns_report_now(struct conns *c)
{
    struct conns_report *r = &c->report;
    r->last_ms = clock_monotonic_ms();
    if (!r->refused_address && !r->refused_full && !r->evicted && !r->accept_errors && !r->slow)
        return;
    json_t *f = json_pack("{s:I, s:I, s:I, s:i, s:i}", "refused_past_address_limit",
                          (json_int_t)r->refused_address, "refused_past_process_limit",
                          (json_int_t)r->refused_full, "idle_closed_for_room",
                          (json_int_t)r->evicted, "max_connections", c->limits->max,
                          "max_connections_per_address", c->limits->per_address);
    if (f && r->slow)
        json_object_set_new(f, "slow_requests_cut", json_integer((json_int_t)r->slow));
    if (f && r->accept_errors) {
        json_object_set_new(f, "accept_errors", json_integer((json_int_t)r->accept_errors));
        json_object_set_new(f, "accept_error", json_string(strerror(r->accept_error)));
        json_object_set_new(f, "queued_connections_shed", json_integer((json_int_t)r->shed));
        json_object_set_new(f, "pause_ms", json_integer(CONNS_BACKOFF_MS));
    }
    log_event(
        LOG_WARN, NULL,
        r->accept_errors ? "accept failed: pausing the listener" : "connection limits reached", f);
    r->refused_address = r->refused_full = r->evicted = r->accept_errors = r->shed = r->slow = 0;
}

static void conns_on_report(evutil_socket_t fd, short what, void *arg)
{
    conns_report_now(arg);
}

/* Something worth a log line happened: one now, or when a second has
 * passed since the last. */
static void conns_note(struct conns *c)
{
    if (evtimer_pending(c->ev_report, NULL))
        return;
    long long wait = c->report.last_ms + 1000 - clock_monotonic_ms();
    if (wait <= 0) {
        conns_report_now(c);
        return;
    }
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(c->ev_report, &tv);
}

/* Forgets k (admitted or pending) without touching evhttp. */
static void conns_forget(struct conns *c, struct conn *k)
{
    if (k->watch)
        evbuffer_remove_cb_entry(bufferevent_get_input(k->bev), k->watch);
    if (k->state == CONN_PENDING) {
        TAILQ_REMOVE(&c->pending, k, link);
        c->npending--;
    } else {
        conns_unhash(c, k);
        if (k->state == CONN_IDLE)
            TAILQ_REMOVE(&c->idle, k, link);
        conns_limits_give(c->limits, k->address);
    }
    free(k);
}

/* evhttp closes an admitted connection. */
static void conns_on_close(struct evhttp_connection *evcon, void *arg)
{
    struct conn *k = arg;
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    if (k->on_gone)
        k->on_gone(k->on_gone_arg);
    conns_forget(k->owner, k);
}

/* Closes the connection idle the longest. Returns 1, or 0 when none is. */
static int conns_close_idlest(struct conns *c)
{
    struct conn *k = TAILQ_FIRST(&c->idle);
    if (!k)
        return 0;
    c->report.evicted++;
    evhttp_connection_free(k->evcon); /* conns_on_close forgets k */
    return 1;
}

/* Admits the pending connection k, or closes it. */
static void conns_admit(struct conns *c, struct conn *k)
{
    void *evcon = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    bufferevent_getcb(k->bev, NULL, NULL, NULL, &evcon);
    int fd = bufferevent_getfd(k->bev);
    if (!evcon) { /* evhttp could not set the connection up */
        conns_forget(c, k);
        return;
    }
    enum conns_verdict v = CONNS_GONE; /* a peer without a name has already left */
    memset(&ss, 0, sizeof ss);
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0) {
        conns_address_key(&ss, k->address);
        v = conns_limits_take(c->limits, k->address);
        if (v == CONNS_PROCESS_FULL && conns_close_idlest(c))
            v = conns_limits_take(c->limits, k->address);
    }
    TAILQ_REMOVE(&c->pending, k, link);
    c->npending--;
    k->evcon = evcon;
    if (v != CONNS_ADMITTED) {
        if (v == CONNS_ADDRESS_FULL)
            c->report.refused_address++;
        else if (v == CONNS_PROCESS_FULL)
            c->report.refused_full++;
        if (k->watch)
            evbuffer_remove_cb_entry(bufferevent_get_input(k->bev), k->watch);
        free(k);
        evhttp_connection_free(evcon);
        if (v != CONNS_GONE)
            conns_note(c);
        return;
    }
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        /* An answer leaves as soon as it is written: with Nagle's algorithm
         * the last segment of a large one waits for the client's delayed
         * ACK (40 ms on Linux) whenever an earlier one is unacknowledged. */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    k->state = CONN_IDLE;
    TAILQ_INSERT_TAIL(&c->idle, k, link);
    struct conn **slot = conns_bucket(c, k->evcon);
    k->hash_next = *slot;
    *slot = k;
    evhttp_connection_set_closecb(k->evcon, conns_on_close, k);
    if (c->report.evicted)
        conns_note(c);
}

/* Admits or closes what was accepted this turn, then lets the listener
 * accept again (unless it is pausing). */
static void conns_on_check(evutil_socket_t fd, short what, void *arg)
{
    struct conns *c = arg;
    while (!TAILQ_EMPTY(&c->pending))
        conns_admit(c, TAILQ_FIRST(&c->pending));
    if (c->listener && !c->paused)
        evconnlistener_enable(c->listener);
}

/* Scans n bytes of a request's line and header fields for a NUL byte and
 * for the empty line ending them (CRLF or a bare LF, as evhttp reads).
 * Returns how many bytes belong to the header section. */
static size_t conns_scan_bytes(struct conn *k, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            if (k->blank_line) {
                k->in_body = 1;
                return i + 1;
            }
            k->blank_line = 1;
        } else if (p[i] == '\0')
            k->poisoned = 1;
        else if (p[i] != '\r')
            k->blank_line = 0;
    }
    return n;
}

/* Scans buf from offset until the header section being read ends. Bodies
 * are not scanned: a body may hold NUL bytes (a UTF-16 CSV does). */
static void conns_scan_headers(struct conn *k, struct evbuffer *buf, size_t offset)
{
    struct evbuffer_ptr at;
    if (evbuffer_ptr_set(buf, &at, offset, EVBUFFER_PTR_SET) != 0)
        return;
    while (!k->in_body) {
        struct evbuffer_iovec v[16];
        int n = evbuffer_peek(buf, -1, &at, v, 16);
        size_t scanned = 0;
        for (int i = 0; i < n && i < 16 && !k->in_body; i++)
            scanned += conns_scan_bytes(k, v[i].iov_base, v[i].iov_len);
        if (n <= 16 || k->in_body || evbuffer_ptr_set(buf, &at, scanned, EVBUFFER_PTR_ADD) != 0)
            return;
    }
}

/* New bytes came in: the part of them in a header section is scanned. */
static void conns_on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *k = arg;
    size_t len = evbuffer_get_length(buf);
    if (info->n_added > 0 && !k->reading_since_ms && k->state != CONN_BUSY)
        k->reading_since_ms = clock_monotonic_ms();
    if (k->in_body || info->n_added == 0 || info->n_added > len)
        return;
    conns_scan_headers(k, buf, len - info->n_added);
}

/* evhttp's bufferevent callback: a connection was just accepted. */
static struct bufferevent *conns_on_bufferevent(struct event_base *base, void *arg)
{
    struct conns *c = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    struct conn *k = bev ? calloc(1, sizeof *k) : NULL;
    if (!k)
        return bev; /* evhttp then serves it uncounted, or makes its own */
    k->owner = c;
    k->bev = bev;
    k->state = CONN_PENDING;
    k->watch = evbuffer_add_cb(bufferevent_get_input(bev), conns_on_input, k);
    TAILQ_INSERT_TAIL(&c->pending, k, link);
    c->npending++;
    event_active(c->ev_check, EV_READ, 0);
    if (c->npending >= CONNS_ACCEPT_BURST && c->listener)
        evconnlistener_disable(c->listener); /* until the check has run */
    return bev;
}

/* Accepts and closes what waits in the listen queue, with the reserve
 * descriptor given up for the moment. Returns how many. */
static unsigned long conns_shed_queue(struct conns *c)
{
    int lfd = evconnlistener_get_fd(c->listener);
    unsigned long n = 0;
    if (c->reserve_fd >= 0) {
        close(c->reserve_fd);
        c->reserve_fd = -1;
    }
    while (n < CONNS_SHED_MAX) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            break;
        close(fd);
        n++;
    }
    c->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return n;
}

/* libevent's accept error callback (its argument is evhttp's, not ours). */
static void conns_on_accept_error(struct evconnlistener *lev, void *unused)
{
    struct conns *c = conns_self;
    int err = EVUTIL_SOCKET_ERROR();
    if (!c || c->listener != lev)
        return;
    if (err == EMFILE || err == ENFILE) {
        c->report.shed += conns_shed_queue(c);
        conns_close_idlest(c);
    }
    c->report.accept_errors++;
    c->report.accept_error = err;
    c->paused = 1;
    evconnlistener_disable(lev);
    struct timeval pause = {0, CONNS_BACKOFF_MS * 1000};
    evtimer_add(c->ev_resume, &pause);
    conns_note(c);
}

/* The pause is over: the reserve is taken again, the listener accepts. */
static void conns_on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct conns *c = arg;
    c->paused = 0;
    if (c->reserve_fd < 0)
        c->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (c->listener)
        evconnlistener_enable(c->listener);
}

/* The answer has been written: the connection is idle, and what it has
 * sent beyond the request (pipelined) starts the next header section. */
static void conns_on_complete(struct evhttp_request *req, void *arg)
{
    struct conn *k = arg;
    if (k->state != CONN_BUSY)
        return;
    k->state = CONN_IDLE;
    TAILQ_INSERT_TAIL(&k->owner->idle, k, link);
    k->in_body = 0;
    k->blank_line = 0;
    k->reading_since_ms = evbuffer_get_length(bufferevent_get_input(k->bev)) ? clock_monotonic_ms() : 0;
    conns_scan_headers(k, bufferevent_get_input(k->bev), 0);
}

/* Closes the connections whose request has been arriving for longer than
 * the deadline: a client trickling its headers or body a byte at a time is
 * never idle long enough for evhttp's read timeout, and would hold its
 * connection (and its share of the limits) for ever. */
static void conns_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct conns *c = arg;
    long long now = clock_monotonic_ms();
    struct conn *k = TAILQ_FIRST(&c->idle);
    while (k) {
        struct conn *next = TAILQ_NEXT(k, link);
        if (k->reading_since_ms && now - k->reading_since_ms > c->deadline_ms) {
            c->report.slow++;
            evhttp_connection_free(k->evcon); /* conns_on_close forgets k */
        }
        k = next;
    }
    if (c->report.slow)
        conns_note(c);
}

int conns_set_request_deadline(struct conns *c, long long ms)
{
    c->deadline_ms = ms;
    if (!c->ev_deadline && !(c->ev_deadline = event_new(c->base, -1, EV_PERSIST, conns_on_deadline, c)))
        return -1;
    long long tick = ms / 4 < 100 ? 100 : ms / 4 > 1000 ? 1000 : ms / 4;
    struct timeval tv = {(time_t)(tick / 1000), (suseconds_t)(tick % 1000) * 1000};
    return ms > 0 ? evtimer_add(c->ev_deadline, &tv) : 0;
}

int conns_request_begin(struct conns *c, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct conn *k = c && evcon ? conns_find(c, evcon) : NULL;
    if (!k)
        return 0;
    k->reading_since_ms = 0; /* read whole */
    if (k->state == CONN_IDLE) {
        TAILQ_REMOVE(&c->idle, k, link);
        k->state = CONN_BUSY;
        evhttp_request_set_on_complete_cb(req, conns_on_complete, k);
    }
    return k->poisoned ? -1 : 0;
}

int conns_watch_gone(struct conns *c, struct evhttp_request *req, void (*on_gone)(void *arg),
                     void *arg)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct conn *k = c && evcon ? conns_find(c, evcon) : NULL;
    if (!k)
        return -1;
    k->on_gone = on_gone;
    k->on_gone_arg = arg;
    return 0;
}

struct conns *conns_new(struct event_base *base, struct evhttp *http,
                        struct evconnlistener *listener, struct conns_limits *limits, int nworkers)
{
    struct conns *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->http = http;
    c->listener = listener;
    c->limits = limits;
    TAILQ_INIT(&c->pending);
    TAILQ_INIT(&c->idle);
    c->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    c->nbuckets = conns_pow2((size_t)(limits->max / (nworkers > 0 ? nworkers : 1)), 64, 65536);
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    c->ev_check = event_new(base, -1, 0, conns_on_check, c);
    c->ev_resume = evtimer_new(base, conns_on_resume, c);
    c->ev_report = evtimer_new(base, conns_on_report, c);
    if (!c->buckets || !c->ev_check || !c->ev_resume || !c->ev_report || c->reserve_fd < 0) {
        conns_free(c);
        return NULL;
    }
    evhttp_set_bevcb(http, conns_on_bufferevent, c);
    if (listener)
        evconnlistener_set_error_cb(listener, conns_on_accept_error);
    return c;
}

void conns_enter(struct conns *c)
{
    conns_self = c;
}

void conns_listener_gone(struct conns *c)
{
    if (!c)
        return;
    c->listener = NULL;
    c->paused = 0;
    evtimer_del(c->ev_resume);
}

void conns_free(struct conns *c)
{
    if (!c)
        return;
    /* evhttp_free has closed every connection: the admitted ones are gone
     * through conns_on_close; the pending ones' bufferevents went with them. */
    while (!TAILQ_EMPTY(&c->pending)) {
        struct conn *k = TAILQ_FIRST(&c->pending);
        TAILQ_REMOVE(&c->pending, k, link);
        free(k);
    }
    for (size_t i = 0; c->buckets && i < c->nbuckets; i++)
        while (c->buckets[i]) {
            struct conn *k = c->buckets[i];
            c->buckets[i] = k->hash_next;
            conns_limits_give(c->limits, k->address);
            free(k);
        }
    if (c->ev_report && evtimer_pending(c->ev_report, NULL))
        conns_report_now(c);
    if (c->ev_check)
        event_free(c->ev_check);
    if (c->ev_resume)
        event_free(c->ev_resume);
    if (c->ev_report)
        event_free(c->ev_report);
    if (c->ev_deadline)
        event_free(c->ev_deadline);
    if (c->reserve_fd >= 0)
        close(c->reserve_fd);
    free(c->buckets);
    free(c);
}
