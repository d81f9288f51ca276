/*
 * fuzz_csv: the ledger reader (io/ledger_csv) on any bytes. The first byte
 * picks the table (the project ledger or the unit tree) and the charset
 * the sender named (none, the known ones, an unknown one); the rest is the
 * file. Whatever it is, the reader returns one of its statuses with a
 * terminated sentence, and ledger_free leaves nothing behind. A file it
 * reads gives rows in the order of their lines, each cell trimmed and not
 * empty, under a field of the table, and no more columns than
 * LEDGER_COLUMNS_MAX however wide the header (a megabyte of commas once
 * took 24 s to read).
 */
#include <string.h>

#include "fuzz.h"
#include "io/ledger_csv.h"

static const char *const charsets[] = {
    NULL,     "utf-8",    "UTF8",     "gbk",    "gb2312", "gb18030",
    "utf-16", "utf-16le", "utf-16be", "latin1", "",       "x-gbk",
};
#define NCHARSETS (sizeof charsets / sizeof charsets[0])

/* Whether field names a column of spec. */
static int spec_field(const struct ledger_spec *spec, const char *field)
{
    if (spec->amounts && strncmp(field, "planned_investment_", 19) == 0)
        return 1;
    for (size_t i = 0; i < spec->ncolumns; i++)
        if (strcmp(spec->columns[i].field, field) == 0)
            return 1;
    return 0;
}

static void check_rows(const struct ledger *l)
{
    json_int_t last = 0;
    size_t i;
    json_t *row;
    json_array_foreach(l->rows, i, row)
    {
        json_int_t line = json_integer_value(json_object_get(row, "line"));
        FUZZ_CHECK(line > last);
        last = line;
        const char *field;
        json_t *cell;
        json_object_foreach(row, field, cell)
        {
            if (strcmp(field, "line") == 0)
                continue;
            FUZZ_CHECK(spec_field(l->spec, field));
            const char *s = json_string_value(cell);
            size_t n = json_string_length(cell);
            FUZZ_CHECK(s && n > 0);
            FUZZ_CHECK(!memchr(" \t\r\n", s[0], 4) && !memchr(" \t\r\n", s[n - 1], 4));
        }
    }
}

/* An import report naming every row's fields, as project_import's would,
 * annotated with the file's columns. */
static void check_annotate(const struct ledger *l)
{
    json_t *report = json_pack("{s:[]}", "rows");
    FUZZ_CHECK(report);
    size_t i;
    json_t *row;
    json_array_foreach(l->rows, i, row)
    {
        json_t *errors = json_array();
        const char *field;
        json_t *cell;
        json_object_foreach(row, field, cell)
        {
            json_array_append_new(errors,
                                  json_pack("{s:s, s:s}", "field", field, "message", "is bad"));
        }
        json_array_append_new(
            json_object_get(report, "rows"),
            json_pack("{s:O, s:o}", "line", json_object_get(row, "line"), "errors", errors));
    }
    ledger_annotate(l, report);
    json_decref(report);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct ledger_spec *spec = data[0] & 1 ? &ledger_units : &ledger_projects;
    const char *charset = charsets[(data[0] >> 1) % NCHARSETS];
    /* The file in a buffer of its own size: a read past it is seen. */
    size_t len = size - 1;
    char *file = malloc(len ? len : 1);
    FUZZ_CHECK(file);
    memcpy(file, data + 1, len);

    struct ledger l;
    char detail[256];
    memset(detail, 'x', sizeof detail);
    enum ledger_status st = ledger_read_as(&l, spec, file, len, charset, detail, sizeof detail);
    FUZZ_CHECK(st >= LEDGER_OK && st <= LEDGER_NOMEM);
    FUZZ_CHECK(memchr(detail, '\0', sizeof detail) != NULL);
    FUZZ_CHECK(l.spec == spec && l.encoding);
    FUZZ_CHECK(json_is_array(l.rows) && json_is_array(l.columns) && json_is_array(l.warnings));
    FUZZ_CHECK(json_array_size(l.columns) <= LEDGER_COLUMNS_MAX);
    if (st == LEDGER_OK || st == LEDGER_MISSING)
        FUZZ_CHECK(json_array_size(l.columns) > 0);
    if (st == LEDGER_MISSING)
        FUZZ_CHECK(json_array_size(l.missing) > 0 && json_array_size(l.rows) == 0);
    if (st == LEDGER_OK) {
        FUZZ_CHECK(json_array_size(l.missing) == 0);
        check_rows(&l);
        check_annotate(&l);
    }
    ledger_free(&l);
    free(file);
    return 0;
}
