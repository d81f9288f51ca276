/*
 * Unit tests of core/config: config_load_with on a fake environment
 * (defaults, env over default, flag over env, --name=value and --name value,
 * bare bool flags, errors naming the setting, --help), config_split_listen
 * and config_print_help.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

/* The fake environment: pairs of name, value, ended by NULL. */
static const char *const *fake_env;

static const char *fake_lookup(const char *name)
{
    for (const char *const *e = fake_env; e && e[0]; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

static int config_reset(void **state)
{
    (void)state;
    fake_env = NULL;
    return 0;
}

/* Loads with the fake environment and argv (NULL-terminated, may be NULL). */
static enum config_result load(struct crm_config *cfg, char **argv, char *err, size_t errlen)
{
    int argc = 0;
    while (argv && argv[argc])
        argc++;
    memset(cfg, 0, sizeof *cfg);
    err[0] = '\0';
    return config_load_with(cfg, argc, argv, fake_lookup, err, errlen);
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_int_equal(cfg.workers, 0);
    assert_string_equal(cfg.database_url, "");
    assert_string_equal(cfg.migrate_database_url, "");
    assert_string_equal(cfg.data_dir, "var");
    assert_non_null(cfg.sql_dir);
    assert_non_null(cfg.pg_bindir);
    assert_int_equal(cfg.db_pool_size, 2);
    assert_int_equal(cfg.db_pipeline_depth, 8);
    assert_int_equal(cfg.db_queue_max, 256);
    assert_int_equal(cfg.db_queue_timeout_ms, 2000);
    assert_int_equal(cfg.db_statement_timeout_ms, 5000);
    assert_int_equal(cfg.db_reconnect_ms, 500);
    assert_int_equal(cfg.http_timeout_s, 30);
    assert_int_equal(cfg.shutdown_grace_ms, 10000);
    assert_string_equal(cfg.cors_origins, "");
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.access_log, 1);
    assert_int_equal(cfg.demo, 0);
    config_free(&cfg);
}

static void test_config_env_overrides_default(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_LISTEN",
                                      "0.0.0.0:9000",
                                      "CRM_DB_POOL_SIZE",
                                      "5",
                                      "CRM_ACCESS_LOG",
                                      "false",
                                      "CRM_DEMO",
                                      "yes",
                                      "CRM_DATABASE_URL",
                                      "postgres://x",
                                      NULL};
    fake_env = env;
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg.listen, "0.0.0.0:9000");
    assert_int_equal(cfg.db_pool_size, 5);
    assert_int_equal(cfg.access_log, 0);
    assert_int_equal(cfg.demo, 1);
    assert_string_equal(cfg.database_url, "postgres://x");
    assert_int_equal(cfg.workers, 0); /* untouched settings keep their default */
    config_free(&cfg);
}

static void test_config_flag_overrides_env(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_DB_POOL_SIZE", "5", "CRM_LOG_LEVEL", "warn", NULL};
    fake_env = env;
    char *argv[] = {"--db-pool-size=7", "--log-level", "debug", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg.db_pool_size, 7);
    assert_string_equal(cfg.log_level, "debug");
    config_free(&cfg);
}

static void test_config_flag_equals_form(void **state)
{
    (void)state;
    char *argv[] = {"--listen=[::1]:8081", "--workers=4", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg.listen, "[::1]:8081");
    assert_int_equal(cfg.workers, 4);
    config_free(&cfg);
}

static void test_config_flag_separate_value_form(void **state)
{
    (void)state;
    char *argv[] = {"--workers", "3", "--data-dir", "/srv/crm", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg.workers, 3);
    assert_string_equal(cfg.data_dir, "/srv/crm");
    config_free(&cfg);
}

static void test_config_flag_empty_value_with_equals(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_CORS_ORIGINS", "http://a.example", NULL};
    fake_env = env;
    char *argv[] = {"--cors-origins=", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg.cors_origins, "");
    config_free(&cfg);
}

static void test_config_last_flag_wins(void **state)
{
    (void)state;
    char *argv[] = {"--workers=2", "--workers", "9", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg.workers, 9);
    config_free(&cfg);
}

static void test_config_bool_flag_without_value_is_1(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_ACCESS_LOG", "0", NULL};
    fake_env = env;
    char *argv[] = {"--demo", "--access-log", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg.demo, 1);
    assert_int_equal(cfg.access_log, 1);
    config_free(&cfg);
}

static void test_config_bool_flag_with_value(void **state)
{
    (void)state;
    char *argv[] = {"--access-log=off", "--demo=true", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg.access_log, 0);
    assert_int_equal(cfg.demo, 1);
    config_free(&cfg);
}

static void test_config_bad_bool_is_error(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_DEMO", "maybe", NULL};
    fake_env = env;
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "CRM_DEMO"));
    assert_non_null(strstr(err, "maybe"));
    config_free(&cfg);
}

static void test_config_invalid_int_env_names_variable(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_DB_POOL_SIZE", "lots", NULL};
    fake_env = env;
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "CRM_DB_POOL_SIZE"));
    assert_non_null(strstr(err, "lots"));
    config_free(&cfg);
}

static void test_config_invalid_int_flag_names_flag(void **state)
{
    (void)state;
    char *argv[] = {"--workers", "4x", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "workers"));
    assert_non_null(strstr(err, "4x"));
    config_free(&cfg);
}

static void test_config_empty_int_is_error(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_WORKERS", "", NULL};
    fake_env = env;
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "CRM_WORKERS"));
    config_free(&cfg);
}

static void test_config_int_above_range_is_error(void **state)
{
    (void)state;
    char *argv[] = {"--db-pool-size=65", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "db-pool-size"));
    assert_non_null(strstr(err, "1 to 64"));
    config_free(&cfg);
}

static void test_config_int_below_range_is_error(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_DB_POOL_SIZE", "0", NULL};
    fake_env = env;
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "CRM_DB_POOL_SIZE"));
    config_free(&cfg);
}

static void test_config_int_range_bounds_accepted(void **state)
{
    (void)state;
    char *argv[] = {"--db-pool-size=64", "--db-queue-max=0", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg.db_pool_size, 64);
    assert_int_equal(cfg.db_queue_max, 0);
    config_free(&cfg);
}

static void test_config_int_overflow_is_error(void **state)
{
    (void)state;
    char *argv[] = {"--shutdown-grace-ms=99999999999999999999", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "shutdown-grace-ms"));
    config_free(&cfg);
}

static void test_config_unknown_flag_is_error(void **state)
{
    (void)state;
    char *argv[] = {"--no-such-thing=1", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "no-such-thing"));
    config_free(&cfg);
}

static void test_config_flag_prefix_is_unknown(void **state)
{
    (void)state;
    char *argv[] = {"--work=2", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "--work"));
    config_free(&cfg);
}

static void test_config_positional_argument_is_error(void **state)
{
    (void)state;
    char *argv[] = {"serve", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "serve"));
    config_free(&cfg);
}

static void test_config_missing_value_is_error(void **state)
{
    (void)state;
    char *argv[] = {"--listen", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "--listen"));
    config_free(&cfg);
}

static void test_config_help_flag(void **state)
{
    (void)state;
    char *argv[] = {"--workers=2", "--help", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_HELP);
    config_free(&cfg);
}

static void test_config_short_help_flag(void **state)
{
    (void)state;
    char *argv[] = {"-h", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_HELP);
    config_free(&cfg);
}

static void test_config_bad_listen_is_error(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_LISTEN", "localhost", NULL};
    fake_env = env;
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "listen"));
    assert_non_null(strstr(err, "localhost"));
    config_free(&cfg);
}

static void test_config_listen_port_out_of_range_is_error(void **state)
{
    (void)state;
    char *argv[] = {"--listen=127.0.0.1:70000", NULL};
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, argv, err, sizeof err), CONFIG_ERROR);
    assert_non_null(strstr(err, "listen"));
    config_free(&cfg);
}

static void test_config_error_fits_small_buffer(void **state)
{
    (void)state;
    static const char *const env[] = {"CRM_DB_POOL_SIZE", "lots", NULL};
    fake_env = env;
    struct crm_config cfg;
    char err[8];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_ERROR);
    assert_true(strlen(err) < sizeof err);
    config_free(&cfg);
}

static void test_config_free_twice_is_safe(void **state)
{
    (void)state;
    struct crm_config cfg;
    char err[256];
    assert_int_equal(load(&cfg, NULL, err, sizeof err), CONFIG_OK);
    config_free(&cfg);
    assert_null(cfg.listen);
    assert_null(cfg.log_level);
    config_free(&cfg);
}

static void test_config_split_listen_ipv4(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(config_split_listen("127.0.0.1:8080", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
}

static void test_config_split_listen_hostname(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(config_split_listen("localhost:1", host, sizeof host, &port), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 1);
}

static void test_config_split_listen_ipv6_brackets(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(config_split_listen("[::1]:8080", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
}

static void test_config_split_listen_missing_port(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(config_split_listen("127.0.0.1", host, sizeof host, &port), -1);
    assert_int_equal(config_split_listen("127.0.0.1:", host, sizeof host, &port), -1);
    assert_int_equal(config_split_listen("[::1]", host, sizeof host, &port), -1);
}

static void test_config_split_listen_missing_host(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(config_split_listen(":8080", host, sizeof host, &port), -1);
}

static void test_config_split_listen_port_out_of_range(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(config_split_listen("127.0.0.1:65536", host, sizeof host, &port), -1);
    assert_int_equal(config_split_listen("127.0.0.1:-1", host, sizeof host, &port), -1);
    assert_int_equal(config_split_listen("127.0.0.1:80x", host, sizeof host, &port), -1);
    assert_int_equal(config_split_listen("127.0.0.1:65535", host, sizeof host, &port), 0);
    assert_int_equal(port, 65535);
}

static void test_config_split_listen_host_too_long(void **state)
{
    (void)state;
    char host[9];
    int port;
    assert_int_equal(config_split_listen("123456789:80", host, sizeof host, &port), -1);
    assert_int_equal(config_split_listen("12345678:80", host, sizeof host, &port), 0);
    assert_string_equal(host, "12345678");
}

static void test_config_print_help_lists_every_variable(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    config_print_help(out);
    fclose(out);
    static const char *const expected[] = {
        "CRM_LISTEN",
        "CRM_WORKERS",
        "CRM_DATABASE_URL",
        "CRM_MIGRATE_DATABASE_URL",
        "CRM_DATA_DIR",
        "CRM_SQL_DIR",
        "CRM_PG_BINDIR",
        "CRM_DB_POOL_SIZE",
        "CRM_DB_PIPELINE_DEPTH",
        "CRM_DB_QUEUE_MAX",
        "CRM_DB_QUEUE_TIMEOUT_MS",
        "CRM_DB_STATEMENT_TIMEOUT_MS",
        "CRM_DB_RECONNECT_MS",
        "CRM_HTTP_TIMEOUT_S",
        "CRM_SHUTDOWN_GRACE_MS",
        "CRM_CORS_ORIGINS",
        "CRM_LOG_LEVEL",
        "CRM_ACCESS_LOG",
        "CRM_DEMO",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (!strstr(text, expected[i]))
            fail_msg("help does not mention %s", expected[i]);
    }
    assert_non_null(strstr(text, "--listen"));
    assert_non_null(strstr(text, "--db-pool-size"));
    assert_non_null(strstr(text, "127.0.0.1:8080"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_defaults, config_reset),
        cmocka_unit_test_setup(test_config_env_overrides_default, config_reset),
        cmocka_unit_test_setup(test_config_flag_overrides_env, config_reset),
        cmocka_unit_test_setup(test_config_flag_equals_form, config_reset),
        cmocka_unit_test_setup(test_config_flag_separate_value_form, config_reset),
        cmocka_unit_test_setup(test_config_flag_empty_value_with_equals, config_reset),
        cmocka_unit_test_setup(test_config_last_flag_wins, config_reset),
        cmocka_unit_test_setup(test_config_bool_flag_without_value_is_1, config_reset),
        cmocka_unit_test_setup(test_config_bool_flag_with_value, config_reset),
        cmocka_unit_test_setup(test_config_bad_bool_is_error, config_reset),
        cmocka_unit_test_setup(test_config_invalid_int_env_names_variable, config_reset),
        cmocka_unit_test_setup(test_config_invalid_int_flag_names_flag, config_reset),
        cmocka_unit_test_setup(test_config_empty_int_is_error, config_reset),
        cmocka_unit_test_setup(test_config_int_above_range_is_error, config_reset),
        cmocka_unit_test_setup(test_config_int_below_range_is_error, config_reset),
        cmocka_unit_test_setup(test_config_int_range_bounds_accepted, config_reset),
        cmocka_unit_test_setup(test_config_int_overflow_is_error, config_reset),
        cmocka_unit_test_setup(test_config_unknown_flag_is_error, config_reset),
        cmocka_unit_test_setup(test_config_flag_prefix_is_unknown, config_reset),
        cmocka_unit_test_setup(test_config_positional_argument_is_error, config_reset),
        cmocka_unit_test_setup(test_config_missing_value_is_error, config_reset),
        cmocka_unit_test_setup(test_config_help_flag, config_reset),
        cmocka_unit_test_setup(test_config_short_help_flag, config_reset),
        cmocka_unit_test_setup(test_config_bad_listen_is_error, config_reset),
        cmocka_unit_test_setup(test_config_listen_port_out_of_range_is_error, config_reset),
        cmocka_unit_test_setup(test_config_error_fits_small_buffer, config_reset),
        cmocka_unit_test_setup(test_config_free_twice_is_safe, config_reset),
        cmocka_unit_test(test_config_split_listen_ipv4),
        cmocka_unit_test(test_config_split_listen_hostname),
        cmocka_unit_test(test_config_split_listen_ipv6_brackets),
        cmocka_unit_test(test_config_split_listen_missing_port),
        cmocka_unit_test(test_config_split_listen_missing_host),
        cmocka_unit_test(test_config_split_listen_port_out_of_range),
        cmocka_unit_test(test_config_split_listen_host_too_long),
        cmocka_unit_test(test_config_print_help_lists_every_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
