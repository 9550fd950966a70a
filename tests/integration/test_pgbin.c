/* test_pgbin.c - the binary-format decoders (service/core/pgbin.c, linked
 * into this binary with jsonw.c) against PostgreSQL itself: for thousands
 * of values, PostgreSQL's send form (what a binary result carries) and its
 * text output in the service's session settings (TimeZone UTC) are fetched
 * side by side, and what pgbin makes of the first must be what the text
 * path made of the second (pg_ts_parse, jsonw_pg_array) or the text itself
 * (uuid, date). The page statements switched to binary results (issue 18);
 * this is what keeps their responses byte-identical, values at the edges
 * of the ranges included. Both columns come hex-encoded, so that no byte
 * of a value can disturb psql's output. */
#include "harness.h"
#include "core/jsonw.h"
#include "core/pgbin.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MAX (4 << 20)

/* Hex text to bytes (n hex digits); the byte count. */
static size_t unhex(const char *h, size_t n, char *out)
{
    cr_assert(n % 2 == 0, "odd hex: %.*s", (int)n, h);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        cr_assert_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (char)v;
    }
    return n / 2;
}

/* Calls check(send, send_len, text) for each row of query, which selects
 * "encode(<send>, 'hex') || '|' || encode(convert_to(<text>, 'UTF8'), 'hex')".
 * Returns the number of rows. */
static int each_value(const char *query, void (*check)(const char *, size_t, const char *))
{
    char *out = malloc(OUT_MAX), *send = malloc(OUT_MAX / 2), *text = malloc(OUT_MAX / 2);
    cr_assert(out && send && text);
    test_sqlf(out, OUT_MAX, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; %s", query);
    int rows = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char *bar = strchr(line, '|');
        cr_assert_not_null(bar, "no separator: %s", line);
        size_t sn = unhex(line, (size_t)(bar - line), send);
        size_t tn = unhex(bar + 1, strlen(bar + 1), text);
        text[tn] = '\0';
        check(send, sn, text);
        rows++;
    }
    free(out);
    free(send);
    free(text);
    return rows;
}

static void check_ts(const char *send, size_t n, const char *text)
{
    /* The text path: the session's text, as pg_ts_parse reads it. */
    char want[28], got[PGBIN_TS_LEN];
    long long want_us = 0, got_us = 0;
    int want_rc = pg_ts_parse(text, want, &want_us);
    int got_rc = pgbin_ts(send, n, got, &got_us);
    cr_assert_eq(got_rc, want_rc, "%s: binary %d, text %d", text, got_rc, want_rc);
    if (want_rc == 0) {
        cr_assert_str_eq(got, want, "%s", text);
        cr_assert_eq(got_us, want_us, "%s", text);
    }
}

Test(pgbin, timestamptz_as_the_text_path_reads_postgresql)
{
    /* Steps of about 3.9 years plus odd microseconds from year 1 to past
     * 9999, the edges, and what has no four-digit text form (refused by
     * both paths). */
    int n = each_value(
        "SELECT encode(timestamptz_send(t), 'hex') || '|' || encode(convert_to(t::text, 'UTF8'),"
        " 'hex') FROM (SELECT timestamptz '0001-01-01 00:00:00+00'"
        "   + make_interval(secs => i * 123456789.123457) AS t FROM generate_series(0, 2600) i"
        " UNION ALL SELECT unnest(ARRAY['2000-01-01 00:00:00+00', '1999-12-31 23:59:59.999999+00',"
        "   '1970-01-01 00:00:00+00', '1969-12-31 23:59:59.999999+00', '0001-01-01 00:00:00+00',"
        "   '9999-12-31 23:59:59.999999+00', '10000-01-01 00:00:00+00', '0001-12-31 23:59:59+00 "
        "BC',"
        "   '2024-02-29 12:00:00.5+00', '2026-12-01 09:32:27.1234+00', 'infinity', '-infinity',"
        "   '294276-12-31 23:59:59.999999+00', '4713-11-24 00:00:00+00 BC']::timestamptz[])"
        " UNION ALL SELECT now()) v",
        check_ts);
    cr_expect_eq(n, 2601 + 14 + 1);
}

static void check_date(const char *send, size_t n, const char *text)
{
    char got[PGBIN_DATE_LEN];
    cr_assert_eq(pgbin_date(send, n, got), 0, "%s refused", text);
    cr_assert_str_eq(got, text);
}

Test(pgbin, date_as_postgresql_writes_it)
{
    int n = each_value(
        "SELECT encode(date_send(d), 'hex') || '|' || encode(convert_to(d::text, 'UTF8'), 'hex')"
        " FROM (SELECT date '4714-11-24 BC' + i * 1000003 AS d FROM generate_series(0, 2147) i"
        " UNION ALL SELECT unnest(ARRAY['4714-11-24 BC', '0001-12-31 BC', '0001-01-01',"
        "   '1999-12-31', '2000-01-01', '2000-02-29', '9999-12-31', '10000-01-01',"
        "   '5874897-12-31', 'infinity', '-infinity']::date[])) v",
        check_date);
    cr_expect_eq(n, 2148 + 11);
}

static void check_uuid(const char *send, size_t n, const char *text)
{
    char got[PGBIN_UUID_LEN];
    cr_assert_eq(pgbin_uuid(send, n, got), 0, "%s refused", text);
    cr_assert_str_eq(got, text);
}

Test(pgbin, uuid_as_postgresql_writes_it)
{
    int n = each_value(
        "SELECT encode(uuid_send(u), 'hex') || '|' || encode(convert_to(u::text, 'UTF8'), 'hex')"
        " FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, 500)"
        " UNION ALL SELECT unnest(ARRAY['00000000-0000-0000-0000-000000000000',"
        "   'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', "
        "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11']::uuid[])) v",
        check_uuid);
    cr_expect_eq(n, 503);
}

/* The JSON the binary array gives (strings and nulls), as reflections_json
 * writes it; NULL when refused. */
static char *bin_array_text(const char *send, size_t n, uint32_t elemtype)
{
    struct pgbin_array a;
    if (pgbin_array_open(&a, send, n, elemtype) < 0)
        return NULL;
    struct jsonw w;
    jsonw_init(&w);
    jsonw_arr_begin(&w);
    const char *e;
    size_t len;
    int more;
    while ((more = pgbin_array_next(&a, &e, &len)) == 1) {
        char u[PGBIN_UUID_LEN];
        if (!e)
            jsonw_null(&w);
        else if (elemtype == PGBIN_UUIDOID) {
            cr_assert_eq(pgbin_uuid(e, len, u), 0);
            jsonw_cstr(&w, u);
        } else
            jsonw_str(&w, e, len);
    }
    jsonw_arr_end(&w);
    char *s = more == 0 && jsonw_finish(&w) ? strdup(w.buf) : NULL;
    jsonw_free(&w);
    return s;
}

static void check_array(const char *send, size_t n, const char *text, uint32_t elemtype)
{
    struct jsonw w;
    jsonw_init(&w);
    cr_assert_eq(jsonw_pg_array(&w, text), 0, "the text path refused %s", text);
    char *got = bin_array_text(send, n, elemtype);
    cr_assert_not_null(got, "binary refused %s", text);
    cr_assert_str_eq(got, jsonw_finish(&w), "%s", text);
    free(got);
    jsonw_free(&w);
}

static void check_text_array(const char *send, size_t n, const char *text)
{
    check_array(send, n, text, PGBIN_TEXTOID);
}

static void check_uuid_array(const char *send, size_t n, const char *text)
{
    check_array(send, n, text, PGBIN_UUIDOID);
}

Test(pgbin, arrays_as_the_text_path_reads_postgresql)
{
    /* Elements that the text form must quote or escape, NULL and 'NULL',
     * empty strings and arrays, non-ASCII. */
    int n = each_value(
        "SELECT encode(array_send(a), 'hex') || '|' || encode(convert_to(a::text, 'UTF8'), 'hex')"
        " FROM (VALUES (ARRAY['lerend', 'opleidend']), ('{}'::text[]), (ARRAY['']),"
        "   (ARRAY['a b', 'c,d', '{e}', 'f\"g', 'h\\i', 'NULL', NULL, 'null', ' j ', 'é ✓']),"
        "   (ARRAY[NULL]::text[]), (ARRAY[E'tab\\there', E'new\\nline']),"
        "   (ARRAY(SELECT repeat(chr(65 + i % 26), i) FROM generate_series(1, 60) i))) v(a)",
        check_text_array);
    cr_expect_eq(n, 7);
    n = each_value(
        "SELECT encode(array_send(a), 'hex') || '|' || encode(convert_to(a::text, 'UTF8'), 'hex')"
        " FROM (VALUES ('{}'::uuid[]), (ARRAY[gen_random_uuid()]),"
        "   (ARRAY(SELECT gen_random_uuid() FROM generate_series(1, 50))),"
        "   (ARRAY[gen_random_uuid(), NULL])) v(a)",
        check_uuid_array);
    cr_expect_eq(n, 4);
}

Test(pgbin, other_element_types_and_dimensions_are_refused)
{
    /* A text[] read as uuid[], a two-dimensional and an offset array. */
    char out[4096], send[2048];
    test_sqlf(out, sizeof(out),
              "SELECT encode(array_send(ARRAY['x']), 'hex') || '|' ||"
              " encode(array_send(ARRAY[['a','b'],['c','d']]), 'hex') || '|' ||"
              " encode(array_send('[2:3]={a,b}'::text[]), 'hex')");
    char *parts[3] = {out, NULL, NULL};
    for (int i = 1; i < 3; i++) {
        parts[i] = strchr(parts[i - 1], '|');
        cr_assert_not_null(parts[i]);
        *parts[i]++ = '\0';
    }
    struct pgbin_array a;
    size_t n = unhex(parts[0], strlen(parts[0]), send);
    cr_expect_eq(pgbin_array_open(&a, send, n, PGBIN_UUIDOID), -1, "text[] as uuid[]");
    n = unhex(parts[1], strlen(parts[1]), send);
    cr_expect_eq(pgbin_array_open(&a, send, n, PGBIN_TEXTOID), -1, "two dimensions");
    n = unhex(parts[2], strlen(parts[2]), send);
    cr_expect_eq(pgbin_array_open(&a, send, n, PGBIN_TEXTOID), -1, "lower bound 2");
}
