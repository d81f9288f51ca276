/*
 * feed: see feed.h.
 */
#include "events/feed.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/roles.h"
#include "core/clock.h"
#include "core/log.h"
#include "db/pool.h"
#include "db/statements.h"
#include "events/webhook_sender.h"
#include "http/conns.h"
#include "http/worker.h"

/* Events read in one query, by the feed or by a stream catching up. */
#define FEED_BATCH      500
#define FEED_BATCH_TEXT "500"
/* Streams caught up (their session checked) at once by a tick. */
#define FEED_CATCH_UPS_PER_TICK 64
/* The publisher tries again this long after another process held the lock. */
#define FEED_PUBLISH_RETRY_MS 100

/* For /metrics, summed over the workers (relaxed atomics). */
static _Atomic long feed_streams_open, feed_sent, feed_cut;

struct stream {
    struct stream *prev, *next;
    struct events_feed *feed;
    struct evhttp_request *req; /* NULL once the stream has ended or its connection is gone */
    long long root;             /* the caller's scope root */
    long long last_id;          /* every id up to it is sent or not the caller's to see */
    int live;                   /* met the feed: takes its events */
    int judged;                 /* live, and its root is among those the feed's read asked about */
    int catching_up;            /* a catch-up job is in flight (it frees an ended stream) */
    long long checked_ms;       /* the session last checked */
    unsigned roles;
    char token_hash_hex[TOKEN_HASH_HEX_CHARS + 1];
    char request_id[REQUEST_ID_MAX + 1];
};

struct events_feed {
    struct worker *worker;
    int publisher;           /* worker 0: publishes the outbox, sends the webhooks */
    int known;               /* last_id is a real position */
    long long last_id;       /* every event up to it has been handed to the live streams */
    long long notified;      /* the highest id known to be published */
    int fetching, fetch_again;
    char *fetch_roots;       /* the roots the read in flight asks about (array literal) */
    int publishing, publish_again;
    atomic_int kicked;     /* a write was answered since the kick was last taken */
    struct event *ev_kick; /* the publisher: events_feed_kick, from any worker */
    struct event *ev_retry; /* the publisher: another process was publishing */
    int stopping;
    struct stream *streams;
    struct event *ev_tick; /* heartbeats, session checks, the publisher's safety net */
    struct evbuffer *out;  /* scratch for the chunks */
    struct webhook_sender *sender;
};

static const int feed_listen_publisher[] = {STMT_EVENTS_LISTEN_OUTBOX,
                                            STMT_EVENTS_LISTEN_PUBLISHED};
static const int feed_listen_reader[] = {STMT_EVENTS_LISTEN_PUBLISHED};

static void feed_fetch(struct events_feed *f);
static void stream_catch_up(struct stream *s);
static void feed_catch_up_due(struct events_feed *f);

/* ---- streams ---- */

static void stream_unlink(struct stream *s)
{
    struct events_feed *f = s->feed;
    if (s->prev)
        s->prev->next = s->next;
    else if (f->streams == s)
        f->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    atomic_fetch_sub_explicit(&feed_streams_open, 1, memory_order_relaxed);
}

/* Unlinks s and frees it, or leaves it to its catch-up job's answer. */
static void stream_release(struct stream *s)
{
    stream_unlink(s);
    s->req = NULL;
    if (!s->catching_up)
        free(s);
}

/* evhttp closes the connection (the client left, a write failed). A
 * request whose reply we had not ended is then detached from it (evhttp
 * leaves it to us): ending it frees it. One still attached (the worker's
 * evhttp freeing every connection) is evhttp's to free. */
static void stream_on_gone(void *arg)
{
    struct stream *s = arg;
    if (s->req && !evhttp_request_get_connection(s->req))
        evhttp_send_reply_end(s->req);
    stream_release(s);
}

/* Ends the stream from our side: its connection closes once the end is
 * written (Connection: close). */
static void stream_end(struct stream *s)
{
    if (s->req) {
        conns_watch_gone(s->feed->worker->conns, s->req, NULL, NULL);
        evhttp_send_reply_end(s->req);
    }
    stream_release(s);
}

/* Writes what f->out holds to s. A client that leaves more than
 * FEED_STREAM_BUFFER_MAX bytes unread is cut: it resumes with
 * Last-Event-ID. Returns 0, or -1 when s has ended. */
static int stream_flush(struct stream *s)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(s->req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > FEED_STREAM_BUFFER_MAX) {
        evbuffer_drain(s->feed->out, evbuffer_get_length(s->feed->out));
        atomic_fetch_add_explicit(&feed_cut, 1, memory_order_relaxed);
        log_event(LOG_WARN, s->request_id, "events: stream cut, its client does not read",
                  json_pack("{s:I}", "last_id", (json_int_t)s->last_id));
        stream_end(s);
        return -1;
    }
    evhttp_send_reply_chunk(s->req, s->feed->out); /* drains out */
    return 0;
}

/* Writes one event (its id and JSON) to s. Returns 0, or -1 when s ended. */
static int stream_send(struct stream *s, long long id, const char *json)
{
    evbuffer_add_printf(s->feed->out, "id: %lld\ndata: %s\n\n", id, json);
    s->last_id = id;
    atomic_fetch_add_explicit(&feed_sent, 1, memory_order_relaxed);
    return stream_flush(s);
}

/* A stream meets the feed: from here it takes the feed's events. */
static void stream_go_live(struct stream *s)
{
    struct events_feed *f = s->feed;
    s->live = 1;
    if (!f->known) {
        f->known = 1;
        f->last_id = s->last_id;
    }
}

static void stream_on_caught_up(void *arg, struct db_result *r)
{
    struct stream *s = arg;
    s->catching_up = 0;
    if (!s->req) { /* ended while the job ran */
        free(s);
        return;
    }
    if (r->failure != DB_OK) {
        if (r->failure == DB_FAIL_QUERY &&
            (strcmp(r->sqlstate, "CR401") == 0 || strcmp(r->sqlstate, "CR403") == 0)) {
            log_event(LOG_INFO, s->request_id, "events: stream ended, its session has",
                      json_pack("{s:s}", "sqlstate", r->sqlstate));
            evbuffer_add_printf(s->feed->out, "event: end\ndata: {\"reason\":\"session\"}\n\n");
            if (stream_flush(s) == 0)
                stream_end(s);
            return;
        }
        /* The database is away: the stream waits (heartbeats go on) and
         * tries again once the feed hears from the database, or at a tick. */
        s->live = 0;
        s->checked_ms = 0;
        return;
    }
    const PGresult *res = r->results[1];
    int rows = PQntuples(res), got = 0;
    long long head = rows ? atoll(db_value(res, 0, 0)) : 0;
    for (int i = 0; i < rows; i++) {
        const char *id_text = db_value(res, i, 1);
        if (!id_text)
            continue;
        got++;
        long long id = atoll(id_text);
        if (id > s->last_id && stream_send(s, id, db_value(res, i, 2)) != 0)
            return;
    }
    if (got == FEED_BATCH) {
        stream_catch_up(s);
        return;
    }
    if (head > s->last_id)
        s->last_id = head; /* what lies between is not the caller's to see */
    if (s->feed->known && s->feed->last_id > s->last_id && !s->feed->stopping) {
        /* The feed handed out events after this job's snapshot. */
        stream_catch_up(s);
        return;
    }
    stream_go_live(s);
}

/* Reads the events after s's last id as its caller (which checks the
 * session again), then meets the feed. */
static void stream_catch_up(struct stream *s)
{
    struct worker *w = s->feed->worker;
    if (s->catching_up || !w->pool || !s->req)
        return;
    struct db_job *job = db_job_new(stream_on_caught_up, s);
    if (!job)
        return;
    char roles[64], idle[16], after[24];
    role_array_literal(s->roles, roles, sizeof roles);
    snprintf(idle, sizeof idle, "%d", w->server->cfg->session_idle_s);
    snprintf(after, sizeof after, "%lld", s->last_id);
    const char *auth[] = {s->token_hash_hex, s->request_id, roles, idle};
    const char *since[] = {after, FEED_BATCH_TEXT};
    db_job_add(job, STMT_AUTH_SESSION, 4, auth);
    db_job_add(job, STMT_EVENTS_SINCE, 2, since);
    s->live = 0;
    s->catching_up = 1;
    s->checked_ms = clock_monotonic_ms();
    db_submit(w->pool, job);
}

void events_stream_open(struct worker *w, void *feed, struct evhttp_request *req,
                        const struct events_stream_start *start)
{
    struct events_feed *f = feed;
    struct stream *s = f && !f->stopping ? calloc(1, sizeof *s) : NULL;
    if (!s || conns_watch_gone(w->conns, req, stream_on_gone, s) != 0) {
        free(s);
        evhttp_send_reply_end(req);
        return;
    }
    /* A stream is quiet between heartbeats and its client never writes:
     * no read timeout (evhttp's would close it), the write timeout kept
     * (a client that stops reading is cut by it, or by the buffer cap). */
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    struct timeval write_tv = {w->server->cfg->http_timeout_s, 0};
    if (bev)
        bufferevent_set_timeouts(bev, NULL, &write_tv);
    s->feed = f;
    s->req = req;
    s->root = start->root;
    s->last_id = start->after;
    s->roles = start->roles;
    s->checked_ms = clock_monotonic_ms(); /* auth_session has just checked it */
    snprintf(s->token_hash_hex, sizeof s->token_hash_hex, "%s", start->token_hash_hex);
    snprintf(s->request_id, sizeof s->request_id, "%s", start->request_id);
    s->next = f->streams;
    if (f->streams)
        f->streams->prev = s;
    f->streams = s;
    atomic_fetch_add_explicit(&feed_streams_open, 1, memory_order_relaxed);
    /* The reconnection delay EventSource waits, then a comment that makes
     * the headers and the stream's start visible at once. */
    evbuffer_add_printf(f->out, "retry: 3000\n: stream of events after %lld\n\n", s->last_id);
    if (stream_flush(s) != 0)
        return;
    if (f->known && f->last_id > s->last_id)
        stream_catch_up(s);
    else
        stream_go_live(s);
}

/* ---- the feed ---- */

/* The scope roots of the live streams, as a PostgreSQL array literal
 * (malloc'd, the caller frees it), and how many; NULL when out of memory. */
static char *feed_roots(struct events_feed *f, int *count)
{
    size_t cap = 3;
    for (struct stream *s = f->streams; s; s = s->next)
        cap += 21;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = 0;
    *count = 0;
    out[n++] = '{';
    for (struct stream *s = f->streams; s; s = s->next) {
        if (!s->live)
            continue;
        int seen = 0;
        for (struct stream *t = f->streams; t != s && !seen; t = t->next)
            seen = t->live && t->root == s->root;
        if (!seen)
            n += (size_t)snprintf(out + n, cap - n, "%s%lld", (*count)++ ? "," : "", s->root);
    }
    out[n++] = '}';
    out[n] = '\0';
    return out;
}

/* Whether root is in the array literal roots ("{1,5,7}"). */
static int feed_roots_have(const char *roots, long long root)
{
    for (const char *p = roots; p && *p;) {
        while (*p == '{' || *p == ',')
            p++;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            return 0;
        if (v == root)
            return 1;
        p = end;
    }
    return 0;
}

static void feed_on_fetched(void *arg, struct db_result *r)
{
    struct events_feed *f = arg;
    f->fetching = 0;
    if (r->failure != DB_OK) {
        free(f->fetch_roots);
        f->fetch_roots = NULL;
        if (r->failure != DB_FAIL_SHUTDOWN && r->failure != DB_FAIL_CONNECTION)
            log_msg(LOG_WARN, NULL, "events: reading the feed failed: %s", r->message);
        return; /* read again when the database is back (on_listening) */
    }
    const PGresult *res = r->results[0];
    int rows = PQntuples(res);
    /* Only the streams whose root the read asked about can be judged by
     * it; one that went live while it was out is caught up instead. */
    for (struct stream *s = f->streams; s; s = s->next)
        s->judged = s->live && feed_roots_have(f->fetch_roots, s->root);
    for (int i = 0; i < rows; i++) {
        long long id = atoll(db_value(res, i, 0));
        const char *roots = db_value(res, i, 1);
        const char *body = db_value(res, i, 2);
        for (struct stream *s = f->streams, *next; s; s = next) {
            next = s->next; /* s may end here */
            if (!s->live || !s->judged || s->last_id >= id)
                continue;
            if (feed_roots_have(roots, s->root))
                stream_send(s, id, body);
            else
                s->last_id = id;
        }
        if (id > f->last_id)
            f->last_id = id;
    }
    for (struct stream *s = f->streams; s; s = s->next)
        if (s->live && !s->judged && rows > 0)
            stream_catch_up(s);
    free(f->fetch_roots);
    f->fetch_roots = NULL;
    /* More to read: a full batch, a notification during the read. */
    if (rows == FEED_BATCH || f->fetch_again) {
        f->fetch_again = 0;
        feed_fetch(f);
    }
}

/* Reads what was published after the feed's last id for its live streams
 * (nothing to read without any: the position just moves on). */
static void feed_fetch(struct events_feed *f)
{
    struct worker *w = f->worker;
    if (f->fetching) {
        f->fetch_again = 1;
        return;
    }
    if (!f->known || f->stopping || !w->pool)
        return;
    int n = 0;
    char *roots = feed_roots(f, &n);
    if (!roots)
        return;
    if (n == 0) {
        free(roots);
        if (f->notified > f->last_id)
            f->last_id = f->notified;
        return;
    }
    struct db_job *job = db_job_new(feed_on_fetched, f);
    if (!job) {
        free(roots);
        return;
    }
    char after[24];
    snprintf(after, sizeof after, "%lld", f->last_id);
    const char *params[] = {after, roots, FEED_BATCH_TEXT};
    db_job_add(job, STMT_EVENTS_FEED, 3, params);
    f->fetch_roots = roots; /* what the read asks about, until it answers */
    f->fetching = 1;
    db_submit(w->pool, job);
}

/* The feed learns where it stands: the head when nothing streams yet. */
static void feed_learn(struct events_feed *f, long long head)
{
    if (head > f->notified)
        f->notified = head;
    if (!f->known) {
        f->known = 1;
        f->last_id = head;
    }
    feed_fetch(f);
}

static void feed_on_head(void *arg, struct db_result *r)
{
    struct events_feed *f = arg;
    if (r->failure == DB_OK)
        feed_learn(f, atoll(db_value(r->results[0], 0, 0)));
}

static void feed_publish(struct events_feed *f);

static void feed_on_published(void *arg, struct db_result *r)
{
    struct events_feed *f = arg;
    f->publishing = 0;
    if (r->failure != DB_OK) {
        if (r->failure == DB_FAIL_QUERY)
            log_msg(LOG_ERROR, NULL, "events: publishing failed: %s", r->message);
        return;
    }
    const char *last = db_value(r->results[0], 0, 0);
    if (last) {
        feed_learn(f, atoll(last));
        if (f->sender)
            webhook_sender_kick(f->sender);
    } else if (!f->publish_again) {
        /* Another process is publishing: what it published follows by its
         * NOTIFY crm_event, but its publishing may have begun before what
         * woke us was committed. */
        struct timeval retry = {0, FEED_PUBLISH_RETRY_MS * 1000};
        event_add(f->ev_retry, &retry);
    }
    if (f->publish_again) {
        f->publish_again = 0;
        feed_publish(f);
    }
}

/* Publishes the committed outbox (worker 0 only). */
static void feed_publish(struct events_feed *f)
{
    struct worker *w = f->worker;
    if (f->publishing) {
        f->publish_again = 1;
        return;
    }
    struct db_job *job = w->pool && !f->stopping ? db_job_new(feed_on_published, f) : NULL;
    if (!job)
        return;
    db_job_add(job, STMT_EVENTS_PUBLISH, 0, NULL);
    f->publishing = 1;
    db_submit(w->pool, job);
}

static void feed_on_publish_due(evutil_socket_t fd, short what, void *arg)
{
    struct events_feed *f = arg;
    atomic_store_explicit(&f->kicked, 0, memory_order_relaxed);
    feed_publish(f);
}

void events_feed_kick(void *feed)
{
    struct events_feed *f = feed;
    /* One wake of the publisher's loop for any number of writes before it
     * publishes: the publishing they ask for is the same. */
    if (f && f->ev_kick && !atomic_exchange_explicit(&f->kicked, 1, memory_order_relaxed))
        event_active(f->ev_kick, EV_READ, 0);
}

static void feed_on_notify(void *arg, const char *channel, const char *payload)
{
    struct events_feed *f = arg;
    if (strcmp(channel, "crm_outbox") == 0) {
        if (f->publisher)
            feed_publish(f);
        return;
    }
    long long id = payload ? atoll(payload) : 0;
    if (id > f->notified)
        f->notified = id;
    if (f->known && f->notified > f->last_id)
        feed_fetch(f);
}

/* Catches up the streams that must (not live: a catch-up failed with the
 * database) and those whose session is due for a check, at most
 * FEED_CATCH_UPS_PER_TICK at once: streams opened together (everyone
 * reconnecting after a restart) would otherwise check together, filling the
 * pool's queue that requests wait in. The others wait for the next tick. */
static void feed_catch_up_due(struct events_feed *f)
{
    const struct crm_config *cfg = f->worker->server->cfg;
    long long now = clock_monotonic_ms(), recheck = (long long)cfg->events_recheck_s * 1000;
    int budget = FEED_CATCH_UPS_PER_TICK;
    for (struct stream *s = f->streams; s && budget > 0; s = s->next) {
        if (s->catching_up || (s->live && now - s->checked_ms < recheck))
            continue;
        stream_catch_up(s);
        budget--;
    }
}

/* Listening (again, after a lost connection): whatever was published
 * meanwhile is read now; the streams that could not catch up try again. */
static void feed_on_listening(void *arg)
{
    struct events_feed *f = arg;
    struct worker *w = f->worker;
    if (f->publisher) {
        feed_publish(f);
    } else if (!f->known) {
        struct db_job *job = w->pool ? db_job_new(feed_on_head, f) : NULL;
        if (job) {
            db_job_add(job, STMT_EVENTS_HEAD, 0, NULL);
            db_submit(w->pool, job);
        }
    } else {
        feed_fetch(f);
    }
    feed_catch_up_due(f);
}

/* Heartbeats; each stream's session checked every CRM_EVENTS_RECHECK_S;
 * the publisher publishes in case a notification was missed. */
static void feed_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct events_feed *f = arg;
    for (struct stream *s = f->streams, *next; s; s = next) {
        next = s->next;
        evbuffer_add(f->out, ":\n\n", 3);
        stream_flush(s);
    }
    feed_catch_up_due(f);
    if (f->publisher)
        feed_publish(f);
}

void *events_feed_start(struct worker *w)
{
    struct events_feed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->worker = w;
    f->publisher = w->index == 0;
    f->out = evbuffer_new();
    f->ev_tick = event_new(w->base, -1, EV_PERSIST, feed_on_tick, f);
    if (!f->out || !f->ev_tick) {
        events_feed_free(f);
        return NULL;
    }
    struct timeval tick = {w->server->cfg->events_heartbeat_s, 0};
    event_add(f->ev_tick, &tick);
    if (f->publisher && (!(f->sender = webhook_sender_start(w)) ||
                         !(f->ev_kick = event_new(w->base, -1, 0, feed_on_publish_due, f)) ||
                         !(f->ev_retry = evtimer_new(w->base, feed_on_publish_due, f)))) {
        events_feed_free(f);
        return NULL;
    }
    struct db_pool_listen l = {
        .statements = f->publisher ? feed_listen_publisher : feed_listen_reader,
        .count = f->publisher ? 2 : 1,
        .on_notify = feed_on_notify,
        .on_listening = feed_on_listening,
        .arg = f,
    };
    if (w->pool)
        db_pool_listen(w->pool, &l);
    return f;
}

void events_feed_stopping(void *feed)
{
    struct events_feed *f = feed;
    f->stopping = 1;
    while (f->streams)
        stream_end(f->streams);
    if (f->sender) {
        webhook_sender_stop(f->sender);
        f->sender = NULL;
    }
}

void events_feed_free(void *feed)
{
    struct events_feed *f = feed;
    if (!f)
        return;
    events_feed_stopping(f);
    if (f->ev_tick)
        event_free(f->ev_tick);
    if (f->ev_kick)
        event_free(f->ev_kick);
    if (f->ev_retry)
        event_free(f->ev_retry);
    if (f->out)
        evbuffer_free(f->out);
    free(f->fetch_roots);
    free(f);
}


void events_feed_metrics(struct evbuffer *buf)
{
    long streams = atomic_load_explicit(&feed_streams_open, memory_order_relaxed);
    long sent = atomic_load_explicit(&feed_sent, memory_order_relaxed);
    long cut = atomic_load_explicit(&feed_cut, memory_order_relaxed);
    evbuffer_add_printf(buf,
                        "# HELP crm_events_streams Live event streams open (GET /api/v1/events).\n"
                        "# TYPE crm_events_streams gauge\ncrm_events_streams %ld\n"
                        "# HELP crm_events_sent_total Events written to live streams.\n"
                        "# TYPE crm_events_sent_total counter\ncrm_events_sent_total %ld\n"
                        "# HELP crm_events_streams_cut_total Streams cut for not reading.\n"
                        "# TYPE crm_events_streams_cut_total counter\n"
                        "crm_events_streams_cut_total %ld\n",
                        streams, sent, cut);
}
