/*
 * conns: the clients' connections, and the limits that keep whoever can
 * connect from exhausting the process's file descriptors.
 *
 * - At most max connections in the process, and per_address from one client
 *   address (an IPv6 client counts by its /64) at a time. A connection past
 *   its address's share is closed at once. One past the process's cap makes
 *   room by closing the worker's connection idle the longest (no request in
 *   progress: kept alive between requests, or still sending its first), or
 *   is closed itself when the worker has none idle.
 * - When accept() finds no descriptor (EMFILE, ENFILE), the listener pauses
 *   for CONNS_BACKOFF_MS instead of spinning; the connections waiting in its
 *   queue are shed (a descriptor kept in reserve is given up for a moment to
 *   accept and close each), and the connection idle the longest is closed to
 *   make room. The log says so once a second at most, with a count.
 * - A NUL byte in a request line or header field marks its connection:
 *   evhttp would pass a header value cut at the NUL (an Authorization header
 *   "Bearer <token>\0junk" as "Bearer <token>"), so the request is refused
 *   and the connection closed. (Bodies may hold NUL bytes: a UTF-16 CSV.)
 *
 * Each worker owns a struct conns (its loop, its evhttp, its listener) and
 * all share one conns_limits (the counts per address and in all, under a
 * mutex). evhttp owns the connections; a conns keeps a record of each (from
 * evhttp's bufferevent callback until its close callback) and frees it when
 * evhttp closes the connection.
 */
#ifndef CRM_CONNS_H
#define CRM_CONNS_H

#include <pthread.h>
#include <stddef.h>

/* How long the listener pauses when accept() runs out of descriptors. */
#define CONNS_BACKOFF_MS 100

struct evhttp;
struct evhttp_request;
struct evconnlistener;
struct event_base;
struct conns_address;

struct conns_limits {
    int max;         /* connections in the process */
    int per_address; /* connections from one address (IPv6: one /64) */
    int open_files;  /* the descriptor limit the defaults came from */
    pthread_mutex_t lock;
    int total;                        /* under lock */
    struct conns_address **addresses; /* under lock: a hash of the counts */
    size_t naddresses;
};

struct conns;

/* Raises the soft limit on open files to the hard one (at most 65536: crm
 * waits with epoll, never select). Returns the soft limit now in force. */
int conns_raise_open_files(void);

/* Descriptors the service needs besides its clients' connections (standard
 * streams, the log, listeners, each worker's loop, database connections,
 * files being imported or exported), for nworkers workers with db_pool_size
 * database connections each. */
int conns_reserved_files(int nworkers, int db_pool_size);

/* Sets up l: max connections in all (0: the open-file limit less what
 * conns_reserved_files keeps), per_address from one address (0: an eighth of
 * max, at least 8). Returns 0, or -1 when out of memory. Free with
 * conns_limits_free once no conns uses it. */
int conns_limits_init(struct conns_limits *l, int max, int per_address, int open_files,
                      int reserved);

void conns_limits_free(struct conns_limits *l);

/* The connections of one worker: takes over evhttp's bufferevents (to watch
 * each connection from its accept on) and listener's accept errors. base is
 * the worker's loop; http its evhttp; listener the evhttp's listener (NULL:
 * none). Returns NULL when out of memory. */
struct conns *conns_new(struct event_base *base, struct evhttp *http,
                        struct evconnlistener *listener, struct conns_limits *limits, int nworkers);

/* Called on the worker's thread before its loop runs: accept errors, which
 * libevent reports without the worker, are then this conns'. */
/* Cuts a connection whose request (its line, headers and body) has been
 * arriving for longer than ms without being read whole (0: never). Returns
 * 0, or -1 when out of memory. */
int conns_set_request_deadline(struct conns *c, long long ms);

void conns_enter(struct conns *c);

/* A request is about to be handled: its connection is busy (never closed to
 * make room) until the answer is written. Returns 0, or -1 when a NUL byte
 * came in its request line or header fields: the caller refuses the request
 * (and closes the connection). */
int conns_request_begin(struct conns *c, struct evhttp_request *req);

/* Calls on_gone(arg) when evhttp closes req's connection (the peer left,
 * a write failed, the worker freed it): a stream that outlives its
 * exchange (the live events) learns there that its request is gone. Call
 * with NULL to stop watching. Returns 0, or -1 when the connection is not
 * one of c's. */
int conns_watch_gone(struct conns *c, struct evhttp_request *req, void (*on_gone)(void *arg),
                     void *arg);

/* The listener is about to be freed (the worker stops accepting). */
void conns_listener_gone(struct conns *c);

/* Frees c. Call after evhttp_free (which closes every connection). c may be
 * NULL. */
void conns_free(struct conns *c);

#endif
