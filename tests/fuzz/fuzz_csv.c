/* fuzz_csv.c - libFuzzer target: the CSV reader and writer (service/core/csv.c).
 *
 * The input is parsed as UTF-8 and as Windows-1252. Invariants checked (a
 * violation aborts):
 *   - an accepted file has at most CSV_MAX_COLS cells per record, each at
 *     most CSV_MAX_CELL bytes of valid UTF-8 without NUL;
 *   - writing the records back with csv_put_cell and reading that again
 *     gives the same records (a formula-like cell comes back with the
 *     apostrophe the writer puts before it), except records of one empty
 *     cell, which the reader skips as blank lines.
 * Build and run: scripts/fuzz.sh csv (seeds in tests/fuzz/corpus/csv/). */
#include "core/csv.h"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_cells(const struct csv *c)
{
    for (size_t i = 0; i < c->nrows; i++) {
        CHECK(c->ncols[i] >= 1 && c->ncols[i] <= CSV_MAX_COLS);
        for (size_t j = 0; j < c->ncols[i]; j++) {
            size_t n = strlen(c->cells[i][j]);
            CHECK(n <= CSV_MAX_CELL);
            CHECK(csv_utf8_ok((const unsigned char *)c->cells[i][j], n));
        }
    }
}

static int blank(const struct csv *c, size_t i)
{
    return c->ncols[i] == 1 && !c->cells[i][0][0];
}

static void check_round_trip(const struct csv *c)
{
    struct buf o = BUF_INIT;
    size_t kept = 0;
    for (size_t i = 0; i < c->nrows; i++) {
        if (blank(c, i))
            continue;
        kept++;
        for (size_t j = 0; j < c->ncols[i]; j++)
            csv_put_cell(&o, c->cells[i][j], j == 0);
        csv_end_row(&o);
    }
    if (o.failed || !kept) {
        buf_free(&o);
        return;
    }
    struct csv back;
    struct csv_error err;
    int rc = csv_parse(o.data, o.len, CSV_UTF8, 1u << 20, &back, &err);
    /* A defused cell grows by one byte, and quoting may push a written
     * record past the limits: only check what fits. */
    if (rc == 0) {
        CHECK(back.nrows == kept);
        size_t k = 0;
        for (size_t i = 0; i < c->nrows; i++) {
            if (blank(c, i))
                continue;
            CHECK(back.ncols[k] == c->ncols[i]);
            for (size_t j = 0; j < c->ncols[i]; j++) {
                const char *orig = c->cells[i][j], *got = back.cells[k][j];
                if (csv_is_formula(orig))
                    CHECK(got[0] == '\'' && strcmp(got + 1, orig) == 0);
                else
                    CHECK(strcmp(got, orig) == 0);
            }
            k++;
        }
    }
    csv_free(&back);
    buf_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int enc = 0; enc < 2; enc++) {
        struct csv c;
        struct csv_error err;
        if (csv_parse((const char *)data, size, enc ? CSV_WINDOWS_1252 : CSV_UTF8, 100000, &c,
                      &err) == 0) {
            check_cells(&c);
            if (c.sep == ',')
                check_round_trip(&c);
        } else {
            CHECK(err.message[0]);
        }
        csv_free(&c);
    }
    return 0;
}
