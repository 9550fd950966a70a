/* test_cors.c - CORS is off by default and exact when origins are configured. */
#include "harness.h"

#include <criterion/criterion.h>
#include <string.h>

static void options(const char *addr, const char *origin, struct http_resp *r)
{
    char hdr[160];
    snprintf(hdr, sizeof(hdr), "Origin: %s\r\nAccess-Control-Request-Method: POST\r\n", origin);
    cr_assert(http_call(addr, "OPTIONS", "/v1/reflections", NULL, NULL, hdr, r) == 0);
}

Test(cors, off_unless_configured)
{
    struct http_resp r;
    options(test_addr(), "https://app.example", &r);
    cr_expect_eq(r.status, 405);
    cr_expect_null(http_header(&r, "Access-Control-Allow-Origin"));
    http_resp_free(&r);
    cr_assert(http_call(test_addr(), "GET", "/healthz", NULL, NULL,
                        "Origin: https://app.example\r\n", &r) == 0);
    expect_status(&r, 200);
    cr_expect_null(http_header(&r, "Access-Control-Allow-Origin"));
    http_resp_free(&r);
}

Test(cors, only_listed_origins_get_headers)
{
    struct spawned s;
    const char *env[] = {"CORS_ORIGINS=https://app.example,https://web.example", NULL};
    cr_assert_eq(server_spawn(&s, env), 0);
    struct http_resp r;
    options(s.addr, "https://web.example", &r);
    cr_expect_eq(r.status, 204);
    cr_expect_str_eq(http_header(&r, "Access-Control-Allow-Origin"), "https://web.example");
    const char *methods = http_header(&r, "Access-Control-Allow-Methods");
    cr_expect(methods && strstr(methods, "POST") && strstr(methods, "GET"), "methods: %s",
              methods ? methods : "(none)");
    http_resp_free(&r);
    /* A prefix, a suffix or another scheme of a listed origin is not it. */
    const char *strangers[] = {"https://evil.example", "https://app.example.evil",
                               "http://app.example", "https://app.exampl"};
    for (size_t i = 0; i < sizeof(strangers) / sizeof(strangers[0]); i++) {
        options(s.addr, strangers[i], &r);
        cr_expect_eq(r.status, 405, "preflight allowed for %s", strangers[i]);
        cr_expect_null(http_header(&r, "Access-Control-Allow-Origin"));
        http_resp_free(&r);
    }
    cr_assert(http_call(s.addr, "GET", "/healthz", NULL, NULL, "Origin: https://app.example\r\n",
                        &r) == 0);
    cr_expect_str_eq(http_header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    cr_expect_str_eq(http_header(&r, "Vary"), "Origin");
    http_resp_free(&r);
    cr_expect_eq(server_stop(&s), 0);
}
