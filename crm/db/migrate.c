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

/* Reads dir/restated: "NNNN <sha256>" per line, # comments and blank lines
 * skipped. A missing file is an empty list. */
static int restated_load(struct migration_set *set, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/restated", dir);
    char *text = file_read(path, NULL);
    if (!text)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "cannot read %s", path), -1);
    int rc = 0, line = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        while (isspace((unsigned char)*l))
            l++;
        if (!*l || *l == '#')
            continue;
        struct migration_restated r = {0};
        int used = 0;
        if (sscanf(l, "%d %64[0-9a-f]%n", &r.version, r.checksum, &used) != 2 || strlen(r.checksum) != 64) {
            snprintf(err, errlen, "%s:%d: expected \"NNNN <sha256>\"", path, line);
            rc = -1;
            break;
        }
        struct migration_restated *grown =
            realloc(set->restated, (set->restated_count + 1) * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "out of memory reading %s", path);
            rc = -1;
            break;
        }
        set->restated = grown;
        set->restated[set->restated_count++] = r;
    }
    free(text);
    return rc;
}

/* The .sql files of dir named with `digits` digits then '_', their SQL and
 * SHA-256, sorted by that number (which must be unique). */
static int set_load(struct migration_set *set, const char *dir, int digits, const char *what,
                    char *err, size_t errlen)
{
    memset(set, 0, sizeof *set);
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
        int ok = name[digits] == '_';
        for (int d = 0; d < digits; d++)
            ok = ok && isdigit((unsigned char)name[d]);
        if (!ok) {
            snprintf(err, errlen, "%s/%s: %s is named %.*s_name.sql", dir, name, what, digits,
                     "NNNN");
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
                snprintf(err, errlen, "%s and %s share a number", set->items[i - 1].name,
                         set->items[i].name);
                return -1;
            }
        }
    }
    return rc;
}

int migration_set_load(struct migration_set *set, const char *dir, char *err, size_t errlen)
{
    int rc = set_load(set, dir, 4, "a migration", err, errlen);
    return rc == 0 ? restated_load(set, dir, err, errlen) : rc;
}

int definition_set_load(struct migration_set *set, const char *dir, char *err, size_t errlen)
{
    return set_load(set, dir, 2, "a definition file", err, errlen);
}

void migration_set_free(struct migration_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        free(set->items[i].name);
        free(set->items[i].sql);
    }
    free(set->items);
    free(set->restated);
    memset(set, 0, sizeof *set);
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
    /* A migration may hold only comments now (see restated). */
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
    if (!ok)
        fprintf(out, "%s: %s", what, PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : -1;
}

/* Runs sql with n text parameters; 0, or -1 after printing what failed. */
static int exec_params_ok(PGconn *conn, const char *sql, int n, const char *const *params, FILE *out,
                          const char *what)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(out, "%s: %s", what, PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : -1;
}

static const char migrate_tables_sql[] =
    "SET client_min_messages = warning;"
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE IF NOT EXISTS schema_definitions ("
    " name text PRIMARY KEY,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

static int is_restated(const struct migration_set *set, int version, const char *checksum)
{
    for (size_t i = 0; i < set->restated_count; i++)
        if (set->restated[i].version == version && strcmp(set->restated[i].checksum, checksum) == 0)
            return 1;
    return 0;
}

/* Applied versions and checksums, checked against the files. A checksum
 * that restated accepts is replaced by the file's when fix is set. Returns
 * the result (caller clears) or NULL after printing the problem. */
static PGresult *migrate_applied(PGconn *conn, const struct migration_set *set, int fix, FILE *out)
{
    if (exec_ok(conn, migrate_tables_sql, out, "schema_migrations") != 0)
        return NULL;
    PGresult *r = PQexec(conn, "SELECT version, checksum, name FROM schema_migrations ORDER BY 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(out, "reading schema_migrations: %s", PQerrorMessage(conn));
        PQclear(r);
        return NULL;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        int version = atoi(PQgetvalue(r, row, 0));
        const char *recorded = PQgetvalue(r, row, 1);
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
        if (strcmp(m->checksum, recorded) == 0)
            continue;
        if (!is_restated(set, version, recorded)) {
            fprintf(out, "migration %s changed after it was applied (checksum %.12s, now %.12s)\n",
                    m->name, recorded, m->checksum);
            PQclear(r);
            return NULL;
        }
        if (fix) {
            char v[16];
            snprintf(v, sizeof v, "%d", version);
            const char *params[] = {m->checksum, v};
            if (exec_params_ok(conn, "UPDATE schema_migrations SET checksum = $1 WHERE version = $2", 2,
                               params, out, m->name) != 0) {
                PQclear(r);
                return NULL;
            }
            fprintf(out, "restated %s\n", m->name);
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

/* The recorded checksums of the definition files (caller clears), or NULL. */
static PGresult *definitions_recorded(PGconn *conn, FILE *out)
{
    PGresult *r = PQexec(conn, "SELECT name, checksum FROM schema_definitions");
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    fprintf(out, "reading schema_definitions: %s", PQerrorMessage(conn));
    PQclear(r);
    return NULL;
}

static int definition_current(const PGresult *recorded, const struct migration *d)
{
    for (int row = 0; row < PQntuples(recorded); row++)
        if (strcmp(PQgetvalue(recorded, row, 0), d->name) == 0)
            return strcmp(PQgetvalue(recorded, row, 1), d->checksum) == 0;
    return 0;
}

int migrate_status(PGconn *conn, const struct migration_set *migrations,
                   const struct migration_set *definitions, FILE *out)
{
    if (migrate_lock(conn, out, 1) != 0)
        return -1;
    PGresult *applied = migrate_applied(conn, migrations, 0, out);
    PGresult *recorded = applied ? definitions_recorded(conn, out) : NULL;
    migrate_lock(conn, out, 0);
    if (!recorded) {
        PQclear(applied);
        return -1;
    }
    for (size_t i = 0; i < migrations->count; i++)
        fprintf(out, "%-8s %s\n",
                is_applied(applied, migrations->items[i].version) ? "applied" : "pending",
                migrations->items[i].name);
    for (size_t i = 0; i < definitions->count; i++)
        fprintf(out, "%-8s schema/%s\n",
                definition_current(recorded, &definitions->items[i]) ? "current" : "changed",
                definitions->items[i].name);
    PQclear(applied);
    PQclear(recorded);
    return 0;
}

/* Bodies are checked when called: see migrate.h. */
static const char migrate_begin_sql[] = "BEGIN; SET LOCAL check_function_bodies = off";

static int migrate_apply(PGconn *conn, const struct migration *m, FILE *out)
{
    if (exec_ok(conn, migrate_begin_sql, out, m->name) != 0)
        return -1;
    if (exec_ok(conn, m->sql, out, m->name) != 0)
        goto failed;
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name, m->checksum};
    if (exec_params_ok(conn,
                       "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                       3, params, out, m->name) != 0 ||
        exec_ok(conn, "COMMIT", out, m->name) != 0)
        goto failed;
    fprintf(out, "applied  %s\n", m->name);
    return 0;
failed:
    exec_ok(conn, "ROLLBACK", out, m->name);
    return -1;
}

/* Every definition file whose checksum differs from the recorded one, in
 * name order, in one transaction: a database has all of this build's
 * definitions or none of them. */
static int definitions_apply(PGconn *conn, const struct migration_set *definitions, FILE *out)
{
    PGresult *recorded = definitions_recorded(conn, out);
    if (!recorded)
        return -1;
    int rc = 0, began = 0;
    for (size_t i = 0; rc == 0 && i < definitions->count; i++) {
        const struct migration *d = &definitions->items[i];
        if (definition_current(recorded, d))
            continue;
        if (!began && (rc = exec_ok(conn, migrate_begin_sql, out, d->name)) == 0)
            began = 1;
        const char *params[] = {d->name, d->checksum};
        if (rc == 0)
            rc = exec_ok(conn, d->sql, out, d->name);
        if (rc == 0)
            rc = exec_params_ok(conn,
                                "INSERT INTO schema_definitions (name, checksum) VALUES ($1, $2) "
                                "ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, "
                                "applied_at = now()",
                                2, params, out, d->name);
        if (rc == 0)
            fprintf(out, "defined  schema/%s\n", d->name);
    }
    PQclear(recorded);
    if (began)
        rc = exec_ok(conn, rc == 0 ? "COMMIT" : "ROLLBACK", out, "schema definitions") == 0 ? rc : -1;
    return rc;
}

int migrate_up(PGconn *conn, const struct migration_set *migrations,
               const struct migration_set *definitions, FILE *out)
{
    if (migrate_lock(conn, out, 1) != 0)
        return -1;
    int rc = 0;
    PGresult *applied = migrate_applied(conn, migrations, 1, out);
    if (!applied)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < migrations->count; i++) {
        if (!is_applied(applied, migrations->items[i].version))
            rc = migrate_apply(conn, &migrations->items[i], out);
    }
    PQclear(applied);
    if (rc == 0)
        rc = definitions_apply(conn, definitions, out);
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
