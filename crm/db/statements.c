/*
 * statements: see statements.h. JSON that is a plain projection of rows is
 * built by PostgreSQL (json_build_object), which saves a copy per field in C.
 */
#include "db/statements.h"

const struct db_statement statements[STMT_COUNT] = {
    [STMT_SCHEMA_VERSION] = {"schema_version",
                             "SELECT coalesce(max(version), 0) FROM schema_migrations"},
    [STMT_UNITS_LIST] =
        {"units_list",
         "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
         "'id', u.id, 'parent_id', u.parent_id, 'code', u.code, 'name', u.name, "
         "'kind', u.kind, 'depth', cardinality(u.path) - 1) ORDER BY u.path), '[]'::json))"
         "::text FROM unit u"},
};
