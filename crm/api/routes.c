/*
 * routes: see routes.h. DESIGN.md section 4 in one table.
 */
#include "api/routes.h"

#include "api/resources.h"
#include "api/webhooks.h"
#include "auth/roles.h"

#define READERS ROLE_ANY
#define CRM_WRITERS (ROLE_ADMIN | ROLE_BUREAU | ROLE_UNIT)
#define LOGGERS (ROLE_ADMIN | ROLE_BUREAU | ROLE_UNIT | ROLE_LEADER)
#define VERIFIERS (ROLE_BUREAU | ROLE_VIEWER)
#define BATCHERS (ROLE_ADMIN | ROLE_BUREAU)
#define FREEZERS (ROLE_ADMIN | ROLE_VIEWER)
/* Lists, figures and exports: a replica may serve them (http/reads.h). */
#define REPLICA 1
#define PRIMARY 0

const struct route api_routes[] = {
    {HTTP_GET, "/healthz", health_alive, ROLE_PUBLIC, NULL, NULL, PRIMARY},
    {HTTP_GET, "/readyz", health_ready, ROLE_PUBLIC, NULL, NULL, PRIMARY},
    {HTTP_GET, "/metrics", health_metrics, ROLE_PUBLIC, NULL, NULL, PRIMARY},
    {HTTP_GET, "/", console_home, ROLE_PUBLIC, NULL, NULL, PRIMARY},
    {HTTP_GET, "/assets/{name}", console_asset, ROLE_PUBLIC, NULL, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/openapi.yaml", contract_openapi, ROLE_PUBLIC, NULL, NULL, PRIMARY},

    {HTTP_POST, "/api/v1/auth/login", auth_login, ROLE_PUBLIC, NULL, NULL, PRIMARY},
    {HTTP_POST, "/api/v1/auth/logout", auth_logout, ROLE_ANY, NULL, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/me", auth_me, ROLE_ANY, NULL, NULL, PRIMARY},
    {HTTP_POST, "/api/v1/me/password", auth_password_change, ROLE_ANY, NULL, NULL, PRIMARY},

    {HTTP_GET, "/api/v1/users", users_list, ROLE_ADMIN, NULL, NULL, REPLICA},
    {HTTP_POST, "/api/v1/users", users_create, ROLE_ADMIN, NULL, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/users/{id}", users_get, ROLE_ADMIN, NULL, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/users/{id}", users_update, ROLE_ADMIN, NULL, NULL, PRIMARY},
    {HTTP_POST, "/api/v1/users/{id}/password", users_password_reset, ROLE_ADMIN, NULL, NULL,
     PRIMARY},
    {HTTP_DELETE, "/api/v1/users/{id}/sessions", users_sessions_end, ROLE_ADMIN, NULL, NULL,
     PRIMARY},

    {HTTP_GET, "/api/v1/units", units_list, ROLE_ANY, NULL, NULL, REPLICA},
    {HTTP_POST, "/api/v1/units", resource_create, ROLE_ADMIN, &units, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/units/{id}", resource_get, ROLE_ANY, &units, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/units/{id}", resource_update, ROLE_ADMIN, &units, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/audit", audit_list, ROLE_ADMIN | ROLE_VIEWER, NULL, NULL, REPLICA},

    {HTTP_GET, "/api/v1/investors", resource_list, READERS, &investors, NULL, REPLICA},
    {HTTP_POST, "/api/v1/investors", resource_create, CRM_WRITERS, &investors, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/investors/{id}", resource_get, READERS, &investors, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/investors/{id}", resource_update, CRM_WRITERS, &investors, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/investors/{id}/contacts", resource_list_of, READERS, &contacts, NULL,
     REPLICA},
    {HTTP_POST, "/api/v1/investors/{id}/contacts", resource_create_of, CRM_WRITERS, &contacts,
     NULL, PRIMARY},
    {HTTP_DELETE, "/api/v1/contacts/{id}", resource_delete, CRM_WRITERS, &contacts, NULL, PRIMARY},

    {HTTP_GET, "/api/v1/projects", resource_list, READERS, &projects, NULL, REPLICA},
    {HTTP_POST, "/api/v1/projects", resource_create, CRM_WRITERS, &projects, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/projects/{id}", resource_get, READERS, &projects, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/projects/{id}", resource_update, CRM_WRITERS, &projects, NULL, PRIMARY},
    {HTTP_POST, "/api/v1/projects/{id}/transitions", projects_transition, CRM_WRITERS, NULL, NULL,
     PRIMARY},
    {HTTP_GET, "/api/v1/projects/{id}/history", projects_history, READERS, NULL, NULL, PRIMARY},

    {HTTP_GET, "/api/v1/contracts", resource_list, READERS, &contracts, NULL, REPLICA},
    {HTTP_POST, "/api/v1/contracts", resource_create, CRM_WRITERS, &contracts, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/contracts/{id}", resource_get, READERS, &contracts, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/contracts/{id}", resource_update, CRM_WRITERS, &contracts, NULL, PRIMARY},
    {HTTP_DELETE, "/api/v1/contracts/{id}", resource_delete, CRM_WRITERS, &contracts, NULL,
     PRIMARY},
    {HTTP_POST, "/api/v1/contracts/{id}/verify", claims_verify, VERIFIERS, &contracts, NULL,
     PRIMARY},
    {HTTP_POST, "/api/v1/contracts/{id}/revoke", claims_revoke, CRM_WRITERS | ROLE_VIEWER,
     &contracts, NULL, PRIMARY},

    {HTTP_GET, "/api/v1/starts", resource_list, READERS, &starts, NULL, REPLICA},
    {HTTP_POST, "/api/v1/starts", resource_create, CRM_WRITERS, &starts, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/starts/{id}", resource_get, READERS, &starts, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/starts/{id}", resource_update, CRM_WRITERS, &starts, NULL, PRIMARY},
    {HTTP_DELETE, "/api/v1/starts/{id}", resource_delete, CRM_WRITERS, &starts, NULL, PRIMARY},
    {HTTP_POST, "/api/v1/starts/{id}/verify", claims_verify, VERIFIERS, &starts, NULL, PRIMARY},
    {HTTP_POST, "/api/v1/starts/{id}/revoke", claims_revoke, CRM_WRITERS | ROLE_VIEWER, &starts,
     NULL, PRIMARY},

    {HTTP_GET, "/api/v1/interactions", resource_list, READERS, &interactions, NULL, REPLICA},
    {HTTP_POST, "/api/v1/interactions", resource_create, LOGGERS, &interactions, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/interactions/{id}", resource_get, READERS, &interactions, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/interactions/{id}", resource_update, LOGGERS, &interactions, NULL,
     PRIMARY},
    {HTTP_GET, "/api/v1/stats/leaders", stats_leaders, READERS, NULL, NULL, REPLICA},

    {HTTP_GET, "/api/v1/problems", resource_list, READERS, &problems, NULL, REPLICA},
    {HTTP_POST, "/api/v1/problems", resource_create, LOGGERS, &problems, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/problems/{id}", resource_get, READERS, &problems, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/problems/{id}", resource_update, LOGGERS, &problems, NULL, PRIMARY},

    {HTTP_GET, "/api/v1/batches", resource_list, READERS, &batches, NULL, REPLICA},
    {HTTP_POST, "/api/v1/batches", resource_create, BATCHERS, &batches, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/batches/{id}", resource_get, READERS, &batches, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/batches/{id}", resource_update, BATCHERS, &batches, NULL, PRIMARY},

    {HTTP_GET, "/api/v1/targets/{year}", targets_get, READERS, NULL, NULL, PRIMARY},
    {HTTP_PUT, "/api/v1/targets/{year}", targets_put, ROLE_ADMIN, NULL, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/targets/{year}/quotas", quotas_get, READERS, NULL, NULL, PRIMARY},
    {HTTP_PUT, "/api/v1/targets/{year}/quotas", quotas_put, ROLE_ADMIN, NULL, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/stats/units/{id}", stats_unit, READERS, NULL, NULL, REPLICA},
    {HTTP_GET, "/api/v1/stats/ranking", stats_ranking, READERS, NULL, NULL, REPLICA},
    {HTTP_GET, "/api/v1/units/{id}/scorecard", units_scorecard, READERS, NULL, NULL, REPLICA},
    {HTTP_GET, "/api/v1/alerts", alerts_list, READERS, NULL, NULL, REPLICA},
    {HTTP_GET, "/api/v1/events", events_stream, READERS, NULL, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/scores/rules/{year}", score_rules_get, READERS, NULL, NULL, PRIMARY},
    {HTTP_PUT, "/api/v1/scores/rules/{year}", score_rules_put, ROLE_ADMIN, NULL, NULL, PRIMARY},
    {HTTP_POST, "/api/v1/scores/snapshots", snapshots_freeze, FREEZERS, NULL, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/scores/snapshots", snapshots_list, READERS, NULL, NULL, REPLICA},

    {HTTP_GET, "/api/v1/webhooks", resource_list, ROLE_ADMIN, &webhooks, NULL, PRIMARY},
    {HTTP_POST, "/api/v1/webhooks", webhooks_create, ROLE_ADMIN, &webhooks, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/webhooks/{id}", resource_get, ROLE_ADMIN, &webhooks, NULL, PRIMARY},
    {HTTP_PATCH, "/api/v1/webhooks/{id}", webhooks_update, ROLE_ADMIN, &webhooks, NULL, PRIMARY},
    {HTTP_DELETE, "/api/v1/webhooks/{id}", resource_delete, ROLE_ADMIN, &webhooks, NULL, PRIMARY},
    {HTTP_GET, "/api/v1/webhooks/{id}/deliveries", webhooks_deliveries, ROLE_ADMIN, NULL, NULL,
     PRIMARY},

    {HTTP_POST, "/api/v1/imports/projects", imports_projects, CRM_WRITERS, NULL, "text/csv",
     PRIMARY},
    {HTTP_GET, "/api/v1/exports/projects.csv", exports_projects_csv, READERS, NULL, NULL, REPLICA},
    {HTTP_GET, "/api/v1/exports/projects.xlsx", exports_projects_xlsx, READERS, NULL, NULL,
     REPLICA},
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];
