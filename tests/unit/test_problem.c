/* test_problem.c - problem_new, problem_add_error and problem_title.
 *
 * The JSON every error response carries: the four RFC 9457 members with the
 * right types, a stable type URI per status (or the caller's), no detail
 * member when none is given, and the validation "errors" array. */
#include "http/problem.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_BASE "https://reflect.example/problems/"

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

Test(problem, has_the_four_members)
{
    json_t *p = problem_new(404, NULL, "No such team.");
    cr_assert(json_is_object(p));
    cr_assert_str_eq(str(p, "type"), TYPE_BASE "not-found");
    cr_assert_str_eq(str(p, "title"), "Not Found");
    cr_assert(json_is_integer(json_object_get(p, "status")));
    cr_assert_eq(json_integer_value(json_object_get(p, "status")), 404);
    cr_assert_str_eq(str(p, "detail"), "No such team.");
    cr_assert_eq(json_object_size(p), 4);
    json_decref(p);
}

Test(problem, detail_is_optional)
{
    json_t *p = problem_new(500, NULL, NULL);
    cr_assert_null(json_object_get(p, "detail"));
    cr_assert_str_eq(str(p, "title"), "Internal Server Error");
    cr_assert_str_eq(str(p, "type"), TYPE_BASE "internal");
    cr_assert_eq(json_object_size(p), 3);
    json_decref(p);
}

Test(problem, explicit_type_names_the_kind)
{
    json_t *p = problem_new(429, "login-throttled", "Too many attempts.");
    cr_assert_str_eq(str(p, "type"), TYPE_BASE "login-throttled");
    cr_assert_str_eq(str(p, "title"), "Too Many Requests");
    json_decref(p);
}

Test(problem, detail_is_copied_verbatim_and_escaped_by_json)
{
    json_t *p = problem_new(400, NULL, "quote \" and <tag>");
    char *s = json_dumps(p, JSON_COMPACT);
    cr_assert(strstr(s, "\"detail\":\"quote \\\" and <tag>\""), "%s", s);
    free(s);
    json_decref(p);
}

Test(problem, unknown_statuses_get_generic_titles)
{
    json_t *p = problem_new(418, NULL, NULL);
    cr_assert_str_eq(str(p, "title"), "Client Error");
    cr_assert_str_eq(str(p, "type"), TYPE_BASE "error");
    cr_assert_eq(json_integer_value(json_object_get(p, "status")), 418);
    json_decref(p);
    cr_assert_str_eq(problem_title(599), "Server Error");
    cr_assert_str_eq(problem_title(502), "Server Error");
    cr_assert_str_eq(problem_title(451), "Client Error");
}

Test(problem, titles_of_the_statuses_we_use)
{
    static const struct {
        int status;
        const char *title;
    } want[] = {
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {409, "Conflict"},
        {412, "Precondition Failed"},
        {413, "Payload Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Validation Failed"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {503, "Service Unavailable"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_str_eq(problem_title(want[i].status), want[i].title, "status %d", want[i].status);
}

Test(problem, each_status_has_its_own_type)
{
    static const int statuses[] = {400, 401, 403, 404, 405, 409, 412,
                                   413, 415, 422, 428, 429, 500, 503};
    const size_t n = sizeof(statuses) / sizeof(statuses[0]);
    char types[sizeof(statuses) / sizeof(statuses[0])][128];
    for (size_t i = 0; i < n; i++) {
        json_t *p = problem_new(statuses[i], NULL, NULL);
        const char *t = str(p, "type");
        cr_assert(t && strncmp(t, TYPE_BASE, strlen(TYPE_BASE)) == 0, "%d: %s", statuses[i], t);
        snprintf(types[i], sizeof(types[i]), "%s", t);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(types[i], types[j], "%d and %d share a type", statuses[i],
                              statuses[j]);
        json_decref(p);
    }
}

Test(problem, validation_errors_array)
{
    json_t *p = problem_new(422, NULL, "Some fields are invalid.");
    problem_add_error(p, "email", "must be an e-mail address");
    problem_add_error(p, "scores.lerend", "must be an integer from 1 to 10");
    json_t *errors = json_object_get(p, "errors");
    cr_assert(json_is_array(errors));
    cr_assert_eq(json_array_size(errors), 2);
    json_t *e0 = json_array_get(errors, 0), *e1 = json_array_get(errors, 1);
    cr_assert_str_eq(str(e0, "field"), "email");
    cr_assert_str_eq(str(e0, "message"), "must be an e-mail address");
    cr_assert_eq(json_object_size(e0), 2);
    cr_assert_str_eq(str(e1, "field"), "scores.lerend");
    cr_assert_str_eq(str(e1, "message"), "must be an integer from 1 to 10");
    cr_assert_str_eq(str(p, "title"), "Validation Failed");
    json_decref(p);
}

Test(problem, no_errors_member_until_one_is_added)
{
    json_t *p = problem_new(400, NULL, "x");
    cr_assert_null(json_object_get(p, "errors"));
    json_decref(p);
}
