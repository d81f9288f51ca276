/*
 * allowlist: where webhooks may deliver (CRM_WEBHOOK_ALLOW), so that a
 * webhook cannot be aimed at the service's own network.
 *
 * The list is comma-separated: CIDRs ("10.20.0.0/16", "fd00::/8"), single
 * addresses ("127.0.0.1", a /32 or /128) and host names ("hooks.example.gov.cn",
 * compared without case and without a final dot). An empty list allows
 * nothing. A destination is judged twice:
 * - its URL's host (when a webhook is written, and before each attempt):
 *   a literal address must be inside a listed CIDR, a name must be listed;
 * - the address actually connected to (after DNS, at every connection): it
 *   must be inside a listed CIDR or, when the URL named a listed host, a
 *   public address (not loopback, private, link-local, shared, multicast,
 *   reserved or documentation space). A listed name whose DNS answer is
 *   changed to point inside the network (DNS rebinding) is thereby refused,
 *   unless a CIDR lists that inside address itself.
 *
 * Ownership: allowlist_parse fills a struct allowlist that the caller frees
 * with allowlist_free. The checks keep nothing.
 */
#ifndef CRM_ALLOWLIST_H
#define CRM_ALLOWLIST_H

#include <stddef.h>
#include <sys/socket.h>

#define ALLOWLIST_NAME_MAX 253

struct allowlist_entry {
    int family;                        /* AF_INET, AF_INET6, or 0 for a host name */
    unsigned char addr[16];            /* network address (4 or 16 bytes used) */
    int prefix;                        /* bits of addr that must match */
    char name[ALLOWLIST_NAME_MAX + 1]; /* family 0: lower case, no final dot */
};

struct allowlist {
    struct allowlist_entry *entries;
    size_t count;
};

/* Parses text (NULL or empty: an empty list) into l. Returns 0, or -1 with
 * a message naming the bad entry in err (errlen bytes) and l empty. */
int allowlist_parse(const char *text, struct allowlist *l, char *err, size_t errlen);

void allowlist_free(struct allowlist *l);

/* Whether host, as a URL gives it ("10.0.0.1", "[::1]", "hooks.example.org"),
 * may be a destination. *by_name, when not NULL, is set to 1 when host is a
 * listed name (its addresses are then judged as allowlist_permits_address
 * says), else 0. */
int allowlist_permits_host(const struct allowlist *l, const char *host, int *by_name);

/* What allowlist_check_url finds of a webhook's URL. */
enum allowlist_url {
    ALLOWLIST_URL_ALLOWED,
    ALLOWLIST_URL_MALFORMED, /* not an http or https URL with a host (and no user name) */
    ALLOWLIST_URL_REFUSED,   /* its host is not an allowed destination */
};

/* Judges url (libcurl's URL parser, as the sender reads it) by its
 * scheme and host; *by_name as allowlist_permits_host sets it. */
enum allowlist_url allowlist_check_url(const struct allowlist *l, const char *url, int *by_name);

/* Whether a connection to sa may be made, for a URL whose host was a
 * listed name (by_name) or a literal address (!by_name). */
int allowlist_permits_address(const struct allowlist *l, const struct sockaddr *sa, int by_name);

#endif
