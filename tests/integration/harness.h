/* harness.h - what every integration and fault test uses to talk to reflectd.
 *
 * A small blocking HTTP/1.1 client over raw sockets (one request per
 * connection, "Connection: close"), a few criterion assertions for the shapes
 * every response shares, and spawning/stopping private server processes for
 * tests that need special configuration.
 *
 *     struct http_resp r;
 *     cr_assert_eq(http_get(test_addr(), "/healthz", NULL, &r), 0);
 *     expect_status(&r, 200);
 *     cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "ok");
 *     http_resp_free(&r);
 *
 * Addresses are "host:port" ("127.0.0.1:8080", "[::1]:8080"). Every socket
 * operation times out after HTTP_TIMEOUT_S seconds, so a hanging server fails
 * a test instead of stalling the run. Bodies are delimited by Content-Length
 * or EOF; a chunked body is returned as received (not decoded), so streams
 * (text/event-stream) are better read through http_connect(). */
#ifndef REFLECTD_TEST_HARNESS_H
#define REFLECTD_TEST_HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define HTTP_TIMEOUT_S 5

struct http_resp {
    int status; /* from the status line */
    char *head; /* status line and header lines as received, CRLF-separated */
    char *body; /* body_len bytes, plus a terminating NUL for convenience */
    size_t body_len;
    json_t *json;  /* the body parsed when Content-Type is JSON (incl. problem+json) */
    char *fields_; /* private: parsed headers for http_header() */
};

/* Frees everything a response holds and zeroes it; safe on a zeroed struct
 * and safe to call twice. */
void http_resp_free(struct http_resp *r);
/* The value of the first header named name (case-insensitive), with
 * surrounding whitespace removed, or NULL. The pointer belongs to r and stays
 * valid until http_resp_free(r). */
const char *http_header(const struct http_resp *r, const char *name);

/* One request. token adds "Authorization: Bearer <token>"; json_body is sent
 * with Content-Type: application/json (unless extra_headers names its own
 * Content-Type); extra_headers is raw "Name: value\r\n" lines. Returns 0 when
 * a complete response was read, -1 on a socket error, a timeout or a
 * response that is not HTTP. out is always initialised (zeroed on -1). */
int http_call(const char *addr, const char *method, const char *path, const char *token,
              const char *json_body, const char *extra_headers, struct http_resp *out);
/* The same with a jansson body (borrowed, serialised compactly; may be NULL). */
int http_call_json(const char *addr, const char *method, const char *path, const char *token,
                   const json_t *body, const char *extra_headers, struct http_resp *out);
/* GET without extras. */
int http_get(const char *addr, const char *path, const char *token, struct http_resp *out);
/* Sends bytes exactly as given (malformed requests) and reads the reply to
 * EOF. Returns 0 when an HTTP response came back, -1 otherwise (including
 * when the server just closed the connection). */
int http_raw(const char *addr, const void *bytes, size_t n, struct http_resp *out);
/* A connected socket with the harness's timeouts, for tests that need to hold
 * a connection open or write slowly; -1 on failure. The caller closes it. */
int http_connect(const char *addr);
/* Changes the socket timeout (connect, each send, each receive) of this test
 * process from HTTP_TIMEOUT_S; a test that must see an answer within a bound
 * sets it, and the socket error is the failure. ms <= 0 restores the default. */
void http_set_timeout_ms(int ms);

/* One request to the shared server with a JSON body, which is stolen (freed
 * here; may be NULL); the test ends when no HTTP response comes back. */
void http_send(const char *method, const char *path, const char *token, json_t *body,
               const char *headers, struct http_resp *r);
/* The string at key of a JSON object, or NULL. */
const char *jstr(const json_t *o, const char *key);
/* JSON as text for failure messages: one static buffer, so nothing leaks
 * when an assertion ends the test; one use per message. */
const char *jdump(const json_t *j);

/* The test database ($PG_DIR): runs `scripts/pg.sh ACTION $PG_DIR` (start,
 * stop, kill) and returns system()'s status; the postmaster's pid, or -1
 * when it has no pid file. */
int test_pg(const char *action);
pid_t test_postmaster_pid(void);
/* Runs one SQL command on the test database ($DATABASE_URL) through psql,
 * for tests that must set up or look at what the API does not show (a
 * stored password hash). out (may be NULL) gets psql's unaligned output,
 * trailing newline removed. Returns 0, or -1 when psql failed. */
int test_sql(const char *sql, char *out, size_t n);

/* The server binary the tests run: $REFLECTD_BIN, default bin/reflectd. */
const char *test_bin(void);
/* test_sql() with a printf-style statement, and the test ends when psql
 * fails. Use it to age data the API only creates "now" (check-in periods,
 * created_at columns). */
void test_sqlf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* One row, one column of test_sqlf() as an integer. */
long long test_sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ages organisation org_id as if it had existed since the first instant of
 * month ("YYYY-MM", its time zone), run once all of a test's data is in
 * place and right before publishing: its created_at, and the role history
 * of everyone in it (users.created_at and roles_since, team_members
 * role_since), move there, and its settings changes so far
 * ('organisation.update' audit rows, which lock k per month) to just
 * before it. Role changes after this get role_since = now, as for a reader
 * who took up a role after the month began. */
void test_age_org(const char *org_id, const char *month);
/* Runs the operator command `$REFLECTD_BIN publish` with the caller's
 * environment (DATABASE_URL) and returns its exit status (-1 when it did not
 * exit normally); its standard output goes to out (may be NULL). */
int test_publish(char *out, size_t n);
/* The first integer in `reflectd publish`'s output (the periods it
 * published), or -1 when it printed none. */
long long test_publish_count(const char *out);

/* Criterion assertions (they end the test on failure, printing the body). */
void expect_status(const struct http_resp *r, int status);
/* status, application/problem+json, and {type, title, status, detail}. */
void expect_problem(const struct http_resp *r, int status);
/* The headers every reflectd response carries (request id, no caching...). */
void expect_common_headers(const struct http_resp *r);
/* status, application/json, a JSON object body and the common headers. */
void expect_json(const struct http_resp *r, int status);
/* An answer without a body (204, 304), with the common headers. */
void expect_empty(const struct http_resp *r, int status);
/* Does a 422's errors[] name field (with a message)? 1 or 0. */
int problem_names_field(const struct http_resp *r, const char *field);
/* A 422 problem whose errors[] names field. */
void expect_invalid(const struct http_resp *r, const char *field);
/* A list answer's items are exactly want[0..n), by id, in that order. */
void expect_ids_in_order(const json_t *list, json_t *const *want, size_t n);

/* Sleeps ms milliseconds (through signals). */
void test_sleep_ms(int ms);
/* Milliseconds on the monotonic clock. */
long long test_now_ms(void);

/* The shared server of this run ($REFLECTD_ADDR); fails the test if unset. */
const char *test_addr(void);
/* Its metrics listener ($REFLECTD_METRICS_ADDR); fails the test if unset. */
const char *test_metrics_addr(void);
/* prefix-<pid>-<counter>-<nanoseconds>: unique across processes and runs,
 * for e-mail addresses and names. Returns buf. */
char *test_unique(char *buf, size_t n, const char *prefix);
/* The UTC date `days` from today (negative: in the past) as YYYY-MM-DD, in
 * one of a few rotating static buffers: reflections must lie within
 * BACKDATE_MAX_DAYS of today, so tests never hard-code one. */
const char *test_day(int days);

/* A private server process. log is the file receiving its stderr and
 * stdout; exit_status is set by server_stop(). */
struct spawned {
    pid_t pid;
    char addr[64];
    char metrics_addr[64]; /* METRICS_ADDR given to it (extra_env may override) */
    char log[128];
    int exit_status;
};

/* Starts $REFLECTD_BIN (default bin/reflectd) on a free loopback port with
 * the caller's environment plus WORKERS=2, ACCESS_LOG=off and METRICS_ADDR on
 * another free loopback port, then extra_env
 * ("K=V" strings, NULL-terminated, may be NULL; later values win). Waits up
 * to 10 s for /healthz. Returns 0, or -1 (printing the server's log) when it
 * did not come up. */
int server_spawn(struct spawned *s, const char *const *extra_env);
/* SIGTERM, then waits up to 15 s (SIGKILL after that). Returns the exit
 * status (0 for a clean shutdown), 128+signal when killed by a signal, -1
 * on a wait error. Prints the server's log when the status is not 0. Safe to
 * call again after the server is gone (returns the saved status). */
int server_stop(struct spawned *s);
/* Polls path on s until it answers want or timeout_ms passes; returns the
 * last status seen (-1 when nothing answered). */
int http_wait_status(const char *addr, const char *path, int want, int timeout_ms);

#endif
