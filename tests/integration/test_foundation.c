/* test_foundation.c - the HTTP foundation every endpoint stands on.
 *
 * Operations endpoints (/healthz, /readyz, and /metrics on its own listener),
 * routing failures as problem+json (404, 405 with Allow), HEAD, the
 * request-size limits, garbage on the wire, request ids, the security headers every response
 * carries, and graceful shutdown. Most tests use the shared server ($REFLECTD_ADDR); the ones
 * needing special configuration or a process of their own spawn one. */
#include "harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

/* GET path on the shared server; the request must succeed at socket level. */
static void get(const char *path, struct http_resp *r)
{
    cr_assert_eq(http_get(test_addr(), path, NULL, r), 0, "GET %s: no HTTP response", path);
}

static void call(const char *method, const char *path, const char *body, const char *headers,
                 struct http_resp *r)
{
    cr_assert_eq(http_call(test_addr(), method, path, NULL, body, headers, r), 0,
                 "%s %s: no HTTP response", method, path);
}

static void expect_content_type(const struct http_resp *r, const char *want)
{
    const char *ct = http_header(r, "Content-Type");
    cr_assert(ct && strncmp(ct, want, strlen(want)) == 0, "Content-Type %s expected, got %s", want,
              ct ? ct : "(none)");
}

static void expect_alive(const char *addr)
{
    struct http_resp r;
    cr_assert_eq(http_get(addr, "/healthz", NULL, &r), 0, "server at %s stopped answering", addr);
    expect_status(&r, 200);
    http_resp_free(&r);
}

/* ---- operations endpoints ----------------------------------------------- */

Test(ops, healthz_says_ok)
{
    struct http_resp r;
    get("/healthz", &r);
    expect_status(&r, 200);
    expect_content_type(&r, "application/json");
    expect_common_headers(&r);
    cr_assert(json_is_object(r.json), "body: %s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "ok");
    http_resp_free(&r);
}

/* The highest migration number in the source tree (NNNN_name.sql): the
 * schema the binary embeds (-1: unknown). */
static int latest_migration(void)
{
    DIR *d = opendir("migrations");
    if (!d)
        return -1;
    int latest = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        int v = atoi(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".sql") == 0 && v > latest)
            latest = v;
    }
    closedir(d);
    return latest;
}

Test(ops, readyz_reports_schema_version)
{
    struct http_resp r;
    get("/readyz", &r);
    expect_status(&r, 200);
    expect_content_type(&r, "application/json");
    expect_common_headers(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "ready");
    json_t *v = json_object_get(r.json, "schema_version");
    cr_assert(json_is_integer(v), "schema_version must be an integer: %s", r.body);
    int latest = latest_migration();
    if (latest > 0)
        cr_assert_eq(json_integer_value(v), latest, "schema_version %lld, but migrations up to %d",
                     (long long)json_integer_value(v), latest);
    else
        cr_assert_geq(json_integer_value(v), 1);
    http_resp_free(&r);
}

/* The value of one series ("name{labels}" exactly as rendered) in a
 * Prometheus text page; found is 0 when the series is absent. */
static double metric(const char *page, const char *series, int *found)
{
    size_t n = strlen(series);
    *found = 0;
    for (const char *l = page; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, series, n) == 0 && l[n] == ' ') {
            *found = 1;
            return strtod(l + n + 1, NULL);
        }
    }
    return 0;
}

static double metric_required(const char *page, const char *series)
{
    int found;
    double v = metric(page, series, &found);
    cr_assert(found, "series %s missing from /metrics", series);
    return v;
}

/* GET path on the shared server's metrics listener. */
static void get_metrics(const char *path, struct http_resp *r)
{
    cr_assert_eq(http_get(test_metrics_addr(), path, NULL, r), 0, "GET %s: no HTTP response", path);
}

Test(ops, metrics_page_has_counters_and_pool_gauges)
{
    struct http_resp r;
    get_metrics("/metrics", &r);
    expect_status(&r, 200);
    expect_content_type(&r, "text/plain");
    cr_assert(strstr(r.body, "# TYPE reflectd_requests_total counter\n"), "%s", r.body);
    cr_assert_geq(metric_required(r.body, "reflectd_requests_total{status=\"2xx\"}"), 0);
    cr_assert(strstr(r.body, "# TYPE reflectd_request_duration_seconds histogram\n"), "%s", r.body);
    metric_required(r.body, "reflectd_request_duration_seconds_bucket{le=\"+Inf\"}");
    cr_assert(strstr(r.body, "# TYPE reflectd_db_pool_connections gauge\n"), "%s", r.body);
    double idle = metric_required(r.body, "reflectd_db_pool_connections{state=\"idle\"}");
    double busy = metric_required(r.body, "reflectd_db_pool_connections{state=\"busy\"}");
    double conn = metric_required(r.body, "reflectd_db_pool_connections{state=\"connecting\"}");
    double down = metric_required(r.body, "reflectd_db_pool_connections{state=\"down\"}");
    double size = metric_required(r.body, "reflectd_db_pool_size");
    cr_assert_gt(size, 0);
    cr_assert_eq(idle + busy + conn + down, size, "pool states must add up to the pool size");
    cr_assert_geq(metric_required(r.body, "reflectd_workers"), 1);
    metric_required(r.body, "reflectd_db_pool_waiting");
    metric_required(r.body, "reflectd_db_pool_inflight");
    metric_required(r.body, "reflectd_connections");
    metric_required(r.body, "reflectd_hasher_queued");
    http_resp_free(&r);
}

/* Issue 12: per-route counters told anyone who could scrape them how many
 * check-ins were created or replaced and how many people erased their data.
 * The page now has no route or status-code label at all. */
Test(ops, metrics_reveal_no_activity_per_route)
{
    struct http_resp r;
    get_metrics("/metrics", &r);
    expect_status(&r, 200);
    cr_assert_null(strstr(r.body, "route="), "per-route series on the metrics page:\n%s", r.body);
    cr_assert_null(strstr(r.body, "/v1/"), "an API path on the metrics page:\n%s", r.body);
    cr_assert_null(strstr(r.body, "checkin"), "%s", r.body);
    cr_assert_null(strstr(r.body, "erase"), "%s", r.body);
    cr_assert_null(strstr(r.body, "status=\"201\""), "%s", r.body);
    cr_assert_null(strstr(r.body, "status=\"204\""), "%s", r.body);
    http_resp_free(&r);
}

Test(ops, metrics_are_not_on_the_api_listener)
{
    struct http_resp r;
    get("/metrics", &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
}

Test(ops, metrics_listener_serves_only_metrics)
{
    struct http_resp r;
    get_metrics("/healthz", &r);
    expect_status(&r, 404);
    http_resp_free(&r);
    get_metrics("/v1/me", &r);
    expect_status(&r, 404);
    http_resp_free(&r);
}

static double scrape(const char *series)
{
    struct http_resp r;
    get_metrics("/metrics", &r);
    expect_status(&r, 200);
    int found;
    double v = metric(r.body, series, &found);
    http_resp_free(&r);
    return v;
}

/* Other tests run in parallel on the same server, so counters may grow by
 * more than our own requests, never by less. */
Test(ops, metrics_count_our_requests)
{
    const char *ok = "reflectd_requests_total{status=\"2xx\"}";
    const char *nf = "reflectd_requests_total{status=\"4xx\"}";
    const char *all = "reflectd_request_duration_seconds_count";
    double ok0 = scrape(ok), nf0 = scrape(nf), all0 = scrape(all);
    for (int i = 0; i < 3; i++) {
        struct http_resp r;
        get("/healthz", &r);
        expect_status(&r, 200);
        http_resp_free(&r);
        get("/no-such-thing", &r);
        expect_status(&r, 404);
        http_resp_free(&r);
    }
    cr_assert_geq(scrape(ok), ok0 + 3, "the 2xx counter did not grow by 3");
    cr_assert_geq(scrape(nf), nf0 + 3, "the 4xx counter did not grow by 3");
    cr_assert_geq(scrape(all), all0 + 6, "the latency histogram did not count 6 requests");
}

/* A server with METRICS_ADDR=off has no metrics listener at all. */
Test(ops, metrics_listener_can_be_turned_off)
{
    struct spawned s;
    const char *env[] = {"METRICS_ADDR=off", NULL};
    cr_assert_eq(server_spawn(&s, env), 0);
    struct http_resp r;
    cr_assert_neq(http_get(s.metrics_addr, "/metrics", NULL, &r), 0,
                  "something answers on the metrics port of a server with METRICS_ADDR=off");
    http_resp_free(&r);
    cr_assert_eq(server_stop(&s), 0);
}

/* ---- routing failures --------------------------------------------------- */

static void expect_not_found(const char *path)
{
    struct http_resp r;
    get(path, &r);
    expect_problem(&r, 404);
    expect_common_headers(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "title")), "Not Found");
    http_resp_free(&r);
}

Test(routing, unknown_path_is_problem_404)
{
    expect_not_found("/no/such/thing");
    expect_not_found("/v1/nothing-here");
    expect_not_found("/");
}

Test(routing, trailing_slash_is_404)
{
    expect_not_found("/healthz/");
    expect_not_found("/readyz/");
}

Test(routing, empty_segments_are_404)
{
    expect_not_found("//healthz");
    expect_not_found("/healthz//");
    expect_not_found("//");
}

Test(routing, query_string_does_not_change_the_route)
{
    struct http_resp r;
    get("/healthz?verbose=1&x=%20", &r);
    expect_status(&r, 200);
    http_resp_free(&r);
}

static void expect_method_not_allowed(const char *method, const char *path)
{
    struct http_resp r;
    call(method, path, strcmp(method, "POST") == 0 ? "{}" : NULL, NULL, &r);
    expect_problem(&r, 405);
    expect_common_headers(&r);
    const char *allow = http_header(&r, "Allow");
    cr_assert(allow, "405 without Allow:\n%s", r.head);
    cr_assert_str_eq(allow, "GET, HEAD", "%s %s", method, path);
    http_resp_free(&r);
}

Test(routing, wrong_method_is_405_with_allow)
{
    expect_method_not_allowed("POST", "/healthz");
    expect_method_not_allowed("DELETE", "/readyz");
    expect_method_not_allowed("PUT", "/readyz");
    expect_method_not_allowed("PATCH", "/healthz");
}

Test(routing, head_is_answered_like_get_without_body)
{
    struct http_resp g, r;
    get("/healthz", &g);
    expect_status(&g, 200);
    call("HEAD", "/healthz", NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.body_len, 0, "HEAD must not carry a body, got %zu bytes", r.body_len);
    expect_content_type(&r, "application/json");
    expect_common_headers(&r);
    /* Content-Length is optional for HEAD, but if sent it must be GET's. */
    const char *cl = http_header(&r, "Content-Length");
    char want[32];
    snprintf(want, sizeof(want), "%zu", g.body_len);
    cr_assert(!cl || strcmp(cl, want) == 0, "HEAD Content-Length %s, GET body %s bytes", cl, want);
    http_resp_free(&g);
    http_resp_free(&r);
}

/* ---- limits and malformed input ------------------------------------------ */

/* A JSON object of exactly n bytes: {"a":"xxxx..."} */
static char *json_of_size(size_t n)
{
    char *s = malloc(n + 1);
    cr_assert(s && n >= 8);
    memset(s, 'x', n);
    memcpy(s, "{\"a\":\"", 6);
    memcpy(s + n - 2, "\"}", 3);
    return s;
}

Test(limits, body_over_max_body_kib_is_413, .timeout = 60)
{
    const char *env[] = {"MAX_BODY_KIB=1", NULL};
    struct spawned s;
    cr_assert_eq(server_spawn(&s, env), 0, "server did not start");
    char *fits = json_of_size(1024), *over = json_of_size(1025), *far = json_of_size(4096);
    struct http_resp r;
    cr_assert_eq(http_call(s.addr, "POST", "/healthz", NULL, over, NULL, &r), 0);
    expect_problem(&r, 413);
    http_resp_free(&r);
    /* Over twice the limit libevent refuses the body itself; still problem+json. */
    cr_assert_eq(http_call(s.addr, "POST", "/healthz", NULL, far, NULL, &r), 0);
    expect_problem(&r, 413);
    http_resp_free(&r);
    free(far);
    /* At the limit the body is accepted and routing answers (405 here). */
    cr_assert_eq(http_call(s.addr, "POST", "/healthz", NULL, fits, NULL, &r), 0);
    expect_problem(&r, 405);
    http_resp_free(&r);
    free(fits);
    free(over);
    expect_alive(s.addr);
    cr_assert_eq(server_stop(&s), 0, "server exited uncleanly");
}

static void expect_4xx_raw(const char *what, const void *bytes, size_t n)
{
    struct http_resp r;
    cr_assert_eq(http_raw(test_addr(), bytes, n, &r), 0, "%s: no HTTP response", what);
    cr_assert(r.status >= 400 && r.status < 500, "%s: 4xx expected, got %d", what, r.status);
    /* libevent answers these itself; evhttp_errors.c makes them problem+json. */
    expect_problem(&r, r.status);
    http_resp_free(&r);
    expect_alive(test_addr());
}

Test(limits, malformed_request_line_is_4xx)
{
    static const char line[] = "NONSENSE\r\n\r\n";
    expect_4xx_raw("request line without method and target", line, sizeof(line) - 1);
    static const char spaces[] = "GET  /healthz  HTTP/1.1 extra\r\nHost: x\r\n\r\n";
    expect_4xx_raw("request line with extra fields", spaces, sizeof(spaces) - 1);
}

Test(limits, garbage_bytes_are_4xx)
{
    /* The start of a TLS ClientHello, then binary noise. */
    static const unsigned char garbage[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00,
                                            0x01, 0xfc, 0x03, 0x03, 0xff, 0xfe, 0x00,
                                            0x80, 0x7f, '\r', '\n', '\r', '\n'};
    expect_4xx_raw("binary garbage", garbage, sizeof(garbage));
}

Test(limits, header_without_colon_is_4xx)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n";
    expect_4xx_raw("header line without a colon", req, sizeof(req) - 1);
}

/* A request carrying one X-Filler header of n bytes. */
static int get_with_filler(size_t n, struct http_resp *r)
{
    char *h = malloc(n + 16);
    cr_assert(h);
    memcpy(h, "X-Filler: ", 10);
    memset(h + 10, 'f', n);
    memcpy(h + 10 + n, "\r\n", 3);
    int rc = http_call(test_addr(), "GET", "/healthz", NULL, NULL, h, r);
    free(h);
    return rc;
}

Test(limits, oversize_headers_are_4xx)
{
    struct http_resp r;
    cr_assert_eq(get_with_filler(8 * 1024, &r), 0);
    expect_status(&r, 200); /* well under the 16 KiB default */
    http_resp_free(&r);
    cr_assert_eq(get_with_filler(64 * 1024, &r), 0, "no HTTP response to 64 KiB of headers");
    cr_assert(r.status >= 400 && r.status < 500, "4xx expected, got %d", r.status);
    expect_problem(&r, r.status);
    http_resp_free(&r);
    expect_alive(test_addr());
}

Test(limits, unimplemented_method_is_problem_json)
{
    static const char req[] = "TRACE /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct http_resp r;
    cr_assert_eq(http_raw(test_addr(), req, sizeof(req) - 1, &r), 0, "no HTTP response");
    expect_problem(&r, 501);
    http_resp_free(&r);
}

/* A client that starts a request and then goes quiet (slowloris) must be
 * cut off after REQUEST_TIMEOUT_S, not hold the connection for ever. */
Test(limits, silent_client_is_disconnected, .timeout = 60)
{
    const char *env[] = {"REQUEST_TIMEOUT_S=1", NULL};
    struct spawned s;
    cr_assert_eq(server_spawn(&s, env), 0, "server did not start");
    int fd = http_connect(s.addr);
    cr_assert_geq(fd, 0);
    static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    cr_assert_eq(write(fd, partial, sizeof(partial) - 1), (ssize_t)sizeof(partial) - 1);
    char buf[512];
    /* EOF (or a short error reply, then EOF) before the 5 s socket timeout. */
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        ;
    cr_assert(n == 0 || errno == ECONNRESET, "connection still open after 5 s (%s)",
              strerror(errno));
    close(fd);
    expect_alive(s.addr);
    cr_assert_eq(server_stop(&s), 0, "server exited uncleanly");
}

/* ---- request ids and security headers ----------------------------------- */

static char *request_id_for(const char *sent)
{
    char hdr[128];
    struct http_resp r;
    snprintf(hdr, sizeof(hdr), "X-Request-Id: %s\r\n", sent);
    call("GET", "/healthz", NULL, hdr, &r);
    expect_status(&r, 200);
    const char *id = http_header(&r, "X-Request-Id");
    cr_assert(id, "no X-Request-Id");
    char *copy = strdup(id);
    http_resp_free(&r);
    return copy;
}

static void expect_echo(const char *sent)
{
    char *got = request_id_for(sent);
    cr_assert_str_eq(got, sent, "a valid client id must be echoed");
    free(got);
}

static void expect_replaced(const char *sent)
{
    char *got = request_id_for(sent);
    cr_assert_str_neq(got, sent, "an invalid client id must not be echoed");
    cr_assert(*got && strspn(got, ID_CHARS) == strlen(got), "generated id \"%s\"", got);
    free(got);
}

Test(request_id, valid_client_id_is_echoed)
{
    expect_echo("trace-ABC_123");
    expect_echo("x");
    expect_echo("abcdefghijklmnopqrstuvwxyz-0123456789_A"); /* 39 characters */
}

Test(request_id, invalid_client_id_is_replaced)
{
    expect_replaced("abcdefghijklmnopqrstuvwxyz-0123456789_AB"); /* 40 characters */
    expect_replaced("has space");
    expect_replaced("semi;colon");
    expect_replaced("<script>");
}

Test(request_id, generated_ids_differ)
{
    struct http_resp a, b;
    get("/healthz", &a);
    get("/healthz", &b);
    const char *ia = http_header(&a, "X-Request-Id"), *ib = http_header(&b, "X-Request-Id");
    cr_assert(ia && ib && *ia && *ib);
    cr_assert(strspn(ia, ID_CHARS) == strlen(ia), "generated id \"%s\"", ia);
    cr_assert_str_neq(ia, ib, "two requests got the same id");
    http_resp_free(&a);
    http_resp_free(&b);
}

Test(request_id, error_responses_carry_the_id)
{
    struct http_resp r;
    call("GET", "/nope", NULL, "X-Request-Id: err-404-id\r\n", &r);
    expect_status(&r, 404);
    cr_assert_str_eq(http_header(&r, "X-Request-Id"), "err-404-id");
    http_resp_free(&r);
    call("DELETE", "/healthz", NULL, "X-Request-Id: err-405-id\r\n", &r);
    expect_status(&r, 405);
    cr_assert_str_eq(http_header(&r, "X-Request-Id"), "err-405-id");
    http_resp_free(&r);
}

Test(headers, security_headers_on_every_kind_of_response)
{
    static const char *const paths[][2] = {
        {"GET", "/healthz"}, {"GET", "/readyz"},     {"GET", "/metrics"},
        {"GET", "/missing"}, {"DELETE", "/healthz"}, {"HEAD", "/healthz"},
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct http_resp r;
        call(paths[i][0], paths[i][1], NULL, NULL, &r);
        cr_assert(r.status > 0, "%s %s", paths[i][0], paths[i][1]);
        expect_common_headers(&r);
        http_resp_free(&r);
    }
}

/* Regression (fixed): every status line says problem_title(status) as its reason, so
 * a 200 reads "HTTP/1.1 200 Client Error" (request.c, req_send). Enable once
 * fixed. */
Test(headers, reason_phrase_matches_status)
{
    struct http_resp r;
    get("/healthz", &r);
    expect_status(&r, 200);
    cr_assert(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0, "status line: %.40s", r.head);
    http_resp_free(&r);
}

/* ---- shutdown ------------------------------------------------------------- */

Test(shutdown, sigterm_exits_zero, .timeout = 60)
{
    struct spawned s;
    cr_assert_eq(server_spawn(&s, NULL), 0, "server did not start");
    expect_alive(s.addr);
    cr_assert_eq(http_wait_status(s.addr, "/readyz", 200, 5000), 200);
    cr_assert_eq(server_stop(&s), 0, "SIGTERM must end the server with status 0");
}

/* An idle client holding a half-sent request must not keep the process
 * alive: only requests being handled are waited for. */
Test(shutdown, idle_connection_does_not_block_shutdown, .timeout = 60)
{
    struct spawned s;
    cr_assert_eq(server_spawn(&s, NULL), 0, "server did not start");
    int fd = http_connect(s.addr);
    cr_assert_geq(fd, 0);
    static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    cr_assert_eq(write(fd, partial, sizeof(partial) - 1), (ssize_t)sizeof(partial) - 1);
    cr_assert_eq(server_stop(&s), 0, "SIGTERM with an idle connection must still exit 0");
    close(fd);
}
