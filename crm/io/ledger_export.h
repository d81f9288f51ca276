/*
 * ledger_export: the project ledger (台账) as a file for Excel, from the
 * rows projects_export returns (sql/schema/90_ledger.sql), with the
 * Chinese headers the import reads back: CSV (UTF-8 with a byte order mark,
 * so that Excel opens it as UTF-8; CRLF line ends) or an XLSX workbook.
 *
 * CSV text cells that Excel would run as formulas (= + - @ first) are
 * guarded with a leading apostrophe, which the import takes off again. XLSX
 * cells are typed: amounts are numbers, dates are dates, text is text.
 *
 * Ownership: both return a malloc'd buffer the caller frees.
 */
#ifndef CRM_LEDGER_EXPORT_H
#define CRM_LEDGER_EXPORT_H

#include <jansson.h>
#include <stddef.h>

/* The number of elements of the JSON array text[0..len) (what
 * projects_export returns), counted without parsing it, so that a bound can
 * be checked before the rows are loaded; -1 when it is not one array. */
long ledger_export_count(const char *text, size_t len);

/* The rows as CSV; *len bytes. NULL when out of memory. */
char *ledger_export_csv(const json_t *rows, size_t *len);

/* The rows as an XLSX workbook of one sheet, 项目台账; *len bytes. It is
 * built in a temporary file ($TMPDIR or /tmp), read back and removed.
 * NULL when that fails (memory, disk). */
char *ledger_export_xlsx(const json_t *rows, size_t *len);

#endif
