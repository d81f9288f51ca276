/*
 * routes: the table of every route the service serves, who may call it, and
 * its handler: the one place that says which role may call which route.
 * api/openapi.yaml must list exactly these (a test compares both ways).
 */
#ifndef CRM_ROUTES_H
#define CRM_ROUTES_H

#include <stddef.h>

#include "http/router.h"

extern const struct route api_routes[];
extern const size_t api_nroutes;

struct exchange;

void health_alive(struct exchange *x);   /* GET /healthz */
void health_ready(struct exchange *x);   /* GET /readyz */
void health_metrics(struct exchange *x); /* GET /metrics */

void contract_index(struct exchange *x);   /* GET / for a program (console_home chooses) */
void contract_openapi(struct exchange *x); /* GET /api/v1/openapi.yaml */

void console_home(struct exchange *x);  /* GET /: the console's page, or contract_index */
void console_asset(struct exchange *x); /* GET /assets/{name} */

void auth_login(struct exchange *x);           /* POST /api/v1/auth/login */
void auth_logout(struct exchange *x);          /* POST /api/v1/auth/logout */
void auth_me(struct exchange *x);              /* GET /api/v1/me */
void auth_password_change(struct exchange *x); /* POST /api/v1/me/password */

void users_list(struct exchange *x);           /* GET /api/v1/users */
void users_create(struct exchange *x);         /* POST /api/v1/users */
void users_get(struct exchange *x);            /* GET /api/v1/users/{id} */
void users_update(struct exchange *x);         /* PATCH /api/v1/users/{id} */
void users_password_reset(struct exchange *x); /* POST /api/v1/users/{id}/password */
void users_sessions_end(struct exchange *x);   /* DELETE /api/v1/users/{id}/sessions */

void units_list(struct exchange *x); /* GET /api/v1/units */
void audit_list(struct exchange *x); /* GET /api/v1/audit */

void projects_transition(struct exchange *x); /* POST /api/v1/projects/{id}/transitions */
void projects_history(struct exchange *x);    /* GET /api/v1/projects/{id}/history */
void claims_verify(struct exchange *x);       /* POST /api/v1/{contracts,starts}/{id}/verify */
void claims_revoke(struct exchange *x);       /* POST /api/v1/{contracts,starts}/{id}/revoke */
void stats_leaders(struct exchange *x);       /* GET /api/v1/stats/leaders */

void targets_get(struct exchange *x);      /* GET /api/v1/targets/{year} */
void targets_put(struct exchange *x);      /* PUT /api/v1/targets/{year} */
void quotas_get(struct exchange *x);       /* GET /api/v1/targets/{year}/quotas */
void quotas_put(struct exchange *x);       /* PUT /api/v1/targets/{year}/quotas */
void stats_unit(struct exchange *x);       /* GET /api/v1/stats/units/{id} */
void stats_ranking(struct exchange *x);    /* GET /api/v1/stats/ranking */
void units_scorecard(struct exchange *x);  /* GET /api/v1/units/{id}/scorecard */
void alerts_list(struct exchange *x);      /* GET /api/v1/alerts */
void events_stream(struct exchange *x);    /* GET /api/v1/events (Server-Sent Events) */
void score_rules_get(struct exchange *x);  /* GET /api/v1/scores/rules/{year} */
void score_rules_put(struct exchange *x);  /* PUT /api/v1/scores/rules/{year} */
void snapshots_freeze(struct exchange *x); /* POST /api/v1/scores/snapshots */
void snapshots_list(struct exchange *x);   /* GET /api/v1/scores/snapshots */

void imports_projects(struct exchange *x);      /* POST /api/v1/imports/projects (CSV) */
void exports_projects_csv(struct exchange *x);  /* GET /api/v1/exports/projects.csv */
void exports_projects_xlsx(struct exchange *x); /* GET /api/v1/exports/projects.xlsx */

#endif
