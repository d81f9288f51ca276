/*
 * uscc: the unified social credit code (统一社会信用代码, GB 32100-2015)
 * every Chinese enterprise carries, checked in C so that a wrong code is a
 * clear 422 before the database. The same rule as uscc_valid in
 * sql/migrations/0003_crm.sql, which the table's check still applies.
 */
#ifndef CRM_USCC_H
#define CRM_USCC_H

#include <stddef.h>

/* The characters of a code, in the order of their values 0..30: the digits
 * and the capital letters but I, O, S, V and Z. */
#define USCC_ALPHABET "0123456789ABCDEFGHJKLMNPQRTUWXY"
#define USCC_LEN      18

/* Whether s[0..n) is a code: 18 characters of USCC_ALPHABET whose last is
 * the check character of the first 17 (weights 3^(i-1) mod 31, check =
 * 31 - (sum mod 31), 31 -> 0). s need not be terminated; any byte may
 * appear (a NUL or a lower-case letter makes it invalid). */
int uscc_valid(const char *s, size_t n);

/* The check character of the 17 characters s[0..17), or '\0' when one of
 * them is not in USCC_ALPHABET. */
char uscc_check_char(const char *s);

#endif
