/*
 * cluster: the embedded PostgreSQL cluster under the data dir.
 *
 * initdb on first use, pg_ctl start with no TCP listener (a Unix socket in
 * the cluster's folder only), the owner role crm_owner, the app role crm_app
 * (neither superuser nor BYPASSRLS) and the database crm. PostgreSQL refuses
 * to run as root: under root the programs run as the `postgres` user, which
 * owns the folder. Blocking: start-up and CLI only.
 */
#ifndef CRM_CLUSTER_H
#define CRM_CLUSTER_H

#include <stddef.h>

struct cluster {
    char dir[4200];     /* the cluster's folder */
    char datadir[4300]; /* dir/data */
    char sockdir[4300]; /* dir/run */
    char bindir[1024];
    char app_url[4400];   /* conninfo of crm_app */
    char owner_url[4400]; /* conninfo of crm_owner */
    int started_here;     /* 1 when cluster_start launched the server */
};

/* Sets the cluster up under data_dir (made absolute) and starts it unless it
 * is already running. Returns 0, or -1 with err filled. */
int cluster_start(struct cluster *c, const char *data_dir, const char *bindir, char *err,
                  size_t errlen);

/* Stops the cluster (fast shutdown, waits). Returns 0, or -1. */
int cluster_stop(struct cluster *c);

/* Fills c's paths and URLs for data_dir without starting anything. */
int cluster_locate(struct cluster *c, const char *data_dir, const char *bindir, char *err,
                   size_t errlen);

#endif
