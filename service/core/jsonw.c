/* jsonw.c - the JSON writer (jsonw.h): buffer growth, the comma and
 * nesting bookkeeping, string escaping with UTF-8 repair, and PostgreSQL
 * array literals. */
#include "core/jsonw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void jsonw_init(struct jsonw *w)
{
    memset(w, 0, sizeof(*w));
    w->first[0] = 1;
}

void jsonw_free(struct jsonw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

const char *jsonw_finish(struct jsonw *w)
{
    if (w->failed || w->depth != 0 || w->key_pending || !w->buf)
        return NULL;
    return w->buf;
}

char *jsonw_take(struct jsonw *w, size_t *len)
{
    if (!jsonw_finish(w))
        return NULL;
    char *s = w->buf;
    *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return s;
}

/* Room for n more bytes and a NUL. */
static int jsonw_reserve(struct jsonw *w, size_t n)
{
    if (w->failed)
        return 0;
    if (w->len + n + 1 <= w->cap)
        return 1;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->failed = 1;
        return 0;
    }
    w->buf = b;
    w->cap = cap;
    return 1;
}

int jsonw_expect(struct jsonw *w, size_t n)
{
    return jsonw_reserve(w, n) ? 0 : -1;
}

static void jsonw_put(struct jsonw *w, const char *s, size_t n)
{
    if (!jsonw_reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* Before any value or key: the comma, and the checks that one may come. */
static int jsonw_before(struct jsonw *w, int is_key)
{
    if (w->failed)
        return 0;
    int d = w->depth;
    if (is_key != (d > 0 && w->in_obj[d] && !w->key_pending)) {
        w->failed = 1; /* a key outside an object, or a value without its key */
        return 0;
    }
    if (w->key_pending) {
        w->key_pending = 0;
        return 1;
    }
    if (d == 0 && !w->first[0]) {
        w->failed = 1; /* one top-level value only */
        return 0;
    }
    if (!w->first[d])
        jsonw_put(w, ",", 1);
    w->first[d] = 0;
    return !w->failed;
}

static void jsonw_open(struct jsonw *w, int obj)
{
    if (!jsonw_before(w, 0))
        return;
    if (w->depth + 1 >= JSONW_DEPTH) {
        w->failed = 1;
        return;
    }
    jsonw_put(w, obj ? "{" : "[", 1);
    w->depth++;
    w->first[w->depth] = 1;
    w->in_obj[w->depth] = (unsigned char)obj;
}

static void jsonw_close(struct jsonw *w, int obj)
{
    if (w->failed)
        return;
    if (w->depth == 0 || w->in_obj[w->depth] != obj || w->key_pending) {
        w->failed = 1;
        return;
    }
    w->depth--;
    jsonw_put(w, obj ? "}" : "]", 1);
}

void jsonw_obj_begin(struct jsonw *w)
{
    jsonw_open(w, 1);
}

void jsonw_obj_end(struct jsonw *w)
{
    jsonw_close(w, 1);
}

void jsonw_arr_begin(struct jsonw *w)
{
    jsonw_open(w, 0);
}

void jsonw_arr_end(struct jsonw *w)
{
    jsonw_close(w, 0);
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes
 * there are not one (overlong forms, surrogates and values past U+10FFFF
 * included, RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* What a byte needs: 0 copy it, 1 an escape, 2 a check of the UTF-8
 * sequence it starts (or of the stray byte it is). */
static const unsigned char byte_class[256] = {
    [0x00 ... 0x1F] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xFF] = 2,
};

/* The escape of the control character, quote or backslash c; its length. */
static size_t escape_ascii(unsigned char c, char *o)
{
    static const char hex[] = "0123456789abcdef";
    char e = c == '"'    ? '"'
             : c == '\\' ? '\\'
             : c == '\n' ? 'n'
             : c == '\r' ? 'r'
             : c == '\t' ? 't'
             : c == '\b' ? 'b'
             : c == '\f' ? 'f'
                         : 0;
    o[0] = '\\';
    if (e) {
        o[1] = e;
        return 2;
    }
    memcpy(o + 1, "u00", 3);
    o[4] = hex[c >> 4];
    o[5] = hex[c & 15];
    return 6;
}

/* The non-ASCII sequence at s written to o: copied when valid, U+FFFD for
 * one stray byte, and U+2028/2029 (E2 80 A8/A9) escaped: valid JSON, but
 * not valid JavaScript source in older engines. Advances *i; the length. */
static size_t escape_utf8(const unsigned char *s, size_t n, size_t *i, char *o)
{
    size_t len = utf8_seq(s + *i, n - *i);
    if (len == 0) {
        (*i)++;
        memcpy(o, "\xEF\xBF\xBD", 3);
        return 3;
    }
    const unsigned char *q = s + *i;
    *i += len;
    if (len == 3 && q[0] == 0xE2 && q[1] == 0x80 && (q[2] == 0xA8 || q[2] == 0xA9)) {
        memcpy(o, q[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
        return 6;
    }
    memcpy(o, q, len);
    return len;
}

/* Does any of the 8 bytes in v need more than copying: one below 0x20,
 * a quote, a backslash or one of 0x80 and up? (The "has less than" and
 * "has zero byte" tests of Bit Twiddling Hacks; exact as to whether any
 * byte matches, which is all that is asked.) */
static int word_needs_care(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t quote = v ^ (ones * '"'), backslash = v ^ (ones * '\\');
    uint64_t hit = (v - ones * 0x20) & ~v;
    hit |= (quote - ones) & ~quote;
    hit |= (backslash - ones) & ~backslash;
    return ((hit | v) & high) != 0;
}

void jsonw_str(struct jsonw *w, const char *str, size_t n)
{
    /* The worst case is known (6 bytes for every input byte), so the loop
     * writes without checking for room: one reservation per string. */
    if (!jsonw_before(w, 0) || n > ((size_t)-1 - 3) / 6 || !jsonw_reserve(w, 6 * n + 2))
        return;
    const unsigned char *s = (const unsigned char *)str;
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        uint64_t v;
        if (i + 8 <= n && (memcpy(&v, s + i, 8), !word_needs_care(v))) {
            memcpy(o, s + i, 8); /* eight plain bytes at once: most of a text */
            o += 8;
            i += 8;
            continue;
        }
        unsigned char c = s[i];
        if (byte_class[c] == 0) {
            *o++ = (char)c;
            i++;
        } else if (byte_class[c] == 1) {
            o += escape_ascii(c, o);
            i++;
        } else {
            o += escape_utf8(s, n, &i, o);
        }
    }
    *o++ = '"';
    *o = '\0';
    w->len = (size_t)(o - w->buf);
}

void jsonw_key(struct jsonw *w, const char *name)
{
    if (!jsonw_before(w, 1))
        return;
    w->key_pending = 1; /* lets the name through as the one value it takes */
    jsonw_str(w, name, strlen(name));
    jsonw_put(w, ":", 1);
    w->key_pending = 1;
}

void jsonw_cstr(struct jsonw *w, const char *s)
{
    if (s)
        jsonw_str(w, s, strlen(s));
    else
        jsonw_null(w);
}

void jsonw_null(struct jsonw *w)
{
    if (jsonw_before(w, 0))
        jsonw_put(w, "null", 4);
}

void jsonw_bool(struct jsonw *w, int v)
{
    if (jsonw_before(w, 0))
        jsonw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_int(struct jsonw *w, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", v);
    if (jsonw_before(w, 0))
        jsonw_put(w, num, (size_t)n);
}

/* One element of an array literal at *p: quoted ("a \\"b\\"") or bare
 * up to the next ',' or '}'. Copies its text into out (room for the whole
 * literal); *is_null for a bare NULL. Returns its length, or -1. */
static long pg_element(const char **p, char *out, int *is_null)
{
    const char *s = *p;
    size_t n = 0;
    *is_null = 0;
    if (*s == '"') {
        for (s++; *s != '"'; s++) {
            if (*s == '\\')
                s++;
            if (!*s)
                return -1;
            out[n++] = *s;
        }
        s++;
    } else {
        for (; *s && *s != ',' && *s != '}'; s++) {
            if (*s == '"' || *s == '\\' || *s == '{')
                return -1;
            out[n++] = *s;
        }
        if (n == 0)
            return -1;
        *is_null = n == 4 && strncasecmp(out, "null", 4) == 0;
    }
    *p = s;
    return (long)n;
}

int jsonw_pg_array(struct jsonw *w, const char *lit)
{
    if (!lit || lit[0] != '{') {
        w->failed = 1;
        return -1;
    }
    char *tmp = malloc(strlen(lit) + 1);
    if (!tmp) {
        w->failed = 1;
        return -1;
    }
    const char *p = lit + 1;
    int ok = 1;
    jsonw_arr_begin(w);
    if (*p == '}')
        p++;
    else
        for (;;) {
            int is_null;
            long n = pg_element(&p, tmp, &is_null);
            if (n < 0) {
                ok = 0;
                break;
            }
            if (is_null)
                jsonw_null(w);
            else
                jsonw_str(w, tmp, (size_t)n);
            if (*p == '}') {
                p++;
                break;
            }
            if (*p++ != ',') {
                ok = 0;
                break;
            }
        }
    free(tmp);
    if (!ok || *p) {
        w->failed = 1;
        return -1;
    }
    jsonw_arr_end(w);
    return w->failed ? -1 : 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int pg_ts_parse(const char *pg, char out[28], long long *micros)
{
    /* "YYYY-MM-DD HH:MM:SS" then an optional fraction, then "+00". */
    int y = pg ? digits(pg, 4) : -1;
    int mo = y >= 0 && pg[4] == '-' ? digits(pg + 5, 2) : -1;
    int d = mo >= 1 && mo <= 12 && pg[7] == '-' ? digits(pg + 8, 2) : -1;
    int h = d >= 1 && d <= 31 && pg[10] == ' ' ? digits(pg + 11, 2) : -1;
    int mi = h >= 0 && h < 24 && pg[13] == ':' ? digits(pg + 14, 2) : -1;
    int sec = mi >= 0 && mi < 60 && pg[16] == ':' ? digits(pg + 17, 2) : -1;
    if (sec < 0 || sec > 60)
        return -1;
    const char *p = pg + 19;
    char frac[7] = "000000";
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (n < 6)
                frac[n++] = *p;
            else
                return -1; /* more than microseconds: not PostgreSQL */
        if (n == 0)
            return -1;
    }
    if (strcmp(p, "+00") != 0)
        return -1;
    if (out) { /* "2026-12-01T09:32:27.123400Z": the checked text, rearranged. */
        memcpy(out, pg, 19);
        out[10] = 'T';
        out[19] = '.';
        memcpy(out + 20, frac, 6);
        out[26] = 'Z';
        out[27] = '\0';
    }
    if (micros) {
        long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);
        *micros = ((days * 24 + h) * 60 + mi) * 60 + sec;
        *micros = *micros * 1000000 + digits(frac, 6);
    }
    return 0;
}

int jsonw_pg_ts(struct jsonw *w, const char *pg, long long *micros)
{
    char out[28];
    if (pg_ts_parse(pg, out, micros) < 0) {
        w->failed = 1;
        return -1;
    }
    jsonw_str(w, out, 27);
    return w->failed ? -1 : 0;
}
