/* test_reflection_page.c - a page of reflections rendered in C
 * (handlers/reflections_json.c) from rows as libpq gives them: the page
 * statements have no outer ORDER BY, so the rows may arrive in any order
 * and the page must come out ordered by its key (timestamp, then id), with
 * the next cursor naming the last row shown. The rows are built with
 * libpq's own PGresult constructors. */
#include "core/b64url.h"
#include "core/jsonw.h"
#include "core/pgbin.h"
#include "handlers/reflections_sql.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCOLS (1 + REFLECTION_NCOLS)

/* A reflection row: id, created_at, updated_at (NULL id: a status-only row). */
struct row {
    const char *id, *created, *updated, *deleted;
};

/* A result with the page's NCOLS columns (c0, c1, ...) in format (0 text,
 * 1 binary) and no rows yet. */
static PGresult *empty_page(int format)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    cr_assert_not_null(res);
    PGresAttDesc att[NCOLS];
    char names[NCOLS][16];
    memset(att, 0, sizeof(att));
    for (int c = 0; c < NCOLS; c++) {
        snprintf(names[c], sizeof(names[c]), "c%d", c);
        att[c].name = names[c];
        att[c].typlen = -1;
        att[c].format = format;
    }
    cr_assert(PQsetResultAttrs(res, NCOLS, att));
    return res;
}

static PGresult *page_result(const struct row *rows, int n)
{
    PGresult *res = empty_page(0);
    for (int i = 0; i < n; i++) {
        /* status, then SQL_REFLECTION_COLS in their order */
        const char *v[NCOLS] = {"200",
                                rows[i].id,
                                rows[i].id ? "11111111-1111-1111-1111-111111111111" : NULL,
                                rows[i].id ? "22222222-2222-2222-2222-222222222222" : NULL,
                                rows[i].id ? "2026-11-30" : NULL,
                                "s",
                                "t",
                                "a",
                                "r",
                                "f",
                                NULL,
                                "draft",
                                "{lerend}",
                                "{mensen}",
                                "{}",
                                "{}",
                                rows[i].created,
                                rows[i].updated,
                                rows[i].deleted};
        for (int c = 0; c < NCOLS; c++)
            cr_assert(PQsetvalue(res, i, c, (char *)v[c], v[c] ? (int)strlen(v[c]) : -1));
    }
    return res;
}

/* The page's JSON, parsed; NULL when the writer refused the rows. */
static json_t *page_json(const struct row *rows, int n, int limit, int by_updated)
{
    PGresult *pg = page_result(rows, n);
    struct db_result res = {.status = DB_OK, .res = pg, .sqlstate = ""};
    struct jsonw w;
    jsonw_init(&w);
    json_t *j = NULL;
    if (reflection_page_json(&w, &res, limit, by_updated) == 0) {
        const char *s = jsonw_finish(&w);
        cr_assert_not_null(s);
        j = json_loads(s, 0, NULL);
        cr_assert_not_null(j, "not JSON: %s", s);
    }
    jsonw_free(&w);
    PQclear(pg);
    return j;
}

static const char *item_id(json_t *page, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(page, "items"), i), "id"));
}

/* The cursor SQL_CURSOR would make for (micros, id). */
static void cursor_of(long long micros, const char *id, char *out)
{
    char key[80];
    int n = snprintf(key, sizeof(key), "%lld|%s", micros, id);
    b64url_encode((const unsigned char *)key, (size_t)n, out);
}

#define A "aaaaaaaa-0000-4000-8000-000000000001"
#define B "bbbbbbbb-0000-4000-8000-000000000002"
#define C "cccccccc-0000-4000-8000-000000000003"
#define D "dddddddd-0000-4000-8000-000000000004"

Test(reflection_page, rows_in_any_order_come_out_in_page_order)
{
    /* created_at: D < A = C (tie: by id, A before C) < B */
    const struct row rows[] = {
        {B, "2026-11-02 10:00:00+00", "2026-11-02 10:00:00+00", NULL},
        {C, "2026-11-01 10:00:00.5+00", "2026-11-01 10:00:00.5+00", NULL},
        {D, "2026-10-31 23:59:59.999999+00", "2026-11-03 10:00:00+00", NULL},
        {A, "2026-11-01 10:00:00.5+00", "2026-11-01 10:00:00.5+00", NULL},
    };
    json_t *p = page_json(rows, 4, 10, 0);
    cr_assert_not_null(p);
    cr_assert_eq(json_array_size(json_object_get(p, "items")), 4);
    const char *want[] = {D, A, C, B};
    for (size_t i = 0; i < 4; i++)
        cr_expect_str_eq(item_id(p, i), want[i], "item %zu", i);
    cr_expect(json_is_null(json_object_get(p, "next_cursor")));
    json_decref(p);
}

/* The page's next_cursor names the row (ts, id), as SQL_CURSOR would. */
static void expect_cursor(json_t *p, const char *ts, const char *id)
{
    long long micros;
    cr_assert_eq(pg_ts_parse(ts, NULL, &micros), 0);
    char want[128];
    cursor_of(micros, id, want);
    cr_expect_str_eq(json_string_value(json_object_get(p, "next_cursor")), want);
}

Test(reflection_page, the_extra_row_is_the_last_by_key_and_the_cursor_names_the_last_shown)
{
    /* limit 2 of 3 rows: the extra row (B, the latest) arrives first. */
    const struct row rows[] = {
        {B, "2026-11-03 08:00:00+00", "2026-11-03 08:00:00+00", NULL},
        {A, "2026-11-01 08:00:00+00", "2026-11-01 08:00:00+00", NULL},
        {C, "2026-11-02 08:00:00.25+00", "2026-11-02 08:00:00.25+00", NULL},
    };
    json_t *p = page_json(rows, 3, 2, 0);
    cr_assert_not_null(p);
    cr_assert_eq(json_array_size(json_object_get(p, "items")), 2);
    cr_expect_str_eq(item_id(p, 0), A);
    cr_expect_str_eq(item_id(p, 1), C);
    expect_cursor(p, "2026-11-02 08:00:00.25+00", C);
    json_decref(p);
}

Test(reflection_page, a_sync_page_is_ordered_by_updated_at_with_tombstones)
{
    const struct row rows[] = {
        {A, "2026-11-01 08:00:00+00", "2026-11-05 08:00:00+00", NULL},
        {B, "2026-11-02 08:00:00+00", "2026-11-04 08:00:00+00", "2026-11-04 08:00:00+00"},
    };
    json_t *p = page_json(rows, 2, 1, 1);
    cr_assert_not_null(p);
    cr_assert_eq(json_array_size(json_object_get(p, "items")), 1);
    json_t *first = json_array_get(json_object_get(p, "items"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(first, "id")), B);
    cr_expect(json_is_true(json_object_get(first, "deleted")));
    expect_cursor(p, "2026-11-04 08:00:00+00", B);
    json_decref(p);
}

Test(reflection_page, an_empty_page_has_only_the_status_row)
{
    const struct row rows[] = {{NULL, NULL, NULL, NULL}};
    json_t *p = page_json(rows, 1, 20, 0);
    cr_assert_not_null(p);
    cr_expect_eq(json_array_size(json_object_get(p, "items")), 0);
    cr_expect(json_is_null(json_object_get(p, "next_cursor")));
    json_decref(p);
}

Test(reflection_page, a_sort_key_that_is_not_a_timestamp_is_refused)
{
    const struct row rows[] = {
        {A, "2026-11-01 08:00:00+00", "2026-11-01 08:00:00+00", NULL},
        {B, "yesterday", "2026-11-01 08:00:00+00", NULL},
    };
    cr_expect_null(page_json(rows, 2, 20, 0));
}

/* ---- the binary format (req_db_binary) --------------------------------------- */

static void be32_to(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

/* The 16 bytes of a uuid's text. */
static void uuid_bytes(const char *s, unsigned char *out)
{
    for (int i = 0; i < 16; s++) {
        if (*s == '-')
            continue;
        unsigned hi, lo;
        cr_assert_eq(sscanf(s, "%1x%1x", &hi, &lo), 2);
        out[i++] = (unsigned char)(hi << 4 | lo);
        s++;
    }
}

/* array_send of elements given as text (uuids when elemtype is uuid). */
static size_t bin_array(unsigned char *b, uint32_t elemtype, const char *const *elems, int n)
{
    int nulls = 0;
    for (int i = 0; i < n; i++)
        nulls |= elems[i] == NULL;
    be32_to(b, n ? 1 : 0);
    be32_to(b + 4, (uint32_t)nulls);
    be32_to(b + 8, elemtype);
    size_t len = 12;
    if (n) {
        be32_to(b + 12, (uint32_t)n);
        be32_to(b + 16, 1);
        len = 20;
    }
    for (int i = 0; i < n; i++) {
        if (!elems[i]) {
            be32_to(b + len, 0xFFFFFFFFu);
            len += 4;
        } else if (elemtype == PGBIN_UUIDOID) {
            be32_to(b + len, 16);
            uuid_bytes(elems[i], b + len + 4);
            len += 20;
        } else {
            size_t l = strlen(elems[i]);
            be32_to(b + len, (uint32_t)l);
            memcpy(b + len + 4, elems[i], l);
            len += 4 + l;
        }
    }
    return len;
}

/* One reflection in both forms: the text libpq gives for a text result in
 * a UTC, DateStyle ISO session, and the bytes of a binary one. */
struct both_row {
    const char *id;
    long long created, updated; /* microseconds since 1970 */
    int deleted;
};

#define GOAL1  "0a1b2c3d-4e5f-4abc-8def-0123456789ab"
#define SHARE1 "ffffffff-eeee-4ddd-8ccc-bbbbbbbbbbbb"

static void ts_text(long long micros, char *out, size_t n)
{
    time_t secs = (time_t)(micros / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
    if (micros % 1000000)
        snprintf(out, n, "%s.%06lld+00", base, micros % 1000000);
    else
        snprintf(out, n, "%s+00", base);
}

static void ts_bin(long long micros, unsigned char *out)
{
    unsigned long long t = (unsigned long long)(micros - 946684800000000LL);
    be32_to(out, (uint32_t)(t >> 32));
    be32_to(out + 4, (uint32_t)t);
}

/* A page of rows in text (binary 0) or binary format. hostile, when not
 * negative, replaces that column of the first row by 3 junk bytes. */
static PGresult *both_result(const struct both_row *rows, int n, int binary, int hostile)
{
    PGresult *res = empty_page(binary);
    static const char *const verm[] = {"lerend", "opleidend"}, *const dims[] = {"mensen"};
    static const char *const goals[] = {GOAL1}, *const shares[] = {SHARE1, A};
    for (int i = 0; i < n; i++) {
        char created[40], updated[40], deleted[40];
        ts_text(rows[i].created, created, sizeof(created));
        ts_text(rows[i].updated, updated, sizeof(updated));
        ts_text(rows[i].updated, deleted, sizeof(deleted));
        const char *text[NCOLS] = {"200",
                                   rows[i].id,
                                   "11111111-1111-1111-1111-111111111111",
                                   "22222222-2222-2222-2222-222222222222",
                                   "2026-11-30",
                                   "Een \"dienst\" met\nregels, \\ en é ✓",
                                   "",
                                   "a",
                                   "r",
                                   "{f}",
                                   i % 2 ? "overdracht" : NULL,
                                   "draft",
                                   "{lerend,opleidend}",
                                   "{mensen}",
                                   "{" GOAL1 "}",
                                   "{" SHARE1 "," A "}",
                                   created,
                                   updated,
                                   rows[i].deleted ? deleted : NULL};
        unsigned char bin[NCOLS][128];
        int len[NCOLS];
        for (int c = 0; c < NCOLS; c++) {
            len[c] = text[c] ? (int)strlen(text[c]) : -1;
            if (text[c])
                memcpy(bin[c], text[c], (size_t)len[c]);
        }
        if (binary) {
            be32_to(bin[0], 200), len[0] = 4;
            for (int c = 1; c <= 3; c++)
                uuid_bytes(text[c], bin[c]), len[c] = 16;
            be32_to(bin[4], 9830), len[4] = 4; /* 2026-11-30 */
            len[12] = (int)bin_array(bin[12], PGBIN_TEXTOID, verm, 2);
            len[13] = (int)bin_array(bin[13], PGBIN_TEXTOID, dims, 1);
            len[14] = (int)bin_array(bin[14], PGBIN_UUIDOID, goals, 1);
            len[15] = (int)bin_array(bin[15], PGBIN_UUIDOID, shares, 2);
            ts_bin(rows[i].created, bin[16]), len[16] = 8;
            ts_bin(rows[i].updated, bin[17]), len[17] = 8;
            if (rows[i].deleted)
                ts_bin(rows[i].updated, bin[18]), len[18] = 8;
        }
        if (i == 0 && hostile >= 0)
            memcpy(bin[hostile], "\x00\x00\x01", 3), len[hostile] = 3;
        for (int c = 0; c < NCOLS; c++)
            cr_assert(PQsetvalue(res, i, c, len[c] < 0 ? NULL : (char *)bin[c], len[c]));
    }
    return res;
}

/* The page's text, or NULL when refused (a copy; the caller frees it). */
static char *both_page(const struct both_row *rows, int n, int binary, int limit, int by_updated,
                       int hostile)
{
    PGresult *pg = both_result(rows, n, binary, hostile);
    struct db_result res = {.status = DB_OK, .res = pg, .sqlstate = ""};
    struct jsonw w;
    jsonw_init(&w);
    char *out = NULL;
    if (reflection_page_json(&w, &res, limit, by_updated) == 0) {
        cr_assert_not_null(jsonw_finish(&w));
        out = strdup(w.buf);
    }
    jsonw_free(&w);
    PQclear(pg);
    return out;
}

static const struct both_row both_rows[] = {
    {B, 1796117547123400LL, 1796117547123400LL, 0},
    {A, 1796117000000000LL, 1796117999999999LL, 0},
    {C, 1796117000000000LL, 1796118000000001LL, 1},
    {D, 946684799999999LL, 1796118000000002LL, 0},
};

Test(reflection_page, binary_rows_give_the_same_bytes_as_text_rows)
{
    for (int by_updated = 0; by_updated <= 1; by_updated++)
        for (int limit = 2; limit <= 5; limit += 3) {
            char *text = both_page(both_rows, 4, 0, limit, by_updated, -1);
            char *bin = both_page(both_rows, 4, 1, limit, by_updated, -1);
            cr_assert_not_null(text);
            cr_assert_not_null(bin);
            cr_expect_str_eq(bin, text, "by_updated %d, limit %d", by_updated, limit);
            json_t *j = json_loads(bin, 0, NULL);
            cr_expect_not_null(j, "not JSON: %s", bin);
            json_decref(j);
            free(text);
            free(bin);
        }
}

Test(reflection_page, a_binary_value_that_does_not_decode_is_refused)
{
    /* Every column of a reflection but the text ones (whose bytes are
     * anything) and transfer (NULL in row 0), each in turn. */
    static const int cols[] = {1, 2, 3, 4, 12, 13, 14, 15, 16, 17};
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        char *out = both_page(both_rows, 4, 1, 5, 0, cols[i]);
        cr_expect_null(out, "column %d: %s", cols[i], out ? out : "");
        free(out);
    }
}
