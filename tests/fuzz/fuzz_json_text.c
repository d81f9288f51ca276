/*
 * fuzz_json_text: json_text_compact on any bytes writes at most len bytes
 * (out is exactly len bytes, so AddressSanitizer sees one more) and only
 * drops bytes. On JSON it keeps the value (jansson reads the same document,
 * numbers as doubles: 0.7000 and 0.7 are one) and is idempotent: compacting
 * its own output changes nothing.
 */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "http/json_text.h"

/* The document in text, numbers read as doubles, or NULL when not JSON. */
static json_t *parse(const char *text, size_t len)
{
    return json_loadb(text, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    char *out = malloc(size ? size : 1);
    FUZZ_CHECK(out);
    size_t n = json_text_compact(in, size, out);
    FUZZ_CHECK(n <= size);
    size_t i = 0;
    for (size_t o = 0; o < n; o++, i++) {
        while (i < size && in[i] != out[o])
            i++;
        FUZZ_CHECK(i < size); /* out[o] is a byte of in, after the previous one */
    }

    json_t *before = parse(in, size);
    if (before) {
        json_t *after = parse(out, n);
        FUZZ_CHECK(after && json_equal(before, after));
        json_decref(after);
        char *again = malloc(n ? n : 1);
        FUZZ_CHECK(again);
        size_t m = json_text_compact(out, n, again);
        FUZZ_CHECK(m == n && memcmp(again, out, n) == 0);
        free(again);
        json_decref(before);
    }
    free(out);
    return 0;
}
