/*
 * config: see config.h. Each setting is one row of config_settings; adding a
 * setting means adding a field and a row, nothing else.
 */
#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum setting_type { SETTING_STRING, SETTING_INT, SETTING_BOOL };

struct setting {
    const char *flag; /* without the leading -- */
    const char *env;
    enum setting_type type;
    size_t offset;
    const char *def;
    int min, max; /* for SETTING_INT */
    const char *help;
};

#define S(f, e, field, d, h) {f, e, SETTING_STRING, offsetof(struct crm_config, field), d, 0, 0, h}
#define I(f, e, field, d, lo, hi, h)                                                               \
    {f, e, SETTING_INT, offsetof(struct crm_config, field), d, lo, hi, h}
#define B(f, e, field, d, h) {f, e, SETTING_BOOL, offsetof(struct crm_config, field), d, 0, 1, h}

static const struct setting config_settings[] = {
    S("listen", "CRM_LISTEN", listen, "127.0.0.1:8080", "address and port to serve HTTP on"),
    I("workers", "CRM_WORKERS", workers, "0", 0, 256, "worker threads (0: one per core)"),
    S("database-url", "CRM_DATABASE_URL", database_url, "",
      "PostgreSQL URL of the app role; empty: run the embedded cluster under the data dir"),
    S("database-read-url", "CRM_DATABASE_READ_URL", database_read_url, "",
      "PostgreSQL URL of the app role on the replicas (one or several hosts; say "
      "target_session_attrs=prefer-standby): lists, figures and exports are read there, but "
      "a caller's own writes of the moment before; empty: every read on the primary"),
    S("migrate-database-url", "CRM_MIGRATE_DATABASE_URL", migrate_database_url, "",
      "PostgreSQL URL of the owner role used by migrations (default: the embedded cluster)"),
    S("data-dir", "CRM_DATA_DIR", data_dir, "var", "folder of the embedded PostgreSQL cluster"),
    S("sql-dir", "CRM_SQL_DIR", sql_dir, CRM_SQL_DIR_DEFAULT, "folder holding migrations/, schema/ and demo/"),
    S("pg-bindir", "CRM_PG_BINDIR", pg_bindir, CRM_PG_BINDIR_DEFAULT,
      "folder of initdb and pg_ctl for the embedded cluster"),
    I("db-pool-size", "CRM_DB_POOL_SIZE", db_pool_size, "2", 1, 64,
      "database connections per worker"),
    I("db-pipeline-depth", "CRM_DB_PIPELINE_DEPTH", db_pipeline_depth, "8", 1, 256,
      "requests pipelined on one connection at once"),
    I("db-queue-max", "CRM_DB_QUEUE_MAX", db_queue_max, "256", 0, 100000,
      "requests waiting for a connection per worker before 503"),
    I("db-queue-timeout-ms", "CRM_DB_QUEUE_TIMEOUT_MS", db_queue_timeout_ms, "2000", 1, 600000,
      "longest wait for a connection before 503"),
    I("db-statement-timeout-ms", "CRM_DB_STATEMENT_TIMEOUT_MS", db_statement_timeout_ms, "5000", 1,
      3600000, "PostgreSQL statement_timeout of the service's connections"),
    I("db-reconnect-ms", "CRM_DB_RECONNECT_MS", db_reconnect_ms, "500", 10, 600000,
      "delay before reconnecting a lost database connection"),
    I("db-job-timeout-ms", "CRM_DB_JOB_TIMEOUT_MS", db_job_timeout_ms, "0", 0, 3600000,
      "longest wait for the database to answer a request before its connection is taken for "
      "dead (dropped, its requests answered 503); 0: the statement timeout plus one second"),
    I("db-connect-timeout-ms", "CRM_DB_CONNECT_TIMEOUT_MS", db_connect_timeout_ms, "5000", 100,
      600000, "longest wait for a new database connection to be ready, then it is retried"),
    I("db-keepalive-s", "CRM_DB_KEEPALIVE_S", db_keepalive_s, "10", 0, 7200,
      "TCP keepalive of the database connections: probes after this many idle seconds, a dead "
      "peer noticed within about twice that (0: the system's settings)"),
    I("http-timeout-s", "CRM_HTTP_TIMEOUT_S", http_timeout_s, "30", 1, 3600,
      "longest wait reading a request or writing a response, and keep-alive idle time"),
    I("max-connections", "CRM_MAX_CONNECTIONS", max_connections, "0", 0, 1000000,
      "client connections at once; past it the one idle longest gives way, or the new one is "
      "closed (0: what the open-file limit allows besides crm's own files)"),
    I("max-connections-per-address", "CRM_MAX_CONNECTIONS_PER_ADDRESS", max_connections_per_address,
      "0", 0, 1000000,
      "client connections from one address (IPv6: one /64) at once, past it closed (0: an "
      "eighth of max-connections, at least 8; behind a proxy, raise it to max-connections)"),
    I("shutdown-grace-ms", "CRM_SHUTDOWN_GRACE_MS", shutdown_grace_ms, "10000", 0, 600000,
      "time given to in-flight requests on SIGTERM/SIGINT"),
    S("cors-origins", "CRM_CORS_ORIGINS", cors_origins, "",
      "comma-separated origins allowed to call the API from a browser"),
    S("log-level", "CRM_LOG_LEVEL", log_level, "info", "debug, info, warn or error"),
    B("access-log", "CRM_ACCESS_LOG", access_log, "1", "write a JSON line per request (1 or 0)"),
    B("demo", "CRM_DEMO", demo, "0", "load the demo data before serving (1 or 0)"),
    I("session-idle-s", "CRM_SESSION_IDLE_S", session_idle_s, "1800", 1, 86400 * 30,
      "a session unused for this long ends (idle timeout)"),
    I("session-lifetime-s", "CRM_SESSION_LIFETIME_S", session_lifetime_s, "43200", 1,
      86400 * 365, "a session ends this long after login, used or not"),
    I("hash-threads", "CRM_HASH_THREADS", hash_threads, "2", 1, 64,
      "threads computing argon2id password hashes"),
    I("hash-max-in-flight", "CRM_HASH_MAX_IN_FLIGHT", hash_max_in_flight, "128", 1, 100000,
      "password hashes queued or running before logins get 503"),
    I("login-max-failures", "CRM_LOGIN_MAX_FAILURES", login_max_failures, "5", 1, 1000,
      "failed logins of an account before its backoff starts"),
    I("login-max-failures-address", "CRM_LOGIN_MAX_FAILURES_ADDRESS", login_max_failures_address,
      "20", 1, 100000, "failed logins from one client address before its backoff starts"),
    I("login-backoff-max-s", "CRM_LOGIN_BACKOFF_MAX_S", login_backoff_max_s, "900", 1, 86400,
      "the longest wait imposed after failed logins (never a permanent lockout)"),
    I("import-timeout-ms", "CRM_IMPORT_TIMEOUT_MS", import_timeout_ms, "120000", 1000, 3600000,
      "statement timeout of a CSV import (a 1 MiB ledger is about 10,000 rows)"),
    I("export-max-rows", "CRM_EXPORT_MAX_ROWS", export_max_rows, "50000", 1, 10000000,
      "most projects in one ledger export (CSV or XLSX); a larger one is refused with 422"),
    I("io-threads", "CRM_IO_THREADS", io_threads, "2", 1, 64,
      "threads reading imported ledgers and building exports, off the event loops"),
    I("io-max-in-flight", "CRM_IO_MAX_IN_FLIGHT", io_max_in_flight, "16", 1, 10000,
      "imports and exports being read or built at once, then 503"),
    S("cursor-key", "CRM_CURSOR_KEY", cursor_key, "",
      "64 hex characters signing list cursors (set it so cursors outlive a restart or work "
      "across instances; empty: a random key per process)"),
    I("stall-check-s", "CRM_STALL_CHECK_S", stall_check_s, "600", 0, 86400,
      "how often projects without progress are marked stalled (0: never)"),
    /* events */
    I("events-heartbeat-s", "CRM_EVENTS_HEARTBEAT_S", events_heartbeat_s, "15", 1, 3600,
      "how often a live event stream (GET /api/v1/events) gets a heartbeat comment"),
    I("events-recheck-s", "CRM_EVENTS_RECHECK_S", events_recheck_s, "60", 1, 86400,
      "how often a live event stream's session is checked again (a signed-out or disabled "
      "user's stream ends)"),
    /* webhooks */
    S("webhook-allow", "CRM_WEBHOOK_ALLOW", webhook_allow, "",
      "where webhooks may deliver: a comma list of CIDRs (10.20.0.0/16) and host names; a name "
      "may resolve to public addresses only, unless a CIDR lists them (empty: nowhere)"),
    I("webhook-timeout-ms", "CRM_WEBHOOK_TIMEOUT_MS", webhook_timeout_ms, "5000", 100, 600000,
      "longest webhook delivery attempt, connecting included, then it counts as failed"),
    I("webhook-backoff-ms", "CRM_WEBHOOK_BACKOFF_MS", webhook_backoff_ms, "1000", 1, 3600000,
      "delay before a failed webhook delivery's first retry, doubled after each failure"),
    I("webhook-backoff-max-ms", "CRM_WEBHOOK_BACKOFF_MAX_MS", webhook_backoff_max_ms, "3600000", 1,
      86400000, "the longest delay between two attempts of a webhook delivery"),
    I("webhook-max-attempts", "CRM_WEBHOOK_MAX_ATTEMPTS", webhook_max_attempts, "8", 1, 100,
      "attempts of a webhook delivery before it is given up (state failed)"),
    I("webhook-poll-ms", "CRM_WEBHOOK_POLL_MS", webhook_poll_ms, "5000", 50, 600000,
      "how often due webhook deliveries are looked for (besides when events are published)"),
    /* schedule */
    I("jobs-tick-s", "CRM_JOBS_TICK_S", jobs_tick_s, "60", 0, 86400,
      "how often the scheduled jobs (daily alerts digest, hourly expiry, monthly score freeze) "
      "are looked at; each runs once per period across all processes (0: never)"),
    I("jobs-timeout-ms", "CRM_JOBS_TIMEOUT_MS", jobs_timeout_ms, "120000", 1000, 3600000,
      "statement timeout of a scheduled job (a timed-out job is retried at the next tick)"),
    I("idempotency-keep-s", "CRM_IDEMPOTENCY_KEEP_S", idempotency_keep_s, "86400", 60, 86400 * 30,
      "how long an Idempotency-Key and its answer are kept for replays, then deleted"),
    I("score-freeze-day", "CRM_SCORE_FREEZE_DAY", score_freeze_day, "1", 0, 28,
      "day of the month (China time) from which last month's scores are frozen by the service "
      "(0: never; they are frozen by hand)"),
};

#define N_SETTINGS (sizeof config_settings / sizeof config_settings[0])

static int setting_parse_int(const char *text, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int setting_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, yes[i]) == 0)
            return *out = 1, 0;
        if (strcmp(text, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int setting_apply(struct crm_config *cfg, const struct setting *s, const char *value,
                         const char *source, char *err, size_t errlen)
{
    char *base = (char *)cfg + s->offset;
    switch (s->type) {
    case SETTING_STRING: {
        char **slot = (char **)base;
        free(*slot);
        *slot = strdup(value);
        return *slot ? 0 : -1;
    }
    case SETTING_INT:
        if (setting_parse_int(value, s->min, s->max, (int *)base) == 0)
            return 0;
        snprintf(err, errlen, "%s: '%s' is not an integer from %d to %d", source, value, s->min,
                 s->max);
        return -1;
    case SETTING_BOOL:
        if (setting_parse_bool(value, (int *)base) == 0)
            return 0;
        snprintf(err, errlen, "%s: '%s' is not a boolean (1/0, true/false)", source, value);
        return -1;
    }
    return -1;
}

static const char *config_getenv(const char *name)
{
    return getenv(name);
}

enum config_result config_load(struct crm_config *cfg, int argc, char **argv, char *err,
                               size_t errlen)
{
    return config_load_with(cfg, argc, argv, config_getenv, err, errlen);
}

static const struct setting *setting_by_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (strlen(config_settings[i].flag) == len &&
            strncmp(config_settings[i].flag, name, len) == 0)
            return &config_settings[i];
    }
    return NULL;
}

enum config_result config_load_with(struct crm_config *cfg, int argc, char **argv,
                                    const char *(*lookup)(const char *name), char *err,
                                    size_t errlen)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &config_settings[i];
        if (setting_apply(cfg, s, s->def, s->flag, err, errlen) != 0)
            return CONFIG_ERROR;
        const char *v = lookup(s->env);
        if (v && setting_apply(cfg, s, v, s->env, err, errlen) != 0)
            return CONFIG_ERROR;
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return CONFIG_HELP;
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s'", arg);
            return CONFIG_ERROR;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct setting *s = setting_by_flag(name, len);
        if (!s) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", arg);
            return CONFIG_ERROR;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (s->type == SETTING_BOOL) {
            int ignored;
            if (i + 1 < argc && setting_parse_bool(argv[i + 1], &ignored) == 0)
                value = argv[++i];
            else
                value = "1";
        }
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            snprintf(err, errlen, "option '--%s' needs a value", s->flag);
            return CONFIG_ERROR;
        }
        if (setting_apply(cfg, s, value, arg, err, errlen) != 0)
            return CONFIG_ERROR;
    }
    char host[256];
    int port;
    if (config_split_listen(cfg->listen, host, sizeof host, &port) != 0) {
        snprintf(err, errlen, "listen: '%s' is not host:port", cfg->listen);
        return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

void config_print_help(FILE *out)
{
    fprintf(out, "Settings (flag, environment variable, default):\n");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &config_settings[i];
        fprintf(out, "  --%-26s %-28s default: %s\n      %s\n", s->flag, s->env,
                *s->def ? s->def : "(empty)", s->help);
    }
}

int config_split_listen(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return -1;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[') {
        /* [v6]:port: the bracket must close right before the port. */
        if (hl < 3 || h[hl - 1] != ']')
            return -1;
        h++;
        hl -= 2;
    } else if (memchr(h, ':', hl)) {
        return -1; /* a bare IPv6 address: ambiguous, ask for brackets */
    }
    if (hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    return setting_parse_int(colon + 1, 0, 65535, port);
}

void config_free(struct crm_config *cfg)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (config_settings[i].type == SETTING_STRING) {
            char **slot = (char **)((char *)cfg + config_settings[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}
