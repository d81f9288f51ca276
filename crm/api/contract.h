/*
 * contract: api/openapi.yaml as built into the program (cmake/embed.cmake
 * generates the definitions from the file at build time, so the served
 * contract is always the one this build was made from and crm needs no
 * source tree at run time). The handlers are declared in routes.h.
 */
#ifndef CRM_CONTRACT_H
#define CRM_CONTRACT_H

#include <stddef.h>

/* The file's bytes, followed by a NUL that contract_openapi_yaml_len leaves out. */
extern const unsigned char contract_openapi_yaml[];
extern const size_t contract_openapi_yaml_len;
/* A strong entity tag of the file (its SHA-256, quotes included). */
extern const char contract_openapi_yaml_etag[];

/* 1 when an If-None-Match header (a list of entity tags, weak or strong, or
 * "*"; may be NULL) names etag, by the weak comparison RFC 9110 asks of it. */
int contract_etag_matches(const char *if_none_match, const char *etag);

#endif
