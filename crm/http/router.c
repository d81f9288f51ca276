/*
 * router: see router.h. The tables are small (tens of routes), so a linear
 * scan with segment comparison beats anything cleverer and stays obvious.
 */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

static const struct {
    unsigned method;
    const char *name;
} router_methods[] = {
    {HTTP_GET, "GET"},       {HTTP_HEAD, "HEAD"},     {HTTP_POST, "POST"},
    {HTTP_PUT, "PUT"},       {HTTP_PATCH, "PATCH"},   {HTTP_DELETE, "DELETE"},
    {HTTP_OPTIONS, "OPTIONS"},
};

const char *router_method_name(unsigned method)
{
    for (size_t i = 0; i < sizeof router_methods / sizeof router_methods[0]; i++)
        if (router_methods[i].method == method)
            return router_methods[i].name;
    return "?";
}

/* Matches one pattern against path; fills params. Returns 1 on a match. */
static int router_match_pattern(const char *pattern, const char *path, struct route_match *m)
{
    const char *p = pattern, *s = path;
    m->nparams = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++, s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || m->nparams == ROUTER_MAX_PARAMS)
                return 0;
            struct route_param *rp = &m->params[m->nparams++];
            rp->name = p + 1;
            rp->name_len = plen - 2;
            rp->value = s;
            rp->value_len = slen;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen, s += slen;
    }
    return *p == '\0' && *s == '\0';
}

enum router_result router_match(const struct route *routes, size_t nroutes, unsigned method,
                                const char *path, struct route_match *m)
{
    struct route_match probe;
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < nroutes; i++) {
        if (!router_match_pattern(routes[i].pattern, path, &probe))
            continue;
        unsigned accepts = routes[i].method;
        if (accepts == HTTP_GET)
            accepts |= HTTP_HEAD;
        m->allowed |= accepts;
        if ((accepts & method) && !m->route) {
            probe.allowed = 0;
            probe.route = &routes[i];
            unsigned allowed = m->allowed;
            *m = probe;
            m->allowed = allowed;
        }
    }
    if (m->route)
        return ROUTER_FOUND;
    return m->allowed ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

int router_param(const struct route_match *m, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < m->nparams; i++) {
        const struct route_param *rp = &m->params[i];
        if (rp->name_len != nlen || memcmp(rp->name, name, nlen) != 0)
            continue;
        if (rp->value_len + 1 > outlen)
            return -1;
        memcpy(out, rp->value, rp->value_len);
        out[rp->value_len] = '\0';
        return (int)rp->value_len;
    }
    return -1;
}

char *router_allow_header(unsigned mask, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof router_methods / sizeof router_methods[0]; i++) {
        if (!(mask & router_methods[i].method))
            continue;
        const char *sep = used ? ", " : "";
        size_t need = strlen(sep) + strlen(router_methods[i].name);
        if (need >= outlen - used)
            break; /* never a partial name */
        used += (size_t)snprintf(out + used, outlen - used, "%s%s", sep, router_methods[i].name);
    }
    return out;
}
