/*
 * allowlist: see allowlist.h.
 */
#include "events/allowlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A textual address, with or without URL brackets, into addr: AF_INET or
 * AF_INET6, or 0 when text is no literal address. */
static int allowlist_literal(const char *text, unsigned char addr[16])
{
    char buf[64];
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, buf, addr) == 1)
        return AF_INET6;
    return 0;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it is. */
static int allowlist_unmap(int family, unsigned char addr[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET6 && memcmp(addr, mapped, sizeof mapped) == 0) {
        memmove(addr, addr + 12, 4);
        return AF_INET;
    }
    return family;
}

static int allowlist_prefix_match(const unsigned char *a, const unsigned char *net, int prefix)
{
    int bytes = prefix / 8, bits = prefix % 8;
    if (memcmp(a, net, (size_t)bytes) != 0)
        return 0;
    if (bits == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - bits));
    return (a[bytes] & mask) == (net[bytes] & mask);
}

/* A host name: letters, digits, hyphens and dots, at most 253 bytes, into
 * out in lower case without a final dot. Returns 0, or -1. */
static int allowlist_name(const char *text, size_t n, char out[ALLOWLIST_NAME_MAX + 1])
{
    if (n > 0 && text[n - 1] == '.')
        n--;
    if (n == 0 || n > ALLOWLIST_NAME_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_')
            return -1;
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    return 0;
}

/* One entry of the list (n bytes of text, trimmed) into e. */
static int allowlist_entry_parse(const char *text, size_t n, struct allowlist_entry *e)
{
    char buf[ALLOWLIST_NAME_MAX + 2];
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    memset(e, 0, sizeof *e);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    e->family = allowlist_literal(buf, e->addr);
    if (!e->family)
        return slash ? -1 : allowlist_name(buf, n, e->name);
    int max = e->family == AF_INET ? 32 : 128;
    e->prefix = max;
    if (slash) {
        char *end;
        errno = 0;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end || errno || p < 0 || p > max)
            return -1;
        e->prefix = (int)p;
    }
    e->family = allowlist_unmap(e->family, e->addr);
    if (e->family == AF_INET && max == 128)
        e->prefix = e->prefix >= 96 ? e->prefix - 96 : 0;
    return 0;
}

int allowlist_parse(const char *text, struct allowlist *l, char *err, size_t errlen)
{
    l->entries = NULL;
    l->count = 0;
    if (!text || !*text)
        return 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    if (!(l->entries = calloc(cap, sizeof *l->entries))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (n > 0 && isspace((unsigned char)*s))
            s++, n--;
        while (n > 0 && isspace((unsigned char)s[n - 1]))
            n--;
        if (n > 0 && allowlist_entry_parse(s, n, &l->entries[l->count++]) != 0) {
            snprintf(err, errlen, "'%.*s' is neither a CIDR, an address nor a host name",
                     (int)(n > 80 ? 80 : n), s);
            allowlist_free(l);
            return -1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

void allowlist_free(struct allowlist *l)
{
    free(l->entries);
    l->entries = NULL;
    l->count = 0;
}

/* Whether the address is inside a listed CIDR. */
static int allowlist_cidr_holds(const struct allowlist *l, int family, const unsigned char *addr)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->entries[i].family == family &&
            allowlist_prefix_match(addr, l->entries[i].addr, l->entries[i].prefix))
            return 1;
    return 0;
}

int allowlist_permits_host(const struct allowlist *l, const char *host, int *by_name)
{
    if (by_name)
        *by_name = 0;
    unsigned char addr[16];
    int family = allowlist_literal(host, addr);
    if (family)
        return allowlist_cidr_holds(l, allowlist_unmap(family, addr), addr);
    char name[ALLOWLIST_NAME_MAX + 1];
    if (allowlist_name(host, strlen(host), name) != 0)
        return 0;
    for (size_t i = 0; i < l->count; i++)
        if (l->entries[i].family == 0 && strcmp(l->entries[i].name, name) == 0) {
            if (by_name)
                *by_name = 1;
            return 1;
        }
    return 0;
}

/* The address space that is not the public internet: a listed name that
 * resolves into it is refused. */
struct allowlist_block {
    int family;
    unsigned char addr[16];
    int prefix;
};

static const struct allowlist_block allowlist_internal[] = {
    {AF_INET, {0}, 8},                        /* "this" network */
    {AF_INET, {10}, 8},                       /* private */
    {AF_INET, {100, 64}, 10},                 /* shared (carrier-grade NAT) */
    {AF_INET, {127}, 8},                      /* loopback */
    {AF_INET, {169, 254}, 16},                /* link-local (cloud metadata) */
    {AF_INET, {172, 16}, 12},                 /* private */
    {AF_INET, {192, 0, 0}, 24},               /* protocol assignments */
    {AF_INET, {192, 0, 2}, 24},               /* documentation */
    {AF_INET, {192, 168}, 16},                /* private */
    {AF_INET, {198, 18}, 15},                 /* benchmarking */
    {AF_INET, {198, 51, 100}, 24},            /* documentation */
    {AF_INET, {203, 0, 113}, 24},             /* documentation */
    {AF_INET, {224}, 3},                      /* multicast, reserved, broadcast */
    {AF_INET6, {0}, 96},                      /* unspecified, loopback, IPv4-compatible */
    {AF_INET6, {0, 0x64, 0xff, 0x9b}, 96},    /* NAT64: any IPv4 address */
    {AF_INET6, {0x01, 0x00}, 64},             /* discard */
    {AF_INET6, {0x20, 0x01, 0x00, 0x00}, 32}, /* Teredo: any IPv4 address */
    {AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 32}, /* documentation */
    {AF_INET6, {0x20, 0x02}, 16},             /* 6to4: any IPv4 address */
    {AF_INET6, {0xfc}, 7},                    /* unique local */
    {AF_INET6, {0xfe, 0x80}, 10},             /* link-local */
    {AF_INET6, {0xfe, 0xc0}, 10},             /* site-local */
    {AF_INET6, {0xff}, 8},                    /* multicast */
};

static int allowlist_is_internal(int family, const unsigned char *addr)
{
    for (size_t i = 0; i < sizeof allowlist_internal / sizeof allowlist_internal[0]; i++)
        if (allowlist_internal[i].family == family &&
            allowlist_prefix_match(addr, allowlist_internal[i].addr, allowlist_internal[i].prefix))
            return 1;
    return 0;
}

int allowlist_permits_address(const struct allowlist *l, const struct sockaddr *sa, int by_name)
{
    unsigned char addr[16];
    int family;
    if (sa->sa_family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        family = AF_INET;
    } else if (sa->sa_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        family = allowlist_unmap(AF_INET6, addr);
    } else {
        return 0;
    }
    if (allowlist_cidr_holds(l, family, addr))
        return 1;
    return by_name && !allowlist_is_internal(family, addr);
}

enum allowlist_url allowlist_check_url(const struct allowlist *l, const char *url, int *by_name)
{
    if (by_name)
        *by_name = 0;
    char *scheme = NULL, *host = NULL, *user = NULL;
    CURLU *u = curl_url();
    enum allowlist_url verdict = ALLOWLIST_URL_MALFORMED;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
        curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER)
        verdict = allowlist_permits_host(l, host, by_name) ? ALLOWLIST_URL_ALLOWED
                                                           : ALLOWLIST_URL_REFUSED;
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return verdict;
}
