/*
 * Unit tests of what guards a webhook delivery: events/signature (the
 * X-CRM-Signature value, checked against HMAC-SHA256 computed elsewhere:
 * Python's hmac module) and events/allowlist (CRM_WEBHOOK_ALLOW parsed,
 * URLs judged by scheme and host, and the addresses connected to judged
 * so that a listed name never reaches inside the network).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

#include "events/allowlist.h"
#include "events/signature.h"

static void test_signature_known_values(void **state)
{
    (void)state;
    char out[SIGNATURE_HEADER_LEN + 1];
    const char *secret = "0123456789abcdef-secret";
    const char *body = "{\"id\":1,\"type\":\"contract.verified\"}";
    signature_header(secret, strlen(secret), 1700000000, body, strlen(body), out);
    assert_string_equal(out, "v1=57569ff5c947598710f67182b760379691df88868ed7ade3732b2901fe924055");
    /* A key longer than the hash's block, an empty body, time zero. */
    char key[100];
    memset(key, 'k', sizeof key);
    signature_header(key, sizeof key, 0, "", 0, out);
    assert_string_equal(out, "v1=243c2f8200e1d4ee892e7a7ded377a65e2beb1c64b997c54b8b0f516216d4b0f");
}

static void test_signature_covers_everything(void **state)
{
    (void)state;
    char a[SIGNATURE_HEADER_LEN + 1], b[SIGNATURE_HEADER_LEN + 1];
    signature_header("secret-secret-16", 16, 100, "{}", 2, a);
    signature_header("secret-secret-17", 16, 100, "{}", 2, b);
    assert_string_not_equal(a, b);
    signature_header("secret-secret-16", 16, 101, "{}", 2, b);
    assert_string_not_equal(a, b);
    signature_header("secret-secret-16", 16, 100, "{ }", 3, b);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), SIGNATURE_HEADER_LEN);
}

static void test_allowlist_parse(void **state)
{
    (void)state;
    struct allowlist l;
    char err[160];
    assert_int_equal(allowlist_parse(NULL, &l, err, sizeof err), 0);
    assert_int_equal(l.count, 0);
    assert_int_equal(allowlist_parse("", &l, err, sizeof err), 0);
    assert_int_equal(l.count, 0);
    assert_int_equal(allowlist_parse(" 127.0.0.1/32 , 10.20.0.0/16,,Hooks.Example.ORG., fd00::/8,"
                                     "192.0.2.7",
                                     &l, err, sizeof err),
                     0);
    assert_int_equal(l.count, 5);
    assert_string_equal(l.entries[2].name, "hooks.example.org");
    assert_int_equal(l.entries[4].prefix, 32);
    allowlist_free(&l);
    const char *bad[] = {"10.0.0.0/33", "10.0.0.0/", "hooks.example.org/24", "fd00::/129",
                         "http://x",    "a b",       "10.0.0.0/8x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(allowlist_parse(bad[i], &l, err, sizeof err), -1);
        assert_int_equal(l.count, 0);
        assert_non_null(strstr(err, "is neither"));
    }
}

static void test_allowlist_urls(void **state)
{
    (void)state;
    struct allowlist l;
    char err[160];
    assert_int_equal(
        allowlist_parse("127.0.0.1/32,10.20.0.0/16,hooks.example.org,::1", &l, err, sizeof err), 0);
    int by_name = -1;
    assert_int_equal(allowlist_check_url(&l, "http://127.0.0.1:8080/in", &by_name),
                     ALLOWLIST_URL_ALLOWED);
    assert_int_equal(by_name, 0);
    assert_int_equal(allowlist_check_url(&l, "https://HOOKS.example.org/x?y=1", &by_name),
                     ALLOWLIST_URL_ALLOWED);
    assert_int_equal(by_name, 1);
    assert_int_equal(allowlist_check_url(&l, "http://10.20.255.1/", NULL), ALLOWLIST_URL_ALLOWED);
    assert_int_equal(allowlist_check_url(&l, "http://[::1]:9000/", NULL), ALLOWLIST_URL_ALLOWED);
    /* Other spellings of an address are judged as the address libcurl
     * reads them as (127.0.0.1), not as names. */
    assert_int_equal(allowlist_check_url(&l, "http://2130706433/", &by_name),
                     ALLOWLIST_URL_ALLOWED);
    assert_int_equal(by_name, 0);
    assert_int_equal(allowlist_check_url(&l, "http://0x7f.1/", NULL), ALLOWLIST_URL_ALLOWED);
    /* Outside the list. */
    const char *refused[] = {"http://127.0.0.2/",
                             "http://10.21.0.1/",
                             "http://169.254.169.254/",
                             "http://evil.example.org/",
                             "http://hooks.example.org.evil.net/",
                             "http://localhost/",
                             "http://2130706434/",
                             "http://[::2]/"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(allowlist_check_url(&l, refused[i], NULL), ALLOWLIST_URL_REFUSED);
    /* Not an http(s) URL with a host, or with credentials. */
    const char *malformed[] = {
        "ftp://127.0.0.1/",          "file:///etc/passwd",  "127.0.0.1", "http://",
        "http://user:pw@127.0.0.1/", "gopher://127.0.0.1/", ""};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(allowlist_check_url(&l, malformed[i], NULL), ALLOWLIST_URL_MALFORMED);
    allowlist_free(&l);
    /* An empty list allows nothing. */
    assert_int_equal(allowlist_parse("", &l, err, sizeof err), 0);
    assert_int_equal(allowlist_check_url(&l, "http://127.0.0.1/", NULL), ALLOWLIST_URL_REFUSED);
    assert_int_equal(allowlist_check_url(&l, "https://hooks.example.org/", NULL),
                     ALLOWLIST_URL_REFUSED);
}

static int permits4(const struct allowlist *l, const char *addr, int by_name)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
    return allowlist_permits_address(l, (const struct sockaddr *)&sa, by_name);
}

static int permits6(const struct allowlist *l, const char *addr, int by_name)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, addr, &sa.sin6_addr), 1);
    return allowlist_permits_address(l, (const struct sockaddr *)&sa, by_name);
}

/* DNS rebinding: a listed name reaches public addresses, never an inside
 * one unless a CIDR lists it; a literal URL reaches only its CIDRs. */
static void test_allowlist_addresses(void **state)
{
    (void)state;
    struct allowlist l;
    char err[160];
    assert_int_equal(allowlist_parse("10.20.0.0/16,hooks.example.org", &l, err, sizeof err), 0);
    assert_true(permits4(&l, "10.20.3.4", 0));
    assert_true(permits4(&l, "10.20.3.4", 1));
    assert_false(permits4(&l, "93.184.216.34", 0));
    assert_true(permits4(&l, "93.184.216.34", 1));
    const char *inside4[] = {"127.0.0.1",       "10.0.0.1",   "172.16.5.5", "192.168.1.1",
                             "169.254.169.254", "100.64.0.1", "0.0.0.0",    "224.0.0.1",
                             "255.255.255.255", "198.18.0.1"};
    for (size_t i = 0; i < sizeof inside4 / sizeof inside4[0]; i++)
        assert_false(permits4(&l, inside4[i], 1));
    const char *inside6[] = {"::1",
                             "::",
                             "fe80::1",
                             "fd12::1",
                             "ff02::1",
                             "::ffff:127.0.0.1",
                             "64:ff9b::7f00:1",
                             "2002:7f00:1::1"};
    for (size_t i = 0; i < sizeof inside6 / sizeof inside6[0]; i++)
        assert_false(permits6(&l, inside6[i], 1));
    assert_true(permits6(&l, "2606:4700::1111", 1));
    assert_false(permits6(&l, "2606:4700::1111", 0));
    /* An IPv4-mapped address is its IPv4 address. */
    assert_true(permits6(&l, "::ffff:10.20.0.9", 0));
    allowlist_free(&l);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_known_values),
        cmocka_unit_test(test_signature_covers_everything),
        cmocka_unit_test(test_allowlist_parse),
        cmocka_unit_test(test_allowlist_urls),
        cmocka_unit_test(test_allowlist_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
