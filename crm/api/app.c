/*
 * app: see app.h.
 */
#include "api/app.h"

#include "api/db_answers.h"
#include "api/janitor.h"
#include "api/routes.h"
#include "db/statements.h"
#include "events/feed.h"

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
                .idempotency_claim = STMT_IDEMPOTENCY_CLAIM,
                .idempotency_finish = STMT_IDEMPOTENCY_FINISH,
                .idempotency_written = STMT_IDEMPOTENCY_WRITTEN,
                .keeper = statement_keeper,
            },
        .answer_db_error = answer_db_error,
        .janitor_start = janitor_start,
        .janitor_stop = janitor_stop,
        .worker_start = events_feed_start,
        .worker_stopping = events_feed_stopping,
        .worker_free = events_feed_free,
    };
    return app;
}
