/*
 * migrate: see migrate.h. The set owns its names and contents.
 */
#include "db/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Any constant will do; it only has to be the same for every crm. */
#define MIGRATE_LOCK_KEY 7210422001LL

static char *file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    char chunk[8192];
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + r + 1 > cap) {
            cap = (n + r + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        memcpy(buf + n, chunk, r);
        n += r;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    if (!buf && !(buf = malloc(1)))
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int migration_cmp(const void *a, const void *b)
{
    return ((const struct migration *)a)->version - ((const struct migration *)b)->version;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the .sql files of dir; NULL with *n = 0 when unreadable. */
static char **sql_files(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".sql") != 0)
            continue;
        char **grown = realloc(names, (*n + 1) * sizeof *names);
        if (!grown)
            break;
        names = grown;
        if (!(names[*n] = strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (names)
        qsort(names, *n, sizeof *names, name_cmp);
    else
        names = calloc(1, sizeof *names);
    return names;
}

int migration_set_load(struct migration_set *set, const char *dir, char *err, size_t errlen)
{
    set->items = NULL;
    set->count = 0;
    size_t n;
    char **names = sql_files(dir, &n);
    int rc = 0;
    if (!names) {
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    set->items = calloc(n ? n : 1, sizeof *set->items);
    for (size_t i = 0; set->items && i < n; i++) {
        const char *name = names[i];
        if (!(isdigit((unsigned char)name[0]) && isdigit((unsigned char)name[1]) &&
              isdigit((unsigned char)name[2]) && isdigit((unsigned char)name[3]) &&
              name[4] == '_')) {
            snprintf(err, errlen, "%s/%s: a migration is named NNNN_name.sql", dir, name);
            rc = -1;
            break;
        }
        struct migration *m = &set->items[set->count];
        m->version = atoi(name);
        m->name = strdup(name);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t len = 0;
        m->sql = file_read(path, &len);
        set->count++;
        if (!m->name || !m->sql) {
            snprintf(err, errlen, "cannot read %s", path);
            rc = -1;
            break;
        }
        unsigned char hash[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(hash, (const unsigned char *)m->sql, len);
        sodium_bin2hex(m->checksum, sizeof m->checksum, hash, sizeof hash);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0) {
        qsort(set->items, set->count, sizeof *set->items, migration_cmp);
        for (size_t i = 1; i < set->count; i++) {
            if (set->items[i].version == set->items[i - 1].version) {
                snprintf(err, errlen, "migrations %s and %s share a version",
                         set->items[i - 1].name, set->items[i].name);
                return -1;
            }
        }
    }
    return rc;
}

void migration_set_free(struct migration_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        free(set->items[i].name);
        free(set->items[i].sql);
    }
    free(set->items);
    set->items = NULL;
    set->count = 0;
}

int migration_set_latest(const struct migration_set *set)
{
    return set->count ? set->items[set->count - 1].version : 0;
}

/* Runs sql; on failure prints what with PostgreSQL's message. */
static int exec_ok(PGconn *conn, const char *sql, FILE *out, const char *what)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(out, "%s: %s", what, PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : -1;
}

static const char migrate_table_sql[] =
    "SET client_min_messages = warning;"
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* Applied versions and checksums, checked against the files. Returns the
 * result (caller clears) or NULL after printing the problem. */
static PGresult *migrate_applied(PGconn *conn, const struct migration_set *set, FILE *out)
{
    if (exec_ok(conn, migrate_table_sql, out, "schema_migrations") != 0)
        return NULL;
    PGresult *r = PQexec(conn, "SELECT version, checksum, name FROM schema_migrations ORDER BY 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(out, "reading schema_migrations: %s", PQerrorMessage(conn));
        PQclear(r);
        return NULL;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        int version = atoi(PQgetvalue(r, row, 0));
        const struct migration *m = NULL;
        for (size_t i = 0; i < set->count; i++)
            if (set->items[i].version == version)
                m = &set->items[i];
        if (!m) {
            fprintf(out, "migration %04d (%s) is applied but its file is gone\n", version,
                    PQgetvalue(r, row, 2));
            PQclear(r);
            return NULL;
        }
        if (strcmp(m->checksum, PQgetvalue(r, row, 1)) != 0) {
            fprintf(out, "migration %s changed after it was applied (checksum %.12s, now %.12s)\n",
                    m->name, PQgetvalue(r, row, 1), m->checksum);
            PQclear(r);
            return NULL;
        }
    }
    return r;
}

static int is_applied(const PGresult *applied, int version)
{
    for (int row = 0; row < PQntuples(applied); row++)
        if (atoi(PQgetvalue(applied, row, 0)) == version)
            return 1;
    return 0;
}

static int migrate_lock(PGconn *conn, FILE *out, int lock)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_%slock(%lld)", lock ? "" : "un",
             MIGRATE_LOCK_KEY);
    return exec_ok(conn, sql, out, lock ? "advisory lock" : "advisory unlock");
}

int migrate_status(PGconn *conn, const struct migration_set *set, FILE *out)
{
    if (migrate_lock(conn, out, 1) != 0)
        return -1;
    PGresult *applied = migrate_applied(conn, set, out);
    migrate_lock(conn, out, 0);
    if (!applied)
        return -1;
    for (size_t i = 0; i < set->count; i++)
        fprintf(out, "%-8s %s\n", is_applied(applied, set->items[i].version) ? "applied" : "pending",
                set->items[i].name);
    PQclear(applied);
    return 0;
}

static int migrate_apply(PGconn *conn, const struct migration *m, FILE *out)
{
    if (exec_ok(conn, "BEGIN", out, m->name) != 0)
        return -1;
    if (exec_ok(conn, m->sql, out, m->name) != 0)
        goto failed;
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name, m->checksum};
    PGresult *r = PQexecParams(conn,
                               "INSERT INTO schema_migrations (version, name, checksum) "
                               "VALUES ($1, $2, $3)",
                               3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(out, "%s: recording: %s", m->name, PQerrorMessage(conn));
    PQclear(r);
    if (!ok || exec_ok(conn, "COMMIT", out, m->name) != 0)
        goto failed;
    fprintf(out, "applied  %s\n", m->name);
    return 0;
failed:
    exec_ok(conn, "ROLLBACK", out, m->name);
    return -1;
}

int migrate_up(PGconn *conn, const struct migration_set *set, FILE *out)
{
    if (migrate_lock(conn, out, 1) != 0)
        return -1;
    int rc = 0;
    PGresult *applied = migrate_applied(conn, set, out);
    if (!applied)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < set->count; i++) {
        if (!is_applied(applied, set->items[i].version))
            rc = migrate_apply(conn, &set->items[i], out);
    }
    PQclear(applied);
    migrate_lock(conn, out, 0);
    return rc;
}

int sql_run_dir(PGconn *conn, const char *dir, FILE *out)
{
    size_t n;
    char **names = sql_files(dir, &n);
    if (!names) {
        fprintf(out, "cannot read %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *sql = rc == 0 ? file_read(path, NULL) : NULL;
        if (rc == 0 && !sql) {
            fprintf(out, "cannot read %s\n", path);
            rc = -1;
        }
        if (rc == 0) {
            rc = exec_ok(conn, "BEGIN", out, names[i]);
            if (rc == 0 && exec_ok(conn, sql, out, names[i]) != 0) {
                exec_ok(conn, "ROLLBACK", out, names[i]);
                rc = -1;
            }
            if (rc == 0)
                rc = exec_ok(conn, "COMMIT", out, names[i]);
        }
        free(sql);
        free(names[i]);
    }
    free(names);
    return rc;
}
