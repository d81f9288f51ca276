/*
 * router: maps a method and a path to a route of a static table.
 *
 * Patterns are literal segments and {name} parameters ("/api/v1/units/{id}").
 * Matching is pure: no allocation, parameters point into the caller's path.
 * GET routes also answer HEAD. A path that matches only with another method
 * yields ROUTER_METHOD_NOT_ALLOWED and the mask for an Allow header.
 */
#ifndef CRM_ROUTER_H
#define CRM_ROUTER_H

#include <stddef.h>

enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_PATCH = 1 << 4,
    HTTP_DELETE = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
};

struct exchange;
typedef void (*route_handler)(struct exchange *x);

struct route {
    unsigned method; /* one enum http_method */
    const char *pattern;
    route_handler handler;
    unsigned roles; /* who may call it (auth/roles.h bits); 0: public, no caller */
    const void *arg;   /* the handler's own data (a resource description, say) */
    const char *media; /* the body's media type when not JSON ("text/csv"), or NULL */
    int replica;       /* a read a replica may serve (http/reads.h) */
};

#define ROUTER_MAX_PARAMS 8

struct route_param {
    const char *name; /* points into the pattern, not terminated */
    size_t name_len;
    const char *value; /* points into the path, not terminated */
    size_t value_len;
};

struct route_match {
    const struct route *route;
    size_t nparams;
    struct route_param params[ROUTER_MAX_PARAMS];
    unsigned allowed; /* methods the path accepts (for Allow) */
};

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

enum router_result router_match(const struct route *routes, size_t nroutes, unsigned method,
                                const char *path, struct route_match *m);

/* Copies the value of parameter name into out (outlen bytes, terminated).
 * Returns its length, or -1 when there is no such parameter or it does not fit. */
int router_param(const struct route_match *m, const char *name, char *out, size_t outlen);

/* Writes "GET, HEAD, POST" for a mask into out. Returns out. */
char *router_allow_header(unsigned mask, char *out, size_t outlen);

/* "GET" for HTTP_GET, etc.; "?" for anything else. */
const char *router_method_name(unsigned method);

#endif
