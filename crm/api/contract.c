/*
 * contract: what a newcomer to the service finds without a token: `GET /`
 * (the service, its version and where to go next; a browser gets the web
 * console instead, api/console.c chooses) and `GET /api/v1/openapi.yaml`
 * (the contract itself, built into the program).
 */
#include "api/contract.h"

#include <event2/http.h>
#include <string.h>

#include "api/routes.h"
#include "http/exchange.h"

int contract_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match)
        return 0;
    size_t want = strlen(etag);
    const char *p = if_none_match;
    while (*p) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (!end)
            return 0; /* not a list of entity tags: matches nothing */
        if ((size_t)(end + 1 - p) == want && memcmp(p, etag, want) == 0)
            return 1;
        p = end + 1;
    }
    return 0;
}

void contract_openapi(struct exchange *x)
{
    exchange_add_header(x, "ETag", contract_openapi_yaml_etag);
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(x->req), "If-None-Match");
    if (contract_etag_matches(inm, contract_openapi_yaml_etag)) {
        exchange_send_empty(x, 304);
        return;
    }
    exchange_send(x, 200, "application/yaml", (const char *)contract_openapi_yaml,
                  contract_openapi_yaml_len);
}

/* Where a newcomer goes next, in the order a front-end developer needs them. */
static const struct {
    const char *name, *href, *title;
} contract_links[] = {
    {"openapi", "/api/v1/openapi.yaml", "The API contract (OpenAPI 3.1)"},
    {"login", "/api/v1/auth/login", "Log in: POST {username, password}"},
    {"healthz", "/healthz", "Liveness"},
    {"readyz", "/readyz", "Readiness (the database and its schema)"},
    {"metrics", "/metrics", "Prometheus metrics"},
};

void contract_index(struct exchange *x)
{
    json_t *links = json_object();
    for (size_t i = 0; links && i < sizeof contract_links / sizeof contract_links[0]; i++)
        json_object_set_new(links, contract_links[i].name,
                            json_pack("{s:s, s:s}", "href", contract_links[i].href, "title",
                                      contract_links[i].title));
    exchange_send_json(x, 200,
                       json_pack("{s:s, s:s, s:s, s:s, s:o}", "service", "crm", "description",
                                 "The investment-promotion CRM (招商引资 CRM): HTTP/JSON API",
                                 "version", CRM_VERSION, "api", "/api/v1", "links", links));
}
