/*
 * statements: see statements.h.
 */
#include "db/statements.h"

/* A user as the API shows it (never the hash). */
#define USER_JSON                                                                                  \
    "json_build_object('id', u.id, 'username', u.username, 'display_name', u.display_name, "       \
    "'role', u.role, 'unit_id', u.unit_id, 'disabled', u.disabled, "                               \
    "'password_changed_at', u.password_changed_at, 'created_at', u.created_at, "                   \
    "'updated_at', u.updated_at, 'version', u.version)"

/* The statements that have a keeper, as macros: each is written once. */
#define UNITS_CREATE_SQL "SELECT units_create($1::jsonb)"
#define USER_CREATE_SQL                                                                            \
    "INSERT INTO app_user AS u (username, display_name, role, unit_id, password_hash) "            \
    "VALUES ($1, coalesce($2, ''), $3, $4::bigint, $5) RETURNING " USER_JSON "::text"
#define CONTRACT_VERIFY_SQL "SELECT contract_verify($1::bigint)::text"
#define START_VERIFY_SQL "SELECT start_verify($1::bigint)::text"
#define CONTRACT_REVOKE_SQL "SELECT contract_revoke($1::bigint, $2, $3::boolean)::text"
#define START_REVOKE_SQL "SELECT start_revoke($1::bigint, $2, $3::boolean)::text"
#define SNAPSHOT_FREEZE_SQL "SELECT snapshot_freeze($1::integer, $2::integer)::text"

/* A keeper: the statement, then its answer stored under the request's
 * Idempotency-Key ($key) with the status its handler answers it with, in
 * the same transaction (idempotency_keep, migration 0011). The answer
 * column is unchanged, so the handler reads it as before. */
#define KEEP(sql, key, status)                                                                     \
    "WITH q(v) AS (" sql ") SELECT idempotency_keep($" key ", " status ", (SELECT v FROM q))"

const struct db_statement statements[STMT_COUNT] = {
    [STMT_SCHEMA_VERSION] = {"schema_version",
                             "SELECT coalesce(max(version), 0) FROM schema_migrations"},
    [STMT_AUTH_SESSION] = {"auth_session",
                           "SELECT user_id, username, display_name, role, unit_id, expires_at, "
                           "scope_root, generation, fresh_ms "
                           "FROM auth_session($1::bytea, $2, $3::text[], $4::integer)"},
    [STMT_AUTH_SESSION_AT] = {"auth_session_at",
                              "SELECT user_id, username, display_name, role, unit_id, expires_at, "
                              "scope_root, generation, fresh_ms "
                              "FROM auth_session_at($1::bytea, $2, $3::text[], $4::integer, "
                              "$5::pg_lsn)"},
    /* What auth_session set, set again from crm's copy (http/sessions.h),
     * refused (CRGEN) once the sessions' generation has moved: the same
     * first columns as auth_session's. One row always, so that no request
     * runs without a caller unless refused. */
    [STMT_AUTH_CACHED] = {"auth_cached",
                          "SELECT $1::text, $2::text, NULL::text, $3::text, $4::text, "
                          "NULL::timestamptz, set_config('crm.user_id', $1, true), "
                          "set_config('crm.unit_id', $5::text, true), "
                          "set_config('crm.home_unit_id', $4, true), "
                          "set_config('crm.role', $3, true), "
                          "set_config('crm.request_id', coalesce($6::text, ''), true) "
                          "FROM (SELECT (SELECT n FROM auth_generation) AS n) g "
                          "WHERE CASE WHEN g.n = $7::bigint THEN true "
                          "ELSE auth_generation_moved() END"},
    [STMT_WAL_POSITION] = {"wal_position", "SELECT pg_current_wal_insert_lsn()::text"},
    [STMT_LOGIN_LOOKUP] = {"login_lookup",
                           "SELECT user_id, password_hash FROM auth_login_lookup($1)"},
    [STMT_SESSION_OPEN] = {"session_open",
                           "SELECT json_build_object('expires_at', s.expires_at, "
                           "'user', json_build_object('id', s.user_id, 'username', s.username, "
                           "'display_name', s.display_name, 'role', s.role, 'unit_id', s.unit_id))"
                           "::text FROM auth_session_open($1::bigint, $2::bytea, $3::integer, $4, "
                           "$5) s"},
    [STMT_SESSION_CLOSE] = {"session_close", "SELECT auth_session_close($1::bytea)"},
    [STMT_MY_HASH] = {"my_hash", "SELECT auth_my_hash()"},
    [STMT_MY_PASSWORD_SET] = {"my_password_set", "SELECT auth_my_password_set($1, $2::bytea)"},
    [STMT_ME] = {"me", "SELECT (" USER_JSON "::jsonb || jsonb_build_object('unit_name', un.name, "
                       "'scope_unit_id', crm_caller_unit()))"
                       "::text FROM app_user u JOIN unit un ON un.id = u.unit_id "
                       "WHERE u.id = crm_caller_user()"},
    [STMT_UNITS_LIST] = {"units_list", "SELECT units_list()"},
    [STMT_UNITS_GET] = {"units_get", "SELECT units_get($1::bigint)"},
    [STMT_UNITS_CREATE] = {"units_create", UNITS_CREATE_SQL},
    [STMT_UNITS_UPDATE] = {"units_update",
                           "SELECT units_update($1::bigint, $2::integer, $3::jsonb)"},
    [STMT_UNITS_VERSION] = {"units_version", "SELECT units_version($1::bigint)"},
    [STMT_USERS_LIST] =
        {"users_list",
         "WITH page AS (SELECT u.id, u.username, u.display_name, u.role, u.unit_id, u.disabled, "
         "u.password_changed_at, u.created_at, u.updated_at, u.version FROM app_user u "
         "WHERE ($1::bigint IS NULL OR u.id > $1) AND ($3::text IS NULL OR u.role = $3) "
         "AND ($4::bigint IS NULL OR u.unit_id = $4) "
         "AND ($5::text IS NULL OR strpos(u.username, $5) > 0 OR strpos(u.display_name, $5) > 0) "
         "ORDER BY u.id LIMIT $2::integer + 1), "
         "numbered AS (SELECT u.*, row_number() OVER (ORDER BY u.id) AS n FROM page u) "
         "SELECT json_build_object('items', coalesce(json_agg(" USER_JSON
         " ORDER BY u.id) FILTER (WHERE u.n <= $2::integer), '[]'::json), "
         "'next_after', CASE WHEN count(*) > $2::integer THEN max(u.id) FILTER "
         "(WHERE u.n <= $2::integer) END)::text FROM numbered u"},
    [STMT_USER_GET] = {"user_get",
                       "SELECT " USER_JSON "::text FROM app_user u WHERE u.id = $1::bigint"},
    [STMT_USER_CREATE] = {"user_create", USER_CREATE_SQL},
    [STMT_USER_UPDATE] = {"user_update",
                          "UPDATE app_user AS u SET display_name = coalesce($3, u.display_name), "
                          "role = coalesce($4, u.role), unit_id = coalesce($5::bigint, u.unit_id), "
                          "disabled = coalesce($6::boolean, u.disabled) "
                          "WHERE u.id = $1::bigint AND u.version = $2::integer "
                          "RETURNING " USER_JSON "::text"},
    [STMT_USER_VERSION] = {"user_version", "SELECT version FROM app_user WHERE id = $1::bigint"},
    [STMT_USER_PASSWORD] = {"user_password",
                            "UPDATE app_user SET password_hash = $2, password_changed_at = now() "
                            "WHERE id = $1::bigint RETURNING id"},
    [STMT_SESSIONS_END] = {"sessions_end", "SELECT auth_sessions_end($1::bigint)"},
    [STMT_AUDIT_LIST] =
        {"audit_list",
         "WITH page AS (SELECT a.* FROM audit_log a "
         "WHERE ($1::bigint IS NULL OR a.id < $1) AND ($3::text IS NULL OR a.table_name = $3) "
         "AND ($4::text IS NULL OR a.row_id = $4) AND ($5::bigint IS NULL OR a.actor_id = $5) "
         "AND ($6::timestamptz IS NULL OR a.at >= $6) AND ($7::timestamptz IS NULL OR a.at < $7) "
         "ORDER BY a.id DESC LIMIT $2::integer + 1), "
         "numbered AS (SELECT a.*, row_number() OVER (ORDER BY a.id DESC) AS n FROM page a) "
         "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
         "'id', a.id, 'at', a.at, 'actor_id', a.actor_id, 'request_id', a.request_id, "
         "'table', a.table_name, 'row_id', a.row_id, 'action', a.action, 'unit_id', a.unit_id, "
         "'before', a.before, 'after', a.after) ORDER BY a.id DESC) "
         "FILTER (WHERE a.n <= $2::integer), '[]'::json), "
         "'next_after', CASE WHEN count(*) > $2::integer THEN min(a.id) FILTER "
         "(WHERE a.n <= $2::integer) END)::text FROM numbered a"},
    [STMT_PROJECT_IMPORT] = {"project_import",
                             "SELECT project_import($1::jsonb, $2::boolean)::text"},
    [STMT_PROJECTS_EXPORT] = {"projects_export", "SELECT projects_export($1::jsonb)::text"},
    [STMT_PROJECT_TRANSITION] =
        {"project_transition",
         "SELECT version FROM project_transition($1::bigint, $2, $3::date, $4)"},
    [STMT_PROJECT_HISTORY] = {"project_history", "SELECT project_history($1::bigint)::text"},
    [STMT_STATS_LEADERS] = {"stats_leaders", "SELECT stats_leaders($1::integer)::text"},
    [STMT_IDEMPOTENCY_CLAIM] = {"idempotency_claim", "SELECT outcome, status, content_type, body "
                                                     "FROM idempotency_claim($1, $2, $3::bytea)"},
    [STMT_IDEMPOTENCY_FINISH] = {"idempotency_finish",
                                 "SELECT idempotency_finish($1::bigint, $2, $3::integer, $4, $5)"},
    [STMT_CLAIM_VERIFY_CONTRACT] = {"contract_verify", CONTRACT_VERIFY_SQL},
    [STMT_CLAIM_VERIFY_START] = {"start_verify", START_VERIFY_SQL},
    [STMT_CLAIM_REVOKE_CONTRACT] = {"contract_revoke", CONTRACT_REVOKE_SQL},
    [STMT_STATEMENT_TIMEOUT] = {"statement_timeout",
                                "SELECT set_config('statement_timeout', $1, true)"},
    [STMT_CLAIM_REVOKE_START] = {"start_revoke", START_REVOKE_SQL},
    [STMT_TARGETS_GET] = {"targets_get", "SELECT targets_get($1::integer)::text"},
    [STMT_TARGETS_PUT] = {"targets_put", "SELECT targets_put($1::integer, $2::jsonb)::text"},
    [STMT_QUOTAS_GET] = {"quotas_get", "SELECT quotas_get($1::integer, $2::bigint)::text"},
    [STMT_QUOTAS_PUT] = {"quotas_put", "SELECT quotas_put($1::integer, $2::jsonb)::text"},
    [STMT_STATS_UNIT] = {"stats_unit",
                         "SELECT gen, as_of, body FROM stats_unit_cached($1::bigint, $2::date, "
                         "$3::bigint, $4::integer, $5::date)"},
    [STMT_STATS_RANKING] = {"stats_ranking",
                            "SELECT stats_ranking($1::integer, $2::bigint, $3::date)::text"},
    [STMT_UNIT_SCORECARD] = {"unit_scorecard",
                             "SELECT unit_scorecard($1::bigint, $2::integer, $3::date)::text"},
    [STMT_ALERTS_PAGE] = {"alerts_page", "SELECT alerts_page($1::jsonb, $2, $3::integer)::text"},
    [STMT_SCORE_RULES_GET] = {"score_rules_get", "SELECT score_rules_get($1::integer)::text"},
    [STMT_SCORE_RULES_PUT] = {"score_rules_put",
                              "SELECT score_rules_put($1::integer, $2::jsonb)::text"},
    [STMT_SNAPSHOT_FREEZE] = {"snapshot_freeze", SNAPSHOT_FREEZE_SQL},
    [STMT_SNAPSHOTS_LIST] = {"snapshots_list",
                             "SELECT snapshots_list($1::integer, $2::integer)::text"},
/* clang-format off */
#define RESOURCE_CREATE_SQL(n) "SELECT " n "_create($1::jsonb)::text"
/* Every collection lists and reads; it is created, changed (PATCH, with the
 * version for If-Match) and deleted only where a route does it: the other
 * slots stay empty. Reading a row (as its JSON, j, of the row r of table or
 * view t), reading its version and deleting it are the same for every
 * collection, so they are written here, under row-level security like every
 * statement, and planned once per connection; each answers one row, NULL
 * when there is no such row (db_value). The rest are the collection's SQL
 * functions. */
#define RESOURCE_SQL(N, n, t, j)                                                                   \
    RESOURCE_SQL_PAGED(N, n, t, j, "SELECT " n "_page($1::jsonb, $2::bigint, $3::integer)::text")
/* A collection whose page statement answers rows, which crm writes as JSON
 * (resource.page_rows): limit + 1 at most, in the page's order. */
#define RESOURCE_ROWS_PAGE_SQL(n) "SELECT * FROM " n "_rows($1::jsonb, $2::bigint, $3::integer)"
#define RESOURCE_SQL_PAGED(N, n, t, j, page)                                                       \
    [STMT_##N##_PAGE] = {n "_page", page},                                                         \
    [STMT_##N##_GET] = {n "_get",                                                                  \
                        "SELECT (SELECT " j "(r)::text FROM " t " r WHERE r.id = $1::bigint)"},    \
    [STMT_##N##_CREATE] = {n "_create", RESOURCE_CREATE_SQL(n)},                                   \
    [STMT_KEEP_##N##_CREATE] = {n "_create_keep", KEEP(RESOURCE_CREATE_SQL(n), "2", "201")}
#define RESOURCE_UPDATE_SQL(N, n, t)                                                               \
    [STMT_##N##_UPDATE] = {n "_update",                                                            \
                           "SELECT " n "_update($1::bigint, $2::integer, $3::jsonb)::text"},       \
    [STMT_##N##_VERSION] = {n "_version",                                                          \
                            "SELECT (SELECT version FROM " t " WHERE id = $1::bigint)"}
#define RESOURCE_DELETE_SQL(N, n, t)                                                               \
    [STMT_##N##_DELETE] = {n "_delete", "WITH d AS (DELETE FROM " t " WHERE id = $1::bigint "      \
                                        "RETURNING id) SELECT (SELECT id FROM d)"}
/* clang-format on */
    RESOURCE_SQL(INVESTORS, "investors", "investor", "investor_json"),
    RESOURCE_UPDATE_SQL(INVESTORS, "investors", "investor"),
    RESOURCE_SQL(CONTACTS, "contacts", "contact", "contact_json"),
    RESOURCE_DELETE_SQL(CONTACTS, "contacts", "contact"),
    RESOURCE_SQL_PAGED(PROJECTS, "projects", "project_out", "row_to_json",
                       RESOURCE_ROWS_PAGE_SQL("projects")),
    RESOURCE_UPDATE_SQL(PROJECTS, "projects", "project"),
    RESOURCE_SQL(CONTRACTS, "contracts", "contract", "contract_json"),
    RESOURCE_UPDATE_SQL(CONTRACTS, "contracts", "contract"),
    RESOURCE_DELETE_SQL(CONTRACTS, "contracts", "contract"),
    RESOURCE_SQL(STARTS, "starts", "project_start", "start_json"),
    RESOURCE_UPDATE_SQL(STARTS, "starts", "project_start"),
    RESOURCE_DELETE_SQL(STARTS, "starts", "project_start"),
    RESOURCE_SQL(INTERACTIONS, "interactions", "interaction", "interaction_json"),
    RESOURCE_UPDATE_SQL(INTERACTIONS, "interactions", "interaction"),
    RESOURCE_SQL(PROBLEMS, "problems", "problem", "problem_json"),
    RESOURCE_UPDATE_SQL(PROBLEMS, "problems", "problem"),
    RESOURCE_SQL(BATCHES, "batches", "batch", "batch_json"),
    RESOURCE_UPDATE_SQL(BATCHES, "batches", "batch"),
    [STMT_IDEMPOTENCY_WRITTEN] = {"idempotency_written", "SELECT idempotency_written($1)"},
    [STMT_KEEP_UNITS_CREATE] = {"units_create_keep", KEEP(UNITS_CREATE_SQL, "2", "201")},
    [STMT_KEEP_USER_CREATE] = {"user_create_keep", KEEP(USER_CREATE_SQL, "6", "201")},
    [STMT_KEEP_CLAIM_VERIFY_CONTRACT] = {"contract_verify_keep",
                                         KEEP(CONTRACT_VERIFY_SQL, "2", "200")},
    [STMT_KEEP_CLAIM_VERIFY_START] = {"start_verify_keep", KEEP(START_VERIFY_SQL, "2", "200")},
    [STMT_KEEP_CLAIM_REVOKE_CONTRACT] = {"contract_revoke_keep",
                                         KEEP(CONTRACT_REVOKE_SQL, "4", "200")},
    [STMT_KEEP_CLAIM_REVOKE_START] = {"start_revoke_keep", KEEP(START_REVOKE_SQL, "4", "200")},
    [STMT_KEEP_SNAPSHOT_FREEZE] = {"snapshot_freeze_keep", KEEP(SNAPSHOT_FREEZE_SQL, "3", "201")},
    /* events */
    [STMT_EVENTS_LISTEN_OUTBOX] = {"events_listen_outbox", "LISTEN crm_outbox"},
    [STMT_EVENTS_LISTEN_PUBLISHED] = {"events_listen_published", "LISTEN crm_event"},
    [STMT_EVENTS_PUBLISH] = {"events_publish", "SELECT events_publish()"},
    [STMT_EVENTS_HEAD] = {"events_head", "SELECT events_head()"},
    [STMT_EVENTS_FEED] = {"events_feed", "SELECT id, roots, body FROM "
                                         "events_feed($1::bigint, $2::bigint[], $3::integer)"},
    [STMT_EVENTS_SINCE] = {"events_since",
                           "SELECT h.head, x.id, x.body FROM events_head() AS h (head) LEFT JOIN LATERAL "
                           "(SELECT e.id, event_json(e)::text AS body FROM event e WHERE e.id > "
                           "$1::bigint ORDER BY e.id LIMIT $2::integer) x ON true ORDER BY x.id"},
    [STMT_EVENTS_CALLER] = {"events_caller", "SELECT crm_caller_unit(), events_head()"},
    /* webhooks */
    RESOURCE_SQL(WEBHOOKS, "webhooks", "webhook", "webhook_json"),
    RESOURCE_UPDATE_SQL(WEBHOOKS, "webhooks", "webhook"),
    RESOURCE_DELETE_SQL(WEBHOOKS, "webhooks", "webhook"),
    [STMT_WEBHOOK_DELIVERIES] = {"webhook_deliveries",
                                 "SELECT webhook_deliveries_page($1::bigint, $2::bigint, "
                                 "$3::integer)"},
    [STMT_WEBHOOK_CLAIM] = {"webhook_claim",
                            "SELECT delivery_id, attempt, url, secret, body, event_id, event_type "
                            "FROM webhook_deliveries_claim($1::integer, $2::integer)"},
    [STMT_WEBHOOK_ATTEMPT] = {"webhook_attempt",
                              "SELECT state, retry_ms FROM webhook_attempt_record($1::bigint, "
                              "$2::integer, $3::integer, $4::integer, $5, $6::boolean, "
                              "$7::integer, $8::integer, $9::integer)"},
    /* schedule */
    [STMT_JOB_ALERTS] = {"job_alerts", "SELECT outcome, detail FROM job_alerts()"},
    [STMT_JOB_STALLED] = {"job_stalled", "SELECT outcome, detail FROM job_stalled($1::integer)"},
    [STMT_JOB_EXPIRY] = {"job_expiry",
                         "SELECT outcome, detail FROM job_expiry($1::integer, $2::integer)"},
    [STMT_JOB_SCORES] = {"job_scores", "SELECT outcome, detail FROM job_scores($1::integer)"},
    [STMT_JOB_RUNS] = {"job_runs",
                       "SELECT job, last_run_at, last_ok, runs, failures FROM job_runs()"},
};

/* The keeper of each statement that has one (0: none). */
static const int statement_keepers[STMT_COUNT] = {
    [STMT_UNITS_CREATE] = STMT_KEEP_UNITS_CREATE,
    [STMT_USER_CREATE] = STMT_KEEP_USER_CREATE,
    [STMT_CLAIM_VERIFY_CONTRACT] = STMT_KEEP_CLAIM_VERIFY_CONTRACT,
    [STMT_CLAIM_VERIFY_START] = STMT_KEEP_CLAIM_VERIFY_START,
    [STMT_CLAIM_REVOKE_CONTRACT] = STMT_KEEP_CLAIM_REVOKE_CONTRACT,
    [STMT_CLAIM_REVOKE_START] = STMT_KEEP_CLAIM_REVOKE_START,
    [STMT_SNAPSHOT_FREEZE] = STMT_KEEP_SNAPSHOT_FREEZE,
    [STMT_INVESTORS_CREATE] = STMT_KEEP_INVESTORS_CREATE,
    [STMT_CONTACTS_CREATE] = STMT_KEEP_CONTACTS_CREATE,
    [STMT_PROJECTS_CREATE] = STMT_KEEP_PROJECTS_CREATE,
    [STMT_CONTRACTS_CREATE] = STMT_KEEP_CONTRACTS_CREATE,
    [STMT_STARTS_CREATE] = STMT_KEEP_STARTS_CREATE,
    [STMT_INTERACTIONS_CREATE] = STMT_KEEP_INTERACTIONS_CREATE,
    [STMT_PROBLEMS_CREATE] = STMT_KEEP_PROBLEMS_CREATE,
    [STMT_BATCHES_CREATE] = STMT_KEEP_BATCHES_CREATE,
    [STMT_WEBHOOKS_CREATE] = STMT_KEEP_WEBHOOKS_CREATE, /* webhooks */
};

int statement_keeper(int stmt)
{
    return stmt >= 0 && stmt < STMT_COUNT && statement_keepers[stmt] ? statement_keepers[stmt] : -1;
}
