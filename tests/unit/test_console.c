/*
 * Unit tests of api/console: the table of web/ built into the program (every
 * file named as its URL, typed, terminated and tagged) and console_file_find,
 * which only ever answers a name of the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/console.h"

static void test_console_files_are_urls_with_types_and_tags(void **state)
{
    (void)state;
    assert_null(console_files[console_files_count].name);
    for (size_t i = 0; i < console_files_count; i++) {
        const struct console_file *f = &console_files[i];
        assert_true(strlen(f->name) > 0);
        assert_int_equal(strspn(f->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789._-"),
                         strlen(f->name));
        assert_true(f->name[0] != '.');
        assert_non_null(strchr(f->content_type, '/'));
        assert_int_equal(f->bytes[f->len], 0);
        assert_int_equal(strlen(f->etag), 34);
        assert_int_equal(f->etag[0], '"');
        assert_int_equal(f->etag[33], '"');
        if (i > 0)
            assert_true(strcmp(console_files[i - 1].name, f->name) < 0);
        if (strcmp(f->name, "index.html") == 0)
            assert_string_equal(f->content_type, "text/html; charset=utf-8");
        const char *dot = strrchr(f->name, '.');
        if (dot && strcmp(dot, ".js") == 0)
            assert_string_equal(f->content_type, "text/javascript; charset=utf-8");
        if (dot && strcmp(dot, ".css") == 0)
            assert_string_equal(f->content_type, "text/css; charset=utf-8");
    }
}

static void test_console_file_find(void **state)
{
    (void)state;
    for (size_t i = 0; i < console_files_count; i++) {
        const char *name = console_files[i].name;
        assert_ptr_equal(console_file_find(name, strlen(name)), &console_files[i]);
        /* A prefix or a longer name is another name. */
        assert_null(console_file_find(name, strlen(name) - 1));
        char longer[256];
        snprintf(longer, sizeof longer, "%s/", name);
        assert_null(console_file_find(longer, strlen(longer)));
    }
    assert_null(console_file_find("", 0));
    assert_null(console_file_find("..", 2));
    assert_null(console_file_find("../CMakeLists.txt", 17));
    assert_null(console_file_find("%2e%2e%2fCMakeLists.txt", 23));
    assert_null(console_file_find("no-such-file.js", 15));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_files_are_urls_with_types_and_tags),
        cmocka_unit_test(test_console_file_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
