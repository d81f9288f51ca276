/*
 * roles: the five roles of DESIGN.md section 4, as bits, so that a route can
 * say which roles may call it in one word of the route table.
 */
#ifndef CRM_ROLES_H
#define CRM_ROLES_H

#include <stddef.h>

enum role {
    ROLE_ADMIN = 1 << 0,
    ROLE_LEADER = 1 << 1,
    ROLE_BUREAU = 1 << 2,
    ROLE_UNIT = 1 << 3,
    ROLE_VIEWER = 1 << 4,
};

#define ROLE_PUBLIC 0u /* no caller needed */
#define ROLE_ANY (ROLE_ADMIN | ROLE_LEADER | ROLE_BUREAU | ROLE_UNIT | ROLE_VIEWER)

/* "admin" for ROLE_ADMIN, NULL for anything else. */
const char *role_name(unsigned role);

/* The bit of a role name, 0 when unknown. */
unsigned role_parse(const char *name);

/* A PostgreSQL text[] literal of the roles in mask: "{admin,viewer}".
 * Returns out. */
char *role_array_literal(unsigned mask, char *out, size_t outlen);

#endif
