/*
 * statements: the registry of every SQL statement the service runs.
 *
 * Each worker connection prepares all of them once, right after connecting;
 * requests name them by id. SQL lives here, parameterised, never built from
 * user text. Statements that answer with JSON build it in PostgreSQL.
 */
#ifndef CRM_STATEMENTS_H
#define CRM_STATEMENTS_H

#include <stddef.h>

#include "db/pool.h"

enum statement_id {
    STMT_SCHEMA_VERSION,  /* () -> version */
    STMT_AUTH_SESSION,    /* (token hash, request id, roles, idle s) -> the caller; sets it */
    STMT_LOGIN_LOOKUP,    /* (username) -> user_id, password_hash */
    STMT_SESSION_OPEN,    /* (user id, token hash, lifetime s, request id, new hash) -> {expires_at, user} */
    STMT_SESSION_CLOSE,   /* (token hash) */
    STMT_MY_HASH,         /* () -> the caller's password hash */
    STMT_MY_PASSWORD_SET, /* (new hash, token hash kept) */
    STMT_ME,              /* () -> the caller as JSON */
    STMT_UNITS_LIST,      /* () -> {"items": [...]} in tree order */
    STMT_USERS_LIST,      /* (after id, limit, role, unit id, text) -> {"items", "next_after"} */
    STMT_USER_GET,        /* (id) -> user JSON */
    STMT_USER_CREATE,     /* (username, display name, role, unit id, hash) -> user JSON */
    STMT_USER_UPDATE,     /* (id, version, display name, role, unit id, disabled) -> user JSON */
    STMT_USER_VERSION,    /* (id) -> version: to tell 404 from 412 */
    STMT_USER_PASSWORD,   /* (id, hash) -> id */
    STMT_SESSIONS_END,    /* (user id) -> whether the user is in scope */
    STMT_AUDIT_LIST,      /* (before id, limit, table, row, actor, since, until) -> page */
    STMT_COUNT
};

extern const struct db_statement statements[STMT_COUNT];

#endif
