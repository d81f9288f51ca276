/*
 * Regressions: bugs found while the unit tests were first written, each
 * pinned by the test that exposed it (CORS items with a path, a bare IPv6
 * listen address, a migration read error, a truncated Allow header).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "db/migrate.h"
#include "http/cors.h"
#include "http/router.h"

/*
 * cors_parse must reject items that are not scheme://host[:port] (cors.h).
 * It only rejects a trailing '/', so an origin with a path, query or
 * fragment is accepted; such an entry never equals a browser's Origin, so a
 * misconfiguration silently disables CORS instead of failing at start-up.
 */
static void test_regression_cors_parse_accepts_origin_with_path(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "https://a.example/app",
        "https://a.example?x=1",
        "https://a.example#top",
        "https://user@a.example",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cors_list l;
        int rc = cors_parse(&l, bad[i]);
        cors_free(&l);
        if (rc != -1)
            fail_msg("cors_parse accepted '%s'", bad[i]);
    }
}

/*
 * config_split_listen splits at the last ':' even when the host is an
 * unbracketed IPv6 address: "::1" (meant as the loopback address, port
 * missing) is taken as host "::" (every interface) and port 1.
 */
static void test_regression_split_listen_unbracketed_ipv6(void **state)
{
    (void)state;
    char host[64] = "";
    int port = -1;
    int rc = config_split_listen("::1", host, sizeof host, &port);
    if (rc == 0)
        fail_msg("'::1' accepted as host '%s' port %d", host, port);
}

/* Same root cause: "[]:80" gives an empty host. */
static void test_regression_split_listen_empty_brackets(void **state)
{
    (void)state;
    char host[64] = "x";
    int port = -1;
    int rc = config_split_listen("[]:80", host, sizeof host, &port);
    if (rc == 0)
        fail_msg("'[]:80' accepted as host '%s' port %d", host, port);
}

/*
 * migration_set_load reads files with file_read, which never checks
 * ferror(): a read error yields a truncated (here empty) migration with a
 * valid checksum and result 0. A folder named like a migration shows it:
 * fopen succeeds on a directory, fread fails with EISDIR.
 */
static void test_regression_migrate_read_error_not_reported(void **state)
{
    (void)state;
    const char *base = getenv("CRM_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    assert_true(mkdir(base, 0700) == 0 || errno == EEXIST);
    char dir[4096], sub[4200];
    snprintf(dir, sizeof dir, "%s/bugs-XXXXXX", base);
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/0001_folder.sql", dir);
    assert_int_equal(mkdir(sub, 0700), 0);

    struct migration_set set;
    char err[512] = "";
    int rc = migration_set_load(&set, dir, err, sizeof err);
    size_t count = set.count;
    migration_set_free(&set);
    rmdir(sub);
    rmdir(dir);
    if (rc == 0)
        fail_msg("an unreadable migration was loaded (%zu item(s)) instead of an error", count);
}

/*
 * router_allow_header stops at the first method that does not fit, but
 * snprintf has already written part of it: a short buffer gets
 * "GET, HE", a malformed Allow value. (Latent: callers use 128 bytes.)
 */
static void test_regression_allow_header_truncates_mid_name(void **state)
{
    (void)state;
    char out[8];
    router_allow_header(HTTP_GET | HTTP_HEAD, out, sizeof out);
    assert_string_equal(out, "GET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_cors_parse_accepts_origin_with_path),
        cmocka_unit_test(test_regression_split_listen_unbracketed_ipv6),
        cmocka_unit_test(test_regression_split_listen_empty_brackets),
        cmocka_unit_test(test_regression_migrate_read_error_not_reported),
        cmocka_unit_test(test_regression_allow_header_truncates_mid_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
