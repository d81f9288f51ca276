/*
 * webhook_sender: delivers the events owed to webhooks (sql/schema/93_webhooks.sql),
 * on one worker's loop, without ever blocking it.
 *
 * Every CRM_WEBHOOK_POLL_MS, whenever webhook_sender_kick() is called (events
 * were published), and when a retry falls due, the sender claims due
 * deliveries through the worker's pool (webhook_deliveries_claim: a claim
 * is a lock that lapses, so another process, or this one after a crash,
 * takes the delivery again: delivery is at least once). Each is POSTed with
 * libcurl's multi interface driven by the worker's event_base
 * (curl_multi_socket_action on libevent events and a timer), with:
 *   Content-Type: application/json
 *   X-CRM-Event: <type>        X-CRM-Delivery: <delivery id>
 *   X-CRM-Timestamp: <unix s>  X-CRM-Signature: v1=<hex HMAC-SHA256> (events/signature.h)
 * A 2xx answer is delivered; any other status, a connection error, a
 * redirect (never followed) or no answer within CRM_WEBHOOK_TIMEOUT_MS is a
 * failed attempt, retried after CRM_WEBHOOK_BACKOFF_MS doubled at each
 * failure (at most CRM_WEBHOOK_BACKOFF_MAX_MS) and given up after
 * CRM_WEBHOOK_MAX_ATTEMPTS. Each attempt is recorded
 * (webhook_attempt_record). The destination must pass CRM_WEBHOOK_ALLOW
 * (events/allowlist.h) by its URL and by the address connected to
 * (CURLOPT_OPENSOCKETFUNCTION): refused, the attempt fails with "address
 * not allowed". Names are resolved by libcurl's asynchronous (threaded)
 * resolver; a libcurl without one delivers to literal addresses only.
 *
 * Ownership: the worker holds the sender. The sender owns its curl handles,
 * events and transfers; its database jobs belong to the pool and refer to
 * the sender, which webhook_sender_stop() therefore frees only once the
 * last of them has called back (the pool calls every job back, at the
 * latest when it is freed).
 */
#ifndef CRM_WEBHOOK_SENDER_H
#define CRM_WEBHOOK_SENDER_H

struct worker;
struct webhook_sender;

/* Starts the sender on w's loop, with w's pool and the server's settings
 * (call before w's thread runs, or on it). Returns NULL when out of memory
 * or when CRM_WEBHOOK_ALLOW cannot be read (logged). */
struct webhook_sender *webhook_sender_start(struct worker *w);

/* Makes the sender look for due deliveries now. Safe from any thread
 * (event_active on the sender's loop). */
void webhook_sender_kick(struct webhook_sender *s);

/* Aborts the transfers in flight (their deliveries are tried again once
 * their claim lapses), stops the timers and frees s, or marks it to be
 * freed by its last database callback. On s's thread, or once it ended. */
void webhook_sender_stop(struct webhook_sender *s);

#endif
