/* pagination.c - parsing ?limit= and ?cursor= for keyset pagination.
 *
 * Keyset (not offset) pagination: a page is "the next N rows after this
 * sort key", so rows inserted while a client pages never shift what it sees
 * and a deep page costs the same as the first. A cursor is only ever
 * decoded here, and strictly: anything that is not exactly what SQL_CURSOR
 * produces is a 422, never a database error. */
#include "pagination.h"
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes unpadded base64url into out (NUL-terminated); -1 when invalid. */
static int b64url_decode(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = in; *p; p++) {
        int v = b64url_value(*p);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= outlen)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out[n] = '\0';
    return (int)n;
}

int cursor_decode(struct arena *a, const char *cursor, char **micros, char **uuid)
{
    char buf[96];
    if (strlen(cursor) > 100 || b64url_decode(cursor, buf, sizeof(buf)) < 0)
        return -1;
    char *bar = strchr(buf, '|');
    if (!bar || !valid_uuid(bar + 1) || bar == buf || bar - buf > 19)
        return -1;
    *bar = '\0';
    for (char *c = buf; *c; c++)
        if ((*c < '0' || *c > '9') && !(c == buf && *c == '-'))
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    /* Years 1900..2999 only: every cursor we make is in it, and a forged
     * one outside PostgreSQL's timestamp range must not reach the query. */
    if (errno || *end || v < -2208988800000000LL || v > 32503680000000000LL)
        return -1;
    *micros = arena_printf(a, "%lld", v);
    *uuid = arena_strdup(a, bar + 1);
    return 0;
}

const char *page_parse(struct arena *a, const char *limit, const char *cursor, struct page *out)
{
    long n = 20;
    if (limit) {
        char *end;
        errno = 0;
        n = strtol(limit, &end, 10);
        if (errno || *end || end == limit || n < 1 || n > 100)
            return "limit";
    }
    snprintf(out->limit, sizeof(out->limit), "%ld", n);
    out->after_ts = NULL;
    out->after_id = NULL;
    if (cursor && cursor_decode(a, cursor, &out->after_ts, &out->after_id) < 0)
        return "cursor";
    return NULL;
}
