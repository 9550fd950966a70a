/* test_reflection_page.c - a page of reflections rendered in C
 * (handlers/reflections_json.c) from rows as libpq gives them: the page
 * statements have no outer ORDER BY, so the rows may arrive in any order
 * and the page must come out ordered by its key (timestamp, then id), with
 * the next cursor naming the last row shown. The rows are built with
 * libpq's own PGresult constructors. */
#include "core/b64url.h"
#include "core/jsonw.h"
#include "handlers/reflections_sql.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#define NCOLS (1 + REFLECTION_NCOLS)

/* A reflection row: id, created_at, updated_at (NULL id: a status-only row). */
struct row {
    const char *id, *created, *updated, *deleted;
};

static PGresult *page_result(const struct row *rows, int n)
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
    }
    cr_assert(PQsetResultAttrs(res, NCOLS, att));
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
    long long micros;
    cr_assert_eq(pg_ts_parse("2026-11-02 08:00:00.25+00", NULL, &micros), 0);
    char want[128];
    cursor_of(micros, C, want);
    cr_expect_str_eq(json_string_value(json_object_get(p, "next_cursor")), want);
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
    long long micros;
    cr_assert_eq(pg_ts_parse("2026-11-04 08:00:00+00", NULL, &micros), 0);
    char want[128];
    cursor_of(micros, B, want);
    cr_expect_str_eq(json_string_value(json_object_get(p, "next_cursor")), want);
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
