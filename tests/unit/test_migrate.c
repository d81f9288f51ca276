/*
 * Unit tests of the pure part of db/migrate: migration_set_load on folders
 * made under $CRM_TEST_TMP (ordering, non-.sql files ignored, bad names and
 * duplicate versions rejected, SHA-256 checksums, the restated list),
 * definition_set_load (sql/schema's NN_name.sql) and migration_set_latest.
 * Nothing here touches a database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/migrate.h"

/* Each test gets its own folder, removed by the teardown. */
static char test_dir[4096];

static int migrate_group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static int migrate_dir_setup(void **state)
{
    (void)state;
    const char *base = getenv("CRM_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    if (mkdir(base, 0700) != 0 && errno != EEXIST)
        return -1;
    snprintf(test_dir, sizeof test_dir, "%s/migrate-XXXXXX", base);
    return mkdtemp(test_dir) ? 0 : -1;
}

static int migrate_dir_teardown(void **state)
{
    (void)state;
    DIR *d = opendir(test_dir);
    if (!d)
        return -1;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", test_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(test_dir);
}

static void write_file(const char *name, const char *content)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", test_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
}

static void sha256_hex(const char *text, char hex[65])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(hex, 65, hash, sizeof hash);
}

static void test_migrate_empty_dir(void **state)
{
    (void)state;
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 0);
    assert_int_equal(migration_set_latest(&set), 0);
    migration_set_free(&set);
}

static void test_migrate_missing_dir_fails(void **state)
{
    (void)state;
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/does-not-exist", test_dir);
    struct migration_set set;
    char err[4400] = "";
    assert_int_equal(migration_set_load(&set, missing, err, sizeof err), -1);
    assert_non_null(strstr(err, "does-not-exist"));
    migration_set_free(&set);
}

static void test_migrate_sorted_by_version(void **state)
{
    (void)state;
    /* Created out of order so readdir order is no help. */
    write_file("0010_ten.sql", "SELECT 10;");
    write_file("0002_two.sql", "SELECT 2;");
    write_file("0001_one.sql", "SELECT 1;");
    write_file("0003_three.sql", "SELECT 3;");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 4);
    assert_int_equal(set.items[0].version, 1);
    assert_int_equal(set.items[1].version, 2);
    assert_int_equal(set.items[2].version, 3);
    assert_int_equal(set.items[3].version, 10);
    assert_string_equal(set.items[0].name, "0001_one.sql");
    assert_string_equal(set.items[3].name, "0010_ten.sql");
    assert_string_equal(set.items[1].sql, "SELECT 2;");
    assert_int_equal(migration_set_latest(&set), 10);
    migration_set_free(&set);
}

static void test_migrate_gaps_allowed(void **state)
{
    (void)state;
    write_file("0005_five.sql", "SELECT 5;");
    write_file("0100_hundred.sql", "SELECT 100;");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 2);
    assert_int_equal(migration_set_latest(&set), 100);
    migration_set_free(&set);
}

static void test_migrate_ignores_non_sql_files(void **state)
{
    (void)state;
    write_file("0001_one.sql", "SELECT 1;");
    write_file("README.md", "not a migration");
    write_file("0002_two.sql.bak", "SELECT 2;");
    write_file("0003_three.SQL", "SELECT 3;");
    write_file("0004_four.sq", "SELECT 4;");
    write_file(".sql", "");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 1);
    assert_string_equal(set.items[0].name, "0001_one.sql");
    assert_int_equal(migration_set_latest(&set), 1);
    migration_set_free(&set);
}

static void test_migrate_short_version_rejected(void **state)
{
    (void)state;
    write_file("0001_one.sql", "SELECT 1;");
    write_file("1_x.sql", "SELECT 1;");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "1_x.sql"));
    migration_set_free(&set);
}

static void test_migrate_letters_version_rejected(void **state)
{
    (void)state;
    write_file("abcd_x.sql", "SELECT 1;");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "abcd_x.sql"));
    migration_set_free(&set);
}

static void test_migrate_missing_underscore_rejected(void **state)
{
    (void)state;
    write_file("00012_x.sql", "SELECT 1;");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "00012_x.sql"));
    migration_set_free(&set);
}

static void test_migrate_duplicate_version_rejected(void **state)
{
    (void)state;
    write_file("0001_one.sql", "SELECT 1;");
    write_file("0002_a.sql", "SELECT 2;");
    write_file("0002_b.sql", "SELECT 2;");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "0002_a.sql"));
    assert_non_null(strstr(err, "0002_b.sql"));
    migration_set_free(&set);
}

static void test_migrate_checksum_is_sha256_hex(void **state)
{
    (void)state;
    const char *sql = "CREATE TABLE t (id int PRIMARY KEY);\n-- caf\xc3\xa9\n";
    write_file("0001_t.sql", sql);
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 1);
    char expected[65];
    sha256_hex(sql, expected);
    assert_int_equal(strlen(set.items[0].checksum), 64);
    assert_string_equal(set.items[0].checksum, expected);
    assert_string_equal(set.items[0].sql, sql);
    migration_set_free(&set);
}

static void test_migrate_checksum_of_empty_file(void **state)
{
    (void)state;
    write_file("0001_empty.sql", "");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 1);
    assert_string_equal(set.items[0].sql, "");
    assert_string_equal(set.items[0].checksum,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    migration_set_free(&set);
}

static void test_migrate_checksums_differ_by_content(void **state)
{
    (void)state;
    write_file("0001_a.sql", "SELECT 1;");
    write_file("0002_b.sql", "SELECT 1; ");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 2);
    assert_string_not_equal(set.items[0].checksum, set.items[1].checksum);
    migration_set_free(&set);
}

static void test_migrate_large_file_read_whole(void **state)
{
    (void)state;
    /* Bigger than file_read's 8 KiB chunk. */
    size_t n = 20000;
    char *sql = malloc(n + 1);
    assert_non_null(sql);
    for (size_t i = 0; i < n; i++)
        sql[i] = (char)('a' + (char)(i % 26));
    sql[n] = '\0';
    write_file("0001_big.sql", sql);
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 1);
    assert_int_equal(strlen(set.items[0].sql), n);
    assert_string_equal(set.items[0].sql, sql);
    char expected[65];
    sha256_hex(sql, expected);
    assert_string_equal(set.items[0].checksum, expected);
    migration_set_free(&set);
    free(sql);
}

static void test_migrate_latest_of_empty_set(void **state)
{
    (void)state;
    struct migration_set set = {0};
    assert_int_equal(migration_set_latest(&set), 0);
}

static void test_migrate_free_resets_set(void **state)
{
    (void)state;
    write_file("0001_one.sql", "SELECT 1;");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    migration_set_free(&set);
    assert_null(set.items);
    assert_int_equal(set.count, 0);
    migration_set_free(&set);
}

/* sql/migrations/restated: the checksums a restated migration may have
 * been recorded with; comments and blank lines skipped. */
static void test_migrate_restated_read(void **state)
{
    (void)state;
    char hex[65];
    sha256_hex("SELECT 1;", hex);
    char text[256];
    snprintf(text, sizeof text, "# why\n\n0001 %s\n", hex);
    write_file("0001_one.sql", "SELECT 2;");
    write_file("restated", text);
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 1);
    assert_int_equal(set.restated_count, 1);
    assert_int_equal(set.restated[0].version, 1);
    assert_string_equal(set.restated[0].checksum, hex);
    migration_set_free(&set);
    assert_null(set.restated);
}

static void test_migrate_restated_bad_line_rejected(void **state)
{
    (void)state;
    write_file("0001_one.sql", "SELECT 1;");
    write_file("restated", "# ok\n0001 not-a-checksum\n");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(migration_set_load(&set, test_dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "restated:2"));
    migration_set_free(&set);
}

/* sql/schema: NN_name.sql in name order, other files ignored. */
static void test_definitions_sorted_by_number(void **state)
{
    (void)state;
    write_file("10_projects.sql", "SELECT 10;");
    write_file("00_scope.sql", "SELECT 0;");
    write_file("README.md", "not a definition");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(definition_set_load(&set, test_dir, err, sizeof err), 0);
    assert_int_equal(set.count, 2);
    assert_string_equal(set.items[0].name, "00_scope.sql");
    assert_string_equal(set.items[1].name, "10_projects.sql");
    assert_string_equal(set.items[1].sql, "SELECT 10;");
    migration_set_free(&set);
}

static void test_definitions_bad_name_rejected(void **state)
{
    (void)state;
    write_file("00_scope.sql", "SELECT 0;");
    write_file("scope.sql", "SELECT 0;");
    struct migration_set set;
    char err[512] = "";
    assert_int_equal(definition_set_load(&set, test_dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "scope.sql: a definition file is named NN_name.sql"));
    migration_set_free(&set);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, migrate_dir_setup, migrate_dir_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_migrate_empty_dir),
        DIR_TEST(test_migrate_missing_dir_fails),
        DIR_TEST(test_migrate_sorted_by_version),
        DIR_TEST(test_migrate_gaps_allowed),
        DIR_TEST(test_migrate_ignores_non_sql_files),
        DIR_TEST(test_migrate_short_version_rejected),
        DIR_TEST(test_migrate_letters_version_rejected),
        DIR_TEST(test_migrate_missing_underscore_rejected),
        DIR_TEST(test_migrate_duplicate_version_rejected),
        DIR_TEST(test_migrate_checksum_is_sha256_hex),
        DIR_TEST(test_migrate_checksum_of_empty_file),
        DIR_TEST(test_migrate_checksums_differ_by_content),
        DIR_TEST(test_migrate_large_file_read_whole),
        cmocka_unit_test(test_migrate_latest_of_empty_set),
        DIR_TEST(test_migrate_free_resets_set),
        DIR_TEST(test_migrate_restated_read),
        DIR_TEST(test_migrate_restated_bad_line_rejected),
        DIR_TEST(test_definitions_sorted_by_number),
        DIR_TEST(test_definitions_bad_name_rejected),
    };
    return cmocka_run_group_tests(tests, migrate_group_setup, NULL);
}
