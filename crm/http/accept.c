/*
 * accept: see accept.h. The grammar is RFC 9110's: a comma-separated list
 * of type/subtype, each with ";name=value" parameters (a value a token or a
 * quoted string), one of which may be the weight "q" (0 to 1, three decimals
 * at most).
 */
#include "http/accept.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* One element of the list, pointing into the header. */
struct accept_range {
    const char *type, *sub;
    size_t type_len, sub_len;
    int q; /* thousandths */
};

static const char *accept_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *accept_token_end(const char *p)
{
    while (*p > ' ' && *p < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", *p))
        p++;
    return p;
}

/* p is at the opening quote; returns past the closing one, or NULL when
 * there is none. */
static const char *accept_quoted_end(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p == '"' ? p + 1 : NULL;
}

/* "0.8" as 800; -1 when it is not a qvalue. */
static int accept_qvalue(const char *p, size_t n)
{
    if (n == 0 || n > 5 || (p[0] != '0' && p[0] != '1') || (n > 1 && p[1] != '.'))
        return -1;
    int q = (p[0] - '0') * 1000, scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        q += (p[i] - '0') * scale;
    }
    return q <= 1000 ? q : -1;
}

/* Reads the parameters after a media range; sets r->q from a "q" among
 * them. Returns where they end, or NULL when one is malformed. */
static const char *accept_params(const char *p, struct accept_range *r)
{
    for (p = accept_ows(p); *p == ';'; p = accept_ows(p)) {
        const char *name = accept_ows(p + 1);
        p = accept_token_end(name);
        size_t name_len = (size_t)(p - name);
        if (name_len == 0 && *p != '=')
            continue; /* an empty parameter ("text/html;") is allowed */
        if (name_len == 0 || *p != '=')
            return NULL;
        const char *value = ++p;
        p = *p == '"' ? accept_quoted_end(p) : accept_token_end(p);
        if (!p)
            return NULL;
        if (name_len == 1 && (*name == 'q' || *name == 'Q')) {
            r->q = accept_qvalue(value, (size_t)(p - value));
            if (r->q < 0)
                return NULL;
        }
    }
    return p;
}

/* Parses the element at p into r. Returns 1 when it is a media range,
 * 0 when not; either way *next is where the next element starts. */
static int accept_range_parse(const char *p, struct accept_range *r, const char **next)
{
    r->q = 1000;
    r->type = accept_ows(p);
    p = accept_token_end(r->type);
    r->type_len = (size_t)(p - r->type);
    r->sub = *p == '/' ? p + 1 : p;
    p = accept_token_end(r->sub);
    r->sub_len = (size_t)(p - r->sub);
    int ok = r->type_len > 0 && r->sub_len > 0 &&
             !(r->type_len == 1 && r->type[0] == '*' && !(r->sub_len == 1 && r->sub[0] == '*'));
    p = ok ? accept_params(p, r) : NULL;
    ok = p && (*p == ',' || *p == '\0');
    if (!p)
        p = r->type;
    while (*p && *p != ',')
        p++; /* a malformed element ends at the next comma */
    *next = *p ? p + 1 : p;
    return ok;
}

/* How specifically r names type/sub: 3 exactly, 2 by its type, 1 as any
 * type, 0 not at all. */
static int accept_rank(const struct accept_range *r, const char *type, size_t type_len,
                       const char *sub)
{
    if (r->type_len == 1 && r->type[0] == '*')
        return 1;
    if (r->type_len != type_len || strncasecmp(r->type, type, type_len) != 0)
        return 0;
    if (r->sub_len == 1 && r->sub[0] == '*')
        return 2;
    return r->sub_len == strlen(sub) && strncasecmp(r->sub, sub, r->sub_len) == 0 ? 3 : 0;
}

int accept_quality(const char *accept, const char *type)
{
    if (!accept)
        return 1000;
    const char *slash = strchr(type, '/');
    size_t type_len = slash ? (size_t)(slash - type) : strlen(type);
    const char *sub = slash ? slash + 1 : "";
    int best_rank = 0, best_q = 0;
    struct accept_range r;
    for (const char *p = accept; *p;) {
        if (!accept_range_parse(p, &r, &p))
            continue;
        int rank = accept_rank(&r, type, type_len, sub);
        if (rank > best_rank || (rank > 0 && rank == best_rank && r.q > best_q)) {
            best_rank = rank;
            best_q = r.q;
        }
    }
    return best_q;
}
