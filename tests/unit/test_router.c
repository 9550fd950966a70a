/* test_router.c - router_match, router_method_name and router_allow_header.
 *
 * A private table exercises what the real one will need: literals,
 * placeholders, several methods on one pattern, the root, and deep paths.
 * The router works in place on a mutable path, so every case copies its
 * path into a buffer first. */
#include "http/router.h"

#include <criterion/criterion.h>
#include <string.h>

static void h_a(struct req *r)
{
    (void)r;
}

static void h_b(struct req *r)
{
    (void)r;
}

static const struct route table[] = {
    {M_GET, "/", h_a, ROUTE_PUBLIC},
    {M_GET, "/healthz", h_a, ROUTE_PUBLIC},
    {M_GET, "/v1/me", h_a, ROUTE_AUTH},
    {M_POST, "/v1/teams", h_a, ROUTE_AUTH},
    {M_GET, "/v1/teams", h_b, ROUTE_AUTH},
    {M_GET, "/v1/{anything}", h_b, ROUTE_AUTH},
    {M_PUT, "/v1/teams/{team_id}/members/{user_id}", h_a, ROUTE_AUTH},
    {M_DELETE, "/v1/teams/{team_id}/members/{user_id}", h_b, ROUTE_AUTH},
    {M_POST, "/v1/auth/login", h_a, ROUTE_PUBLIC},
    {M_GET, "/a/{p1}/{p2}/{p3}/{p4}/{p5}", h_a, ROUTE_PUBLIC},
    {M_GET, "/1/2/3/4/5/6/7/8/9/10/11/{twelve}", h_a, ROUTE_PUBLIC},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static char pathbuf[512];

static int match(int method, const char *path, struct route_match *m)
{
    cr_assert_lt(strlen(path), sizeof(pathbuf));
    strcpy(pathbuf, path);
    return router_match(table, NTABLE, method, pathbuf, m);
}

static void expect_route(int method, const char *path, size_t index, struct route_match *m)
{
    int st = match(method, path, m);
    cr_assert_eq(st, 200, "%s %s: 200 expected, got %d", router_method_name(method), path, st);
    cr_assert_eq(m->route, &table[index], "%s %s: matched %s, wanted %s",
                 router_method_name(method), path, m->route ? m->route->pattern : "(none)",
                 table[index].pattern);
}

static void expect_status(int method, const char *path, int want)
{
    struct route_match m;
    int st = match(method, path, &m);
    cr_assert_eq(st, want, "%s %s: %d expected, got %d", router_method_name(method), path, want,
                 st);
    cr_assert_null(m.route);
}

Test(router, literal_paths_match)
{
    struct route_match m;
    expect_route(M_GET, "/healthz", 1, &m);
    cr_assert_eq(m.nparams, 0);
    expect_route(M_GET, "/", 0, &m);
    expect_route(M_POST, "/v1/auth/login", 8, &m);
}

Test(router, first_fitting_route_wins)
{
    struct route_match m;
    expect_route(M_GET, "/v1/me", 2, &m); /* listed before /v1/{anything} */
    cr_assert_eq(m.nparams, 0);
    expect_route(M_GET, "/v1/other", 5, &m);
    cr_assert_eq(m.nparams, 1);
    cr_assert_str_eq(m.params[0], "other");
}

Test(router, method_selects_among_routes_of_one_path)
{
    struct route_match m;
    expect_route(M_POST, "/v1/teams", 3, &m);
    expect_route(M_GET, "/v1/teams", 4, &m);
    expect_route(M_DELETE, "/v1/teams/t1/members/u1", 7, &m);
}

Test(router, params_in_pattern_order)
{
    struct route_match m;
    expect_route(M_PUT, "/v1/teams/6f1c-team/members/0b9e-user", 6, &m);
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[0], "6f1c-team");
    cr_assert_str_eq(m.params[1], "0b9e-user");
    /* Values point into the caller's buffer, NUL-terminated in place. */
    cr_assert(m.params[0] >= pathbuf && m.params[0] < pathbuf + sizeof(pathbuf));
}

Test(router, params_beyond_the_maximum_are_dropped)
{
    struct route_match m;
    expect_route(M_GET, "/a/1/2/3/4/5", 9, &m);
    cr_assert_eq(m.nparams, ROUTE_MAX_PARAMS);
    cr_assert_str_eq(m.params[0], "1");
    cr_assert_str_eq(m.params[3], "4");
}

Test(router, unknown_paths_are_404)
{
    expect_status(M_GET, "/nope", 404);
    expect_status(M_GET, "/healthz/extra", 404);
    expect_status(M_GET, "/v1/teams/t1/members", 404); /* too short for the pattern */
    expect_status(M_GET, "/v1/teams/t1/members/u1/x", 404);
    expect_status(M_GET, "/healthzz", 404);
    expect_status(M_GET, "/health", 404);
    expect_status(M_GET, "/HEALTHZ", 404); /* literals are case-sensitive */
}

Test(router, malformed_paths_are_404)
{
    expect_status(M_GET, "", 404);
    expect_status(M_GET, "healthz", 404); /* no leading slash */
    expect_status(M_GET, "/healthz/", 404);
    expect_status(M_GET, "/v1/teams/", 404);
    expect_status(M_GET, "//healthz", 404);
    expect_status(M_GET, "/v1//teams", 404);
    expect_status(M_GET, "//", 404);
    /* An empty segment must not fill a placeholder. */
    expect_status(M_PUT, "/v1/teams//members/u1", 404);
}

Test(router, segment_limit)
{
    struct route_match m;
    expect_route(M_GET, "/1/2/3/4/5/6/7/8/9/10/11/x", 10, &m); /* 12 segments */
    cr_assert_str_eq(m.params[0], "x");
    expect_status(M_GET, "/1/2/3/4/5/6/7/8/9/10/11/12/13", 404);
    expect_status(M_GET, "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", 404);
}

Test(router, wrong_method_is_405_with_allowed_mask)
{
    struct route_match m;
    cr_assert_eq(match(M_DELETE, "/healthz", &m), 405);
    cr_assert_eq(m.allowed, M_GET);
    cr_assert_null(m.route);
    cr_assert_eq(match(M_POST, "/v1/teams/t/members/u", &m), 405);
    cr_assert_eq(m.allowed, M_PUT | M_DELETE);
    cr_assert_eq(match(M_PATCH, "/v1/teams", &m), 405);
    cr_assert_eq(m.allowed, M_GET | M_POST);
    cr_assert_eq(match(M_OPTIONS, "/v1/auth/login", &m), 405);
    cr_assert_eq(m.allowed, M_POST);
}

Test(router, allowed_mask_is_zero_on_404)
{
    struct route_match m;
    cr_assert_eq(match(M_GET, "/missing", &m), 404);
    cr_assert_eq(m.allowed, 0);
}

Test(router, allowed_mask_collects_every_fitting_pattern)
{
    struct route_match m;
    /* /v1/teams fits its two literal routes and /v1/{anything} (GET). */
    cr_assert_eq(match(M_GET, "/v1/teams", &m), 200);
    cr_assert_eq(m.allowed, M_GET | M_POST);
}

Test(router, head_uses_the_get_route)
{
    struct route_match m;
    expect_route(M_HEAD, "/healthz", 1, &m);
    expect_route(M_HEAD, "/v1/thing", 5, &m);
    cr_assert_str_eq(m.params[0], "thing");
    cr_assert_eq(match(M_HEAD, "/v1/auth/login", &m), 405);
    cr_assert_eq(m.allowed, M_POST);
}

Test(router, match_resets_previous_result)
{
    struct route_match m;
    expect_route(M_PUT, "/v1/teams/a/members/b", 6, &m);
    cr_assert_eq(match(M_GET, "/missing", &m), 404);
    cr_assert_null(m.route);
    cr_assert_eq(m.nparams, 0);
}

Test(router, method_names)
{
    cr_assert_str_eq(router_method_name(M_GET), "GET");
    cr_assert_str_eq(router_method_name(M_POST), "POST");
    cr_assert_str_eq(router_method_name(M_PUT), "PUT");
    cr_assert_str_eq(router_method_name(M_PATCH), "PATCH");
    cr_assert_str_eq(router_method_name(M_DELETE), "DELETE");
    cr_assert_str_eq(router_method_name(M_HEAD), "HEAD");
    cr_assert_str_eq(router_method_name(M_OPTIONS), "OPTIONS");
    cr_assert_str_eq(router_method_name(0), "OTHER");
    cr_assert_str_eq(router_method_name(M_GET | M_POST), "OTHER");
}

Test(router, allow_header_lists_methods_in_order)
{
    char buf[64];
    router_allow_header(M_GET, buf, sizeof(buf));
    cr_assert_str_eq(buf, "GET, HEAD");
    router_allow_header(M_DELETE | M_PUT, buf, sizeof(buf));
    cr_assert_str_eq(buf, "PUT, DELETE");
    router_allow_header(M_POST | M_GET | M_PATCH, buf, sizeof(buf));
    cr_assert_str_eq(buf, "GET, HEAD, POST, PATCH");
    router_allow_header(M_GET | M_POST | M_PUT | M_PATCH | M_DELETE, buf, sizeof(buf));
    cr_assert_str_eq(buf, "GET, HEAD, POST, PUT, PATCH, DELETE");
    router_allow_header(0, buf, sizeof(buf));
    cr_assert_str_eq(buf, "");
}

Test(router, allow_header_never_overflows)
{
    char buf[12];
    memset(buf, '#', sizeof(buf));
    router_allow_header(M_GET | M_POST | M_PUT | M_PATCH | M_DELETE, buf, sizeof(buf));
    cr_assert_lt(strlen(buf), sizeof(buf));
    cr_assert_eq(strncmp(buf, "GET, HEAD", 9), 0, "got \"%s\"", buf);
}

/* Regression (fixed): a truncated Allow list ends in a dangling separator or a cut-off
 * method name ("GET, HEAD, " here) rather than after a whole name. Harmless today (request.c passes
 * 64 bytes, enough for every method); */
Test(router, allow_header_truncates_at_whole_names)
{
    char buf[12];
    router_allow_header(M_GET | M_POST | M_PUT | M_PATCH | M_DELETE, buf, sizeof(buf));
    cr_assert_str_eq(buf, "GET, HEAD");
}
