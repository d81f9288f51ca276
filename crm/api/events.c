/*
 * events: GET /api/v1/events, the live events as Server-Sent Events. The
 * caller is checked like any request's (auth_session, which also gives
 * their scope root, crm.unit_id) and the head is read in the same
 * transaction; the stream then starts from Last-Event-ID when the client
 * sends one (EventSource does when it reconnects), else from the head, and
 * belongs to the worker's feed (events/feed.h).
 */
#include <ctype.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/db_answers.h"
#include "api/routes.h"
#include "db/statements.h"
#include "events/feed.h"
#include "http/exchange.h"
#include "http/problem.h"
#include "http/worker.h"

/* Last-Event-ID: an id we gave (digits, at most 18: a bigint), or absent. */
static int events_last_id(const char *text, long long *id)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)text[i]))
            return -1;
    *id = atoll(text);
    return 0;
}

static void events_on_caller(void *arg, struct db_result *r)
{
    struct exchange *x = arg;
    if (answer_db_error(x, r))
        return;
    const PGresult *res = exchange_result(x, r, 0);
    const char *root = db_value(res, 0, 0), *head = db_value(res, 0, 1);
    if (!root || !head || !*root) {
        exchange_send_problem(x, 403, "Your account has no unit to follow.");
        return;
    }
    struct events_stream_start start = {
        .root = atoll(root),
        .after = atoll(head),
        .token_hash_hex = x->token_hash_hex,
        .request_id = x->request_id,
        .roles = x->match.route->roles,
    };
    const char *given =
        evhttp_find_header(evhttp_request_get_input_headers(x->req), "Last-Event-ID");
    if (given && events_last_id(given, &start.after) != 0) {
        json_t *p = problem_new(400, "Last-Event-ID must be the id of an event.", x->request_id);
        if (p)
            problem_add_error(p, "Last-Event-ID", "must be an event id (digits)");
        exchange_send_problem_json(x, p);
        return;
    }
    struct worker *w = x->worker;
    char token[sizeof x->token_hash_hex], rid[sizeof x->request_id];
    memcpy(token, x->token_hash_hex, sizeof token);
    memcpy(rid, x->request_id, sizeof rid);
    start.token_hash_hex = token;
    start.request_id = rid;
    struct evhttp_request *req = exchange_stream_start(x, "text/event-stream; charset=utf-8");
    events_stream_open(w, ((struct app_worker *)w->app_state)->feed, req, &start);
}

void events_stream(struct exchange *x)
{
    const struct app_worker *a = x->worker->app_state;
    if (!a || !a->feed) {
        exchange_send_problem(x, 503, "The event stream is not available.");
        return;
    }
    struct db_job *job = exchange_job(x, events_on_caller);
    if (!job)
        return;
    db_job_add(job, STMT_EVENTS_CALLER, 0, NULL);
    exchange_db_submit(x, job);
}
