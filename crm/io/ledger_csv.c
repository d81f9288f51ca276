/*
 * ledger_csv: see ledger_csv.h.
 */
#include "io/ledger_csv.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the columns ---- */

static const struct ledger_column ledger_columns[] = {
    {"code", 1, {"项目编号", "项目代码", "项目编码", "编号", "代码"}},
    {"name", 1, {"项目名称", "名称"}},
    {"unit", 0, {"责任单位", "所属单位", "单位", "责任乡镇", "乡镇", "乡镇园区", "属地"}},
    {"investor",
     0,
     {"投资方", "客商", "投资方客商", "投资主体", "投资企业", "投资单位", "签约企业", "企业名称"}},
    {"industry_chain", 0, {"产业链", "所属产业链", "产业链条"}},
    {"park", 0, {"园区", "所在园区", "落地园区", "所属园区"}},
    {"is_key", 0, {"重点项目", "是否重点项目", "是否重点"}},
    {"leader", 0, {"包联领导", "包联县领导", "县级包联领导", "包联县级领导"}},
    {"planned_start_on", 0, {"计划开工日期", "计划开工时间", "计划开工"}},
    {"stage", 0, {"项目阶段", "阶段", "当前阶段", "项目状态"}},
    {"plan", 0, {"推进计划", "备注", "备注推进计划", "推进计划备注", "工作计划"}},
};

/* Columns of the exported ledger that an import passes over in silence:
 * lifecycle dates change only with transitions. */
static const char *const ledger_ignored[] = {"序号",     "签约日期", "开工日期",    "投产日期",
                                             "达产日期", "最近进展", "最近进展日期"};

const struct ledger_spec ledger_projects = {
    ledger_columns,
    sizeof ledger_columns / sizeof ledger_columns[0],
    ledger_ignored,
    sizeof ledger_ignored / sizeof ledger_ignored[0],
    1,
};

/* The unit tree (crm unit import): code, name, kind, parent code. */
static const struct ledger_column unit_columns[] = {
    {"code", 1, {"编码", "单位编码", "代码", "单位代码", "编号", "code"}},
    {"name", 1, {"名称", "单位名称", "name"}},
    {"kind", 1, {"类型", "单位类型", "层级", "kind"}},
    {"parent_code",
     0,
     {"上级编码", "上级单位编码", "上级代码", "上级单位代码", "上级", "parent_code"}},
};
static const char *const unit_ignored[] = {"序号", "上级名称", "上级单位", "上级单位名称"};
const struct ledger_spec ledger_units = {
    unit_columns,
    sizeof unit_columns / sizeof unit_columns[0],
    unit_ignored,
    sizeof unit_ignored / sizeof unit_ignored[0],
    0,
};

/* The planned investment: one of these, then its unit. */
static const char *const amount_names[] = {"计划投资",   "计划总投资", "总投资",
                                           "投资额",     "计划投资额", "投资总额",
                                           "项目总投资", "投资金额",   "计划投资金额"};
static const struct {
    const char *unit, *field;
} amount_units[] = {
    {"亿元", "planned_investment_yi"},
    {"万元", "planned_investment_wan"},
    {"元", "planned_investment_yuan"},
};

/* Characters a header is compared without: blanks, required marks,
 * brackets and slashes, ASCII or full-width. */
static const char *const header_noise[] = {"\xe3\x80\x80", "\xc2\xa0",     "\xef\xbb\xbf",
                                           "\xef\xbc\x8a", "\xef\xbc\x88", "\xef\xbc\x89",
                                           "\xef\xbc\x8f", "\xe3\x80\x90", "\xe3\x80\x91"};

/* The header text reduced for comparison into out (outlen > 0). */
static void header_normalise(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen;) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '(' || c == ')' ||
            c == '/' || c == '[' || c == ']') {
            i++;
            continue;
        }
        int skipped = 0;
        for (size_t k = 0; k < sizeof header_noise / sizeof header_noise[0]; k++) {
            size_t m = strlen(header_noise[k]);
            if (n - i >= m && memcmp(s + i, header_noise[k], m) == 0) {
                i += m;
                skipped = 1;
                break;
            }
        }
        if (!skipped)
            out[o++] = (char)tolower(c), i++;
    }
    out[o] = '\0';
}

static int header_is(const char *normalised, const char *name)
{
    char n[128];
    header_normalise(name, strlen(name), n, sizeof n);
    return strcmp(normalised, n) == 0;
}

/* The row key a header names, "" for a column passed over, or NULL when
 * unknown. *no_unit is set for a planned investment without its unit. */
static const char *header_field(const struct ledger_spec *spec, const char *h, int *no_unit)
{
    *no_unit = 0;
    for (size_t i = 0; i < spec->ncolumns; i++)
        for (size_t k = 0; k < 10 && spec->columns[i].names[k]; k++)
            if (header_is(h, spec->columns[i].names[k]))
                return spec->columns[i].field;
    for (size_t i = 0; i < spec->nignored; i++)
        if (header_is(h, spec->ignored[i]))
            return "";
    if (!spec->amounts)
        return NULL;
    size_t hn = strlen(h);
    for (size_t i = 0; i < sizeof amount_names / sizeof amount_names[0]; i++) {
        size_t bn = strlen(amount_names[i]);
        if (hn < bn || memcmp(h, amount_names[i], bn) != 0)
            continue;
        if (hn == bn) {
            *no_unit = 1;
            return NULL;
        }
        for (size_t u = 0; u < sizeof amount_units / sizeof amount_units[0]; u++)
            if (strcmp(h + bn, amount_units[u].unit) == 0)
                return amount_units[u].field;
    }
    return NULL;
}

/* The key project_import reports a row key's errors under. */
static const char *error_field(const char *field)
{
    return strncmp(field, "planned_investment_", 19) == 0 ? "planned_investment_yuan" : field;
}

/* ---- decoding ---- */

/* Whether s is well-formed UTF-8 without NUL, overlong forms or surrogates. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return 0;
            i++;
            continue;
        }
        size_t k;
        unsigned long cp, min;
        if ((c & 0xE0) == 0xC0)
            k = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            k = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            k = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* len bytes of text in encoding from, as UTF-8 (malloc'd) into *out.
 * Returns 0, -1 when the text is not valid in that encoding, -2 when out
 * of memory. */
static int to_utf8(const char *from, const char *in, size_t len, char **out, size_t *outlen)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return -1;
    /* GB18030 and UTF-16 grow at most by half in UTF-8. */
    size_t cap = len + len / 2 + 4;
    char *buf = malloc(cap + 1);
    if (!buf) {
        iconv_close(cd);
        return -2;
    }
    char *ip = (char *)in, *op = buf;
    size_t il = len, ol = cap;
    int rc = 0;
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
        iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
        rc = -1;
    iconv_close(cd);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *op = '\0';
    *out = buf;
    *outlen = (size_t)(op - buf);
    return 0;
}

/* The iconv name of a charset a sender may name, or NULL. */
static const char *charset_known(const char *cs)
{
    static const struct {
        const char *name, *iconv;
    } known[] = {
        {"utf-8", "UTF-8"},       {"utf8", "UTF-8"},        {"gb18030", "GB18030"},
        {"gbk", "GB18030"},       {"gb2312", "GB18030"},    {"cp936", "GB18030"},
        {"x-gbk", "GB18030"},     {"euc-cn", "GB18030"},    {"utf-16", "UTF-16"},
        {"utf-16le", "UTF-16LE"}, {"utf-16be", "UTF-16BE"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcasecmp(cs, known[i].name) == 0)
            return known[i].iconv;
    return NULL;
}

/* The text of data as UTF-8: *text points into data or, when *owned is
 * set, into that allocation (the caller frees it). */
static enum ledger_status ledger_decode(struct ledger *l, const char *data, size_t len,
                                        const char *charset, const char **text, size_t *text_len,
                                        char **owned, char *detail, size_t dlen)
{
    const unsigned char *u = (const unsigned char *)data;
    const char *from = NULL;
    *owned = NULL;
    if (len >= 4 && memcmp(data, "PK\3\4", 4) == 0) {
        snprintf(detail, dlen,
                 "This is an Excel workbook, not CSV: save it from Excel as CSV and "
                 "send that.");
        return LEDGER_UNDECODABLE;
    }
    if (charset && *charset && !(from = charset_known(charset))) {
        snprintf(detail, dlen, "The charset '%.40s' is not supported: send UTF-8 or GB18030 (GBK).",
                 charset);
        return LEDGER_UNDECODABLE;
    }
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        from = "UTF-8", data += 3, len -= 3;
    else if (len >= 2 && u[0] == 0xFF && u[1] == 0xFE)
        from = "UTF-16LE", data += 2, len -= 2;
    else if (len >= 2 && u[0] == 0xFE && u[1] == 0xFF)
        from = "UTF-16BE", data += 2, len -= 2;
    else if (!from)
        from = utf8_valid((const unsigned char *)data, len) ? "UTF-8" : "GB18030";

    if (strcmp(from, "UTF-8") == 0) {
        l->encoding = "UTF-8";
        if (!utf8_valid((const unsigned char *)data, len)) {
            snprintf(detail, dlen, "The file is not valid UTF-8 text.");
            return LEDGER_UNDECODABLE;
        }
        *text = data;
        *text_len = len;
        return LEDGER_OK;
    }
    l->encoding = strncmp(from, "UTF-16", 6) == 0 ? "UTF-16" : "GB18030";
    int rc = to_utf8(from, data, len, owned, text_len);
    if (rc == -2)
        return LEDGER_NOMEM;
    if (rc != 0 || !utf8_valid((const unsigned char *)*owned, *text_len)) {
        snprintf(detail, dlen, "The file is neither UTF-8 nor GB18030 (GBK) text%s.",
                 rc == 0 ? " (it holds NUL characters)" : "");
        return LEDGER_UNDECODABLE;
    }
    *text = *owned;
    return LEDGER_OK;
}

/* ---- records ---- */

struct ledger_parse {
    json_t *records; /* [{line, cells: [text]}] */
    json_t *cells;   /* of the record being read */
    int record_line;
    int nomem;
};

static void ledger_on_cell(void *s, size_t len, void *arg)
{
    struct ledger_parse *ps = arg;
    if (json_array_append_new(ps->cells, json_stringn(s ? s : "", len)) != 0)
        ps->nomem = 1;
}

static void ledger_on_record(int c, void *arg)
{
    struct ledger_parse *ps = arg;
    json_t *rec = json_pack("{s:i, s:o}", "line", ps->record_line, "cells", ps->cells);
    ps->cells = json_array();
    if (!rec || !ps->cells || json_array_append_new(ps->records, rec) != 0)
        ps->nomem = 1;
}

static int blank_is_space(unsigned char c)
{
    return c == ' ';
}

/* The length of the line at text[pos..len), with its end: LF, CR LF, or CR
 * alone (old Macintosh files), as libcsv ends records at any of them; a
 * file may mix them (a Macintosh file with a line feed in a cell). */
static size_t line_length(const char *text, size_t pos, size_t len)
{
    size_t n = pos;
    while (n < len && text[n] != '\n' && text[n] != '\r')
        n++;
    if (n < len)
        n += text[n] == '\r' && n + 1 < len && text[n + 1] == '\n' ? 2 : 1;
    return n - pos;
}

/* The delimiter: a tab when the first line with a tab or a comma (a title
 * line may have neither) has tabs and no commas, else a comma. */
static unsigned char ledger_delimiter(const char *text, size_t len)
{
    for (size_t pos = 0; pos < len;) {
        size_t n = line_length(text, pos, len);
        int tab = memchr(text + pos, '\t', n) != NULL, comma = memchr(text + pos, ',', n) != NULL;
        if (tab || comma)
            return tab && !comma ? CSV_TAB : CSV_COMMA;
        pos += n;
    }
    return CSV_COMMA;
}

/* libcsv's parser states (libcsv.c), read from its public struct: between
 * records, and inside a cell. */
#define LIBCSV_ROW_NOT_BEGUN 0
#define LIBCSV_FIELD_BEGUN   2

/* Splits text into records, each with the line it begins on. It is fed
 * to libcsv one line at a time so that the line of each record is known:
 * a record begins on a line that starts outside any record; a quoted cell
 * may run over lines. A quoted cell still open at the end is refused
 * (libcsv would take the rest of the file into it, or only complain in its
 * strict mode, which also refuses stray quotes that Excel users type). */
static enum ledger_status ledger_records(struct ledger_parse *ps, const char *text, size_t len,
                                         char *detail, size_t dlen)
{
    unsigned char delim = ledger_delimiter(text, len);
    struct csv_parser parser;
    if (csv_init(&parser, CSV_APPEND_NULL) != 0)
        return LEDGER_NOMEM;
    csv_set_delim(&parser, delim);
    if (delim == CSV_TAB)
        csv_set_space_func(&parser, blank_is_space);
    enum ledger_status st = LEDGER_OK;
    int line = 1;
    for (size_t pos = 0; pos < len && st == LEDGER_OK; line++) {
        size_t n = line_length(text, pos, len);
        if (parser.pstate == LIBCSV_ROW_NOT_BEGUN)
            ps->record_line = line;
        if (csv_parse(&parser, text + pos, n, ledger_on_cell, ledger_on_record, ps) != n ||
            ps->nomem)
            st = LEDGER_NOMEM;
        pos += n;
    }
    if (st == LEDGER_OK && ((parser.pstate == LIBCSV_FIELD_BEGUN && parser.quoted) ||
                            csv_fini(&parser, ledger_on_cell, ledger_on_record, ps) != 0)) {
        snprintf(detail, dlen, "A quoted cell in the row that begins on line %d is never closed.",
                 ps->record_line);
        st = LEDGER_MALFORMED;
    }
    if (st == LEDGER_OK && ps->nomem)
        st = LEDGER_NOMEM;
    csv_free(&parser);
    return st;
}

/* ---- rows ---- */

/* Trims blanks (ASCII, the ideographic space, no-break space, a stray byte
 * order mark) from both ends of s. */
static void blanks_trim(const char **s, size_t *n)
{
    static const char *const blanks[] = {" ",        "\t",          "\r", "\n", "\xe3\x80\x80",
                                         "\xc2\xa0", "\xef\xbb\xbf"};
    for (int again = 1; again && *n > 0;) {
        again = 0;
        for (size_t k = 0; k < sizeof blanks / sizeof blanks[0]; k++) {
            size_t m = strlen(blanks[k]);
            if (*n >= m && memcmp(*s, blanks[k], m) == 0)
                *s += m, *n -= m, again = 1;
            if (*n >= m && memcmp(*s + *n - m, blanks[k], m) == 0)
                *n -= m, again = 1;
        }
    }
}

/* A cell's text without blanks around it, nor the apostrophe with which
 * the export guards text that Excel would run as a formula. */
static void cell_trim(const char **s, size_t *n)
{
    blanks_trim(s, n);
    if (*n >= 2 && (*s)[0] == '\'' && strchr("=+-@\t\r", (*s)[1])) {
        (*s)++, (*n)--;
        blanks_trim(s, n);
    }
}

static int record_blank(json_t *cells)
{
    size_t i;
    json_t *c;
    json_array_foreach(cells, i, c)
    {
        const char *s = json_string_value(c);
        size_t n = json_string_length(c);
        cell_trim(&s, &n);
        if (n > 0)
            return 0;
    }
    return 1;
}

static int warn(struct ledger *l, const char *text)
{
    return json_array_append_new(l->warnings, json_string(text));
}

/* The first of the first ten non-blank records that names a required
 * column, or -1. */
static long header_find(const struct ledger_spec *spec, json_t *records)
{
    int seen = 0;
    for (size_t r = 0; r < json_array_size(records) && seen < 10; r++) {
        json_t *cells = json_object_get(json_array_get(records, r), "cells");
        if (record_blank(cells))
            continue;
        seen++;
        size_t i;
        json_t *c;
        json_array_foreach(cells, i, c)
        {
            if (i == LEDGER_COLUMNS_MAX)
                break;
            char h[256];
            int no_unit;
            header_normalise(json_string_value(c), json_string_length(c), h, sizeof h);
            const char *f = header_field(spec, h, &no_unit);
            for (size_t k = 0; f && k < spec->ncolumns; k++)
                if (spec->columns[k].required && strcmp(f, spec->columns[k].field) == 0)
                    return (long)r;
        }
    }
    return -1;
}

/* The length of the longest prefix of s (n bytes) of at most max bytes
 * that ends on a character boundary. */
static int utf8_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

/* Maps the header's cells to fields: l->columns, and fields[i] for cell i
 * (NULL: not imported; fields is zeroed, and cells past LEDGER_COLUMNS_MAX
 * stay NULL). Returns 0, or -1 when out of memory. */
static int header_map(struct ledger *l, json_t *cells, const char **fields)
{
    size_t i;
    json_t *c;
    json_array_foreach(cells, i, c)
    {
        const char *s = json_string_value(c);
        size_t n = json_string_length(c);
        cell_trim(&s, &n);
        if (i >= LEDGER_COLUMNS_MAX) {
            /* Said once, and only for cells with text: Excel writes empty
             * ones as far as a sheet was ever formatted. */
            if (n > 0) {
                char text[128];
                snprintf(text, sizeof text,
                         "Only the first %d columns are read; those after them are ignored.",
                         LEDGER_COLUMNS_MAX);
                warn(l, text);
                break;
            }
            continue;
        }
        char h[256];
        int no_unit;
        header_normalise(s, n, h, sizeof h);
        const char *f = *h ? header_field(l->spec, h, &no_unit) : "";
        json_t *column = json_stringn(s, n);
        char text[512];
        fields[i] = NULL;
        if (f && *f) {
            for (size_t k = 0; k < i; k++)
                if (fields[k] && strcmp(fields[k], f) == 0) {
                    snprintf(text, sizeof text,
                             "The column '%.*s' repeats another of %s; it is "
                             "ignored.",
                             utf8_prefix(s, n, 120), s, f);
                    warn(l, text);
                    f = "";
                    break;
                }
        } else if (!f) {
            snprintf(text, sizeof text,
                     no_unit ? "The column '%.*s' does not say its unit (元, 万元 or 亿元); it is "
                               "ignored."
                             : "The column '%.*s' is not one the import knows; it is ignored.",
                     utf8_prefix(s, n, 120), s);
            warn(l, text);
        }
        if (f && *f)
            fields[i] = f;
        if (json_array_append_new(
                l->columns, json_pack("{s:o, s:s?}", "column", column, "field", fields[i])) != 0)
            return -1;
    }
    return 0;
}

/* The required columns the header lacks, into l->missing. Returns how many. */
static size_t header_missing(struct ledger *l, const char **fields, size_t n)
{
    const struct ledger_column *cols = l->spec->columns;
    for (size_t c = 0; c < l->spec->ncolumns; c++) {
        if (!cols[c].required)
            continue;
        size_t k = 0;
        while (k < n && !(fields[k] && strcmp(fields[k], cols[c].field) == 0))
            k++;
        if (k == n)
            json_array_append_new(l->missing,
                                  json_pack("{s:s, s:s, s:s}", "field", cols[c].field, "column",
                                            cols[c].names[0], "message", "the column is missing"));
    }
    return json_array_size(l->missing);
}

/* One data record as a row: {line, field: text...}. NULL when out of memory. */
static json_t *ledger_row(json_t *rec, const char **fields, size_t nfields)
{
    json_t *row = json_pack("{s:O}", "line", json_object_get(rec, "line"));
    json_t *cells = json_object_get(rec, "cells");
    for (size_t i = 0; row && i < json_array_size(cells) && i < nfields; i++) {
        json_t *c = json_array_get(cells, i);
        const char *s = json_string_value(c);
        size_t n = json_string_length(c);
        cell_trim(&s, &n);
        if (fields[i] && n > 0 && json_object_set_new(row, fields[i], json_stringn(s, n)) != 0) {
            json_decref(row);
            row = NULL;
        }
    }
    return row;
}

static enum ledger_status ledger_rows(struct ledger *l, json_t *records, char *detail, size_t dlen)
{
    long header = header_find(l->spec, records);
    if (header < 0) {
        snprintf(detail, dlen,
                 "No header found: one of the first lines must name the columns, "
                 "among them %s and %s.",
                 l->spec->columns[0].names[0], l->spec->columns[1].names[0]);
        return LEDGER_NO_HEADER;
    }
    json_t *hcells = json_object_get(json_array_get(records, (size_t)header), "cells");
    size_t ncols = json_array_size(hcells);
    const char **fields = calloc(ncols ? ncols : 1, sizeof *fields);
    if (!fields || header_map(l, hcells, fields) != 0) {
        free(fields);
        return LEDGER_NOMEM;
    }
    if (header > 0) {
        char text[128];
        snprintf(text, sizeof text, "The lines above the header (1 to %lld) are not imported.",
                 (long long)json_integer_value(
                     json_object_get(json_array_get(records, (size_t)header), "line")) -
                     1);
        warn(l, text);
    }
    enum ledger_status st = header_missing(l, fields, ncols) ? LEDGER_MISSING : LEDGER_OK;
    for (size_t r = (size_t)header + 1; st == LEDGER_OK && r < json_array_size(records); r++) {
        json_t *rec = json_array_get(records, r);
        if (record_blank(json_object_get(rec, "cells")))
            continue;
        json_t *row = ledger_row(rec, fields, ncols);
        if (!row || json_array_append_new(l->rows, row) != 0)
            st = LEDGER_NOMEM;
    }
    free(fields);
    return st;
}

enum ledger_status ledger_read(struct ledger *l, const char *data, size_t len, const char *charset,
                               char *detail, size_t detail_len)
{
    return ledger_read_as(l, &ledger_projects, data, len, charset, detail, detail_len);
}

enum ledger_status ledger_read_as(struct ledger *l, const struct ledger_spec *spec,
                                  const char *data, size_t len, const char *charset, char *detail,
                                  size_t detail_len)
{
    memset(l, 0, sizeof *l);
    l->spec = spec;
    snprintf(detail, detail_len, "Out of memory.");
    l->encoding = "UTF-8";
    l->rows = json_array();
    l->columns = json_array();
    l->warnings = json_array();
    l->missing = json_array();
    if (!l->rows || !l->columns || !l->warnings || !l->missing)
        return LEDGER_NOMEM;
    const char *text;
    size_t text_len;
    char *owned = NULL;
    enum ledger_status st =
        ledger_decode(l, data, len, charset, &text, &text_len, &owned, detail, detail_len);
    if (st != LEDGER_OK) {
        free(owned);
        return st;
    }
    struct ledger_parse ps = {json_array(), json_array(), 1, 0};
    if (!ps.records || !ps.cells)
        st = LEDGER_NOMEM;
    if (st == LEDGER_OK)
        st = ledger_records(&ps, text, text_len, detail, detail_len);
    free(owned);
    if (st == LEDGER_OK)
        st = ledger_rows(l, ps.records, detail, detail_len);
    json_decref(ps.records);
    json_decref(ps.cells);
    return st;
}

void ledger_free(struct ledger *l)
{
    json_decref(l->rows);
    json_decref(l->columns);
    json_decref(l->warnings);
    json_decref(l->missing);
    memset(l, 0, sizeof *l);
}

void ledger_annotate(const struct ledger *l, json_t *report)
{
    size_t i, j, k;
    json_t *row, *err, *col;
    json_array_foreach(json_object_get(report, "rows"), i, row)
    {
        json_array_foreach(json_object_get(row, "errors"), j, err)
        {
            const char *f = json_string_value(json_object_get(err, "field"));
            if (!f)
                continue;
            json_array_foreach(l->columns, k, col)
            {
                const char *cf = json_string_value(json_object_get(col, "field"));
                if (cf && strcmp(error_field(cf), f) == 0) {
                    json_object_set(err, "column", json_object_get(col, "column"));
                    break;
                }
            }
        }
    }
}
