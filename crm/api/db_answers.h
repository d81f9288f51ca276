/*
 * db_answers: the one table from database errors to the API's answers, as
 * PostgREST keeps one from PostgreSQL's errors to HTTP statuses. A row
 * takes a SQLSTATE (or its class) met by some kinds of request to a status,
 * a problem's detail and, for a refused write, the field it names with a
 * message. Every handler answers a failed job through it (answer_db_error,
 * answer_db_error_for); what no row answers (no connection, a full queue,
 * a SQLSTATE that means "try again", anything unexpected) gets http/'s
 * generic answer (exchange_answer_db_failure: 503 or 500).
 *
 * The SQLSTATEs: CR401, CR403 and CR404 are the project's own (raised by
 * auth_session and the functions of sql/migrations); 42501 with
 * "row-level security" in its message is a write out of the caller's scope;
 * 23xxx a broken constraint (23505 unique, 23503 reference, 23514 check),
 * whose column, or else constraint name, gives the field; 22xxx bad data.
 */
#ifndef CRM_DB_ANSWERS_H
#define CRM_DB_ANSWERS_H

#include <stddef.h>

#include "db/pool.h"

struct exchange;

/* The kinds of request that some rows answer in their own way (bits: a row
 * may apply to several). */
enum db_request {
    DB_READ = 1 << 0,        /* any request without rows of its own */
    DB_WRITE = 1 << 1,       /* a record written: a refusal names its field (422, 409) */
    DB_TRANSITION = 1 << 2,  /* a project's transition (a write) */
    DB_CLAIM = 1 << 3,       /* a claim verified or revoked (a write) */
    DB_USER_CREATE = 1 << 4, /* a user created */
    DB_USER_UPDATE = 1 << 5, /* a user changed */
    DB_AUDIT = 1 << 6,       /* the audit's page (PostgreSQL reads since and until) */
    DB_IMPORT = 1 << 7,      /* the ledger's import */
};

/* When a row applies, beyond its SQLSTATE. */
enum db_when {
    DB_ALWAYS,
    DB_RLS,     /* only a row-level security refusal */
    DB_NOT_RLS, /* never a row-level security refusal */
};

/* Which field a refused write names (the problem's errors[0]), if any. */
enum db_field {
    DB_FIELD_NONE,      /* none: a plain problem */
    DB_FIELD_NAMED,     /* the row's name */
    DB_FIELD_SCOPE,     /* the handler's scope field, or "body" */
    DB_FIELD_ERROR,     /* the column the error names, with PostgreSQL's message; else
                           the field of its constraint ("project_code_check": "code"),
                           with the row's message; else "body", with PostgreSQL's */
    DB_FIELD_LIFECYCLE, /* "on" for a production or capacity date, else "to" */
};

struct db_answer {
    unsigned requests;    /* the kinds of request it answers (enum db_request bits) */
    const char *sqlstate; /* five characters, or a class: its first two */
    enum db_when when;
    int status;
    const char *detail;   /* the problem's detail; NULL: PostgreSQL's message */
    enum db_field field;
    const char *name;     /* DB_FIELD_NAMED: the field */
    const char *message;  /* the field's message; NULL: PostgreSQL's */
    const char *log;      /* when not NULL, the event logged (with the SQLSTATE) */
    int log_level;        /* at this enum log_level */
};

/* The first row answering r (a DB_FAIL_QUERY) for a request of kind request
 * (one enum db_request bit), or NULL when none does. */
const struct db_answer *db_answer_find(const struct db_result *r, unsigned request);

/* The field a names for r, written into field (len bytes, len > 0), and its
 * message (static, or r's). Returns the message, or NULL when a names no
 * field. scope_field may be NULL. */
const char *db_answer_field(const struct db_answer *a, const struct db_result *r,
                            const char *scope_field, char *field, size_t len);

/* When r is a failure, answers it and returns 1: as the first row for a
 * request of kind request says (scope_field, or NULL, for DB_FIELD_SCOPE),
 * or else as exchange_answer_db_failure does. Returns 0 on success. */
int answer_db_error_for(struct exchange *x, const struct db_result *r, unsigned request,
                        const char *scope_field);

/* answer_db_error_for a request without rows of its own (DB_READ). The
 * server's answer_db_error too (api/app.c), for the jobs http/ runs. */
int answer_db_error(struct exchange *x, const struct db_result *r);

#endif
