/*
 * webhook_sender: see webhook_sender.h. The libcurl glue follows libcurl's
 * multi-event.c example: one libevent event per socket curl asks us to
 * watch (CURLMOPT_SOCKETFUNCTION), one timer for curl's timeouts
 * (CURLMOPT_TIMERFUNCTION), and finished transfers collected with
 * curl_multi_info_read after every curl_multi_socket_action.
 */
#include "events/webhook_sender.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/pool.h"
#include "db/statements.h"
#include "events/allowlist.h"
#include "events/signature.h"
#include "http/metrics.h"
#include "http/worker.h"

/* Transfers in flight at once; a claim asks for no more than the room left. */
#define SENDER_MAX_TRANSFERS 32
/* A claim outlives its attempt by this much before another sender may
 * take the delivery again. */
#define SENDER_LOCK_MARGIN_MS 60000
/* A retry is looked for this long after it falls due, so that the
 * database's clock has passed it too. */
#define SENDER_CLOCK_SLACK_MS 20

struct webhook_transfer {
    struct webhook_sender *sender;
    struct webhook_transfer *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char delivery[24];
    char attempt[12];
    long long started_us;
    int by_name; /* the URL's host is a listed name */
    int refused; /* an address was refused at connect */
    char error[CURL_ERROR_SIZE];
};

struct webhook_sender {
    struct worker *worker;
    const struct crm_config *cfg;
    struct allowlist allow;
    int async_dns;
    CURLM *multi;
    struct event *ev_curl_timer; /* curl's timeout */
    struct event *ev_poll;       /* the next claim */
    struct event *ev_kick;       /* activated by webhook_sender_kick, from any thread */
    long long poll_due_us;       /* when ev_poll fires; 0 when not pending */
    struct webhook_transfer *transfers;
    int ntransfers;
    int claiming;    /* a claim job is in flight */
    int claim_again; /* asked for while one was */
    int jobs;        /* database jobs in flight, each referring to the sender */
    int stopped;
};

static void sender_free(struct webhook_sender *s)
{
    allowlist_free(&s->allow);
    free(s);
}

/* A database job of the sender has called back: the last one frees a
 * stopped sender. Returns 1 when the sender is gone or stopping (the
 * callback then does nothing more). */
static int sender_job_done(struct webhook_sender *s, const struct db_result *r)
{
    s->jobs--;
    if (s->stopped) {
        if (s->jobs == 0)
            sender_free(s);
        return 1;
    }
    return r->failure == DB_FAIL_SHUTDOWN || s->worker->stopping;
}

/* Submits a job of the sender (which counts it until it calls back).
 * Returns 0, or -1 when there is no pool to run it. */
static int sender_submit(struct webhook_sender *s, struct db_job *job)
{
    struct worker *w = s->worker;
    if (!w->pool || w->stopping) {
        s->jobs++;
        db_job_fail(job, DB_FAIL_SHUTDOWN);
        return -1;
    }
    s->jobs++;
    db_submit(w->pool, job);
    return 0;
}

static void sender_claim(struct webhook_sender *s);

/* Makes the next claim happen within ms, unless one is due sooner. */
static void sender_wake(struct webhook_sender *s, long long ms)
{
    if (s->stopped)
        return;
    long long due = clock_monotonic_us() + ms * 1000;
    if (s->poll_due_us && s->poll_due_us <= due && evtimer_pending(s->ev_poll, NULL))
        return;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(s->ev_poll, &tv);
    s->poll_due_us = due;
}

/* ---- recording an attempt ---- */

static void sender_on_recorded(void *arg, struct db_result *r)
{
    struct webhook_sender *s = arg;
    if (sender_job_done(s, r))
        return;
    if (r->failure != DB_OK) {
        log_msg(LOG_WARN, NULL, "webhooks: an attempt could not be recorded: %s", r->message);
        return;
    }
    const char *state = db_value(r->results[0], 0, 0);
    const char *retry = db_value(r->results[0], 0, 1);
    if (state && strcmp(state, "pending") == 0 && retry)
        sender_wake(s, atoll(retry) + SENDER_CLOCK_SLACK_MS);
}

/* Records the end of transfer t: delivered (a 2xx status), or failed with
 * the status (when there was an answer) and the error (when there was
 * none). */
static void sender_record(struct webhook_transfer *t, long status, const char *error)
{
    struct webhook_sender *s = t->sender;
    const struct crm_config *cfg = s->cfg;
    int delivered = !error && status >= 200 && status < 300;
    long long ms = (clock_monotonic_us() - t->started_us) / 1000;
    char duration[24], code[24], max[12], backoff[12], backoff_max[12];
    snprintf(duration, sizeof duration, "%lld", ms > 2147483647 ? 2147483647 : ms);
    snprintf(code, sizeof code, "%ld", status);
    snprintf(max, sizeof max, "%d", cfg->webhook_max_attempts);
    snprintf(backoff, sizeof backoff, "%d", cfg->webhook_backoff_ms);
    snprintf(backoff_max, sizeof backoff_max, "%d", cfg->webhook_backoff_max_ms);
    const char *params[] = {t->delivery, t->attempt,
                            duration,    status > 0 ? code : NULL,
                            error,       delivered ? "true" : "false",
                            max,         backoff,
                            backoff_max};
    metrics_webhook_attempt(delivered);
    if (!delivered) {
        json_t *fields = json_pack("{s:s, s:s}", "delivery", t->delivery, "attempt", t->attempt);
        if (fields && status > 0)
            json_object_set_new(fields, "status", json_integer(status));
        if (fields && error)
            json_object_set_new(fields, "error", json_string(error));
        log_event(LOG_INFO, NULL, "webhooks: attempt failed", fields);
    }
    struct db_job *job = db_job_new(sender_on_recorded, s);
    if (!job)
        return; /* the claim lapses; the delivery is tried again */
    db_job_add(job, STMT_WEBHOOK_ATTEMPT, 9, params);
    sender_submit(s, job);
}

/* ---- transfers ---- */

static void sender_transfer_free(struct webhook_transfer *t)
{
    struct webhook_sender *s = t->sender;
    for (struct webhook_transfer **p = &s->transfers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    s->ntransfers--;
    if (t->easy) {
        curl_multi_remove_handle(s->multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    free(t->body);
    free(t);
}

/* The response body is not kept: its status says it all. */
static size_t sender_on_body(char *data, size_t size, size_t n, void *arg)
{
    return size * n;
}

/* Every socket curl opens (each address it tries) is judged here, after
 * DNS: an address the allowlist refuses is never connected to. */
static curl_socket_t sender_open_socket(void *arg, curlsocktype purpose,
                                        struct curl_sockaddr *address)
{
    struct webhook_transfer *t = arg;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !allowlist_permits_address(&t->sender->allow, &address->addr, t->by_name)) {
        t->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* A finished transfer: recorded, then freed. */
static void sender_transfer_done(struct webhook_transfer *t, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    char error[CURL_ERROR_SIZE + 32];
    const char *e = NULL;
    if (t->refused && rc != CURLE_OK) {
        e = "address not allowed";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(error, sizeof error, "no answer within %d ms", t->sender->cfg->webhook_timeout_ms);
        e = error;
    } else if (rc != CURLE_OK) {
        snprintf(error, sizeof error, "%s", t->error[0] ? t->error : curl_easy_strerror(rc));
        e = error;
    } else if (status <= 0) {
        e = "no HTTP status in the answer";
    }
    sender_record(t, e ? 0 : status, e);
    struct webhook_sender *s = t->sender;
    int was_full = s->ntransfers >= SENDER_MAX_TRANSFERS;
    sender_transfer_free(t);
    if (was_full)
        sender_wake(s, 0);
}

static void sender_check_done(struct webhook_sender *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *t = NULL;
        CURLcode rc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
        if (t)
            sender_transfer_done((struct webhook_transfer *)(void *)t, rc);
    }
}

/* Fails attempt number attempt of delivery before any connection. */
static void sender_fail_early(struct webhook_transfer *t, const char *error)
{
    sender_record(t, 0, error);
    sender_transfer_free(t);
}

/* Sets up the POST of a claimed delivery. Returns 0, or -1 (t keeps what
 * was made; the caller frees it). */
static int sender_transfer_setup(struct webhook_transfer *t, const char *url, const char *secret,
                                 const char *event_type)
{
    struct webhook_sender *s = t->sender;
    long long now = (long long)time(NULL);
    char signature[SIGNATURE_HEADER_LEN + 1], line[320];
    signature_header(secret, strlen(secret), now, t->body, strlen(t->body), signature);
    const char *fixed[] = {"Content-Type: application/json", "Expect:",
                           ("User-Agent: crm-webhooks/" CRM_VERSION)};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        struct curl_slist *h = curl_slist_append(t->headers, fixed[i]);
        if (!h)
            return -1;
        t->headers = h;
    }
    const char *formats[][2] = {{"X-CRM-Event: %s", event_type},
                                {"X-CRM-Delivery: %s", t->delivery},
                                {"X-CRM-Signature: %s", signature}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        snprintf(line, sizeof line, formats[i][0], formats[i][1]);
        struct curl_slist *h = curl_slist_append(t->headers, line);
        if (!h)
            return -1;
        t->headers = h;
    }
    snprintf(line, sizeof line, "X-CRM-Timestamp: %lld", now);
    struct curl_slist *h = curl_slist_append(t->headers, line);
    if (!h || !(t->easy = curl_easy_init()))
        return -1;
    t->headers = h;
    CURL *e = t->easy;
    long timeout = s->cfg->webhook_timeout_ms;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, t) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body) != CURLE_OK;
    bad |=
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body)) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    /* No proxy from the environment: the allowlist judges the receiver. */
    bad |= curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
           CURLE_OK;
#endif
    bad |= curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, sender_open_socket) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sender_on_body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error) != CURLE_OK;
    return bad ? -1 : 0;
}

/* Starts the attempt of one claimed delivery (a row of the claim). */
static void sender_transfer_start(struct webhook_sender *s, const PGresult *res, int row)
{
    const char *url = db_value(res, row, 2), *secret = db_value(res, row, 3);
    const char *body = db_value(res, row, 4), *type = db_value(res, row, 6);
    struct webhook_transfer *t = calloc(1, sizeof *t);
    if (!t)
        return; /* the claim lapses; the delivery is tried again */
    t->sender = s;
    t->next = s->transfers;
    s->transfers = t;
    s->ntransfers++;
    t->started_us = clock_monotonic_us();
    snprintf(t->delivery, sizeof t->delivery, "%s", db_value(res, row, 0));
    snprintf(t->attempt, sizeof t->attempt, "%s", db_value(res, row, 1));
    if (!url || !secret || !body || !type || !(t->body = strdup(body))) {
        sender_transfer_free(t);
        return;
    }
    /* The URL, judged again: the allowlist may have changed since the
     * webhook was written. */
    if (allowlist_check_url(&s->allow, url, &t->by_name) != ALLOWLIST_URL_ALLOWED) {
        sender_fail_early(t, "address not allowed");
        return;
    }
    if (t->by_name && !s->async_dns) {
        sender_fail_early(t, "host names need a libcurl with an asynchronous resolver");
        return;
    }
    if (sender_transfer_setup(t, url, secret, type) != 0 ||
        curl_multi_add_handle(s->multi, t->easy) != CURLM_OK) {
        log_msg(LOG_WARN, NULL, "webhooks: delivery %s could not be started", t->delivery);
        sender_transfer_free(t); /* the claim lapses; the delivery is tried again */
    }
}

/* ---- claiming ---- */

static void sender_on_claimed(void *arg, struct db_result *r)
{
    struct webhook_sender *s = arg;
    if (sender_job_done(s, r))
        return;
    s->claiming = 0;
    int rows = 0, asked = 0;
    if (r->failure != DB_OK) {
        log_msg(LOG_WARN, NULL, "webhooks: claiming due deliveries failed: %s", r->message);
    } else {
        rows = PQntuples(r->results[0]);
        asked = SENDER_MAX_TRANSFERS - s->ntransfers;
        for (int i = 0; i < rows; i++)
            sender_transfer_start(s, r->results[0], i);
    }
    /* As many as asked for: more may be due. */
    if (s->claim_again || (rows > 0 && rows >= asked)) {
        s->claim_again = 0;
        sender_wake(s, 0);
    } else {
        sender_wake(s, s->cfg->webhook_poll_ms);
    }
}

static void sender_claim(struct webhook_sender *s)
{
    if (s->stopped || s->worker->stopping)
        return;
    if (s->claiming) {
        s->claim_again = 1;
        return;
    }
    int room = SENDER_MAX_TRANSFERS - s->ntransfers;
    if (room <= 0) {
        sender_wake(s, s->cfg->webhook_poll_ms); /* a transfer's end wakes it sooner */
        return;
    }
    struct db_job *job = db_job_new(sender_on_claimed, s);
    if (!job) {
        sender_wake(s, s->cfg->webhook_poll_ms);
        return;
    }
    char limit[12], lock[24];
    snprintf(limit, sizeof limit, "%d", room);
    snprintf(lock, sizeof lock, "%lld",
             (long long)s->cfg->webhook_timeout_ms + SENDER_LOCK_MARGIN_MS);
    const char *params[] = {limit, lock};
    db_job_add(job, STMT_WEBHOOK_CLAIM, 2, params);
    s->claiming = 1;
    if (sender_submit(s, job) != 0)
        s->claiming = 0;
}

static void sender_on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct webhook_sender *s = arg;
    s->poll_due_us = 0;
    sender_claim(s);
}

static void sender_on_kick(evutil_socket_t fd, short what, void *arg)
{
    sender_claim(arg);
}

/* ---- libcurl on libevent ---- */

static void sender_on_socket(evutil_socket_t fd, short what, void *arg)
{
    struct webhook_sender *s = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(s->multi, fd, flags, &running);
    sender_check_done(s);
}

static void sender_on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
    struct webhook_sender *s = arg;
    int running;
    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    sender_check_done(s);
}

/* CURLMOPT_TIMERFUNCTION: curl wants sender_on_curl_timer in ms (-1: never).
 * It may not call curl back from here, so 0 becomes the next loop turn. */
static int sender_curl_timer(CURLM *multi, long ms, void *arg)
{
    struct webhook_sender *s = arg;
    evtimer_del(s->ev_curl_timer);
    if (ms >= 0) {
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
        evtimer_add(s->ev_curl_timer, &tv);
    }
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch socket fd as curl says; the socket's
 * event is its socketp. */
static int sender_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *socketp)
{
    struct webhook_sender *s = arg;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev) {
            event_free(ev);
            curl_multi_assign(s->multi, fd, NULL);
        }
        return 0;
    }
    short events =
        EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (ev) {
        event_del(ev);
        event_assign(ev, event_get_base(ev), fd, events, sender_on_socket, s);
    } else {
        if (!(ev = event_new(s->worker->base, fd, events, sender_on_socket, s)))
            return -1;
        curl_multi_assign(s->multi, fd, ev);
    }
    return event_add(ev, NULL) == 0 ? 0 : -1;
}

/* ---- start and stop ---- */

static int sender_curl_ready;

static void sender_curl_init(void)
{
    sender_curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

struct webhook_sender *webhook_sender_start(struct worker *w)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sender_curl_init);
    if (!sender_curl_ready)
        return NULL;
    struct webhook_sender *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->worker = w;
    s->cfg = w->server->cfg;
    char err[160];
    if (allowlist_parse(s->cfg->webhook_allow, &s->allow, err, sizeof err) != 0) {
        log_msg(LOG_ERROR, NULL, "CRM_WEBHOOK_ALLOW: %s", err);
        free(s);
        return NULL;
    }
    s->async_dns = (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS) != 0;
    if (!s->async_dns)
        log_msg(
            LOG_WARN, NULL,
            "webhooks: libcurl resolves names blocking: only literal addresses are delivered to");
    if (!(s->multi = curl_multi_init()) ||
        !(s->ev_curl_timer = evtimer_new(w->base, sender_on_curl_timer, s)) ||
        !(s->ev_poll = evtimer_new(w->base, sender_on_poll, s)) ||
        !(s->ev_kick = event_new(w->base, -1, 0, sender_on_kick, s))) {
        s->stopped = 1;
        webhook_sender_stop(s);
        return NULL;
    }
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, sender_curl_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, sender_curl_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    sender_wake(s, 0);
    return s;
}

void webhook_sender_kick(struct webhook_sender *s)
{
    if (s && s->ev_kick)
        event_active(s->ev_kick, EV_READ, 0);
}

void webhook_sender_stop(struct webhook_sender *s)
{
    if (!s)
        return;
    s->stopped = 1;
    while (s->transfers)
        sender_transfer_free(s->transfers);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    s->multi = NULL;
    if (s->ev_curl_timer)
        event_free(s->ev_curl_timer);
    if (s->ev_poll)
        event_free(s->ev_poll);
    if (s->ev_kick)
        event_free(s->ev_kick);
    s->ev_curl_timer = s->ev_poll = s->ev_kick = NULL;
    if (s->jobs == 0)
        sender_free(s);
}
