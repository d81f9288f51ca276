/*
 * token: see token.h.
 */
#include "auth/token.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

void token_new(char *out, unsigned char hash[TOKEN_HASH_BYTES])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, TOKEN_CHARS + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    crypto_generichash(hash, TOKEN_HASH_BYTES, raw, sizeof raw, NULL, 0);
    sodium_memzero(raw, sizeof raw);
}

/* The base64url alphabet (RFC 4648, section 5), without padding. */
static const char token_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int token_hash(const char *token, size_t len, unsigned char hash[TOKEN_HASH_BYTES])
{
    unsigned char raw[32];
    size_t rawlen = 0;
    const char *end = NULL;
    if (len != TOKEN_CHARS)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!token[i] || !strchr(token_alphabet, token[i]))
            return -1;
    if (sodium_base642bin(raw, sizeof raw, token, len, NULL, &rawlen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        rawlen != sizeof raw || end != token + len)
        return -1;
    crypto_generichash(hash, TOKEN_HASH_BYTES, raw, sizeof raw, NULL, 0);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

int token_from_bearer(const char *header, unsigned char hash[TOKEN_HASH_BYTES])
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return -1;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    size_t len = strlen(t);
    while (len && t[len - 1] == ' ')
        len--;
    return token_hash(t, len, hash);
}

void token_hash_hex(const unsigned char hash[TOKEN_HASH_BYTES], char *out)
{
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, 2 * TOKEN_HASH_BYTES + 1, hash, TOKEN_HASH_BYTES);
}
