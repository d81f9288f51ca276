/*
 * app: see app.h.
 */
#include "api/app.h"

#include "api/db_answers.h"
#include "api/janitor.h"
#include "api/routes.h"
#include "api/stats_cache.h"
#include "db/statements.h"
#include "events/feed.h"
#include "http/worker.h"

#include <stdlib.h>

static void *app_worker_start(struct worker *w)
{
    struct app_worker *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->stats = stats_cache_new();
    a->feed = events_feed_start(w);
    if (!a->stats || !a->feed) {
        stats_cache_free(a->stats);
        if (a->feed)
            events_feed_free(a->feed);
        free(a);
        return NULL;
    }
    return a;
}

static void app_worker_stopping(void *state)
{
    events_feed_stopping(((struct app_worker *)state)->feed);
}

static void app_worker_free(void *state)
{
    struct app_worker *a = state;
    events_feed_free(a->feed);
    stats_cache_free(a->stats);
    free(a);
}

void app_wrote(struct worker *w)
{
    /* Set before the workers start, freed after they have all stopped. */
    struct app_worker *publisher = w->server->workers[0].app_state;
    if (publisher)
        events_feed_kick(publisher->feed);
}

/* crm wakes its publisher itself (app_wrote): its writes need not NOTIFY,
 * whose lock makes the commits of notifying writes wait for each other
 * (sql/schema/92_events.sql, outbox_wake). */
#define APP_DB_SETTINGS "-c crm.outbox_wake=client"

struct server_app api_app(void)
{
    struct server_app app = {
        .routes = api_routes,
        .nroutes = api_nroutes,
        .statements =
            {
                .all = statements,
                .count = STMT_COUNT,
                .auth_session = STMT_AUTH_SESSION,
                .auth_session_at = STMT_AUTH_SESSION_AT,
                .wal_position = STMT_WAL_POSITION,
                .auth_cached = STMT_AUTH_CACHED,
                .idempotency_claim = STMT_IDEMPOTENCY_CLAIM,
                .idempotency_finish = STMT_IDEMPOTENCY_FINISH,
                .idempotency_written = STMT_IDEMPOTENCY_WRITTEN,
                .keeper = statement_keeper,
            },
        .answer_db_error = answer_db_error,
        .janitor_start = janitor_start,
        .janitor_stop = janitor_stop,
        .worker_start = app_worker_start,
        .worker_stopping = app_worker_stopping,
        .worker_free = app_worker_free,
        .db_settings = APP_DB_SETTINGS,
        .wrote = app_wrote,
    };
    return app;
}
