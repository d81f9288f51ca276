/*
 * signature: see signature.h.
 */
#include "events/signature.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void signature_header(const char *secret, size_t secret_len, long long timestamp, const char *body,
                      size_t body_len, char out[SIGNATURE_HEADER_LEN + 1])
{
    char ts[24];
    int n = snprintf(ts, sizeof ts, "%lld.", timestamp);
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "v1=", 3);
    sodium_bin2hex(out + 3, SIGNATURE_HEADER_LEN + 1 - 3, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}
