/*
 * json_text: see json_text.h. One pass, no allocation.
 */
#include "http/json_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The end of the number token at in[i..len). */
static size_t number_end(const char *in, size_t i, size_t len)
{
    while (i < len && strchr("0123456789+-.eE", in[i]) && in[i] != '\0')
        i++;
    return i;
}

/* Copies the number in[from..to) to out without trailing fraction zeros. */
static size_t number_copy(const char *in, size_t from, size_t to, char *out)
{
    const char *dot = memchr(in + from, '.', to - from);
    if (dot && !memchr(in + from, 'e', to - from) && !memchr(in + from, 'E', to - from)) {
        while (to > from && in[to - 1] == '0')
            to--;
        if (in + to - 1 == dot)
            to--;
    }
    memcpy(out, in + from, to - from);
    return to - from;
}

size_t json_text_compact(const char *in, size_t len, char *out)
{
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        char c = in[i];
        if (c == '"') {
            size_t start = i++;
            while (i < len && in[i] != '"')
                i += in[i] == '\\' && i + 1 < len ? 2 : 1;
            i += i < len; /* the closing quote */
            memcpy(out + o, in + start, i - start);
            o += i - start;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t end = number_end(in, i, len);
            o += number_copy(in, i, end, out + o);
            i = end;
        } else {
            out[o++] = c;
            i++;
        }
    }
    return o;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

int json_text_top_integer(const char *text, const char *key, long long *value)
{
    size_t keylen = strlen(key);
    const char *p = skip_space(text);
    if (*p != '{')
        return -1;
    p++;
    int depth = 1;
    while (*p && depth > 0) {
        if (*p != '"') {
            if (*p == '{' || *p == '[')
                depth++;
            else if (*p == '}' || *p == ']')
                depth--;
            p++;
            continue;
        }
        const char *start = ++p;
        while (*p && *p != '"')
            p += p[0] == '\\' && p[1] ? 2 : 1;
        if (!*p)
            return -1;
        size_t len = (size_t)(p - start);
        p = skip_space(p + 1);
        /* A member's name at the top: a string followed by ':'. */
        if (depth != 1 || *p != ':' || len != keylen || memcmp(start, key, keylen) != 0)
            continue;
        const char *num = skip_space(p + 1);
        char *end;
        errno = 0;
        long long v = strtoll(num, &end, 10);
        end = (char *)skip_space(end);
        if (end == num || errno || (*end != ',' && *end != '}'))
            return -1;
        *value = v;
        return 0;
    }
    return -1;
}
