/*
 * statements: the registry of every SQL statement the service runs.
 *
 * Each worker connection prepares all of them once, right after connecting;
 * requests name them by id. SQL lives here, parameterised, never built from
 * user text.
 */
#ifndef CRM_STATEMENTS_H
#define CRM_STATEMENTS_H

#include <stddef.h>

#include "db/pool.h"

enum statement_id {
    STMT_SCHEMA_VERSION, /* () -> version, or no row */
    STMT_UNITS_LIST,     /* () -> one JSON text: {"items": [...]} in tree order */
    STMT_COUNT
};

extern const struct db_statement statements[STMT_COUNT];

#endif
