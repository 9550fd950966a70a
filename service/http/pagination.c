/* pagination.c - parsing ?limit= and ?cursor= for keyset pagination.
 *
 * Keyset (not offset) pagination: a page is "the next N rows after this
 * sort key", so rows inserted while a client pages never shift what it sees
 * and a deep page costs the same as the first. A cursor is only ever
 * decoded here, and strictly: anything that is not exactly what SQL_CURSOR
 * produces is a 422, never a database error. */
#include "http/pagination.h"
#include "core/b64url.h"
#include "http/validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cursor_decode(struct arena *a, const char *cursor, char **micros, char **uuid)
{
    char buf[96];
    size_t len = strlen(cursor);
    /* Unpadded base64url; NUL-terminated in buf. */
    long n = len > 100 ? -1
                       : b64_decode(cursor, len, (unsigned char *)buf, sizeof(buf) - 1,
                                    B64_URLSAFE | B64_ANY_LENGTH);
    if (n < 0)
        return -1;
    buf[n] = '\0';
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
