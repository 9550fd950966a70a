/* test_conn_limit.c - MAX_CONNS_PER_ADDR against a private server
 * (MAX_CONNS_PER_ADDR=4, REQUEST_TIMEOUT_S=2).
 *
 *   - the connection over the limit gets a 429 problem document and is
 *     closed, a write sent on it stores nothing, and closing one of the
 *     held connections makes room at once;
 *   - connections that never sent a request count until the request
 *     deadline, and not after it;
 *   - another address (127.0.0.2, also loopback) is not affected;
 *   - held connections keep working while others are refused.
 *
 * The server is $REFLECTD_BIN; fixtures are built through $REFLECTD_ADDR,
 * the run's shared server, on the same database. */
#include "fixtures.h"
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LIMIT             4
#define REQUEST_TIMEOUT_S 2

static struct spawned server;

static void limit_init(void)
{
    static const char *const env[] = {"MAX_CONNS_PER_ADDR=4", "REQUEST_TIMEOUT_S=2", NULL};
    cr_assert_eq(server_spawn(&server, env), 0, "server did not start");
}

static void limit_fini(void)
{
    http_set_timeout_ms(0);
    server_stop(&server);
}

TestSuite(conn_limit, .init = limit_init, .fini = limit_fini, .timeout = 60);

/* One keep-alive GET /healthz on fd; asserts a 200. */
static void healthz_on(int fd, const char *what)
{
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(send(fd, get, strlen(get), MSG_NOSIGNAL), (ssize_t)strlen(get), "%s: send", what);
    char got[2048];
    ssize_t k = recv(fd, got, sizeof(got) - 1, 0);
    cr_assert(k > 0, "%s: no answer", what);
    got[k] = '\0';
    cr_assert(strncmp(got, "HTTP/1.1 200", 12) == 0, "%s: %.100s", what, got);
}

/* LIMIT connections that each carried one request and stay open. */
static void hold(int fds[LIMIT])
{
    for (int i = 0; i < LIMIT; i++) {
        fds[i] = http_connect(server.addr);
        cr_assert(fds[i] >= 0, "connection %d", i + 1);
        healthz_on(fds[i], "a held connection");
    }
}

static void release(int fds[LIMIT])
{
    for (int i = 0; i < LIMIT; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void expect_refused_429(const char *what)
{
    struct http_resp r;
    cr_assert_eq(http_get(server.addr, "/healthz", NULL, &r), 0, "%s: no answer", what);
    expect_problem(&r, 429);
    cr_assert_str_eq(http_header(&r, "Retry-After"), "1", "%s: Retry-After", what);
    http_resp_free(&r);
}

static void expect_served(const char *what)
{
    struct http_resp r;
    cr_assert_eq(http_get(server.addr, "/healthz", NULL, &r), 0, "%s: no answer", what);
    cr_assert_eq(r.status, 200, "%s: %d %s", what, r.status, r.body ? r.body : "");
    http_resp_free(&r);
}

Test(conn_limit, the_next_connection_gets_429_and_a_closed_one_makes_room)
{
    int fds[LIMIT];
    hold(fds);
    expect_refused_429("connection 5");
    expect_refused_429("connection 5 again");
    healthz_on(fds[0], "a held connection while others are refused");
    close(fds[0]);
    fds[0] = -1;
    test_sleep_ms(100); /* the server sees the close */
    expect_served("a connection after one was closed");
    release(fds);
}

Test(conn_limit, a_write_on_a_refused_connection_stores_nothing)
{
    struct fix_org o;
    char team[40];
    struct fix_user student;
    fix_org(&o);
    fix_team(&o, team);
    fix_user(&o, NULL, &student);
    fix_member(&o, team, &student, "student");
    int fds[LIMIT];
    hold(fds);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "team_id", team, "occurred_on", test_day(-10),
                             "status", "draft", "situation", "Nachtdienst, een valincident.");
    struct http_resp r;
    int rc = http_call_json(server.addr, "POST", "/v1/reflections", student.token, body, NULL, &r);
    json_decref(body);
    cr_assert(rc != 0 || r.status == 429, "a create over the limit answered %d", r.status);
    http_resp_free(&r);
    release(fds);
    http_send("GET", "/v1/reflections", student.token, NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_eq(json_array_size(json_object_get(r.json, "items")), 0, "stored: %s", jdump(r.json));
    http_resp_free(&r);
}

/* A connection that closes without having sent a request is noticed at its
 * deadline at the latest. */
Test(conn_limit, silent_connections_count_until_their_deadline)
{
    int fds[LIMIT];
    for (int i = 0; i < LIMIT; i++) {
        fds[i] = http_connect(server.addr);
        cr_assert(fds[i] >= 0);
    }
    test_sleep_ms(200);
    expect_refused_429("connection 5 beside four silent ones");
    release(fds);
    int ok = 0;
    for (int i = 0; i < (REQUEST_TIMEOUT_S + 4) * 10 && !ok; i++) {
        struct http_resp r;
        ok = http_get(server.addr, "/healthz", NULL, &r) == 0 && r.status == 200;
        http_resp_free(&r);
        if (!ok)
            test_sleep_ms(100);
    }
    cr_assert(ok, "still refused %d s after the silent connections closed", REQUEST_TIMEOUT_S + 4);
}

/* A connection from 127.0.0.2 to the server on 127.0.0.1. */
static int connect_from(const char *src)
{
    const char *colon = strrchr(server.addr, ':');
    cr_assert(colon);
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons((unsigned short)atoi(colon + 1));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct timeval tv = {HTTP_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cr_assert_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0, "bind %s", src);
    cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0, "connect from %s", src);
    return fd;
}

Test(conn_limit, another_address_is_not_affected)
{
    int fds[LIMIT];
    hold(fds);
    expect_refused_429("127.0.0.1 over its limit");
    int other[LIMIT];
    for (int i = 0; i < LIMIT; i++) {
        other[i] = connect_from("127.0.0.2");
        healthz_on(other[i], "127.0.0.2 while 127.0.0.1 is at its limit");
    }
    int fifth = connect_from("127.0.0.2");
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ssize_t sent = send(fifth, get, strlen(get), MSG_NOSIGNAL);
    char got[1024] = "";
    ssize_t k = sent > 0 ? recv(fifth, got, sizeof(got) - 1, 0) : -1;
    if (k > 0)
        got[k] = '\0';
    close(fifth);
    cr_assert(k <= 0 || strncmp(got, "HTTP/1.1 429", 12) == 0,
              "127.0.0.2's fifth connection got %.80s", got);
    release(other);
    release(fds);
}
