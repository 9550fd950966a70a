/* csv.h - a strict RFC 4180 reader and writer for the user import and
 * export. Pure functions, no I/O.
 *
 * Return convention: operations return 0 on success and -1 on failure;
 * predicates (csv_is_formula, csv_utf8_ok) return 1 for true, 0 for false;
 * writers record a failed allocation in the buffer (core/buf.h). */
#ifndef REFLECTD_CSV_H
#define REFLECTD_CSV_H

#include "core/buf.h"

#include <stddef.h>

#define CSV_MAX_COLS 64
#define CSV_MAX_CELL 4096 /* bytes, after unquoting */

enum csv_encoding { CSV_UTF8, CSV_WINDOWS_1252 };

/* A parsed file: records of cells, NUL-terminated UTF-8. Blank lines are
 * skipped; line[i] is the physical line record i starts on (1-based). */
struct csv {
    char sep; /* ',' ';' or '\t', detected from the first record */
    size_t nrows;
    size_t *ncols;
    char ***cells;
    size_t *line;
    char *buf_;  /* private: the cells' storage */
    size_t cap_; /* private: allocated records */
};

struct csv_error {
    size_t line, column; /* 1-based; column 0: the file as a whole */
    char message[160];
};

/* Parses data (len bytes; a UTF-8 byte order mark is dropped and wins over
 * enc). Returns 0, or -1 with err filled: NUL bytes (a binary file), a
 * UTF-16 file, invalid UTF-8, a quote inside an unquoted cell, text after
 * a closing quote, an unterminated quote, more than max_rows records,
 * CSV_MAX_COLS columns or CSV_MAX_CELL bytes in a cell. out must be freed
 * with csv_free either way. */
int csv_parse(const char *data, size_t len, enum csv_encoding enc, size_t max_rows, struct csv *out,
              struct csv_error *err);
void csv_free(struct csv *c);

/* Would a spreadsheet read the cell as a formula (= + - @, tab, CR first)?
 * Imports refuse such cells; exports defuse them. */
int csv_is_formula(const char *s);

/* CSV is written into a growing buffer (core/buf.h): check its failed
 * once at the end; buf_free releases it. */

/* Appends one cell (sep before it unless first), quoted when it holds the
 * separator, a quote or a line break; a formula-like cell gets a leading
 * apostrophe, so a spreadsheet shows it as text. */
void csv_put_cell(struct buf *o, const char *s, int first);
/* Ends a record with CRLF (RFC 4180). */
void csv_end_row(struct buf *o);

/* Is s (n bytes) valid UTF-8 (no overlongs, surrogates, or > U+10FFFF)? */
int csv_utf8_ok(const unsigned char *s, size_t n);

#endif
