/* test_csv.c - the CSV reader and writer (csv.c): what spreadsheets write
 * is read, everything ambiguous is refused with its line and column. */
#include "core/csv.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void parse_ok(const char *data, size_t len, enum csv_encoding enc, struct csv *c)
{
    struct csv_error err;
    int rc = csv_parse(data, len, enc, 1000, c, &err);
    cr_assert_eq(rc, 0, "line %zu col %zu: %s", err.line, err.column, err.message);
}

static void parse_fails(const char *data, size_t len, size_t line, size_t col)
{
    struct csv c;
    struct csv_error err;
    cr_assert_eq(csv_parse(data, len, CSV_UTF8, 1000, &c, &err), -1, "%.*s", (int)len, data);
    cr_assert_eq(err.line, line, "%.*s: line %zu (%s)", (int)len, data, err.line, err.message);
    cr_assert_eq(err.column, col, "%.*s: column %zu (%s)", (int)len, data, err.column, err.message);
    cr_assert(err.message[0]);
    csv_free(&c);
}

#define S(lit) lit, sizeof(lit) - 1

Test(csv, quoting_line_ends_and_separators)
{
    struct csv c;
    parse_ok(S("email,name\r\na@x.nl,\"Jansen, P.\"\r\n\"b@x.nl\",\"say \"\"hi\"\"\"\r\n"),
             CSV_UTF8, &c);
    cr_assert_eq(c.sep, ',');
    cr_assert_eq(c.nrows, 3);
    cr_assert_str_eq(c.cells[1][1], "Jansen, P.");
    cr_assert_str_eq(c.cells[2][0], "b@x.nl");
    cr_assert_str_eq(c.cells[2][1], "say \"hi\"");
    csv_free(&c);
    parse_ok(S("email;name\na@x.nl;Piet\n\n\"multi\nline\";x"), CSV_UTF8, &c);
    cr_assert_eq(c.sep, ';');
    cr_assert_eq(c.nrows, 3, "the blank line is skipped");
    cr_assert_str_eq(c.cells[2][0], "multi\nline");
    cr_assert_eq(c.line[2], 4);
    csv_free(&c);
    parse_ok(S("a\tb\rc\td\r"), CSV_UTF8, &c);
    cr_assert_eq(c.sep, '\t');
    cr_assert_eq(c.nrows, 2);
    cr_assert_str_eq(c.cells[1][1], "d");
    csv_free(&c);
    parse_ok(S("a,b,\n,,"), CSV_UTF8, &c);
    cr_assert_eq(c.ncols[0], 3);
    cr_assert_eq(c.ncols[1], 3);
    cr_assert_str_eq(c.cells[1][2], "");
    csv_free(&c);
    parse_ok(S(""), CSV_UTF8, &c);
    cr_assert_eq(c.nrows, 0);
    csv_free(&c);
}

Test(csv, encodings)
{
    struct csv c;
    parse_ok(S("\xEF\xBB\xBFnaam\nJos\xC3\xA9"), CSV_WINDOWS_1252, &c); /* the BOM wins */
    cr_assert_str_eq(c.cells[0][0], "naam");
    cr_assert_str_eq(c.cells[1][0], "Jos\xC3\xA9");
    csv_free(&c);
    parse_ok(S("naam\nJos\xE9 \x80"), CSV_WINDOWS_1252, &c);
    cr_assert_str_eq(c.cells[1][0], "Jos\xC3\xA9 \xE2\x82\xAC");
    csv_free(&c);
    parse_fails(S("naam\nJos\xE9"), 0, 0);       /* Latin-1 sent as UTF-8 */
    parse_fails(S("\xFF\xFEn\0a\0"), 1, 0);      /* UTF-16 */
    parse_fails(S("a,b\nc\0d"), 1, 0);           /* binary */
    parse_fails(S("a\n\xC0\xAF"), 0, 0);         /* overlong */
    parse_fails(S("a\n\xED\xA0\x80"), 0, 0);     /* surrogate */
    parse_fails(S("a\n\xF4\x90\x80\x80"), 0, 0); /* above U+10FFFF */
    parse_fails(S("a\n\xE2\x82"), 0, 0);         /* truncated */
    struct csv_error err;
    cr_assert_eq(csv_parse(S("x\x81"), CSV_WINDOWS_1252, 10, &c, &err), -1); /* undefined */
    csv_free(&c);
}

Test(csv, structure_errors_name_line_and_column)
{
    parse_fails(S("a,b\nc,d\"e\n"), 2, 2);
    parse_fails(S("a,b\nc,\"d\"e\n"), 2, 2);
    parse_fails(S("a,b\nc,\"d\n\ne"), 2, 2);
    char many[400] = "";
    for (int i = 0; i < CSV_MAX_COLS + 1; i++)
        strcat(many, "x,");
    parse_fails(many, strlen(many), 1, CSV_MAX_COLS + 1);
    size_t n = CSV_MAX_CELL + 10;
    char *big = malloc(n + 3);
    memset(big, 'a', n);
    memcpy(big + n, "\n", 2);
    parse_fails(big, n + 1, 1, 1);
    free(big);
    struct csv c;
    struct csv_error err;
    cr_assert_eq(csv_parse(S("a\nb\nc\nd\n"), CSV_UTF8, 3, &c, &err), -1);
    cr_assert_eq(err.line, 4);
    csv_free(&c);
}

Test(csv, formula_cells)
{
    cr_assert(csv_is_formula("=1+1"));
    cr_assert(csv_is_formula("+31612345678"));
    cr_assert(csv_is_formula("-2"));
    cr_assert(csv_is_formula("@SUM(A1)"));
    cr_assert(csv_is_formula("\tx"));
    cr_assert_not(csv_is_formula("Piet"));
    cr_assert_not(csv_is_formula(""));
}

Test(csv, writer_quotes_and_defuses)
{
    struct buf o = BUF_INIT;
    csv_put_cell(&o, "plain", 1);
    csv_put_cell(&o, "a,b", 0);
    csv_put_cell(&o, "say \"hi\"", 0);
    csv_put_cell(&o, "=HYPERLINK(\"x\")", 0);
    csv_put_cell(&o, "two\nlines", 0);
    csv_end_row(&o);
    cr_assert_not(o.failed);
    cr_assert_str_eq(o.data, "plain,\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",\"two\n"
                             "lines\"\r\n");
    /* What is written reads back the same (the defused cell with its '). */
    struct csv c;
    parse_ok(o.data, o.len, CSV_UTF8, &c);
    cr_assert_eq(c.ncols[0], 5);
    cr_assert_str_eq(c.cells[0][2], "say \"hi\"");
    cr_assert_str_eq(c.cells[0][3], "'=HYPERLINK(\"x\")");
    cr_assert_str_eq(c.cells[0][4], "two\nlines");
    csv_free(&c);
    buf_free(&o);
}
