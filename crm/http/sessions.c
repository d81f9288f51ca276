/*
 * sessions: see sessions.h.
 */
#include "http/sessions.h"

#include <event2/buffer.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"

struct sessions {
    struct session_copy slots[SESSIONS_SLOTS];
};

static _Atomic long counts[3];

struct sessions *sessions_new(void)
{
    return calloc(1, sizeof(struct sessions));
}

void sessions_free(struct sessions *s)
{
    free(s);
}

static struct session_copy *slot_of(struct sessions *s, const unsigned char th[TOKEN_HASH_BYTES])
{
    unsigned long long k; /* the token hash is a SHA-256: any 8 bytes of it are uniform */
    memcpy(&k, th, sizeof k);
    return &s->slots[k % SESSIONS_SLOTS];
}

const struct session_copy *sessions_find(struct sessions *s, const unsigned char th[TOKEN_HASH_BYTES],
                                         long long now_us)
{
    if (!s)
        return NULL;
    const struct session_copy *c = slot_of(s, th);
    if (c->until_us <= now_us || memcmp(c->th, th, TOKEN_HASH_BYTES) != 0)
        return NULL;
    return c;
}

/* Copies column col of a's row into out (outlen); -1 when it is missing, NULL
 * or too long. */
static int column(const PGresult *a, const char *name, char *out, size_t outlen)
{
    int col = PQfnumber(a, name);
    if (col < 0 || PQgetisnull(a, 0, col) || (size_t)PQgetlength(a, 0, col) >= outlen)
        return -1;
    memcpy(out, PQgetvalue(a, 0, col), (size_t)PQgetlength(a, 0, col) + 1);
    return 0;
}

void sessions_keep(struct sessions *s, const unsigned char th[TOKEN_HASH_BYTES], const PGresult *a,
                   long long sent_us)
{
    if (!s || !a || PQresultStatus(a) != PGRES_TUPLES_OK || PQntuples(a) != 1)
        return;
    struct session_copy c = {0};
    char fresh[16];
    if (column(a, "fresh_ms", fresh, sizeof fresh) != 0 ||
        column(a, "user_id", c.user_id, sizeof c.user_id) != 0 ||
        column(a, "username", c.username, sizeof c.username) != 0 ||
        column(a, "role", c.role, sizeof c.role) != 0 ||
        column(a, "unit_id", c.unit_id, sizeof c.unit_id) != 0 ||
        column(a, "scope_root", c.scope_root, sizeof c.scope_root) != 0 ||
        column(a, "generation", c.generation, sizeof c.generation) != 0)
        return;
    long long ms = atoll(fresh);
    if (ms <= 0 || !(c.role_bit = role_parse(c.role)))
        return;
    memcpy(c.th, th, TOKEN_HASH_BYTES);
    c.until_us = sent_us + ms * 1000;
    *slot_of(s, th) = c;
}

void sessions_count(enum sessions_count what)
{
    atomic_fetch_add_explicit(&counts[what], 1, memory_order_relaxed);
}

void sessions_metrics(struct evbuffer *out)
{
    evbuffer_add_printf(
        out,
        "# HELP crm_auth_checks_total Requests' database jobs by how their caller is set: "
        "auth_session, or crm's copy of a check that stands.\n"
        "# TYPE crm_auth_checks_total counter\n"
        "crm_auth_checks_total{by=\"copy\"} %ld\n"
        "crm_auth_checks_total{by=\"database\"} %ld\n"
        "# HELP crm_auth_copies_refused_total Copies PostgreSQL refused (the sessions had "
        "changed since): auth_session ran instead.\n"
        "# TYPE crm_auth_copies_refused_total counter\n"
        "crm_auth_copies_refused_total %ld\n",
        atomic_load_explicit(&counts[SESSIONS_BY_COPY], memory_order_relaxed),
        atomic_load_explicit(&counts[SESSIONS_BY_DATABASE], memory_order_relaxed),
        atomic_load_explicit(&counts[SESSIONS_REFUSED], memory_order_relaxed));
}
