/* fuzz_query.c - libFuzzer target: query strings, pagination cursors and
 * timestamps (service/http/pagination.c, valid_timestamp/valid_date in
 * service/http/validate.c).
 *
 * The input is a raw query string ("limit=5&cursor=...&updated_since=...")
 * parsed with evhttp_parse_query_str, as req_query() does; the decoded
 * limit, cursor and updated_since then go through page_parse() and
 * valid_timestamp() like api_page() and api_sync_since(). The whole input
 * (as one NUL-terminated string) also goes straight into cursor_decode(),
 * page_parse() as a limit, valid_timestamp() and valid_date(), so inputs
 * that are not query strings are exercised too.
 * Invariants checked (a violation aborts):
 *   - an accepted limit is a decimal 1..100 and matches strtol's reading;
 *   - an accepted cursor decodes to "<micros>|<uuid>" with micros an
 *     optionally negative, canonical decimal within the range PostgreSQL
 *     can turn into a timestamptz (else the list statement fails: a 500)
 *     and a valid uuid; a cursor made from those values the way SQL_CURSOR makes
 *     one is accepted and decodes to the same values;
 *   - an accepted timestamp has the RFC 3339 shape (date, 'T', hh:mm:ss,
 *     optional 1-9 fraction digits, 'Z' or +hh:mm within PostgreSQL's
 *     range), checked by an independent parser; valid_date agrees with it.
 * Build and run: scripts/fuzz.sh (seeds in tests/fuzz/corpus/query/). */
#include "core/b64url.h"
#include "core/arena.h"
#include "http/pagination.h"
#include "http/validate.h"
#include "fuzz_check.h"

#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* The micros PostgreSQL turns into a timestamptz (measured with psql:
 * below, "timestamp out of range"; above, "interval out of range"). */
#define PG_MIN_MICROS (-210866803200000000LL)
#define PG_MAX_MICROS 9223372036854775295LL

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int two(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* An independent RFC 3339 check, with the limits valid_timestamp documents. */
static int ref_timestamp(const char *s)
{
    size_t n = strlen(s);
    if (n < 20)
        return 0;
    int y, mo, d;
    if (!all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
        !all_digits(s + 8, 2))
        return 0;
    y = atoi(s);
    mo = two(s + 5);
    d = two(s + 8);
    int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)
        dim[1] = 29;
    if (y < 1900 || y > 2999 || mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1])
        return 0;
    if ((s[10] != 'T' && s[10] != 't') || !all_digits(s + 11, 2) || s[13] != ':' ||
        !all_digits(s + 14, 2) || s[16] != ':' || !all_digits(s + 17, 2))
        return 0;
    if (two(s + 11) > 23 || two(s + 14) > 59 || two(s + 17) > 60)
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        size_t f = strspn(p + 1, "0123456789");
        if (f < 1 || f > 9)
            return 0;
        p += 1 + f;
    }
    if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0)
        return 1;
    if (strlen(p) != 6 || (p[0] != '+' && p[0] != '-') || !all_digits(p + 1, 2) || p[3] != ':' ||
        !all_digits(p + 4, 2))
        return 0;
    return two(p + 1) <= 15 && two(p + 4) <= 59;
}

static void check_limit(const char *limit, const struct page *pg)
{
    char *end;
    long n = strtol(pg->limit, &end, 10);
    CHECK(*end == '\0' && n >= 1 && n <= 100);
    if (limit) {
        errno = 0;
        long given = strtol(limit, &end, 10);
        CHECK(errno == 0 && *end == '\0' && end != limit && given == n);
    } else {
        CHECK(n == 20);
    }
}

static void check_cursor(const char *micros, const char *uuid)
{
    CHECK(micros && uuid);
    CHECK(valid_uuid(uuid));
    size_t mlen = strlen(micros);
    CHECK(mlen >= 1 && mlen <= 20);
    CHECK(all_digits(micros[0] == '-' ? micros + 1 : micros, micros[0] == '-' ? mlen - 1 : mlen));
    errno = 0;
    char *end;
    long long v = strtoll(micros, &end, 10);
    CHECK(errno == 0 && *end == '\0');
    char again[32];
    snprintf(again, sizeof(again), "%lld", v);
    CHECK(strcmp(again, micros) == 0); /* canonical: what goes to SQL */
    /* SQL_AFTER computes 'epoch' + micros * interval '1 microsecond': outside
     * PostgreSQL's timestamptz range (4714-11-24 BC .. the interval limit)
     * that is a database error (22008, a 500), which pagination.c promises
     * never to let through ("anything that is not exactly what SQL_CURSOR
     * produces is a 422, never a database error"). */
    CHECK(v >= PG_MIN_MICROS && v <= PG_MAX_MICROS);
}

/* A cursor made the way SQL_CURSOR makes one must be accepted and give
 * back its parts. */
static void roundtrip(long long micros, const char *uuid)
{
    char plain[128], enc[200];
    struct arena a;
    arena_init(&a);
    int n = snprintf(plain, sizeof(plain), "%lld|%s", micros, uuid);
    b64url_encode((const unsigned char *)plain, (size_t)n, enc);
    char *m = NULL, *u = NULL;
    CHECK(cursor_decode(&a, enc, &m, &u) == 0);
    char want[32];
    snprintf(want, sizeof(want), "%lld", micros);
    CHECK(strcmp(m, want) == 0 && strcmp(u, uuid) == 0);
    arena_free(&a);
}

static void one_string(const char *s)
{
    struct arena a;
    struct page pg;
    arena_init(&a);

    const char *bad = page_parse(&a, s, NULL, &pg);
    if (!bad)
        check_limit(s, &pg);
    else
        CHECK(strcmp(bad, "limit") == 0);

    bad = page_parse(&a, NULL, s, &pg);
    if (!bad) {
        check_limit(NULL, &pg);
        check_cursor(pg.after_ts, pg.after_id);
        long long v = strtoll(pg.after_ts, NULL, 10);
        roundtrip(v, pg.after_id);
    } else {
        CHECK(strcmp(bad, "cursor") == 0);
    }

    char *m = NULL, *u = NULL;
    if (cursor_decode(&a, s, &m, &u) == 0)
        check_cursor(m, u);

    int ts = valid_timestamp(s);
    CHECK(ts == ref_timestamp(s));
    if (strlen(s) >= 10) {
        /* valid_date only looks at the first ten characters. */
        char ten[11];
        memcpy(ten, s, 10);
        ten[10] = '\0';
        CHECK(valid_date(s) == valid_date(ten));
        if (ts)
            CHECK(valid_date(ten));
    } else {
        CHECK(!valid_date(s));
    }
    arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16 * 1024) /* MAX_HEADER_KIB: a request line is no longer */
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    one_string(s);

    /* As a query string, the way api_page and api_sync_since see it. */
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(s, &q) == 0) {
        const char *limit = evhttp_find_header(&q, "limit");
        const char *cursor = evhttp_find_header(&q, "cursor");
        const char *since = evhttp_find_header(&q, "updated_since");
        struct arena a;
        struct page pg;
        arena_init(&a);
        const char *bad = page_parse(&a, limit, cursor, &pg);
        if (!bad) {
            check_limit(limit, &pg);
            CHECK(!cursor == !pg.after_ts && !cursor == !pg.after_id);
            if (cursor)
                check_cursor(pg.after_ts, pg.after_id);
        } else {
            CHECK(strcmp(bad, "limit") == 0 || strcmp(bad, "cursor") == 0);
        }
        if (since)
            CHECK(valid_timestamp(since) == ref_timestamp(since));
        for (struct evkeyval *kv = q.tqh_first; kv; kv = kv->next.tqe_next)
            one_string(kv->value);
        arena_free(&a);
    }
    evhttp_clear_headers(&q);
    free(s);
    return 0;
}
