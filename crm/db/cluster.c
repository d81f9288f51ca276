/*
 * cluster: see cluster.h. Child programs (initdb, pg_ctl) write to
 * dir/cluster.log; PostgreSQL's own log is dir/postgresql.log.
 */
#include "db/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

#define CLUSTER_PORT "5432"

/* The user the cluster runs as: ourselves, or `postgres` under root. */
static int cluster_user(uid_t *uid, gid_t *gid)
{
    if (geteuid() != 0) {
        *uid = geteuid();
        *gid = getegid();
        return 0;
    }
    struct passwd *pw = getpwnam("postgres");
    if (!pw)
        return -1;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* Runs argv as the cluster user; output goes to log (NULL: inherited).
 * Returns the exit status, or -1 when it could not run. */
static int cluster_exec(char *const argv[], const char *log, int quiet)
{
    uid_t uid;
    gid_t gid;
    if (cluster_user(&uid, &gid) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
        } else if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether the cluster user may enter path (all its parents included). */
static int cluster_user_can_enter(const char *path)
{
    char test[] = "/usr/bin/test";
    char flag[] = "-x";
    char *argv[] = {test, flag, (char *)path, NULL};
    return cluster_exec(argv, NULL, 1) == 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, mode) != 0 && errno != EEXIST ? -1 : 0;
}

int cluster_locate(struct cluster *c, const char *data_dir, const char *bindir, char *err,
                   size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (mkdir_p(data_dir, 0755) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", data_dir, strerror(errno));
        return -1;
    }
    char abs[PATH_MAX];
    if (!realpath(data_dir, abs)) {
        snprintf(err, errlen, "cannot resolve %s: %s", data_dir, strerror(errno));
        return -1;
    }
    snprintf(c->dir, sizeof c->dir, "%s/pg", abs);
    snprintf(c->bindir, sizeof c->bindir, "%s", bindir);
    /* A Unix socket path has a small limit (108 bytes), and under root the
     * postgres user must be able to reach the folder: otherwise the cluster
     * lives in a private folder under /tmp named after the data dir. */
    int too_long = strlen(c->dir) + strlen("/run/.s.PGSQL." CLUSTER_PORT) >= 100;
    if (too_long || (geteuid() == 0 && !cluster_user_can_enter(abs))) {
        unsigned char h[8];
        crypto_generichash(h, sizeof h, (const unsigned char *)abs, strlen(abs), NULL, 0);
        char hex[17];
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        snprintf(c->dir, sizeof c->dir, "/tmp/crm-pg-%s", hex);
        log_msg(LOG_WARN, NULL, "cluster: %s is %s; using %s", abs,
                too_long ? "too deep for a Unix socket" : "not reachable by the postgres user",
                c->dir);
    }
    snprintf(c->datadir, sizeof c->datadir, "%s/data", c->dir);
    snprintf(c->sockdir, sizeof c->sockdir, "%s/run", c->dir);
    snprintf(c->app_url, sizeof c->app_url, "host=%s port=%s dbname=crm user=crm_app", c->sockdir,
             CLUSTER_PORT);
    snprintf(c->owner_url, sizeof c->owner_url, "host=%s port=%s dbname=crm user=crm_owner",
             c->sockdir, CLUSTER_PORT);
    return 0;
}

static int cluster_prepare_dirs(struct cluster *c, char *err, size_t errlen)
{
    uid_t uid;
    gid_t gid;
    if (cluster_user(&uid, &gid) != 0) {
        snprintf(err, errlen, "running as root and there is no 'postgres' user "
                              "(apt-get install postgresql-15 creates it)");
        return -1;
    }
    const char *dirs[] = {c->dir, c->sockdir};
    for (size_t i = 0; i < 2; i++) {
        if (mkdir_p(dirs[i], 0700) != 0 || chown(dirs[i], uid, gid) != 0 ||
            chmod(dirs[i], 0700) != 0) {
            snprintf(err, errlen, "cannot prepare %s: %s", dirs[i], strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int cluster_running(struct cluster *c)
{
    char pg_ctl[1100];
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", c->bindir);
    char status[] = "status", dflag[] = "-D";
    char *argv[] = {pg_ctl, status, dflag, c->datadir, NULL};
    return cluster_exec(argv, NULL, 1) == 0;
}

static int cluster_initdb(struct cluster *c, const char *log, char *err, size_t errlen)
{
    char version[4400];
    snprintf(version, sizeof version, "%s/PG_VERSION", c->datadir);
    if (access(version, F_OK) == 0)
        return 0;
    char initdb[1100];
    snprintf(initdb, sizeof initdb, "%s/initdb", c->bindir);
    char dflag[] = "-D", user[] = "--username=postgres", auth[] = "--auth=trust",
         enc[] = "--encoding=UTF8", locale[] = "--locale=C.UTF-8", nosync[] = "--no-sync";
    char *argv[] = {initdb, dflag, c->datadir, user, auth, enc, locale, nosync, NULL};
    log_msg(LOG_INFO, NULL, "cluster: initdb %s", c->datadir);
    if (cluster_exec(argv, log, 0) != 0) {
        snprintf(err, errlen, "initdb failed; see %s", log);
        return -1;
    }
    return 0;
}

static int cluster_launch(struct cluster *c, const char *log, char *err, size_t errlen)
{
    char pg_ctl[1100], pglog[4400], opts[4600];
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", c->bindir);
    snprintf(pglog, sizeof pglog, "%s/postgresql.log", c->dir);
    snprintf(opts, sizeof opts,
             "-c listen_addresses='' -c unix_socket_directories='%s' -p " CLUSTER_PORT
             " -c max_connections=200 -c shared_buffers=128MB -c fsync=on",
             c->sockdir);
    char start[] = "start", dflag[] = "-D", wflag[] = "-w", lflag[] = "-l", oflag[] = "-o",
         tflag[] = "-t", secs[] = "60";
    char *argv[] = {pg_ctl, start, dflag, c->datadir, wflag, tflag, secs, lflag, pglog, oflag, opts,
                    NULL};
    if (cluster_exec(argv, log, 0) != 0) {
        snprintf(err, errlen, "pg_ctl start failed; see %s and %s", log, pglog);
        return -1;
    }
    c->started_here = 1;
    return 0;
}

/* As the superuser: roles and database, created when missing. */
static int cluster_bootstrap(struct cluster *c, char *err, size_t errlen)
{
    char url[4400];
    snprintf(url, sizeof url, "host=%s port=%s dbname=postgres user=postgres", c->sockdir,
             CLUSTER_PORT);
    PGconn *conn = PQconnectdb(url);
    int rc = -1;
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the embedded cluster: %s", PQerrorMessage(conn));
        goto done;
    }
    static const char *const steps[] = {
        "SET client_min_messages = warning",
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_owner') THEN "
        "CREATE ROLE crm_owner LOGIN; END IF; "
        "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_app') THEN "
        "CREATE ROLE crm_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END$$",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        PGresult *r = PQexec(conn, steps[i]);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
            snprintf(err, errlen, "bootstrap: %s", PQerrorMessage(conn));
            goto done;
        }
    }
    PGresult *r = PQexec(conn, "SELECT 1 FROM pg_database WHERE datname = 'crm'");
    int exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    if (!exists) {
        r = PQexec(conn, "CREATE DATABASE crm OWNER crm_owner ENCODING 'UTF8' TEMPLATE template0");
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
            snprintf(err, errlen, "create database: %s", PQerrorMessage(conn));
            goto done;
        }
    }
    rc = 0;
done:
    PQfinish(conn);
    return rc;
}

int cluster_start(struct cluster *c, const char *data_dir, const char *bindir, char *err,
                  size_t errlen)
{
    if (cluster_locate(c, data_dir, bindir, err, errlen) != 0 ||
        cluster_prepare_dirs(c, err, errlen) != 0)
        return -1;
    char log[4400];
    snprintf(log, sizeof log, "%s/cluster.log", c->dir);
    if (cluster_initdb(c, log, err, errlen) != 0)
        return -1;
    if (!cluster_running(c)) {
        log_msg(LOG_INFO, NULL, "cluster: starting PostgreSQL in %s", c->datadir);
        if (cluster_launch(c, log, err, errlen) != 0)
            return -1;
    }
    return cluster_bootstrap(c, err, errlen);
}

int cluster_stop(struct cluster *c)
{
    char pg_ctl[1100], log[4400];
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", c->bindir);
    snprintf(log, sizeof log, "%s/cluster.log", c->dir);
    char stop[] = "stop", dflag[] = "-D", mflag[] = "-m", fast[] = "fast", wflag[] = "-w";
    char *argv[] = {pg_ctl, stop, dflag, c->datadir, mflag, fast, wflag, NULL};
    if (!cluster_running(c))
        return 0;
    log_msg(LOG_INFO, NULL, "cluster: stopping PostgreSQL in %s", c->datadir);
    return cluster_exec(argv, log, 0) == 0 ? 0 : -1;
}
