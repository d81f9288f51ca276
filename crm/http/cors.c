/*
 * cors: see cors.h.
 */
#include "http/cors.h"

#include <stdlib.h>
#include <string.h>

/* scheme://host[:port] and nothing more: no path, query, fragment or user. */
static int cors_origin_valid(const char *o, size_t n)
{
    size_t i = 0;
    while (i < n && ((o[i] >= 'a' && o[i] <= 'z') || (o[i] >= '0' && o[i] <= '9') ||
                     o[i] == '+' || o[i] == '-' || o[i] == '.'))
        i++;
    if (i == 0 || i + 3 >= n || strncmp(o + i, "://", 3) != 0)
        return 0;
    size_t host = i + 3, colon = 0;
    for (i = host; i < n; i++) {
        char ch = o[i];
        if (ch <= ' ' || (unsigned char)ch >= 0x7f || strchr("/?#@,", ch))
            return 0;
        if (ch == ':')
            colon = i;
    }
    if (colon) {
        if (colon == host || n - colon - 1 < 1 || n - colon - 1 > 5)
            return 0;
        for (i = colon + 1; i < n; i++)
            if (o[i] < '0' || o[i] > '9')
                return 0;
    }
    return 1;
}

int cors_parse(struct cors_list *list, const char *spec)
{
    list->origins = NULL;
    list->count = 0;
    const char *p = spec ? spec : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        size_t n = (size_t)(end - start);
        if (n == 0)
            continue;
        if (!cors_origin_valid(start, n))
            goto failed;
        char **grown = realloc(list->origins, (list->count + 1) * sizeof *grown);
        if (!grown)
            goto failed;
        list->origins = grown;
        if (!(list->origins[list->count] = strndup(start, n)))
            goto failed;
        list->count++;
    }
    return 0;
failed:
    cors_free(list);
    return -1;
}

int cors_allowed(const struct cors_list *list, const char *origin)
{
    if (!origin)
        return 0;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->origins[i], origin) == 0)
            return 1;
    return 0;
}

void cors_free(struct cors_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->origins[i]);
    free(list->origins);
    list->origins = NULL;
    list->count = 0;
}
