/* test_validate.c - input validation and cursor decoding (pure functions). */
#include "core/arena.h"
#include "http/pagination.h"
#include "http/validate.h"

#include <criterion/criterion.h>
#include <string.h>

static struct arena a;
static void setup(void)
{
    arena_init(&a);
}
static void teardown(void)
{
    arena_free(&a);
}
TestSuite(validate, .init = setup, .fini = teardown);

/* Validates one field of a JSON document; returns the value or NULL. */
static const char *text_of(const char *json, size_t min, size_t max, int multiline, int *ok)
{
    json_t *body = json_loads(json, 0, NULL);
    cr_assert(body);
    struct validator v;
    v_init(&v, body, &a);
    const char *s = v_text(&v, "f", V_REQUIRED, min, max, multiline);
    *ok = v_ok(&v);
    json_decref(v.problem);
    json_decref(body);
    return s;
}

Test(validate, text_is_trimmed_and_counted_in_characters)
{
    int ok;
    cr_assert_str_eq(text_of("{\"f\":\"  hallo \\n\"}", 1, 10, 0, &ok), "hallo");
    cr_assert(ok);
    /* five characters, ten bytes */
    cr_assert_str_eq(text_of("{\"f\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", 5, 5, 0, &ok),
                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    cr_assert(ok);
    cr_assert_null(text_of("{\"f\":\"abcdef\"}", 1, 5, 0, &ok));
    cr_assert_not(ok);
    cr_assert_null(text_of("{\"f\":\"   \"}", 1, 5, 0, &ok));
    cr_assert_not(ok);
}

Test(validate, control_characters_are_refused)
{
    int ok;
    cr_assert_null(text_of("{\"f\":\"a\\u0007b\"}", 0, 10, 1, &ok));
    cr_assert_null(text_of("{\"f\":\"a\\nb\"}", 0, 10, 0, &ok));
    cr_assert_str_eq(text_of("{\"f\":\"a\\nb\"}", 0, 10, 1, &ok), "a\nb");
    cr_assert_null(text_of("{\"f\":\"a\\u007fb\"}", 0, 10, 1, &ok));
    cr_assert_null(text_of("{\"f\":12}", 0, 10, 1, &ok));
    cr_assert_not(ok);
}

Test(validate, every_error_is_collected)
{
    json_t *body = json_loads("{\"email\":\"nope\",\"x\":1,\"n\":\"5\"}", 0, NULL);
    static const char *const fields[] = {"email", "name", "n", NULL};
    struct validator v;
    v_init(&v, body, &a);
    v_known_fields(&v, fields);
    v_email(&v, "email", V_REQUIRED);
    v_text(&v, "name", V_REQUIRED, 1, 10, 0);
    long n;
    cr_assert_not(v_int(&v, "n", V_REQUIRED, 1, 10, &n));
    cr_assert_eq(json_array_size(json_object_get(v.problem, "errors")), 4);
    cr_assert_eq(json_integer_value(json_object_get(v.problem, "status")), 422);
    json_decref(v.problem);
    json_decref(body);
}

Test(validate, enum_arrays_become_postgres_literals)
{
    static const char *const allowed[] = {"mensen", "processen", "systemen", NULL};
    const char *cases[][2] = {{"{\"f\":[\"mensen\",\"systemen\"]}", "{mensen,systemen}"},
                              {"{}", "{}"},
                              {"{\"f\":[]}", "{}"},
                              {"{\"f\":[\"mensen\",\"mensen\"]}", NULL},
                              {"{\"f\":[\"x\"]}", NULL},
                              {"{\"f\":\"mensen\"}", NULL},
                              {"{\"f\":[\"mensen}\"]}", NULL}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *body = json_loads(cases[i][0], 0, NULL);
        struct validator v;
        v_init(&v, body, &a);
        const char *got = v_enum_array(&v, "f", allowed);
        if (cases[i][1])
            cr_assert_str_eq(got, cases[i][1], "case %zu", i);
        else
            cr_assert(!got && !v_ok(&v), "case %zu accepted", i);
        json_decref(v.problem);
        json_decref(body);
    }
}

Test(validate, uuids_dates_and_timestamps)
{
    cr_assert(valid_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    cr_assert(valid_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    cr_assert_not(valid_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
    cr_assert_not(valid_uuid("0f8fad5bxd9cb-469f-a165-70867728950e"));
    cr_assert_not(valid_uuid("0f8fad5b-d9cb-469f-a165-70867728950g"));
    cr_assert(valid_date("2024-02-29"));
    cr_assert_not(valid_date("2023-02-29"));
    cr_assert_not(valid_date("1900-02-29"));
    cr_assert(valid_date("2000-02-29"));
    cr_assert_not(valid_date("2026-13-01"));
    cr_assert_not(valid_date("2026-04-31"));
    cr_assert_not(valid_date("26-04-01"));
    cr_assert(valid_timestamp("2026-11-25T12:00:00Z"));
    cr_assert(valid_timestamp("2026-11-25T12:00:00.123456+01:00"));
    cr_assert_not(valid_timestamp("2026-11-25T12:00:00"));
    cr_assert_not(valid_timestamp("2026-11-25 12:00:00Z"));
    cr_assert_not(valid_timestamp("2026-11-25T24:00:00Z"));
    cr_assert_not(valid_timestamp("2026-11-25T12:00:00.Z"));
    cr_assert_not(valid_timestamp("2026-11-25T12:00:00Z; DROP TABLE"));
}

Test(validate, cursors_decode_only_what_the_service_makes)
{
    char *micros, *id;
    /* base64url("1700000000000000|0f8fad5b-d9cb-469f-a165-70867728950e") */
    const char *good = "MTcwMDAwMDAwMDAwMDAwMHwwZjhmYWQ1Yi1kOWNiLTQ2OWYtYTE2NS03MDg2NzcyODk1MGU";
    cr_assert_eq(cursor_decode(&a, good, &micros, &id), 0);
    cr_assert_str_eq(micros, "1700000000000000");
    cr_assert_str_eq(id, "0f8fad5b-d9cb-469f-a165-70867728950e");
    const char *bad[] = {"", "!!!!", "MTcwMA", "eHx5", good + 1, "MTcwMDAwMDAwMDAwMDAwMHw"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(cursor_decode(&a, bad[i], &micros, &id), -1, "accepted cursor %zu", i);
    struct page pg;
    cr_assert_null(page_parse(&a, NULL, NULL, &pg));
    cr_assert_str_eq(pg.limit, "20");
    cr_assert_str_eq(page_parse(&a, "0", NULL, &pg), "limit");
    cr_assert_str_eq(page_parse(&a, "101", NULL, &pg), "limit");
    cr_assert_str_eq(page_parse(&a, "5x", NULL, &pg), "limit");
    cr_assert_null(page_parse(&a, "100", NULL, &pg));
    cr_assert_str_eq(page_parse(&a, "10", "garbage", &pg), "cursor");
}
