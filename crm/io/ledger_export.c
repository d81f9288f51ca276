/*
 * ledger_export: see ledger_export.h.
 */
#include "io/ledger_export.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

enum cell_kind {
    CELL_SERIAL,  /* 1, 2, 3... */
    CELL_TEXT,    /* a string */
    CELL_YUAN,    /* an integer of yuan */
    CELL_DECIMAL, /* a decimal written as a string ("1.04") */
    CELL_FLAG,    /* true/false: 是/否 */
    CELL_DATE,    /* "YYYY-MM-DD" */
};

/* The ledger's columns, in order: the header, the row's key, the kind of
 * cell and the XLSX column width. */
static const struct {
    const char *header;
    const char *key;
    enum cell_kind kind;
    double width;
} ledger_export_columns[] = {
    {"序号", NULL, CELL_SERIAL, 6},
    {"项目编号", "code", CELL_TEXT, 16},
    {"项目名称", "name", CELL_TEXT, 32},
    {"责任单位", "unit_name", CELL_TEXT, 18},
    {"投资方", "investor_name", CELL_TEXT, 28},
    {"产业链", "industry_chain", CELL_TEXT, 14},
    {"园区", "park", CELL_TEXT, 16},
    {"计划投资(元)", "planned_investment_yuan", CELL_YUAN, 18},
    {"计划投资(亿元)", "planned_investment_yi", CELL_DECIMAL, 15},
    {"重点项目", "is_key", CELL_FLAG, 10},
    {"包联领导", "leader_name", CELL_TEXT, 14},
    {"项目阶段", "stage_label", CELL_TEXT, 10},
    {"签约日期", "signed_on", CELL_DATE, 12},
    {"开工日期", "started_on", CELL_DATE, 12},
    {"计划开工日期", "planned_start_on", CELL_DATE, 14},
    {"最近进展日期", "last_progress_on", CELL_DATE, 14},
    {"推进计划", "plan", CELL_TEXT, 48},
};

#define LEDGER_NCOLS (sizeof ledger_export_columns / sizeof ledger_export_columns[0])

/* ---- counting ---- */

long ledger_export_count(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i == len || text[i] != '[')
        return -1;
    long commas = 0;
    int depth = 0, any = 0;
    for (; i < len; i++) {
        char ch = text[i];
        switch (ch) {
        case '"': /* a string: skip it, escapes included */
            any |= depth == 1;
            for (i++; i < len && text[i] != '"'; i++)
                i += text[i] == '\\';
            if (i >= len)
                return -1;
            break;
        case '[':
        case '{':
            any |= depth == 1;
            depth++;
            break;
        case ']':
        case '}':
            if (--depth == 0)
                return any ? commas + 1 : 0;
            break;
        case ',':
            commas += depth == 1;
            break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            break;
        default:
            any |= depth == 1;
        }
    }
    return -1;
}

/* ---- CSV ---- */

/* Writes one cell's text: a CSV field, quoted by libcsv. */
static int csv_cell(FILE *f, int first, const char *s, size_t n)
{
    if (!first && fputc(',', f) == EOF)
        return -1;
    return csv_fwrite(f, s, n);
}

/* The text of row's cell in column c (serial: the row's number) into buf. */
static const char *cell_text(const json_t *row, size_t c, size_t serial, char *buf, size_t len)
{
    json_t *v =
        ledger_export_columns[c].key ? json_object_get(row, ledger_export_columns[c].key) : NULL;
    switch (ledger_export_columns[c].kind) {
    case CELL_SERIAL:
        snprintf(buf, len, "%zu", serial);
        return buf;
    case CELL_YUAN:
        if (!json_is_integer(v))
            return "";
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        return buf;
    case CELL_FLAG:
        return json_is_true(v) ? "是" : "否";
    default:
        return json_is_string(v) ? json_string_value(v) : "";
    }
}

char *ledger_export_csv(const json_t *rows, size_t *len)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);
    if (!f)
        return NULL;
    int rc = fputs("\xef\xbb\xbf", f) == EOF ? -1 : 0;
    for (size_t c = 0; c < LEDGER_NCOLS && rc == 0; c++)
        rc = csv_cell(f, c == 0, ledger_export_columns[c].header,
                      strlen(ledger_export_columns[c].header));
    if (rc == 0 && fputs("\r\n", f) == EOF)
        rc = -1;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < LEDGER_NCOLS && rc == 0; c++) {
            char buf[32];
            const char *s = cell_text(row, c, i + 1, buf, sizeof buf);
            /* Guard text Excel would take for a formula. */
            if (ledger_export_columns[c].kind == CELL_TEXT && *s && strchr("=+-@\t\r", *s)) {
                size_t n = strlen(s);
                char *guarded = malloc(n + 2);
                if (!guarded) {
                    rc = -1;
                    break;
                }
                guarded[0] = '\'';
                memcpy(guarded + 1, s, n + 1);
                rc = csv_cell(f, c == 0, guarded, n + 1);
                free(guarded);
                continue;
            }
            rc = csv_cell(f, c == 0, s, strlen(s));
        }
        if (rc == 0 && fputs("\r\n", f) == EOF)
            rc = -1;
        if (rc != 0)
            break;
    }
    if (fclose(f) != 0 || rc != 0) {
        free(out);
        return NULL;
    }
    *len = size;
    return out;
}

/* ---- XLSX ---- */

struct xlsx_formats {
    lxw_format *header, *date, *yuan, *text;
};

static void xlsx_header(lxw_worksheet *ws, const struct xlsx_formats *fm, size_t nrows)
{
    for (size_t c = 0; c < LEDGER_NCOLS; c++) {
        worksheet_write_string(ws, 0, (lxw_col_t)c, ledger_export_columns[c].header, fm->header);
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, ledger_export_columns[c].width, NULL);
    }
    worksheet_freeze_panes(ws, 1, 0);
    worksheet_autofilter(ws, 0, 0, (lxw_row_t)nrows, (lxw_col_t)(LEDGER_NCOLS - 1));
}

/* Writes row's cell in column c at (r, c). Returns 0 or -1. */
static int xlsx_cell(lxw_worksheet *ws, const struct xlsx_formats *fm, const json_t *row,
                     lxw_row_t r, size_t c)
{
    json_t *v =
        ledger_export_columns[c].key ? json_object_get(row, ledger_export_columns[c].key) : NULL;
    lxw_col_t col = (lxw_col_t)c;
    lxw_datetime d = {0};
    switch (ledger_export_columns[c].kind) {
    case CELL_SERIAL:
        return worksheet_write_number(ws, r, col, (double)r, NULL) == LXW_NO_ERROR ? 0 : -1;
    case CELL_YUAN:
        if (!json_is_integer(v))
            return 0;
        return worksheet_write_number(ws, r, col, (double)json_integer_value(v), fm->yuan) ==
                       LXW_NO_ERROR
                   ? 0
                   : -1;
    case CELL_DECIMAL:
        if (!json_is_string(v))
            return 0;
        return worksheet_write_number(ws, r, col, strtod(json_string_value(v), NULL), NULL) ==
                       LXW_NO_ERROR
                   ? 0
                   : -1;
    case CELL_FLAG:
        return worksheet_write_string(ws, r, col, json_is_true(v) ? "是" : "否", NULL) ==
                       LXW_NO_ERROR
                   ? 0
                   : -1;
    case CELL_DATE:
        if (!json_is_string(v) ||
            sscanf(json_string_value(v), "%4d-%2d-%2d", &d.year, &d.month, &d.day) != 3)
            return 0;
        return worksheet_write_datetime(ws, r, col, &d, fm->date) == LXW_NO_ERROR ? 0 : -1;
    case CELL_TEXT:
        if (!json_is_string(v) || json_string_length(v) == 0)
            return 0;
        /* As a string cell, never a formula: no guard needed. */
        return worksheet_write_string(ws, r, col, json_string_value(v), fm->text) == LXW_NO_ERROR
                   ? 0
                   : -1;
    }
    return -1;
}

/* Reads and removes the file at path. NULL on failure. */
static char *file_take(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    unlink(path);
    if (buf)
        *len = (size_t)size;
    return buf;
}

char *ledger_export_xlsx(const json_t *rows, size_t *len)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/crm-ledger-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    lxw_workbook *wb = workbook_new(path);
    lxw_worksheet *ws = wb ? workbook_add_worksheet(wb, "项目台账") : NULL;
    if (!ws) {
        if (wb)
            workbook_close(wb);
        unlink(path);
        return NULL;
    }
    lxw_doc_properties props = {.title = "项目台账", .comments = "crm"};
    workbook_set_properties(wb, &props);
    struct xlsx_formats fm = {workbook_add_format(wb), workbook_add_format(wb),
                              workbook_add_format(wb), workbook_add_format(wb)};
    format_set_bold(fm.header);
    format_set_bg_color(fm.header, 0xDDEBF7);
    format_set_border(fm.header, LXW_BORDER_THIN);
    format_set_align(fm.header, LXW_ALIGN_CENTER);
    format_set_num_format(fm.date, "yyyy-mm-dd");
    format_set_num_format(fm.yuan, "#,##0");
    format_set_num_format(fm.text, "@");
    xlsx_header(ws, &fm, json_array_size(rows));
    int rc = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < LEDGER_NCOLS && rc == 0; c++)
            rc = xlsx_cell(ws, &fm, row, (lxw_row_t)(i + 1), c);
        if (rc != 0)
            break;
    }
    if (workbook_close(wb) != LXW_NO_ERROR || rc != 0) {
        unlink(path);
        return NULL;
    }
    return file_take(path, len);
}
