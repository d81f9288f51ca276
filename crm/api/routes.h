/*
 * routes: the table of every route the service serves, and its handlers.
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
void units_list(struct exchange *x);     /* GET /api/v1/units */

#endif
