/* csv.c - reading and writing CSV as spreadsheets make it (RFC 4180).
 *
 * Files come from Excel, LibreOffice and HR systems, so the reader accepts
 * what they write - a UTF-8 byte order mark, CRLF or LF (or old Mac CR)
 * line ends, ';' as separator (Excel in a Dutch locale) or ',' or tab,
 * Windows-1252 when the upload declares it - and refuses everything else
 * with the line and column: a file read "generously" is a file whose rows
 * may silently mean something else than the admin saw.
 *
 * The file is copied once (transcoded when it is Windows-1252) and cells
 * are unquoted in place, each NUL-terminated where its separator was; the
 * write position never passes the read position, so that is safe. */
#include "core/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Windows-1252 0x80-0x9F; the rest of the upper half is Latin-1. 0: a
 * byte 1252 leaves undefined, refused. */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

int csv_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0; /* truncated */
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

static size_t utf8_put(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

static void csv_fail(struct csv_error *err, size_t line, size_t col, const char *msg)
{
    err->line = line;
    err->column = col;
    snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* data as UTF-8 in a new buffer (*out, *outlen); -1 on a byte that is not
 * text in the encoding. */
static int csv_decode(const unsigned char *d, size_t len, enum csv_encoding enc, char **out,
                      size_t *outlen, struct csv_error *err)
{
    if (len >= 2 && ((d[0] == 0xFF && d[1] == 0xFE) || (d[0] == 0xFE && d[1] == 0xFF))) {
        csv_fail(err, 1, 0, "The file is UTF-16; save it as CSV UTF-8.");
        return -1;
    }
    if (memchr(d, '\0', len)) {
        csv_fail(err, 1, 0, "The file holds NUL bytes: it is not a text file.");
        return -1;
    }
    char *buf = malloc(enc == CSV_WINDOWS_1252 ? len * 3 + 1 : len + 1);
    size_t n = 0;
    if (!buf) {
        csv_fail(err, 0, 0, "The file is too large.");
        return -1;
    }
    for (size_t i = 0; i < len && enc == CSV_WINDOWS_1252; i++) {
        unsigned cp = d[i] >= 0x80 && d[i] < 0xA0 ? cp1252_high[d[i] - 0x80] : d[i];
        if (!cp) {
            free(buf);
            csv_fail(err, 0, 0, "The file holds a byte that Windows-1252 does not define.");
            return -1;
        }
        n += utf8_put(buf + n, cp);
    }
    if (enc == CSV_UTF8) {
        if (!csv_utf8_ok(d, len)) {
            free(buf);
            csv_fail(err, 0, 0,
                     "The file is not valid UTF-8; save it as CSV UTF-8 or declare "
                     "charset=windows-1252.");
            return -1;
        }
        memcpy(buf, d, len);
        n = len;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

/* The separator: whichever of ';' ',' tab is most frequent outside quotes
 * in the first record (',' on a tie). */
static char csv_detect_sep(const char *s, size_t n)
{
    size_t semi = 0, comma = 0, tab = 0;
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && (s[i] == '\n' || s[i] == '\r'))
            break;
        else if (!quoted)
            semi += s[i] == ';', comma += s[i] == ',', tab += s[i] == '\t';
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

/* Adds a record of ncols cells starting at cells[0..]. */
static int csv_add_row(struct csv *c, char **cells, size_t ncols, size_t line)
{
    if (c->nrows == c->cap_) {
        size_t cap = c->cap_ ? c->cap_ * 2 : 64;
        size_t *nc = realloc(c->ncols, cap * sizeof(size_t));
        if (nc)
            c->ncols = nc;
        char ***cl = realloc(c->cells, cap * sizeof(char **));
        if (cl)
            c->cells = cl;
        size_t *ln = realloc(c->line, cap * sizeof(size_t));
        if (ln)
            c->line = ln;
        if (!nc || !cl || !ln)
            return -1;
        c->cap_ = cap;
    }
    char **copy = malloc(ncols * sizeof(char *));
    if (!copy)
        return -1;
    memcpy(copy, cells, ncols * sizeof(char *));
    c->cells[c->nrows] = copy;
    c->ncols[c->nrows] = ncols;
    c->line[c->nrows++] = line;
    return 0;
}

struct csv_reader {
    char *s;        /* the text, unquoted in place */
    size_t n, r, w; /* length, read and write positions */
    size_t line;    /* physical line of r */
    char sep;
    char *cells[CSV_MAX_COLS];
    size_t ncols;
};

static int at_eol(const struct csv_reader *p)
{
    return p->r >= p->n || p->s[p->r] == '\n' || p->s[p->r] == '\r';
}

/* Skips one line end (CRLF, LF or CR) at r. */
static void skip_eol(struct csv_reader *p)
{
    if (p->r < p->n && p->s[p->r] == '\r')
        p->r++;
    if (p->r < p->n && p->s[p->r] == '\n')
        p->r++;
    p->line++;
}

/* One quoted cell, r just past the opening quote. */
static int read_quoted(struct csv_reader *p, struct csv_error *err)
{
    size_t start_line = p->line;
    for (;;) {
        if (p->r >= p->n) {
            csv_fail(err, start_line, p->ncols + 1, "A quoted cell is never closed.");
            return -1;
        }
        char ch = p->s[p->r++];
        if (ch == '"' && p->r < p->n && p->s[p->r] == '"') {
            p->r++;
        } else if (ch == '"') {
            break;
        } else if (ch == '\n' || (ch == '\r' && (p->r >= p->n || p->s[p->r] != '\n'))) {
            p->line++;
        }
        p->s[p->w++] = ch;
    }
    if (!at_eol(p) && p->s[p->r] != p->sep) {
        csv_fail(err, p->line, p->ncols + 1, "Text follows the closing quote of a cell.");
        return -1;
    }
    return 0;
}

static int read_plain(struct csv_reader *p, struct csv_error *err)
{
    while (!at_eol(p) && p->s[p->r] != p->sep) {
        if (p->s[p->r] == '"') {
            csv_fail(err, p->line, p->ncols + 1,
                     "A quote inside an unquoted cell (quote the whole cell and double it).");
            return -1;
        }
        p->s[p->w++] = p->s[p->r++];
    }
    return 0;
}

/* One cell into cells[ncols]; r ends on a separator or line end. */
static int read_cell(struct csv_reader *p, struct csv_error *err)
{
    if (p->ncols == CSV_MAX_COLS) {
        csv_fail(err, p->line, p->ncols + 1, "Too many columns.");
        return -1;
    }
    size_t start = p->w;
    int rc;
    if (p->r < p->n && p->s[p->r] == '"') {
        p->r++;
        rc = read_quoted(p, err);
    } else {
        rc = read_plain(p, err);
    }
    if (rc < 0)
        return -1;
    if (p->w - start > CSV_MAX_CELL) {
        csv_fail(err, p->line, p->ncols + 1, "A cell is longer than 4096 bytes.");
        return -1;
    }
    p->cells[p->ncols++] = p->s + start;
    return 0;
}

/* One record; the cells are terminated once all are read (the NULs go
 * where separators were, which the reader has passed). */
static int read_record(struct csv_reader *p, struct csv_error *err)
{
    size_t ends[CSV_MAX_COLS];
    p->ncols = 0;
    for (;;) {
        if (read_cell(p, err) < 0)
            return -1;
        ends[p->ncols - 1] = p->w;
        if (at_eol(p))
            break;
        p->r++; /* the separator */
        p->s[p->w++] = '\0';
    }
    skip_eol(p); /* before the last NUL, which may go where the line end was */
    for (size_t i = 0; i < p->ncols; i++)
        p->s[ends[i]] = '\0';
    p->w++;
    return 0;
}

static int blank_record(const struct csv_reader *p)
{
    return p->ncols == 1 && p->cells[0][0] == '\0';
}

int csv_parse(const char *data, size_t len, enum csv_encoding enc, size_t max_rows, struct csv *out,
              struct csv_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    const unsigned char *d = (const unsigned char *)data;
    if (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) {
        d += 3, len -= 3;
        enc = CSV_UTF8; /* the mark says what the file is */
    }
    struct csv_reader p = {0};
    if (csv_decode(d, len, enc, &p.s, &p.n, err) < 0)
        return -1;
    out->buf_ = p.s;
    p.line = 1;
    p.sep = out->sep = csv_detect_sep(p.s, p.n);
    while (p.r < p.n) {
        size_t line = p.line;
        if (read_record(&p, err) < 0)
            return -1;
        if (blank_record(&p))
            continue;
        if (out->nrows == max_rows) {
            csv_fail(err, line, 0, "The file has too many rows.");
            return -1;
        }
        if (csv_add_row(out, p.cells, p.ncols, line) < 0) {
            csv_fail(err, line, 0, "The file is too large.");
            return -1;
        }
    }
    return 0;
}

void csv_free(struct csv *c)
{
    for (size_t i = 0; i < c->nrows; i++)
        free(c->cells[i]);
    free(c->cells);
    free(c->ncols);
    free(c->line);
    free(c->buf_);
    memset(c, 0, sizeof(*c));
}

int csv_is_formula(const char *s)
{
    return s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

/* A failed append is kept in o->failed, which the caller checks once. */
static void out_put(struct buf *o, const char *s, size_t n)
{
    (void)buf_append(o, s, n);
}

void csv_put_cell(struct buf *o, const char *s, int first)
{
    if (!first)
        out_put(o, ",", 1);
    int formula = csv_is_formula(s);
    /* A cell starting with U+FEFF would read back as a byte order mark. */
    int bom = strncmp(s, "\xEF\xBB\xBF", 3) == 0;
    if (!formula && !bom && !s[strcspn(s, ",;\"\r\n\t")]) {
        out_put(o, s, strlen(s));
        return;
    }
    out_put(o, "\"", 1);
    if (formula)
        out_put(o, "'", 1);
    for (const char *q; (q = strchr(s, '"')); s = q + 1) {
        out_put(o, s, (size_t)(q - s) + 1);
        out_put(o, "\"", 1);
    }
    out_put(o, s, strlen(s));
    out_put(o, "\"", 1);
}

void csv_end_row(struct buf *o)
{
    out_put(o, "\r\n", 2);
}
