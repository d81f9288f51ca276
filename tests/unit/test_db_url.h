/*
 * test_db_url: the test database's CRM_DATABASE_URL, read from
 * $CRM_TEST_DB/env (a shell file: NAME='value', written by db.start), for
 * the unit tests that run against the real PostgreSQL.
 */
#ifndef TEST_DB_URL_H
#define TEST_DB_URL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Into out; "" when there is no test database. */
static inline void test_db_url(char *out, size_t outlen)
{
    const char *dir = getenv("CRM_TEST_DB");
    char path[1024], line[2048];
    out[0] = '\0';
    if (!dir)
        return;
    snprintf(path, sizeof path, "%s/env", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        static const char key[] = "CRM_DATABASE_URL=";
        if (strncmp(line, key, sizeof key - 1) != 0)
            continue;
        char *v = line + sizeof key - 1;
        v[strcspn(v, "\n")] = '\0';
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
            v[n - 1] = '\0';
            v++;
        }
        snprintf(out, outlen, "%s", v);
    }
    fclose(f);
}

#endif
