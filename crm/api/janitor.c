/*
 * janitor: see janitor.h.
 */
#include "api/janitor.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/pool.h"
#include "db/statements.h"
#include "http/worker.h"

/* The first sweep, this long after start. */
#define JANITOR_FIRST_SWEEP_S 5

struct janitor {
    struct worker *worker;
    struct event *ev_stall; /* the stalled-project sweep; NULL when it never runs */
};

static void janitor_on_stalled(void *arg, struct db_result *r)
{
    if (r->failure != DB_OK) {
        log_msg(LOG_WARN, NULL, "stalled-project sweep failed: %s", r->message);
        return;
    }
    const char *n = db_value(r->results[0], 0, 0);
    if (n && strcmp(n, "0") != 0)
        log_msg(LOG_INFO, NULL, "%s projects without progress marked stalled", n);
}

/* Marks projects without progress as stalled, then waits for the next
 * sweep (none after the worker began to stop, or out of memory). */
static void janitor_on_stall_timer(evutil_socket_t fd, short what, void *arg)
{
    struct janitor *j = arg;
    struct worker *w = j->worker;
    struct db_job *job;
    if (w->stopping || !w->pool || !(job = db_job_new(janitor_on_stalled, NULL)))
        return;
    db_job_add(job, STMT_MARK_STALLED, 0, NULL);
    db_submit(w->pool, job);
    struct timeval next = {w->server->cfg->stall_check_s, 0};
    evtimer_add(j->ev_stall, &next);
}

struct janitor *janitor_start(struct worker *w)
{
    struct janitor *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->worker = w;
    if (w->server->cfg->stall_check_s > 0) {
        struct timeval soon = {JANITOR_FIRST_SWEEP_S, 0};
        if (!(j->ev_stall = evtimer_new(w->base, janitor_on_stall_timer, j))) {
            free(j);
            return NULL;
        }
        evtimer_add(j->ev_stall, &soon);
    }
    return j;
}

void janitor_stop(struct janitor *j)
{
    if (!j)
        return;
    if (j->ev_stall)
        event_free(j->ev_stall); /* deletes it first */
    free(j);
}
