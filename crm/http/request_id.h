/*
 * request_id: the X-Request-Id of a request, echoed when the client sent a
 * sane one, generated otherwise.
 */
#ifndef CRM_REQUEST_ID_H
#define CRM_REQUEST_ID_H

#include <stddef.h>

#define REQUEST_ID_MAX 64

/* 1 when id is 1..64 characters of [A-Za-z0-9._:-], else 0. */
int request_id_valid(const char *id);

/* Writes 20 random lowercase hex characters and a terminator into out
 * (at least 21 bytes). */
void request_id_generate(char *out);

/* Copies the client's id when valid, else generates one, into out
 * (REQUEST_ID_MAX + 1 bytes). client may be NULL. */
void request_id_choose(const char *client, char *out);

#endif
