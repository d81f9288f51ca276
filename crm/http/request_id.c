/*
 * request_id: see request_id.h. Random bytes come from libsodium.
 */
#include "http/request_id.h"

#include <sodium.h>
#include <string.h>

int request_id_valid(const char *id)
{
    size_t n = 0;
    for (const char *c = id; *c; c++, n++) {
        unsigned char ch = (unsigned char)*c;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == ':' || ch == '-';
        if (!ok || n >= REQUEST_ID_MAX)
            return 0;
    }
    return n > 0;
}

void request_id_generate(char *out)
{
    unsigned char raw[10];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 21, raw, sizeof raw);
}

void request_id_choose(const char *client, char *out)
{
    if (client && request_id_valid(client))
        memcpy(out, client, strlen(client) + 1);
    else
        request_id_generate(out);
}
