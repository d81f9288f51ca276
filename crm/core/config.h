/*
 * config: the service's settings, one table for defaults, CRM_* environment
 * variables, command-line flags (which override the environment) and --help.
 *
 * A crm_config owns its strings; release it with config_free().
 */
#ifndef CRM_CONFIG_H
#define CRM_CONFIG_H

#include <stdio.h>

struct crm_config {
    char *listen;             /* host:port */
    int workers;              /* 0: one per core */
    char *database_url;       /* app role; NULL/empty: embedded cluster */
    char *database_read_url;  /* app role on the replicas; NULL/empty: none */
    char *migrate_database_url; /* owner role; NULL/empty: same as embedded or database_url */
    char *data_dir;           /* embedded cluster lives in data_dir/pg */
    char *sql_dir;            /* migrations/, schema/ and demo/ */
    char *pg_bindir;          /* initdb, pg_ctl */
    int db_pool_size;         /* connections per worker */
    int db_pipeline_depth;    /* requests in flight per connection */
    int db_queue_max;         /* requests waiting for a connection, per worker */
    int db_queue_timeout_ms;
    int db_statement_timeout_ms;
    int db_reconnect_ms;
    int db_job_timeout_ms;     /* a job's answer, then its connection is dropped; 0: derived */
    int db_connect_timeout_ms; /* a new connection ready */
    int db_keepalive_s;        /* TCP keepalive idle time; 0: the system's */
    int http_timeout_s;       /* read and write timeout of a client connection */
    int max_connections;      /* client connections at once; 0: from the open-file limit */
    int max_connections_per_address; /* from one address (IPv6: /64); 0: derived */
    int shutdown_grace_ms;
    char *cors_origins;       /* comma-separated allowlist */
    char *log_level;
    int access_log;           /* 0/1 */
    int demo;                 /* 0/1: load demo data before serving */
    int session_idle_s;       /* a session unused this long ends */
    int session_lifetime_s;   /* a session ends this long after login, used or not */
    int hash_threads;         /* argon2id threads */
    int hash_max_in_flight;   /* argon2id operations queued or running, then 503 */
    int login_max_failures;   /* per account, before the backoff starts */
    int login_max_failures_address; /* per client address */
    int login_backoff_max_s;  /* the longest backoff */
    int stall_check_s;
    int import_timeout_ms;    /* statement timeout of an import */
    int export_max_rows;      /* most projects in one ledger export */
    int io_threads;           /* threads reading imports and building exports */
    int io_max_in_flight;     /* imports and exports read or built at once, then 503 */
    char *cursor_key;         /* hex key signing list cursors; empty: random per process */        /* how often projects without progress are marked stalled */
    /* events (events/feed.c) */
    int events_heartbeat_s; /* a live stream's heartbeat */
    int events_recheck_s;   /* a live stream's session checked again */
    /* webhooks (events/webhook_sender.c) */
    char *webhook_allow;       /* destinations: comma list of CIDRs and host names; empty: none */
    int webhook_timeout_ms;    /* one delivery attempt, connecting included */
    int webhook_backoff_ms;    /* the first retry's delay, doubled at each failure */
    int webhook_backoff_max_ms; /* the longest delay between attempts */
    int webhook_max_attempts;  /* attempts before a delivery is given up */
    int webhook_poll_ms;       /* how often due deliveries are looked for */
    /* schedule (api/janitor.c) */
    int jobs_tick_s;        /* how often the daily, hourly and monthly jobs are looked at */
    int jobs_timeout_ms;    /* statement timeout of a scheduled job */
    int idempotency_keep_s; /* an Idempotency-Key is kept this long, then expired */
    int score_freeze_day;   /* day of the month last month's scores are frozen; 0: never */
};

enum config_result { CONFIG_OK, CONFIG_HELP, CONFIG_ERROR };

/* Fills cfg from defaults, then the environment (getenv), then argv flags of
 * the form --name=value or --name value. On CONFIG_ERROR a message naming the
 * setting is written into err (errlen bytes). cfg must be zeroed by the
 * caller; it is valid (and must be freed) whatever the result. */
enum config_result config_load(struct crm_config *cfg, int argc, char **argv, char *err,
                               size_t errlen);

/* Same, with an explicit environment lookup (for tests). */
enum config_result config_load_with(struct crm_config *cfg, int argc, char **argv,
                                    const char *(*lookup)(const char *name), char *err,
                                    size_t errlen);

/* Prints every setting: flag, variable, default, meaning. */
void config_print_help(FILE *out);

/* Splits listen into host and port. Returns 0, or -1 when malformed. */
int config_split_listen(const char *listen, char *host, size_t hostlen, int *port);

void config_free(struct crm_config *cfg);

#endif
