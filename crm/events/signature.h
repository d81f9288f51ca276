/*
 * signature: how a webhook delivery is signed, so that its receiver can tell
 * it came from this service and was not replayed long after.
 *
 * The signature is HMAC-SHA256 (libsodium's crypto_auth_hmacsha256), keyed
 * by the webhook's secret, of the delivery's timestamp (unix seconds, in
 * decimal), a ".", and the body, exactly as sent; the header
 * X-CRM-Signature carries it as "v1=" and 64 lowercase hex digits (v1 names
 * this scheme, so that another can join it). A receiver recomputes it from
 * X-CRM-Timestamp and the raw body, compares in constant time, and refuses
 * an old timestamp.
 *
 * Pure functions: nothing is kept, the caller owns every buffer.
 */
#ifndef CRM_SIGNATURE_H
#define CRM_SIGNATURE_H

#include <stddef.h>

/* "v1=" and 64 hex digits. */
#define SIGNATURE_HEADER_LEN (3 + 64)

/* Writes the X-CRM-Signature value of body (body_len bytes) sent at
 * timestamp under secret (secret_len bytes) into out, NUL-terminated.
 * Needs sodium_init() to have run. */
void signature_header(const char *secret, size_t secret_len, long long timestamp, const char *body,
                      size_t body_len, char out[SIGNATURE_HEADER_LEN + 1]);

#endif
