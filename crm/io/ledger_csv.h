/*
 * ledger_csv: the project ledger (台账) a county keeps in Excel and saves as
 * CSV, read into JSON rows for project_import (sql/schema/90_ledger.sql).
 *
 * Decoding: a UTF-8 byte order mark, or text that is valid UTF-8, is UTF-8;
 * a UTF-16 mark is UTF-16 (Excel's "Unicode text"); anything else is taken
 * for GB18030, the superset of GBK and GB2312 that Chinese Excel writes, and
 * converted with iconv. A charset named by the caller (from Content-Type)
 * overrides the guess. Parsing is libcsv's; the delimiter is a comma, or a
 * tab when the header line has tabs and no commas.
 *
 * The header is the first of the first ten records that names a required
 * column (项目编号, 项目名称); title lines above it are skipped. Headers are
 * matched after dropping spaces, "*" marks and brackets, so 计划投资（亿元）
 * and 计划投资(亿元) are one. Unknown columns become warnings; cells are
 * trimmed, empty ones left out, and wholly empty records skipped.
 *
 * Ownership: ledger_read() fills a struct ledger whose JSON members belong
 * to it until ledger_free(). It never keeps a pointer into the input.
 */
#ifndef CRM_LEDGER_CSV_H
#define CRM_LEDGER_CSV_H

#include <jansson.h>
#include <stddef.h>

/* A column a table's import knows: the row key it fills, whether the file
 * must have it, and the headers that name it (the usual one first). */
struct ledger_column {
    const char *field;
    int required;
    const char *names[10];
};

/* The columns of one kind of table; the first two are required and name
 * the header line. amounts: the project ledger's planned investment in
 * 元, 万元 or 亿元 is recognised too. */
struct ledger_spec {
    const struct ledger_column *columns;
    size_t ncolumns;
    const char *const *ignored; /* headers passed over in silence */
    size_t nignored;
    int amounts;
};

/* The project ledger (台账), and the unit tree of `crm unit import`
 * (编码, 名称, 类型, 上级编码 -> code, name, kind, parent_code). */
extern const struct ledger_spec ledger_projects, ledger_units;

/* The header cells read, the first ones: a line of a million cells (a
 * megabyte of commas) costs no more than one of this many. Cells after
 * them are not imported, with one warning when any has text. */
#define LEDGER_COLUMNS_MAX 200

struct ledger {
    const struct ledger_spec *spec;
    const char *encoding; /* "UTF-8", "GB18030", "UTF-16" (static) */
    json_t *rows;         /* [{line, <field>: text, ...}], line counted from 1 */
    json_t *columns;      /* [{column, field}] in file order (LEDGER_COLUMNS_MAX at most);
                           * field null when unknown */
    json_t *warnings;     /* [text] */
    json_t *missing;      /* on LEDGER_MISSING: [{field, column, message}] */
};

enum ledger_status {
    LEDGER_OK,
    LEDGER_UNDECODABLE, /* not text in UTF-8, UTF-16 or GB18030, or an unknown charset */
    LEDGER_MALFORMED,   /* a quoted cell never closed */
    LEDGER_NO_HEADER,   /* empty, or no line names the required columns */
    LEDGER_MISSING,     /* a required column is missing: see missing */
    LEDGER_NOMEM,
};

/* Reads a ledger of len bytes. charset is a charset name the sender gave
 * (utf-8, gbk, gb2312, gb18030, utf-16...), or NULL to recognise it. On
 * anything but LEDGER_OK and LEDGER_MISSING, detail holds a sentence for
 * the person who sent the file. Whatever it returns, ledger_free() the l. */
enum ledger_status ledger_read(struct ledger *l, const char *data, size_t len, const char *charset,
                               char *detail, size_t detail_len);

/* ledger_read for another kind of table. */
enum ledger_status ledger_read_as(struct ledger *l, const struct ledger_spec *spec,
                                  const char *data, size_t len, const char *charset, char *detail,
                                  size_t detail_len);

void ledger_free(struct ledger *l);

/* Adds "column" (the file's own header) to every {field, message} of the
 * rows of an import report, for the person who fixes the file. */
void ledger_annotate(const struct ledger *l, json_t *report);

#endif
