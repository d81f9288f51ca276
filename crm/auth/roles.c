/*
 * roles: see roles.h.
 */
#include "auth/roles.h"

#include <stdio.h>
#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} role_names[] = {
    {ROLE_ADMIN, "admin"}, {ROLE_LEADER, "leader"}, {ROLE_BUREAU, "bureau"},
    {ROLE_UNIT, "unit"},   {ROLE_VIEWER, "viewer"},
};
#define N_ROLES (sizeof role_names / sizeof role_names[0])

const char *role_name(unsigned role)
{
    for (size_t i = 0; i < N_ROLES; i++)
        if (role_names[i].bit == role)
            return role_names[i].name;
    return NULL;
}

unsigned role_parse(const char *name)
{
    for (size_t i = 0; name && i < N_ROLES; i++)
        if (strcmp(role_names[i].name, name) == 0)
            return role_names[i].bit;
    return 0;
}

char *role_array_literal(unsigned mask, char *out, size_t outlen)
{
    size_t used = (size_t)snprintf(out, outlen, "{");
    for (size_t i = 0; i < N_ROLES && used < outlen; i++)
        if (mask & role_names[i].bit)
            used += (size_t)snprintf(out + used, outlen - used, "%s%s", used > 1 ? "," : "",
                                     role_names[i].name);
    if (used < outlen)
        snprintf(out + used, outlen - used, "}");
    return out;
}
