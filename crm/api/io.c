/*
 * io: the project ledger in and out: CSV import, CSV and XLSX export.
 * (Being written: answers 501 until then.)
 */
#include "api/routes.h"
#include "http/exchange.h"

void imports_projects(struct exchange *x)
{
    exchange_send_problem(x, 501, "Import is not available yet.");
}

void exports_projects_csv(struct exchange *x)
{
    exchange_send_problem(x, 501, "Export is not available yet.");
}

void exports_projects_xlsx(struct exchange *x)
{
    exchange_send_problem(x, 501, "Export is not available yet.");
}
