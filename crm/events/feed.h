/*
 * feed: a worker's live events, and the Server-Sent Events streams that
 * receive them (GET /api/v1/events; api/events.c opens them).
 *
 * Every state change writes an event in its own transaction (the outbox,
 * sql/schema/92_events.sql). The publisher (the feed of worker 0) is told
 * by events_feed_kick once crm has answered a write (its connections do
 * not NOTIFY: outbox_wake), by NOTIFY crm_outbox of any other writer (crm
 * import, psql), and every heartbeat in case. It numbers the committed
 * events (events_publish: one publisher at a time, so ids increase in the
 * order readers see them) and NOTIFYs crm_event with the last id. Each worker's feed then reads the
 * new events once for all its streams (events_feed, which says which
 * clients' scope roots may see each: the rule of row-level security) and
 * writes each to the streams that may see it, in id order.
 *
 * The notifications come on the first connection of the worker's pool
 * (db_pool_listen), non-blocking on the loop. When that connection is lost
 * and comes back, the feed reads from its last id again, so that nothing
 * published meanwhile is missed; a stream sees each id at most once since
 * it only takes ids above its own last one.
 *
 * A stream starts from the head (no Last-Event-ID) or from the id it was
 * given, and catches up as its caller (auth_session, then the events after
 * its id under row-level security) until it meets the feed; live events
 * that arrive while it catches up are left to the catch-up. Every
 * CRM_EVENTS_RECHECK_S it catches up again, which checks its session too:
 * a session ended or a user disabled ends the stream. (A worker's heartbeat
 * catches up 64 streams at most, so that streams opened together, all
 * clients reconnecting after a restart, do not fill the pool's queue that
 * requests wait in: the rest wait for the next heartbeat.) Heartbeat comments
 * keep proxies from cutting an idle stream. A client that does not read
 * (more than FEED_STREAM_BUFFER_MAX bytes waiting) is cut: it comes back
 * with Last-Event-ID.
 *
 * Ownership: the worker holds the feed (server_app.worker_start); the feed
 * owns its streams and its timer; a stream owns nothing of evhttp's: its
 * request is evhttp's until the stream ends it, and when evhttp closes the
 * connection first (conns_watch_gone) the stream is freed without touching
 * it. A database job refers to its stream through the feed's list, never
 * to freed memory: a stream that is gone while its job runs is marked, and
 * freed when the job answers.
 */
#ifndef CRM_EVENTS_FEED_H
#define CRM_EVENTS_FEED_H

#include "auth/token.h"
#include "http/request_id.h"

struct worker;
struct evhttp_request;
struct events_feed;

/* Most bytes a stream may leave unread before it is cut. */
#define FEED_STREAM_BUFFER_MAX (1024 * 1024)

/* Starts w's feed: listens on w's pool; worker 0's also publishes and
 * sends the webhooks. Returns NULL when out of memory. */
void *events_feed_start(struct worker *w);

/* The worker begins to stop: every stream ends (its connection closes). */
void events_feed_stopping(void *feed);

/* Ends what is left and frees the feed (after the worker's loop). */
void events_feed_free(void *feed);

/* What a new stream needs: its caller, as auth_session knew them, and
 * where it starts. */
struct events_stream_start {
    long long root;    /* the caller's scope root (crm.unit_id) */
    long long after;   /* the stream gets the events after this id */
    const char *token_hash_hex; /* to check the session again */
    const char *request_id;
    unsigned roles;    /* the route's roles, for auth_session */
};

/* Takes over req (started by exchange_stream_start) as a stream of w's
 * feed (events_feed_start's). On failure (out of memory) the request is
 * ended. */
void events_stream_open(struct worker *w, void *feed, struct evhttp_request *req,
                        const struct events_stream_start *start);

/* A write was answered (through this process's connections, which leave
 * waking the publisher to it: crm.outbox_wake = 'client'): the publisher
 * (feed, worker 0's) publishes soon. Safe from any thread. */
void events_feed_kick(void *feed);

/* Appends the counters to /metrics (Prometheus text). */
struct evbuffer;
void events_feed_metrics(struct evbuffer *buf);

#endif
