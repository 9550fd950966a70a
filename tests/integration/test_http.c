/* test_http.c - HTTP semantics on one keep-alive connection.
 *
 * HEAD on every route that serves GET (RFC 9110 9.3.2: the headers GET would
 * send, with its Content-Length, and no content), checked on a raw socket
 * that carries a GET right after each HEAD: a body sent after HEAD's headers
 * would be read as the start of the GET's response. The route list comes
 * from the server binary itself (`reflectd --routes`), so a new GET route is
 * covered without touching this file. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HEAD_MAX 16384

struct raw_resp {
    int status;
    char head[HEAD_MAX];
    long content_length; /* -1 when absent */
    size_t body_len;
};

/* Reads one response head (up to the blank line) byte by byte, so nothing
 * after it is consumed. */
static int read_head(int fd, struct raw_resp *r)
{
    size_t n = 0;
    while (n + 1 < sizeof(r->head)) {
        if (read(fd, r->head + n, 1) != 1)
            return -1;
        n++;
        r->head[n] = '\0';
        if (n >= 4 && memcmp(r->head + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
        return -1;
    r->content_length = -1;
    for (char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
            r->content_length = strtol(p + 17, NULL, 10);
    return 0;
}

static int read_body(int fd, struct raw_resp *r)
{
    char buf[4096];
    r->body_len = 0;
    while (r->body_len < (size_t)r->content_length) {
        size_t want = (size_t)r->content_length - r->body_len;
        ssize_t got = read(fd, buf, want < sizeof(buf) ? want : sizeof(buf));
        if (got <= 0)
            return -1;
        r->body_len += (size_t)got;
    }
    return 0;
}

static void send_request(int fd, const char *method, const char *path, const char *token)
{
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n\r\n", method,
                     path, token);
    cr_assert(n > 0 && (size_t)n < sizeof(req));
    cr_assert_eq(write(fd, req, (size_t)n), n, "%s %s: write failed", method, path);
}

/* A concrete path for a pattern: every {param} becomes a random uuid (the
 * answer may be 404; HEAD must then match GET's 404). */
static void concrete_path(const char *pattern, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 40 < len; p++) {
        if (*p != '{') {
            out[o++] = *p;
            continue;
        }
        o += (size_t)snprintf(out + o, len - o, "5f0c7c1e-8d1b-4c62-9a57-0d3b2f6e4a91");
        p = strchr(p, '}');
        cr_assert(p, "unterminated parameter in %s", pattern);
    }
    out[o] = '\0';
}

/* HEAD then GET of path on fd; both must be framed exactly. */
static void expect_head_like_get(int fd, const char *path, const char *token)
{
    struct raw_resp *h = calloc(2, sizeof(*h)), *g = h + 1;
    cr_assert(h);
    send_request(fd, "HEAD", path, token);
    cr_assert_eq(read_head(fd, h), 0, "HEAD %s: no response head", path);
    int stream = strstr(h->head, "text/event-stream") != NULL;
    send_request(fd, stream ? "HEAD" : "GET", path, token);
    /* A body after HEAD's headers would be read here instead of a head. */
    cr_assert_eq(read_head(fd, g), 0, "after HEAD %s: the next response is garbled:\n%s", path,
                 g->head);
    cr_assert(stream || h->content_length >= 0, "HEAD %s: no Content-Length", path);
    if (!stream) {
        cr_assert_geq(g->content_length, 0, "GET %s: no Content-Length", path);
        cr_assert_eq(read_body(fd, g), 0, "GET %s: short body", path);
        cr_assert_eq(h->status, g->status, "HEAD %s: %d, GET: %d", path, h->status, g->status);
        /* The metrics change with every request (counters, latencies), so
         * only their framing is compared. */
        if (strcmp(path, "/metrics") != 0)
            cr_assert_eq(h->content_length, g->content_length,
                         "HEAD %s: Content-Length %ld, GET's is %ld", path, h->content_length,
                         g->content_length);
    }
    free(h);
}

Test(http, head_on_every_get_route_is_headers_only)
{
    struct fix_org o;
    fix_org(&o);
    const char *bin = getenv("REFLECTD_BIN");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s --routes", bin && *bin ? bin : "bin/reflectd");
    FILE *routes = popen(cmd, "r");
    cr_assert(routes, "cannot run %s", cmd);
    int fd = http_connect(test_addr());
    cr_assert_geq(fd, 0);
    char line[256], path[512];
    int checked = 0;
    while (fgets(line, sizeof(line), routes)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "GET ", 4) != 0)
            continue;
        concrete_path(line + 4, path, sizeof(path));
        expect_head_like_get(fd, path, o.admin.token);
        checked++;
    }
    cr_assert_eq(pclose(routes), 0, "%s failed", cmd);
    close(fd);
    cr_assert_geq(checked, 20, "only %d GET routes listed", checked);
}

/* Every timestamp in one fixed form: RFC 3339 UTC, six fraction digits, Z. */
static void expect_fixed_timestamp(const char *what, const char *ts)
{
    cr_assert(ts, "%s: no timestamp", what);
    static const char form[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    cr_assert_eq(strlen(ts), sizeof(form) - 1, "%s: \"%s\" is not YYYY-MM-DDTHH:MM:SS.ffffffZ",
                 what, ts);
    for (size_t i = 0; form[i]; i++)
        cr_assert(form[i] == 'd' ? ts[i] >= '0' && ts[i] <= '9' : ts[i] == form[i],
                  "%s: \"%s\" is not YYYY-MM-DDTHH:MM:SS.ffffffZ", what, ts);
}

Test(http, timestamps_have_one_fixed_form)
{
    struct fix_org o;
    fix_org(&o);
    char team[40];
    fix_team(&o, team);
    struct http_resp r;
    http_send("GET", "/v1/teams", o.admin.token, NULL, NULL, &r);
    expect_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    cr_assert_geq(json_array_size(items), 1, "%s", r.body);
    expect_fixed_timestamp("team created_at", jstr(json_array_get(items, 0), "created_at"));
    http_resp_free(&r);
    http_send("GET", "/v1/me/export", o.admin.token, NULL, NULL, &r);
    expect_status(&r, 200);
    expect_fixed_timestamp("exported_at", jstr(r.json, "exported_at"));
    json_t *sessions = json_object_get(r.json, "sessions");
    cr_assert_geq(json_array_size(sessions), 1, "%s", r.body);
    expect_fixed_timestamp("session created_at", jstr(json_array_get(sessions, 0), "created_at"));
    http_resp_free(&r);
}

/* Business-rule refusals differ by a stable code, not only by English. */
Test(http, business_rule_422_carries_a_code)
{
    struct fix_org o;
    fix_org(&o);
    char team[40];
    fix_team(&o, team); /* the admin is not a member of it */
    struct http_resp r;
    http_send("POST", "/v1/checkins", o.admin.token,
              json_pack("{s:s, s:{s:i, s:i, s:i, s:i}}", "team_id", team, "scores", "absorptie", 5,
                        "verbindend", 5, "opleidend", 5, "lerend", 5),
              NULL, &r);
    expect_problem(&r, 422);
    cr_assert_str_eq(jstr(r.json, "code"), "not_team_member", "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "type"), "https://reflect.example/problems/not-team-member");
    http_resp_free(&r);
    http_send("POST", "/v1/checkins", o.admin.token, json_pack("{s:s}", "team_id", "x"), NULL, &r);
    expect_problem(&r, 422);
    cr_assert_str_eq(jstr(r.json, "code"), "validation_failed", "%s", r.body);
    http_resp_free(&r);
}
