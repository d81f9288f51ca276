/*
 * cors: see cors.h.
 */
#include "http/cors.h"

#include <stdlib.h>
#include <string.h>

static int cors_origin_valid(const char *o, size_t n)
{
    const char *sep = NULL;
    for (size_t i = 0; i + 2 < n; i++)
        if (o[i] == ':' && o[i + 1] == '/' && o[i + 2] == '/') {
            sep = o + i;
            break;
        }
    if (!sep || sep == o || (size_t)(sep - o) + 3 >= n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (o[i] <= ' ' || o[i] == ',' || (unsigned char)o[i] >= 0x7f)
            return 0;
    return o[n - 1] != '/';
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
