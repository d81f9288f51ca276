/*
 * webhooks: the /api/v1/webhooks routes (administrators only). A webhook is
 * a collection served by api/resources.c (list, get, create, PATCH with
 * If-Match, DELETE) with one rule of its own checked here first, on POST
 * and PATCH, before PostgreSQL sees it: its URL's host must be an allowed
 * destination (CRM_WEBHOOK_ALLOW, events/allowlist.h), else 422 on "url". Its
 * deliveries, each with its attempts, are a page of their own, newest
 * first. The rules of the data (event types, secret, scope) are in
 * sql/schema/93_webhooks.sql; the secret is never answered.
 */
#ifndef CRM_WEBHOOKS_H
#define CRM_WEBHOOKS_H

#include "api/resources.h"

struct exchange;

extern const struct resource webhooks;

void webhooks_create(struct exchange *x); /* POST /api/v1/webhooks */
void webhooks_update(struct exchange *x); /* PATCH /api/v1/webhooks/{id} */

/* GET /api/v1/webhooks/{id}/deliveries?limit&cursor: 404 when the webhook
 * is not the caller's to see. */
void webhooks_deliveries(struct exchange *x);

#endif
