/* test_hostile.c - a private server (REQUEST_TIMEOUT_S=2) against hostile
 * clients: slow and stalled connections, pipelining, malformed HTTP framing,
 * NUL bytes, deep nesting, oversized bodies, out-of-range numbers, duplicate
 * keys, wrong content types, invalid UTF-8 and forged cursors.
 *
 * Every hostile request must get a 4xx (501 for an unknown method, as RFC
 * 9110 recommends) or the connection closed, never a crash or a hang: after
 * each one the server process must still exist and answer /healthz. The
 * write cases go to POST /v1/reflections as a student whose team makes an
 * otherwise valid body acceptable, and each test ends by checking that
 * nothing was stored (the student's list, tombstones included, stays empty)
 * and then that a valid create does store (so the emptiness proves
 * something). Each test ends with a clean shutdown of its server (exit
 * status 0), so damage that only shows at exit (an ASan report in the
 * sanitized binary) fails it too.
 *
 * The server is $REFLECTD_BIN; fixtures are built through $REFLECTD_ADDR,
 * the run's shared server, on the same database. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_TIMEOUT_S 2
/* A connection the server should cut must be gone within this bound:
 * the timeout, plus generous slack for a loaded machine. */
#define CUT_OFF_MS ((REQUEST_TIMEOUT_S + 4) * 1000)

static struct spawned server;

static void hostile_init(void)
{
    static const char *const env[] = {"REQUEST_TIMEOUT_S=2", NULL};
    cr_assert_eq(server_spawn(&server, env), 0, "server did not start");
    cr_assert_eq(http_wait_status(server.addr, "/readyz", 200, 10000), 200,
                 "server never became ready");
}

static void hostile_fini(void)
{
    http_set_timeout_ms(0);
    server_stop(&server);
}

TestSuite(hostile, .init = hostile_init, .fini = hostile_fini, .timeout = 120);

/* ---- helpers ---------------------------------------------------------------- */

struct world {
    struct fix_org o;
    char team[40];
    struct fix_user student;
};

static void world(struct world *w)
{
    fix_org(&w->o);
    fix_team(&w->o, w->team);
    fix_user(&w->o, NULL, &w->student);
    fix_member(&w->o, w->team, &w->student, "student");
}

/* A reflection the student may create (malloc'd JSON text). */
static char *valid_body(const struct world *w)
{
    json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "team_id", w->team, "occurred_on", test_day(-10),
                          "status", "draft", "situation", "Nachtdienst, een valincident.");
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    cr_assert(s);
    return s;
}

/* The process is still there and answers /healthz within 2 s. */
static void expect_alive(const char *after)
{
    int st;
    cr_assert_eq(waitpid(server.pid, &st, WNOHANG), 0, "the server died after %s (status %d)",
                 after, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    struct http_resp r;
    http_set_timeout_ms(2000);
    int rc = http_get(server.addr, "/healthz", NULL, &r);
    http_set_timeout_ms(0);
    cr_assert_eq(rc, 0, "/healthz did not answer after %s", after);
    cr_assert_eq(r.status, 200, "/healthz answered %d after %s", r.status, after);
    http_resp_free(&r);
}

/* rc/r from http_raw or http_call: a 4xx, or the connection closed without
 * an answer. allow_501: libevent answers an unknown method with 501 (Not
 * Implemented), which RFC 9110 recommends for exactly that. */
static void expect_refused(int rc, const struct http_resp *r, const char *what, int allow_501)
{
    if (rc != 0)
        return; /* closed without an answer */
    cr_assert((r->status >= 400 && r->status < 500) || (allow_501 && r->status == 501),
              "%s: expected a 4xx or a closed connection, got %d: %.300s", what, r->status,
              r->body ? r->body : "");
}

static void expect_status_of(int rc, const struct http_resp *r, int status, const char *what)
{
    cr_assert_eq(rc, 0, "%s: no answer (closed or timed out)", what);
    cr_assert_eq(r->status, status, "%s: expected %d, got %d: %.300s", what, status, r->status,
                 r->body ? r->body : "");
}

/* Nothing was stored for the student (tombstones included); then a valid
 * create does store, which shows the list would have shown it. */
static void expect_nothing_stored(const struct world *w)
{
    static const char *const paths[] = {"/v1/reflections",
                                        "/v1/reflections?updated_since=2000-01-01T00:00:00Z"};
    for (size_t i = 0; i < 2; i++) {
        struct http_resp r;
        cr_assert_eq(http_get(server.addr, paths[i], w->student.token, &r), 0);
        expect_status(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        cr_assert(json_is_array(items) && json_array_size(items) == 0,
                  "a refused request stored something: %s", r.body);
        http_resp_free(&r);
    }
    char *body = valid_body(w);
    struct http_resp r;
    cr_assert_eq(
        http_call(server.addr, "POST", "/v1/reflections", w->student.token, body, NULL, &r), 0);
    free(body);
    expect_status(&r, 201);
    http_resp_free(&r);
    cr_assert_eq(http_get(server.addr, "/v1/reflections", w->student.token, &r), 0);
    cr_assert_eq(json_array_size(json_object_get(r.json, "items")), 1, "control create: %s",
                 r.body);
    http_resp_free(&r);
}

/* The server shuts down cleanly after all that. */
static void expect_clean_exit(void)
{
    cr_assert_eq(server_stop(&server), 0, "the server did not exit cleanly after hostile input");
}

/* http_raw with the socket timeout at CUT_OFF_MS: -1 then means the
 * server closed without answering, which is fine; a hang (no answer and
 * no close within the bound) fails the test. */
static int raw_bounded(const void *bytes, size_t n, struct http_resp *out, const char *what)
{
    http_set_timeout_ms(CUT_OFF_MS);
    long long t0 = test_now_ms();
    int rc = http_raw(server.addr, bytes, n, out);
    long long took = test_now_ms() - t0;
    http_set_timeout_ms(0);
    cr_assert(rc == 0 || took < CUT_OFF_MS - 200, "%s: neither answered nor closed within %lld ms",
              what, took);
    return rc;
}

/* A raw POST /v1/reflections as the student: head lines (each ending in
 * CRLF, framing headers included) and body bytes exactly as given. */
static int post_raw(const struct world *w, const char *headers, const void *body, size_t blen,
                    struct http_resp *out)
{
    size_t hl = strlen(headers) + strlen(w->student.token) + 256;
    char *req = malloc(hl + blen);
    cr_assert(req);
    int n = snprintf(req, hl,
                     "POST /v1/reflections HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                     "Authorization: Bearer %s\r\n%s\r\n",
                     server.addr, w->student.token, headers);
    memcpy(req + n, body, blen);
    int rc = raw_bounded(req, (size_t)n + blen, out, "POST /v1/reflections");
    free(req);
    return rc;
}

/* POSTs a JSON text (application/json, right length) as the student. */
static int post_json(const struct world *w, const void *body, size_t blen, struct http_resp *out)
{
    char head[128];
    snprintf(head, sizeof(head), "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    return post_raw(w, head, body, blen, out);
}

/* Reads until EOF, a reset or the socket timeout; returns 1 when the
 * server closed, 0 on timeout. Anything received goes into got. */
static int wait_closed(int fd, char *got, size_t cap)
{
    size_t used = 0;
    for (;;) {
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 0; /* EAGAIN: the socket timeout, still open */
        size_t k = (size_t)n < cap - 1 - used ? (size_t)n : cap - 1 - used;
        memcpy(got + used, tmp, k);
        used += k;
    }
    got[used] = '\0';
    return 1;
}

/* Whatever the server sent before closing a stalled connection: nothing, or
 * an error status (408 or another 4xx). */
static void expect_no_success(const char *got, const char *what)
{
    if (!*got)
        return;
    cr_assert(strncmp(got, "HTTP/1.", 7) == 0 && got[9] == '4',
              "%s: unexpected answer before closing: %.200s", what, got);
}

/* Opens a connection, sends the bytes and then nothing; the server must
 * close it within CUT_OFF_MS while still serving others. */
static void expect_stall_cut_off(const char *bytes, size_t n, const char *what)
{
    http_set_timeout_ms(CUT_OFF_MS + 4000);
    int fd = http_connect(server.addr);
    cr_assert(fd >= 0, "cannot connect");
    cr_assert_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
    long long t0 = test_now_ms();
    /* Others are served meanwhile (an event loop, not a thread per client). */
    struct http_resp r;
    cr_assert_eq(http_get(server.addr, "/healthz", NULL, &r), 0, "%s: /healthz stalled", what);
    expect_status(&r, 200);
    http_resp_free(&r);
    cr_assert_lt(test_now_ms() - t0, 1500, "%s: /healthz took %lld ms next to a stalled client",
                 what, test_now_ms() - t0);
    char got[8192];
    int closed = wait_closed(fd, got, sizeof(got));
    long long took = test_now_ms() - t0;
    close(fd);
    http_set_timeout_ms(0);
    cr_assert(closed, "%s: the connection was still open after %lld ms", what, took);
    cr_assert_leq(took, CUT_OFF_MS, "%s: closed only after %lld ms (REQUEST_TIMEOUT_S=%d)", what,
                  took, REQUEST_TIMEOUT_S);
    expect_no_success(got, what);
    expect_alive(what);
}

/* ---- slow clients ------------------------------------------------------------ */

Test(hostile, stalled_request_line_is_cut_off)
{
    static const char partial[] = "GET /heal";
    expect_stall_cut_off(partial, strlen(partial), "a partial request line");
    expect_clean_exit();
}

Test(hostile, stalled_headers_are_cut_off)
{
    static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaa";
    expect_stall_cut_off(partial, strlen(partial), "a partial header block");
    expect_clean_exit();
}

/* Many stalled clients at once do not starve the others. */
Test(hostile, many_stalled_clients_are_cut_off)
{
    enum { N = 50 };
    int fds[N];
    http_set_timeout_ms(CUT_OFF_MS + 4000);
    for (int i = 0; i < N; i++) {
        fds[i] = http_connect(server.addr);
        cr_assert(fds[i] >= 0, "cannot open connection %d", i);
        cr_assert_eq(send(fds[i], "POST /v1/auth/lo", 16, MSG_NOSIGNAL), 16);
    }
    long long t0 = test_now_ms();
    for (int i = 0; i < 5; i++)
        expect_alive("50 stalled connections");
    cr_assert_lt(test_now_ms() - t0, 3000, "five /healthz took %lld ms next to 50 stalled clients",
                 test_now_ms() - t0);
    for (int i = 0; i < N; i++) {
        char got[4096];
        int closed = wait_closed(fds[i], got, sizeof(got));
        close(fds[i]);
        cr_assert(closed, "stalled connection %d still open after %lld ms", i, test_now_ms() - t0);
        expect_no_success(got, "a stalled connection");
    }
    long long took = test_now_ms() - t0;
    http_set_timeout_ms(0);
    cr_assert_leq(took, CUT_OFF_MS, "the last stalled connection closed after %lld ms", took);
    expect_clean_exit();
}

Test(hostile, stalled_body_is_cut_off_and_nothing_stored)
{
    struct world w;
    world(&w);
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/reflections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"team_id\"",
                     w.student.token);
    cr_assert(n > 0 && (size_t)n < sizeof(req));
    expect_stall_cut_off(req, (size_t)n, "a body 10 of 100 bytes long");
    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* Sends bytes one at a time, one every half REQUEST_TIMEOUT_S, so the
 * connection is never idle for a whole timeout; returns 1 once the server
 * has closed it (or answered: an error before the request is complete),
 * 0 when it is still open after 5 x REQUEST_TIMEOUT_S. */
static int drip(int fd, long long *took)
{
    long long t0 = test_now_ms();
    while (test_now_ms() - t0 < 5 * REQUEST_TIMEOUT_S * 1000) {
        int ms = REQUEST_TIMEOUT_S * 500;
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (send(fd, "a", 1, MSG_NOSIGNAL) != 1)
            break;
        char c;
        ssize_t k = recv(fd, &c, 1, MSG_DONTWAIT);
        if (k >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            break;
    }
    *took = test_now_ms() - t0;
    return *took < 5 * REQUEST_TIMEOUT_S * 1000;
}

/* A read timeout that restarts with every byte lets a client that drips
 * its header block hold a connection for hours (slowloris); the whole
 * request has a deadline of REQUEST_TIMEOUT_S. */
Test(hostile, drip_fed_headers_are_cut_off)
{
    static const char head[] = "GET /healthz HTTP/1.1\r\nX-Drip: ";
    int fd = http_connect(server.addr);
    cr_assert(fd >= 0);
    cr_assert_eq(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    long long took;
    int closed = drip(fd, &took);
    close(fd);
    cr_assert(closed,
              "a client dripping one header byte every %d ms kept its connection for %lld ms",
              REQUEST_TIMEOUT_S * 500, took);
    cr_assert_leq(took, CUT_OFF_MS, "cut off only after %lld ms", took);
    expect_alive("a drip-fed header block");
    expect_clean_exit();
}

Test(hostile, drip_fed_body_is_cut_off_and_nothing_stored)
{
    struct world w;
    world(&w);
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/reflections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":\"",
                     w.student.token);
    cr_assert(n > 0 && (size_t)n < sizeof(req));
    int fd = http_connect(server.addr);
    cr_assert(fd >= 0);
    cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    long long took;
    int closed = drip(fd, &took);
    close(fd);
    cr_assert(closed, "a client dripping its body kept the connection for %lld ms", took);
    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* The deadline restarts with every response: a keep-alive connection that
 * sends a request now and then lives longer than REQUEST_TIMEOUT_S. */
Test(hostile, keep_alive_outlives_the_request_deadline)
{
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = http_connect(server.addr);
    cr_assert(fd >= 0);
    http_set_timeout_ms(3000);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(send(fd, get, strlen(get), MSG_NOSIGNAL), (ssize_t)strlen(get),
                     "request %d: the connection is gone", i + 1);
        char got[1024];
        ssize_t k = recv(fd, got, sizeof(got) - 1, 0);
        cr_assert(k > 0, "request %d on one connection got no answer", i + 1);
        got[k] = '\0';
        cr_assert(strncmp(got, "HTTP/1.1 200", 12) == 0, "request %d: %.80s", i + 1, got);
        struct timespec ts = {REQUEST_TIMEOUT_S * 3 / 4, (REQUEST_TIMEOUT_S * 3 % 4) * 250000000L};
        nanosleep(&ts, NULL);
    }
    http_set_timeout_ms(0);
    close(fd);
    expect_clean_exit();
}

/* A request being answered has no deadline: an event stream stays open
 * long past REQUEST_TIMEOUT_S. */
Test(hostile, event_stream_outlives_the_request_deadline)
{
    struct world w;
    world(&w);
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                     "Authorization: Bearer %s\r\n\r\n",
                     w.student.token);
    cr_assert(n > 0 && (size_t)n < sizeof(req));
    int fd = http_connect(server.addr);
    cr_assert(fd >= 0);
    cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    http_set_timeout_ms(3000);
    char got[4096];
    ssize_t k = recv(fd, got, sizeof(got) - 1, 0);
    cr_assert(k > 0, "no answer to the stream request");
    got[k] = '\0';
    cr_assert(strncmp(got, "HTTP/1.1 200", 12) == 0, "the stream answered %.80s", got);
    struct timespec ts = {REQUEST_TIMEOUT_S * 2 + 1, 0};
    nanosleep(&ts, NULL);
    k = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
    int open = k > 0 || (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    http_set_timeout_ms(0);
    close(fd);
    cr_assert(open, "the stream was closed after %d s (recv %zd, errno %d)",
              REQUEST_TIMEOUT_S * 2 + 1, k, k < 0 ? errno : 0);
    expect_clean_exit();
}

/* ---- pipelining ------------------------------------------------------------------ */

/* Splits a stream of responses (each with Content-Length) into statuses
 * and X-Request-Id values; returns how many. */
static int split_responses(const char *p, size_t len, int *status, char ids[][40], int max)
{
    const char *end = p + len;
    int n = 0;
    while (p < end && n < max) {
        const char *he = strstr(p, "\r\n\r\n");
        cr_assert(he, "a response without a complete head: %.200s", p);
        cr_assert(strncmp(p, "HTTP/1.1 ", 9) == 0, "not a status line: %.80s", p);
        status[n] = atoi(p + 9);
        ids[n][0] = '\0';
        long cl = -1;
        for (const char *l = strstr(p, "\r\n") + 2; l < he; l = strstr(l, "\r\n") + 2) {
            if (strncasecmp(l, "Content-Length:", 15) == 0)
                cl = strtol(l + 15, NULL, 10);
            if (strncasecmp(l, "X-Request-Id:", 13) == 0)
                sscanf(l + 13, " %39[A-Za-z0-9_-]", ids[n]);
        }
        cr_assert(cl >= 0, "response %d has no Content-Length", n + 1);
        p = he + 4 + cl;
        n++;
    }
    return n;
}

Test(hostile, pipelined_requests_are_answered_in_order)
{
    struct world w;
    world(&w);
    /* A database request first, so the quick /healthz behind it would
     * overtake it if the server answered out of order. */
    char req[4096];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/reflections HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n"
                     "Authorization: Bearer %s\r\n\r\n"
                     "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: second\r\n\r\n"
                     "GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Request-Id: third\r\n"
                     "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
                     w.student.token, w.student.token);
    cr_assert(n > 0 && (size_t)n < sizeof(req));
    int fd = http_connect(server.addr);
    cr_assert(fd >= 0);
    cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n, "one write with three requests");
    char got[65536];
    cr_assert(wait_closed(fd, got, sizeof(got)), "the server did not close after the third");
    close(fd);
    int status[4];
    char ids[4][40];
    int count = split_responses(got, strlen(got), status, ids, 4);
    cr_assert_eq(count, 3, "expected three responses, got %d:\n%s", count, got);
    static const char *const want[] = {"first", "second", "third"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(status[i], 200, "response %d: status %d", i + 1, status[i]);
        cr_assert_str_eq(ids[i], want[i], "response %d answers request \"%s\"", i + 1, ids[i]);
    }
    expect_alive("pipelined requests");
    expect_clean_exit();
}

/* ---- malformed HTTP ------------------------------------------------------------------ */

struct raw_case {
    const char *name;
    const char *head; /* request line and headers, "%s" = valid body length where used */
    int with_body;    /* append the valid reflection body */
    int allow_501;
};

Test(hostile, malformed_http_is_refused)
{
    struct world w;
    world(&w);
    char *body = valid_body(&w);
    size_t blen = strlen(body);
    char auth[1200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", w.student.token);
    /* %1$s: Authorization line; %2$zu: the body's length. */
    static const struct raw_case cases[] = {
        {"garbage request line", "GARBAGE\r\n\r\n", 0, 0},
        {"method only", "GET\r\n\r\n", 0, 0},
        {"no version", "POST /v1/reflections\r\n%1$sContent-Length: %2$zu\r\n\r\n", 1, 0},
        {"unknown version", "POST /v1/reflections HTTP/9.9\r\n%1$sContent-Length: %2$zu\r\n\r\n", 1,
         0},
        {"version garbage", "POST /v1/reflections HTTX/1.1\r\n%1$sContent-Length: %2$zu\r\n\r\n", 1,
         0},
        {"unknown method", "BREW /v1/reflections HTTP/1.1\r\n%1$sContent-Length: %2$zu\r\n\r\n", 1,
         1},
        {"TRACE", "TRACE /v1/reflections HTTP/1.1\r\n%1$s\r\n", 0, 1},
        {"CONNECT", "CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n", 0, 1},
        {"leading space", " POST /v1/reflections HTTP/1.1\r\n%1$sContent-Length: %2$zu\r\n\r\n", 1,
         1},
        {"empty lines first", "\r\n\r\nPOST /v1/reflections HTTP/1.1\r\n%1$s\r\n", 0, 0},
        {"header without colon",
         "POST /v1/reflections HTTP/1.1\r\n%1$sNoColonHere\r\nContent-Type: application/json\r\n"
         "Content-Length: %2$zu\r\n\r\n",
         1, 0},
        {"header name with space",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Content Length: %2$zu\r\n\r\n",
         1, 0},
        {"oversized header",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Content-Length: %2$zu\r\nX-Big: "
         "@BIG@\r\n\r\n",
         1, 0},
        {"negative Content-Length",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Content-Length: -1\r\n\r\n",
         1, 0},
        {"garbage Content-Length",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Content-Length: abc\r\n\r\n",
         1, 0},
        {"hex Content-Length",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Content-Length: 0x10\r\n\r\n",
         1, 0},
        {"huge Content-Length",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Content-Length: 99999999999999999999999\r\n\r\n",
         1, 0},
        {"Content-Length list",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Content-Length: %2$zu, %2$zu\r\n\r\n",
         1, 0},
        {"Transfer-Encoding junk with Content-Length",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Transfer-Encoding: junk\r\nContent-Length: %2$zu\r\n\r\n",
         1, 0},
        {"Transfer-Encoding junk alone",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Transfer-Encoding: junk\r\n\r\n",
         1, 0},
        {"chunked and Content-Length",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\nContent-Length: %2$zu\r\n\r\n",
         1, 0},
        {"chunked with a bad chunk size",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
         1, 0},
        {"chunked with a negative chunk size",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\n-5\r\n",
         1, 0},
        {"chunked with a huge chunk size",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
         1, 0},
        {"chunked, chunk shorter than declared",
         "POST /v1/reflections HTTP/1.1\r\n%1$sContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\nfff\r\n",
         1, 0},
        {"path without slash", "POST v1/reflections HTTP/1.1\r\n%1$sContent-Length: %2$zu\r\n\r\n",
         1, 0},
        {"oversized path", "GET /@BIG@ HTTP/1.1\r\n\r\n", 0, 0},
        {"request target with CTL",
         "GET /v1/refl\x01"
         "ections HTTP/1.1\r\n%1$s\r\n",
         0, 0},
    };
    char big[20001];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char head[2048];
        snprintf(head, sizeof(head), cases[i].head, auth, blen);
        /* Expand @BIG@ into 20,000 bytes (over MAX_HEADER_KIB=16). */
        char *req = malloc(strlen(head) + sizeof(big) + blen + 1);
        cr_assert(req);
        char *at = strstr(head, "@BIG@");
        if (at) {
            *at = '\0';
            sprintf(req, "%s%s%s", head, big, at + 5);
        } else {
            strcpy(req, head);
        }
        if (cases[i].with_body)
            strcat(req, body);
        struct http_resp r;
        int rc = raw_bounded(req, strlen(req), &r, cases[i].name);
        expect_refused(rc, &r, cases[i].name, cases[i].allow_501);
        http_resp_free(&r);
        free(req);
        expect_alive(cases[i].name);
    }
    free(body);
    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* RFC 9112 section 6.3: a request whose Content-Length is invalid (several
 * differing values, or not 1*DIGIT) has no reliable framing and must be
 * answered 400 and the connection closed. A server that picks one value
 * while a proxy in front picks the other can be made to read a smuggled
 * request; storing the body is the visible symptom. */
Test(hostile, ambiguous_content_length_is_refused)
{
    struct world w;
    world(&w);
    char *body = valid_body(&w);
    size_t blen = strlen(body);
    char head[256];
    struct http_resp r;

    snprintf(head, sizeof(head),
             "Content-Type: application/json\r\nContent-Length: %zu\r\nContent-Length: %zu\r\n",
             blen, blen + 5);
    int rc = post_raw(&w, head, body, blen, &r);
    expect_refused(rc, &r, "two different Content-Length headers", 0);
    http_resp_free(&r);
    expect_alive("two different Content-Length headers");

    snprintf(head, sizeof(head), "Content-Type: application/json\r\nContent-Length: +%zu\r\n",
             blen);
    rc = post_raw(&w, head, body, blen, &r);
    expect_refused(rc, &r, "Content-Length with a plus sign", 0);
    http_resp_free(&r);
    expect_alive("Content-Length with a plus sign");

    free(body);
    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* ---- NUL bytes ------------------------------------------------------------------ */

Test(hostile, nul_bytes_are_refused)
{
    struct world w;
    world(&w);
    struct http_resp r;
    char path[256];
    int rc;

    /* In the path: percent-encoded (routing sees "%00", not a UUID: 404)
     * and raw (the request line ends there: 400 or closed). */
    snprintf(path, sizeof(path), "/v1/reflections/%%00");
    cr_assert_eq(http_get(server.addr, path, w.student.token, &r), 0);
    expect_problem(&r, 404);
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/reflections/00000000-0000-0000-0000-00000000000%%00");
    cr_assert_eq(http_get(server.addr, path, w.student.token, &r), 0);
    expect_problem(&r, 404);
    http_resp_free(&r);
    static const char raw_nul[] = "GET /v1/refl\0ections HTTP/1.1\r\nHost: x\r\n\r\n";
    rc = raw_bounded(raw_nul, sizeof(raw_nul) - 1, &r, "a NUL byte in the request line");
    expect_refused(rc, &r, "a NUL byte in the request line", 0);
    http_resp_free(&r);
    expect_alive("a NUL byte in the path");
    static const char raw_nul_post[] = "POST /v1/reflections\0 HTTP/1.1\r\nHost: x\r\n\r\n";
    rc = raw_bounded(raw_nul_post, sizeof(raw_nul_post) - 1, &r, "a NUL byte after the path");
    expect_refused(rc, &r, "a NUL byte after the path", 0);
    http_resp_free(&r);

    /* In JSON strings: the \u0000 escape (jansson refuses it without
     * JSON_ALLOW_NUL) and a raw NUL byte, in a value and in a key. */
    char body[512];
    const char *fmt[] = {
        "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
        "\"situation\":\"voor\\u0000na\"}",
        "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
        "\"situation\":\"\\u0000\"}",
        "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
        "\"situ\\u0000ation\":\"x\"}",
        "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
        "\"situation\":\"voor@na\"}",
        "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\"}@",
    };
    for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
        int n = snprintf(body, sizeof(body), fmt[i], w.team);
        char *at = strchr(body, '@');
        if (at)
            *at = '\0'; /* a raw NUL byte, sent with the rest */
        rc = post_json(&w, body, (size_t)n, &r);
        expect_status_of(rc, &r, 400, "a NUL in the JSON body");
        expect_problem(&r, 400);
        http_resp_free(&r);
    }
    expect_alive("NUL bytes");
    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* ---- nesting and size ---------------------------------------------------------------- */

static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(ul * times + tl + 1);
    cr_assert(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ul, unit, ul);
    memcpy(s + ul * times, tail, tl + 1);
    return s;
}

Test(hostile, deep_nesting_and_huge_bodies_are_refused)
{
    struct world w;
    world(&w);
    struct http_resp r;
    int rc;

    /* 100,000 unclosed arrays (100 KB, under the body limit). */
    char *deep = repeat("[", 100000, "");
    rc = post_json(&w, deep, strlen(deep), &r);
    expect_status_of(rc, &r, 400, "100,000 nested arrays");
    http_resp_free(&r);
    free(deep);
    expect_alive("100,000 nested arrays");

    /* Balanced, and inside a field of an otherwise valid object. */
    char *open = repeat("[", 50000, ""), *close_ = repeat("]", 50000, "}");
    char *nested = malloc(strlen(open) + strlen(close_) + 256);
    cr_assert(nested);
    sprintf(nested,
            "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
            "\"vermogens\":%s%s",
            w.team, open, close_);
    rc = post_json(&w, nested, strlen(nested), &r);
    expect_status_of(rc, &r, 400, "a field nested 50,000 deep");
    http_resp_free(&r);
    free(open);
    free(close_);
    free(nested);
    expect_alive("a field nested 50,000 deep");

    char *objs = repeat("{\"a\":", 40000, "1");
    rc = post_json(&w, objs, strlen(objs), &r);
    expect_status_of(rc, &r, 400, "40,000 nested objects");
    http_resp_free(&r);
    free(objs);
    expect_alive("40,000 nested objects");

    /* 300 KiB: a valid reflection with a long situation (MAX_BODY_KIB=256). */
    char *text = repeat("a", 300 * 1024, "");
    json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "team_id", w.team, "occurred_on", test_day(-10),
                          "status", "draft", "situation", text);
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    free(text);
    rc = post_json(&w, s, strlen(s), &r);
    expect_refused(rc, &r, "a 300 KiB body", 0);
    if (rc == 0)
        expect_status(&r, 413);
    http_resp_free(&r);
    free(s);
    expect_alive("a 300 KiB body");

    /* The same size announced but never sent: refused on the header. */
    rc = post_raw(&w, "Content-Type: application/json\r\nContent-Length: 307200\r\n", "{", 1, &r);
    expect_refused(rc, &r, "Content-Length: 307200", 0);
    http_resp_free(&r);
    expect_alive("Content-Length: 307200");

    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* The contract (api-spec: PayloadTooLarge) promises a problem document
 * with X-Request-Id for a body over MAX_BODY_KIB, like every other error. */
Test(hostile, oversized_body_gets_a_problem_document)
{
    struct world w;
    world(&w);
    char *text = repeat("a", 300 * 1024, "");
    json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "team_id", w.team, "occurred_on", test_day(-10),
                          "status", "draft", "situation", text);
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    free(text);
    struct http_resp r;
    int rc = post_json(&w, s, strlen(s), &r);
    free(s);
    expect_status_of(rc, &r, 413, "a 300 KiB body");
    expect_problem(&r, 413);
    expect_common_headers(&r);
    http_resp_free(&r);
    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* ---- numbers --------------------------------------------------------------------------- */

/* JSON has no number limits (RFC 8259 leaves them to implementations);
 * 1e400 and 2^64 are valid JSON, out of range for an integer field, which
 * the API contract answers with 422 naming the field (not a 400 "not valid
 * JSON"). */
Test(hostile, out_of_range_numbers_are_422)
{
    struct world w;
    world(&w);
    static const char *const numbers[] = {"1e400",
                                          "-1e400",
                                          "18446744073709551616",
                                          "-18446744073709551617",
                                          "1e309",
                                          "9223372036854775808"};
    struct http_resp r;
    char body[512];

    /* An integer field: the organisation's anonymity threshold (admin). */
    cr_assert_eq(http_get(server.addr, "/v1/organisation", w.o.admin.token, &r), 0);
    expect_status(&r, 200);
    json_t *k0 = json_incref(json_object_get(r.json, "anonymity_threshold"));
    http_resp_free(&r);
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        snprintf(body, sizeof(body), "{\"anonymity_threshold\":%s}", numbers[i]);
        cr_assert_eq(http_call(server.addr, "PATCH", "/v1/organisation", w.o.admin.token, body,
                               "If-Match: *\r\n", &r),
                     0);
        cr_assert_eq(r.status, 422, "anonymity_threshold %s: expected 422, got %d: %s", numbers[i],
                     r.status, r.body);
        http_resp_free(&r);
    }
    cr_assert_eq(http_get(server.addr, "/v1/organisation", w.o.admin.token, &r), 0);
    cr_assert(json_equal(json_object_get(r.json, "anonymity_threshold"), k0),
              "the threshold changed: %s", r.body);
    http_resp_free(&r);
    json_decref(k0);

    /* Integer fields nested in a check-in. */
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":%s,\"verbindend\":5,"
                 "\"opleidend\":5,\"lerend\":5}}",
                 w.team, numbers[i]);
        cr_assert_eq(
            http_call(server.addr, "POST", "/v1/checkins", w.student.token, body, NULL, &r), 0);
        cr_assert_eq(r.status, 422, "scores.absorptie %s: expected 422, got %d: %s", numbers[i],
                     r.status, r.body);
        http_resp_free(&r);
    }

    /* And where a reflection expects a string. */
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        snprintf(body, sizeof(body), "{\"team_id\":\"%s\",\"occurred_on\":%s,\"status\":\"draft\"}",
                 w.team, numbers[i]);
        int rc = post_json(&w, body, strlen(body), &r);
        expect_status_of(rc, &r, 422, "occurred_on out of range");
        http_resp_free(&r);
    }
    expect_alive("out-of-range numbers");
    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* Numbers that fit are still checked against the field's range. */
Test(hostile, in_range_but_wrong_numbers_are_422)
{
    struct world w;
    world(&w);
    static const char *const numbers[] = {
        "9223372036854775807", "-9223372036854775808", "1e308", "5.0", "-0", "1E1"};
    struct http_resp r;
    char body[256];
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        snprintf(body, sizeof(body), "{\"anonymity_threshold\":%s}", numbers[i]);
        cr_assert_eq(http_call(server.addr, "PATCH", "/v1/organisation", w.o.admin.token, body,
                               "If-Match: *\r\n", &r),
                     0);
        expect_problem(&r, 422);
        http_resp_free(&r);
    }
    expect_alive("large numbers");
    expect_clean_exit();
}

/* ---- duplicate keys, content types, UTF-8 ---------------------------------------------- */

Test(hostile, duplicate_keys_are_400)
{
    struct world w;
    world(&w);
    struct http_resp r;
    char body[512];
    const char *fmt[] = {
        "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
        "\"status\":\"final\"}",
        "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
        "\"situation\":\"a\",\"situation\":\"a\"}",
        /* the same key, once escaped */
        "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
        "\"st\\u0061tus\":\"draft\"}",
    };
    for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
        snprintf(body, sizeof(body), fmt[i], w.team);
        int rc = post_json(&w, body, strlen(body), &r);
        expect_status_of(rc, &r, 400, "duplicate keys");
        expect_problem(&r, 400);
        http_resp_free(&r);
    }
    /* Nested, in a check-in's scores. */
    snprintf(body, sizeof(body),
             "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"absorptie\":6,\"verbindend\":5,"
             "\"opleidend\":5,\"lerend\":5}}",
             w.team);
    cr_assert_eq(http_call(server.addr, "POST", "/v1/checkins", w.student.token, body, NULL, &r),
                 0);
    expect_problem(&r, 400);
    http_resp_free(&r);
    expect_alive("duplicate keys");
    expect_nothing_stored(&w);
    expect_clean_exit();
}

Test(hostile, wrong_content_types_are_415)
{
    struct world w;
    world(&w);
    char *body = valid_body(&w);
    size_t blen = strlen(body);
    static const char *const types[] = {
        NULL, /* no Content-Type at all */
        "text/plain",
        "text/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json-patch+json",
        "application/problem+json",
        "application/xml",
        "",
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char head[256];
        if (types[i])
            snprintf(head, sizeof(head), "Content-Type: %s\r\nContent-Length: %zu\r\n", types[i],
                     blen);
        else
            snprintf(head, sizeof(head), "Content-Length: %zu\r\n", blen);
        struct http_resp r;
        int rc = post_raw(&w, head, body, blen, &r);
        char what[128];
        snprintf(what, sizeof(what), "Content-Type %s", types[i] ? types[i] : "(none)");
        expect_status_of(rc, &r, 415, what);
        expect_problem(&r, 415);
        http_resp_free(&r);
    }
    free(body);
    expect_alive("wrong content types");
    expect_nothing_stored(&w);
    expect_clean_exit();
}

Test(hostile, invalid_utf8_is_400)
{
    struct world w;
    world(&w);
    /* Bytes that are not UTF-8, in a value and in a key. */
    static const char *const bad[] = {
        "\xff",             /* never valid */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, three bytes */
        "\xed\xa0\x80",     /* an encoded surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xe2\x82",         /* truncated */
        "\x80",             /* a lone continuation byte */
        "\\ud800",          /* a lone surrogate escape */
        "\\udc00\\ud800",   /* surrogates in the wrong order */
    };
    struct http_resp r;
    char body[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int in_key = 0; in_key < 2; in_key++) {
            if (in_key)
                snprintf(body, sizeof(body),
                         "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
                         "\"situ%sation\":\"x\"}",
                         w.team, bad[i]);
            else
                snprintf(body, sizeof(body),
                         "{\"team_id\":\"%s\",\"occurred_on\":\"2026-03-14\",\"status\":\"draft\","
                         "\"situation\":\"voor %s na\"}",
                         w.team, bad[i]);
            int rc = post_json(&w, body, strlen(body), &r);
            expect_status_of(rc, &r, 400, in_key ? "invalid UTF-8 in a key" : "invalid UTF-8");
            expect_problem(&r, 400);
            http_resp_free(&r);
        }
    }
    expect_alive("invalid UTF-8");
    expect_nothing_stored(&w);
    expect_clean_exit();
}

/* ---- query strings --------------------------------------------------------------------- */

static void b64url(const char *in, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), o = 0;
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = a[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

/* pagination.c: "anything that is not exactly what SQL_CURSOR produces is
 * a 422, never a database error". A cursor is base64url of
 * "<micros>|<uuid>"; micros that decode as a bigint but lie outside
 * PostgreSQL's timestamp range make the list statement fail. */
Test(hostile, forged_cursors_are_422)
{
    struct world w;
    world(&w);
    static const char *const forged[] = {
        "9223372036854775807|3f2504e0-4f89-41d3-9a0c-0305e82c3301",  /* interval out of range */
        "-300000000000000000|3f2504e0-4f89-41d3-9a0c-0305e82c3301",  /* before 4714 BC */
        "-9223372036854775808|3f2504e0-4f89-41d3-9a0c-0305e82c3301", /* too long */
        "1|3f2504e0-4f89-41d3-9a0c-0305e82c330",                     /* short uuid */
        "|3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        "1e5|3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    };
    static const char *const lists[] = {"/v1/reflections", "/v1/goals"};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
            char cur[200], path[300];
            b64url(forged[i], cur);
            snprintf(path, sizeof(path), "%s?cursor=%s", lists[l], cur);
            struct http_resp r;
            cr_assert_eq(http_get(server.addr, path, w.student.token, &r), 0);
            cr_assert_eq(r.status, 422, "%s with cursor \"%s\": expected 422, got %d: %s", lists[l],
                         forged[i], r.status, r.body);
            http_resp_free(&r);
        }
    }
    /* Garbage that is not base64url, and bad limits. */
    static const char *const queries[] = {
        "?cursor=%00",
        "?cursor=!!!!",
        "?cursor=" /* empty */,
        "?limit=0",
        "?limit=101",
        "?limit=-1",
        "?limit=1e1",
        "?limit=5x",
        "?limit=99999999999999999999",
        "?updated_since=2026-13-01T00:00:00Z",
        "?updated_since=2026-01-01T00:00:00+16:00",
        "?updated_since=%00",
    };
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char path[200];
        snprintf(path, sizeof(path), "/v1/reflections%s", queries[i]);
        struct http_resp r;
        cr_assert_eq(http_get(server.addr, path, w.student.token, &r), 0);
        cr_assert_eq(r.status, 422, "%s: expected 422, got %d: %s", path, r.status, r.body);
        http_resp_free(&r);
    }
    expect_alive("forged cursors");
    expect_clean_exit();
}
