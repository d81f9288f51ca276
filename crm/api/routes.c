/*
 * routes: see routes.h. DESIGN.md section 4 in one table.
 */
#include "api/routes.h"

#include "auth/roles.h"

const struct route api_routes[] = {
    {HTTP_GET, "/healthz", health_alive, ROLE_PUBLIC},
    {HTTP_GET, "/readyz", health_ready, ROLE_PUBLIC},
    {HTTP_GET, "/metrics", health_metrics, ROLE_PUBLIC},

    {HTTP_POST, "/api/v1/auth/login", auth_login, ROLE_PUBLIC},
    {HTTP_POST, "/api/v1/auth/logout", auth_logout, ROLE_ANY},
    {HTTP_GET, "/api/v1/me", auth_me, ROLE_ANY},
    {HTTP_POST, "/api/v1/me/password", auth_password_change, ROLE_ANY},

    {HTTP_GET, "/api/v1/users", users_list, ROLE_ADMIN},
    {HTTP_POST, "/api/v1/users", users_create, ROLE_ADMIN},
    {HTTP_GET, "/api/v1/users/{id}", users_get, ROLE_ADMIN},
    {HTTP_PATCH, "/api/v1/users/{id}", users_update, ROLE_ADMIN},
    {HTTP_POST, "/api/v1/users/{id}/password", users_password_reset, ROLE_ADMIN},
    {HTTP_DELETE, "/api/v1/users/{id}/sessions", users_sessions_end, ROLE_ADMIN},

    {HTTP_GET, "/api/v1/units", units_list, ROLE_ANY},
    {HTTP_GET, "/api/v1/audit", audit_list, ROLE_ADMIN | ROLE_VIEWER},
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];
