/*
 * accept: how much a request's Accept header (RFC 9110 section 12.5.1)
 * wants a media type, for the one route that answers in two (`GET /`: HTML
 * for a browser, JSON for everyone else). Pure: no allocation, no state.
 */
#ifndef CRM_ACCEPT_H
#define CRM_ACCEPT_H

/* The quality, in thousandths (0 to 1000), that accept gives type
 * ("text/html"): the q of the most specific range that names it (the type
 * itself, then its type with any subtype, then any type; among equals the
 * highest), 0 when none does. A missing header (NULL) accepts everything:
 * 1000. Names compare case-insensitively; parameters other than q are not
 * compared. An element that is not a media range with a valid q is ignored,
 * as if absent. */
int accept_quality(const char *accept, const char *type);

#endif
