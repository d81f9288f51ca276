/*
 * token: session tokens. A token is 32 random bytes (randombytes_buf) in
 * base64url without padding (43 characters); only its BLAKE2b-256 hash
 * (crypto_generichash) is stored, so a database dump yields no usable token.
 */
#ifndef CRM_TOKEN_H
#define CRM_TOKEN_H

#include <stddef.h>

#define TOKEN_CHARS 43
#define TOKEN_HASH_BYTES 32
#define TOKEN_HASH_HEX_CHARS (2 + 2 * TOKEN_HASH_BYTES) /* "\x" + hex: a bytea literal */

/* A new token into out (TOKEN_CHARS + 1 bytes) and its hash. */
void token_new(char *out, unsigned char hash[TOKEN_HASH_BYTES]);

/* Hashes the token text (len bytes): 0, or -1 when it is not exactly 43
 * characters of the base64url alphabet (no padding, no NUL, nothing else)
 * in the canonical encoding of 32 bytes (the unused low bits of the last
 * character zero). */
int token_hash(const char *token, size_t len, unsigned char hash[TOKEN_HASH_BYTES]);

/* From an Authorization header value ("Bearer <token>", scheme
 * case-insensitive, spaces around the token ignored): 0 with the hash, or
 * -1 for anything else. header may be NULL. A value evhttp cut at a NUL
 * byte cannot be told from a whole one here: conns.h refuses those
 * requests. */
int token_from_bearer(const char *header, unsigned char hash[TOKEN_HASH_BYTES]);

/* The hash as a bytea text literal "\x..." into out (TOKEN_HASH_HEX_CHARS + 1). */
void token_hash_hex(const unsigned char hash[TOKEN_HASH_BYTES], char *out);

#endif
