/*
 * units: GET /units, the unit tree in tree order, limited to the caller's
 * subtree by row-level security. One unit, its creation and its changes
 * (rename, move, retire) are the generic resource handlers over the units
 * description (resources.c) and units_* of migration 0010.
 */
#include "api/handlers.h"
#include "api/routes.h"
#include "db/statements.h"

void units_list(struct exchange *x)
{
    handler_json_query(x, STMT_UNITS_LIST, 0, NULL);
}
