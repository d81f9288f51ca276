/*
 * fuzz_uscc: core/uscc against a slow reference written from the standard
 * (GB 32100-2015) rather than from the module: any bytes, any length. A
 * valid code has exactly one check character.
 */
#include <string.h>

#include "core/uscc.h"
#include "fuzz.h"

/* The value of c among the 31 characters, or -1: the alphabet spelled out
 * as the standard's table (digits, then the letters but I, O, S, V, Z). */
static int reference_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    int v = 10;
    for (unsigned char l = 'A'; l <= 'Z'; l++) {
        if (l == 'I' || l == 'O' || l == 'S' || l == 'V' || l == 'Z')
            continue;
        if (l == c)
            return v;
        v++;
    }
    return -1;
}

static int reference_valid(const uint8_t *s, size_t n)
{
    if (n != 18)
        return 0;
    long total = 0, weight = 1;
    for (size_t i = 0; i < 17; i++) {
        int v = reference_value(s[i]);
        if (v < 0)
            return 0;
        total += v * weight;
        weight = weight * 3 % 31;
    }
    int last = reference_value(s[17]);
    return last >= 0 && last == (31 - total % 31) % 31;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int valid = uscc_valid(s, size);
    FUZZ_CHECK(valid == 0 || valid == 1);
    FUZZ_CHECK(valid == reference_valid(data, size));
    if (size < USCC_LEN - 1)
        return 0;
    char check = uscc_check_char(s);
    int all_known = 1;
    for (size_t i = 0; i < USCC_LEN - 1; i++)
        all_known &= reference_value(data[i]) >= 0;
    FUZZ_CHECK(all_known ? check != '\0' && strchr(USCC_ALPHABET, check) : check == '\0');
    if (!all_known)
        return 0;
    char code[USCC_LEN];
    memcpy(code, data, USCC_LEN - 1);
    for (const char *c = USCC_ALPHABET; *c; c++) {
        code[USCC_LEN - 1] = *c;
        FUZZ_CHECK(uscc_valid(code, USCC_LEN) == (*c == check));
    }
    return 0;
}
