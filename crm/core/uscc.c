/*
 * uscc: see uscc.h.
 */
#include "core/uscc.h"

/* The value of c in USCC_ALPHABET, or -1. A table, not strchr: a NUL byte
 * must not match the alphabet's terminator. */
static int uscc_value(unsigned char c)
{
    static const char alphabet[] = USCC_ALPHABET;
    for (int v = 0; v < (int)sizeof alphabet - 1; v++)
        if ((unsigned char)alphabet[v] == c)
            return v;
    return -1;
}

char uscc_check_char(const char *s)
{
    static const int weights[USCC_LEN - 1] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                              29, 25, 13, 8,  24, 10, 30, 28};
    int total = 0;
    for (int i = 0; i < USCC_LEN - 1; i++) {
        int v = uscc_value((unsigned char)s[i]);
        if (v < 0)
            return '\0';
        total += v * weights[i];
    }
    int check = 31 - total % 31;
    return USCC_ALPHABET[check == 31 ? 0 : check];
}

int uscc_valid(const char *s, size_t n)
{
    if (n != USCC_LEN)
        return 0;
    char check = uscc_check_char(s);
    return check != '\0' && s[USCC_LEN - 1] == check;
}
