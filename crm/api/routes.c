/*
 * routes: see routes.h.
 */
#include "api/routes.h"

const struct route api_routes[] = {
    {HTTP_GET, "/healthz", health_alive},
    {HTTP_GET, "/readyz", health_ready},
    {HTTP_GET, "/metrics", health_metrics},
    {HTTP_GET, "/api/v1/units", units_list},
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];
