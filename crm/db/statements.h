/*
 * statements: the registry of every SQL statement the service runs.
 *
 * Each worker connection prepares all of them once, right after connecting;
 * requests name them by id. SQL lives here, parameterised, never built from
 * user text. Statements that answer with JSON build it in PostgreSQL.
 */
#ifndef CRM_STATEMENTS_H
#define CRM_STATEMENTS_H

#include <stddef.h>

#include "db/pool.h"

enum statement_id {
    STMT_SCHEMA_VERSION,  /* () -> version */
    STMT_AUTH_SESSION,    /* (token hash, request id, roles, idle s) -> the caller; sets it */
    STMT_AUTH_SESSION_AT, /* the same, on a replica that has replayed a WAL position (5th) */
    STMT_AUTH_CACHED,     /* (user id, username, role, unit id, scope root, request id,
                             generation) -> the caller, set again; CRGEN once it moved */
    STMT_WAL_POSITION,    /* () -> the primary's WAL insert position */
    STMT_LOGIN_LOOKUP,    /* (username) -> user_id, password_hash */
    STMT_SESSION_OPEN,    /* (user id, token hash, lifetime s, request id, new hash) -> {expires_at,
                             user} */
    STMT_SESSION_CLOSE,   /* (token hash) */
    STMT_MY_HASH,         /* () -> the caller's password hash */
    STMT_MY_PASSWORD_SET, /* (new hash, token hash kept) */
    STMT_ME,              /* () -> the caller as JSON */
    /* Units (api/units.c, api/resources.c): the resource layout (page,
     * get, create, update, version) with the whole tree, not a page, in
     * the first place, and no delete: a unit is retired, not deleted. */
    STMT_UNITS_LIST,         /* () -> {"items": [...]} in tree order */
    STMT_UNITS_GET,          /* (id) -> unit JSON */
    STMT_UNITS_CREATE,       /* (body) -> unit JSON */
    STMT_UNITS_UPDATE,       /* (id, version, body) -> unit JSON, NULL when stale or unseen */
    STMT_UNITS_VERSION,      /* (id) -> version */
    STMT_USERS_LIST,         /* (after id, limit, role, unit id, text) -> {"items", "next_after"} */
    STMT_USER_GET,           /* (id) -> user JSON */
    STMT_USER_CREATE,        /* (username, display name, role, unit id, hash) -> user JSON */
    STMT_USER_UPDATE,        /* (id, version, display name, role, unit id, disabled) -> user JSON */
    STMT_USER_VERSION,       /* (id) -> version: to tell 404 from 412 */
    STMT_USER_PASSWORD,      /* (id, hash) -> id */
    STMT_SESSIONS_END,       /* (user id) -> whether the user is in scope */
    STMT_AUDIT_LIST,         /* (before id, limit, table, row, actor, since, until) -> page */
    STMT_PROJECT_IMPORT,     /* (rows jsonb, all or nothing) -> report JSON */
    STMT_PROJECTS_EXPORT,    /* (filters jsonb) -> JSON array of ledger rows */
    STMT_PROJECT_TRANSITION, /* (id, to, on, reason) -> version */
    STMT_PROJECT_HISTORY,    /* (id) -> JSON array, NULL when not visible */
    STMT_STATS_LEADERS,      /* (year) -> JSON */
    STMT_IDEMPOTENCY_CLAIM,  /* (key, route, hash) -> outcome, status, content type, body */
    STMT_IDEMPOTENCY_FINISH, /* (user, key, status, content type, body) */
    STMT_CLAIM_VERIFY_CONTRACT, /* (id) -> JSON, no row when not verifiable */
    STMT_CLAIM_VERIFY_START,
    STMT_CLAIM_REVOKE_CONTRACT, /* (id, reason, falsified) -> JSON */
    STMT_CLAIM_REVOKE_START,
    STMT_STATEMENT_TIMEOUT, /* (ms) -> a longer statement timeout for the rest of the job */
    /* Targets, KPIs and scores (api/targets.c, api/stats.c, api/scores.c):
     * JSON built by the functions of sql/schema/7x_ and 8x_. */
    STMT_TARGETS_GET,     /* (year) -> {year, targets} */
    STMT_TARGETS_PUT,     /* (year, body) -> {year, targets} */
    STMT_QUOTAS_GET,      /* (year, parent unit or NULL) -> {year, parent_unit_id, quotas} */
    STMT_QUOTAS_PUT,      /* (year, body) -> the same */
    STMT_STATS_UNIT,      /* (copy's generation, copy's as-of date or NULLs, unit, year, as_of or
                             NULL) -> generation, as-of date, figures or NULL when the copy's
                             are current (api/stats_cache.h); CR404 out of scope */
    STMT_STATS_RANKING,   /* (year, parent or NULL, as_of or NULL) -> {units: [...]} */
    STMT_UNIT_SCORECARD,  /* (unit, year, as_of or NULL) -> scorecard; CR404 out of scope */
    STMT_ALERTS_PAGE,     /* (filters, after text, limit) -> {items, next_after} */
    STMT_SCORE_RULES_GET, /* (year) -> {year, rules, version...} */
    STMT_SCORE_RULES_PUT, /* (year, body) -> the same */
    STMT_SNAPSHOT_FREEZE, /* (year, month) -> the snapshot; 23505 when frozen already */
    STMT_SNAPSHOTS_LIST,  /* (year, month or NULL) -> {items} */
/* The resources (api/resources.c): each has page, get, create, update,
 * version and delete, in this order, calling <name>_page(filters,
 * after, limit), <name>_get(id), <name>_create(body),
 * <name>_update(id, version, body), <name>_version(id), <name>_delete(id). */
#define RESOURCE_STATEMENTS(n)                                                                     \
    STMT_##n##_PAGE, STMT_##n##_GET, STMT_##n##_CREATE, STMT_##n##_UPDATE, STMT_##n##_VERSION,     \
        STMT_##n##_DELETE
    RESOURCE_STATEMENTS(INVESTORS),
    RESOURCE_STATEMENTS(CONTACTS),
    RESOURCE_STATEMENTS(PROJECTS),
    RESOURCE_STATEMENTS(CONTRACTS),
    RESOURCE_STATEMENTS(STARTS),
    RESOURCE_STATEMENTS(INTERACTIONS),
    RESOURCE_STATEMENTS(PROBLEMS),
    RESOURCE_STATEMENTS(BATCHES),
    /* Idempotency (http/idempotency.c, migration 0011): every transaction
     * of a request with a claimed Idempotency-Key settles the key. A
     * statement that answers a write has a keeper, the same statement with
     * one more parameter (the key) that also stores its answer; any job
     * ends with STMT_IDEMPOTENCY_WRITTEN. */
    STMT_IDEMPOTENCY_WRITTEN, /* (key) */
    STMT_KEEP_UNITS_CREATE,
    STMT_KEEP_USER_CREATE,
    STMT_KEEP_CLAIM_VERIFY_CONTRACT,
    STMT_KEEP_CLAIM_VERIFY_START,
    STMT_KEEP_CLAIM_REVOKE_CONTRACT,
    STMT_KEEP_CLAIM_REVOKE_START,
    STMT_KEEP_SNAPSHOT_FREEZE,
    STMT_KEEP_INVESTORS_CREATE,
    STMT_KEEP_CONTACTS_CREATE,
    STMT_KEEP_PROJECTS_CREATE,
    STMT_KEEP_CONTRACTS_CREATE,
    STMT_KEEP_STARTS_CREATE,
    STMT_KEEP_INTERACTIONS_CREATE,
    STMT_KEEP_PROBLEMS_CREATE,
    STMT_KEEP_BATCHES_CREATE,
    /* events (events/feed.c, api/events.c, sql/schema/92_events.sql): the
     * feed's LISTENs (its pool's first connection runs them), the outbox
     * published, the head, the events of a worker's live streams, and a
     * stream's own catch-up as its caller. */
    STMT_EVENTS_LISTEN_OUTBOX,    /* LISTEN crm_outbox: pending events were committed */
    STMT_EVENTS_LISTEN_PUBLISHED, /* LISTEN crm_event: events were published (payload: last id) */
    STMT_EVENTS_PUBLISH,          /* () -> the last id published, NULL when another publishes */
    STMT_EVENTS_HEAD,             /* () -> the last id published */
    STMT_EVENTS_FEED,  /* (after, roots, limit) -> id, the roots that may see it, JSON */
    STMT_EVENTS_SINCE, /* (after, limit) -> head, then id, JSON of the caller's (NULL id: none) */
    STMT_EVENTS_CALLER, /* () -> the caller's scope root, the head */
    /* webhooks (api/webhooks.c, events/webhook_sender.c, sql/schema/93_webhooks.sql):
     * the resource layout, its keeper, the deliveries page, and the
     * sender's claim and record, run without a caller (as the owner). */
    RESOURCE_STATEMENTS(WEBHOOKS),
    STMT_KEEP_WEBHOOKS_CREATE,
    STMT_WEBHOOK_DELIVERIES, /* (webhook id, before id, limit) -> page; NULL when not visible */
    STMT_WEBHOOK_CLAIM,      /* (limit, lock ms) -> delivery, attempt, url, secret, body, event
                                id, event type */
    STMT_WEBHOOK_ATTEMPT,    /* (delivery, attempt, duration ms, status, error, delivered, max
                                attempts, backoff ms, backoff max ms) -> state, retry ms */
    /* schedule (api/janitor.c, sql/schema/94_schedule.sql): each job run
     * once per period across processes -> outcome (ran, skipped, failed),
     * detail; and every job's last run for /metrics. */
    STMT_JOB_ALERTS,  /* () */
    STMT_JOB_STALLED, /* (every s) */
    STMT_JOB_EXPIRY,  /* (session idle s, idempotency key lifetime s) */
    STMT_JOB_SCORES,  /* (freeze day) */
    STMT_JOB_RUNS,    /* () -> job, last run (epoch s or NULL), last ok, runs, failures */
    STMT_COUNT
};

extern const struct db_statement statements[STMT_COUNT];

/* The keeper of stmt (its twin that also stores the answer under an
 * Idempotency-Key given as one more parameter), or -1 when it has none. */
int statement_keeper(int stmt);

#endif
