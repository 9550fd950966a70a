/* test_jsonw.c - the JSON writer (core/jsonw.c): structure and commas,
 * string escaping and UTF-8 repair, PostgreSQL arrays and timestamps, and
 * every output parsed back with jansson. */
#include "core/jsonw.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

/* The writer's text, parsed by jansson (which refuses invalid UTF-8). */
static json_t *parsed(struct jsonw *w)
{
    const char *s = jsonw_finish(w);
    cr_assert_not_null(s, "the writer failed");
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    cr_assert_not_null(j, "not JSON: %s (%s)", s, e.text);
    return j;
}

static char *str_json(const char *s, size_t n)
{
    struct jsonw w;
    jsonw_init(&w);
    jsonw_str(&w, s, n);
    const char *t = jsonw_finish(&w);
    cr_assert_not_null(t);
    char *copy = strdup(t);
    jsonw_free(&w);
    return copy;
}

Test(jsonw, objects_and_arrays_get_their_commas)
{
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "a");
    jsonw_int(&w, -12);
    jsonw_key(&w, "b");
    jsonw_arr_begin(&w);
    jsonw_null(&w);
    jsonw_bool(&w, 1);
    jsonw_cstr(&w, "x");
    jsonw_obj_begin(&w);
    jsonw_obj_end(&w);
    jsonw_arr_end(&w);
    jsonw_key(&w, "c");
    jsonw_cstr(&w, NULL);
    jsonw_obj_end(&w);
    cr_assert_str_eq(jsonw_finish(&w), "{\"a\":-12,\"b\":[null,true,\"x\",{}],\"c\":null}");
    json_decref(parsed(&w));
    jsonw_free(&w);
}

Test(jsonw, misuse_fails_instead_of_writing_bad_json)
{
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_begin(&w);
    jsonw_int(&w, 1); /* a value without a key */
    cr_assert_null(jsonw_finish(&w));
    jsonw_free(&w);

    jsonw_init(&w);
    jsonw_arr_begin(&w);
    jsonw_key(&w, "k"); /* a key in an array */
    cr_assert_null(jsonw_finish(&w));
    jsonw_free(&w);

    jsonw_init(&w);
    jsonw_arr_begin(&w); /* never closed */
    cr_assert_null(jsonw_finish(&w));
    jsonw_obj_end(&w); /* the wrong close */
    cr_assert_null(jsonw_finish(&w));
    jsonw_free(&w);

    jsonw_init(&w);
    for (int i = 0; i < JSONW_DEPTH + 1; i++)
        jsonw_arr_begin(&w);
    cr_assert(w.failed, "too deep");
    jsonw_free(&w);
}

Test(jsonw, strings_escape_what_json_requires)
{
    const char *in = "a\"b\\c\n\r\t\b\f\x01\x1f/";
    char *s = str_json(in, strlen(in));
    cr_assert_str_eq(s, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f/\"");
    free(s);
    s = str_json("nul\0byte", 8);
    cr_assert_str_eq(s, "\"nul\\u0000byte\"");
    free(s);
    s = str_json("\xE2\x80\xA8 \xE2\x80\xA9", 7);
    cr_assert_str_eq(s, "\"\\u2028 \\u2029\"");
    free(s);
}

Test(jsonw, valid_utf8_passes_unchanged)
{
    const char *t = "Zo\xC3\xAB, \xE2\x82\xAC 5, \xF0\x9F\x98\x80 en \xE4\xB8\xAD";
    char *s = str_json(t, strlen(t));
    cr_assert_eq(s[0], '"');
    cr_assert(strncmp(s + 1, t, strlen(t)) == 0);
    free(s);
}

Test(jsonw, invalid_utf8_becomes_replacement_characters)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\x80", "\"\xEF\xBF\xBD\""},                                 /* lone continuation */
        {"a\xC3", "\"a\xEF\xBF\xBD\""},                               /* truncated */
        {"\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},                 /* overlong */
        {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""}, /* surrogate */
        {"\xF4\x90\x80\x80x", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx\""},
        {"\xFF", "\"\xEF\xBF\xBD\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = str_json(cases[i].in, strlen(cases[i].in));
        cr_assert_str_eq(s, cases[i].out, "case %zu", i);
        json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
        cr_assert_not_null(j, "case %zu parses", i);
        json_decref(j);
        free(s);
    }
}

static char *array_json(const char *lit)
{
    struct jsonw w;
    jsonw_init(&w);
    int rc = jsonw_pg_array(&w, lit);
    const char *t = jsonw_finish(&w);
    char *copy = rc == 0 && t ? strdup(t) : NULL;
    jsonw_free(&w);
    return copy;
}

Test(jsonw, postgres_arrays_become_json_arrays)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"{}", "[]"},
        {"{absorptie,lerend}", "[\"absorptie\",\"lerend\"]"},
        {"{0b7e1d5a-0000-4000-8000-000000000001}", "[\"0b7e1d5a-0000-4000-8000-000000000001\"]"},
        {"{\"a b\",\"\",\"q\\\"\\\\\",NULL,\"NULL\"}",
         "[\"a b\",\"\",\"q\\\"\\\\\",null,\"NULL\"]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = array_json(cases[i].in);
        cr_assert_not_null(s, "case %zu", i);
        cr_assert_str_eq(s, cases[i].out, "case %zu", i);
        free(s);
    }
    const char *bad[] = {"",      "[1:1]={a}", "{a",   "{a,}",   "{,a}",
                         "{{a}}", "{\"a}",     "{a}x", "{a\"b}", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_null(array_json(bad[i]), "refuses %s", bad[i]);
}

static char *ts_json(const char *pg, long long *micros)
{
    struct jsonw w;
    jsonw_init(&w);
    int rc = jsonw_pg_ts(&w, pg, micros);
    const char *t = jsonw_finish(&w);
    char *copy = rc == 0 && t ? strdup(t) : NULL;
    jsonw_free(&w);
    return copy;
}

Test(jsonw, timestamps_get_six_digits_and_a_z)
{
    long long us = 0;
    char *s = ts_json("2026-12-01 09:32:27.1234+00", &us);
    cr_assert_str_eq(s, "\"2026-12-01T09:32:27.123400Z\"");
    cr_assert_eq(us, 1796117547123400LL);
    free(s);
    s = ts_json("1970-01-01 00:00:00+00", &us);
    cr_assert_str_eq(s, "\"1970-01-01T00:00:00.000000Z\"");
    cr_assert_eq(us, 0);
    free(s);
    s = ts_json("1969-12-31 23:59:59.999999+00", &us);
    cr_assert_eq(us, -1);
    free(s);
    s = ts_json("2024-02-29 12:00:00.000001+00", &us);
    cr_assert_eq(us, 1709208000000001LL);
    free(s);
    const char *bad[] = {"2026-12-01 09:32:27+01",
                         "2026-12-01T09:32:27Z",
                         "2026-13-01 00:00:00+00",
                         "2026-12-01 09:32:27.+00",
                         "2026-12-01 09:32:27.1234567+00",
                         "12-01-2026 09:32:27+00",
                         "2026-12-01 09:32",
                         NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_null(ts_json(bad[i], &us), "refuses %s", bad[i]);
    cr_assert_null(ts_json(NULL, &us));
}

Test(jsonw, take_hands_over_the_finished_text)
{
    struct jsonw w;
    size_t len = 99;
    jsonw_init(&w);
    cr_assert_eq(jsonw_expect(&w, 100000), 0);
    cr_assert_geq(w.cap, 100001);
    jsonw_arr_begin(&w);
    cr_assert_null(jsonw_take(&w, &len)); /* still open: nothing to take */
    cr_assert_eq(len, 99);
    jsonw_cstr(&w, "a\"b");
    jsonw_arr_end(&w);
    char *s = jsonw_take(&w, &len);
    cr_assert_str_eq(s, "[\"a\\\"b\"]");
    cr_assert_eq(len, strlen(s));
    cr_assert_null(w.buf);
    cr_assert_eq(w.len, 0);
    free(s);
    jsonw_free(&w);
}
