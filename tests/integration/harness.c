/* harness.c - the integration tests' HTTP client, assertions and process
 * control (see harness.h for the API).
 *
 * The client is deliberately simple and strict: one request per connection,
 * blocking sockets with send/receive timeouts, the whole response read into
 * memory. A response ends at EOF or, when it declares a Content-Length, once
 * that many body bytes have arrived (or right after the head for HEAD). A
 * short body is an error: the tests must notice a server that cuts a reply. */
#include "harness.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- a growable byte buffer ------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            abort();
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        abort();
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_add(b, tmp, (size_t)n);
    free(tmp);
}

/* ---- sockets ------------------------------------------------------------ */

/* "host:port" or "[v6]:port" -> host and port strings. */
static int split_addr(const char *addr, char *host, size_t hl, char *port, size_t pl)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1] || strlen(colon + 1) >= pl)
        return -1;
    const char *h = addr;
    size_t n = (size_t)(colon - addr);
    if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= hl)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

static int sock_timeout_ms = HTTP_TIMEOUT_S * 1000;

void http_set_timeout_ms(int ms)
{
    sock_timeout_ms = ms > 0 ? ms : HTTP_TIMEOUT_S * 1000;
}

static int set_timeouts(int fd)
{
    struct timeval tv = {sock_timeout_ms / 1000, (sock_timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        return -1;
    /* On Linux the send timeout also bounds connect(). */
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int http_connect(const char *addr)
{
    char host[256], port[16];
    struct addrinfo hints = {0}, *ai = NULL;
    if (split_addr(addr, host, sizeof(host), port, sizeof(port)) < 0)
        return -1;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && (set_timeouts(fd) < 0 || connect(fd, a->ai_addr, a->ai_addrlen) < 0)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

/* Writes everything; -1 when the peer went away first. */
static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- parsing a response ------------------------------------------------ */

static const char *find_head_end(const struct buf *in)
{
    return in->p ? strstr(in->p, "\r\n\r\n") : NULL;
}

/* Content-Length from a raw head, or -1 when absent or unreadable. */
static long head_content_length(const char *head, size_t head_len)
{
    const char *p = head;
    const char *end = head + head_len;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if ((size_t)(end - p) > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
            char *e;
            long v = strtol(p + 15, &e, 10);
            return e == p + 15 || v < 0 ? -1 : v;
        }
    }
    return -1;
}

/* Is the response in `in` complete without waiting for EOF? */
static int response_complete(const struct buf *in, int head_only)
{
    const char *he = find_head_end(in);
    if (!he)
        return 0;
    size_t head_len = (size_t)(he - in->p) + 4;
    if (head_only)
        return 1;
    long cl = head_content_length(in->p, head_len);
    return cl >= 0 && in->len >= head_len + (size_t)cl;
}

/* Reads until EOF or a complete response. -1 on timeout or error before any
 * complete response (a reset after the reply counts as its end). */
static int read_response(int fd, int head_only, struct buf *in)
{
    char chunk[16384];
    for (;;) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ECONNRESET && find_head_end(in))
            return 0;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        buf_add(in, chunk, (size_t)n);
        if (response_complete(in, head_only))
            return 0;
    }
}

/* Builds "name\0value\0...\0" from the header lines after the status line. */
static char *parse_fields(const char *head)
{
    size_t len = strlen(head);
    char *f = malloc(len + 2);
    if (!f)
        abort();
    size_t o = 0;
    const char *line = strstr(head, "\r\n");
    while (line && line[2]) {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        size_t ll = eol ? (size_t)(eol - line) : strlen(line);
        const char *colon = memchr(line, ':', ll);
        if (colon && colon > line) { /* an empty name would end the list */
            const char *v = colon + 1, *ve = line + ll;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            memcpy(f + o, line, (size_t)(colon - line));
            o += (size_t)(colon - line);
            f[o++] = '\0';
            memcpy(f + o, v, (size_t)(ve - v));
            o += (size_t)(ve - v);
            f[o++] = '\0';
        }
        line = eol;
    }
    f[o] = '\0';
    return f;
}

static int is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strcspn(ct, ";");
    if (n >= 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    return n >= 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static int parse_status_line(const char *p)
{
    if (strncmp(p, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)p[7]) || p[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (!isdigit((unsigned char)p[i]))
            return -1;
    if (p[12] != ' ' && p[12] != '\r')
        return -1;
    return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

/* Fills out from the bytes read; -1 when they are not a whole response. */
static int parse_response(const struct buf *in, int head_only, struct http_resp *out)
{
    const char *he = find_head_end(in);
    if (!he || (out->status = parse_status_line(in->p)) < 0)
        return -1;
    size_t head_len = (size_t)(he - in->p);
    size_t avail = in->len - head_len - 4;
    long cl = head_content_length(in->p, head_len + 2);
    if (head_only)
        avail = 0;
    else if (cl >= 0 && (size_t)cl > avail)
        return -1; /* cut short */
    else if (cl >= 0)
        avail = (size_t)cl;
    out->head = strndup(in->p, head_len);
    out->body = malloc(avail + 1);
    if (!out->head || !out->body)
        abort();
    memcpy(out->body, he + 4, avail);
    out->body[avail] = '\0';
    out->body_len = avail;
    out->fields_ = parse_fields(out->head);
    if (is_json_type(http_header(out, "Content-Type")))
        out->json = json_loadb(out->body, out->body_len, 0, NULL);
    return 0;
}

/* ---- requests ------------------------------------------------------------ */

void http_resp_free(struct http_resp *r)
{
    free(r->head);
    free(r->body);
    free(r->fields_);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

const char *http_header(const struct http_resp *r, const char *name)
{
    const char *f = r->fields_;
    if (!f)
        return NULL;
    while (*f) {
        const char *value = f + strlen(f) + 1;
        if (strcasecmp(f, name) == 0)
            return value;
        f = value + strlen(value) + 1;
    }
    return NULL;
}

/* Sends a request and reads the reply; the common path of every call. */
static int exchange(const char *addr, const char *bytes, size_t n, int head_only,
                    struct http_resp *out)
{
    memset(out, 0, sizeof(*out));
    int fd = http_connect(addr);
    if (fd < 0)
        return -1;
    /* A send failure is not final: the server may have answered (413) and
     * closed before reading everything; that answer is what we want. */
    (void)send_all(fd, bytes, n);
    struct buf in = {0};
    int rc = read_response(fd, head_only, &in);
    close(fd);
    if (rc == 0)
        rc = parse_response(&in, head_only, out);
    free(in.p);
    if (rc < 0)
        http_resp_free(out);
    return rc;
}

/* REFLECTD_RECORD=FILE appends every exchange of http_call to FILE as one
 * JSON line {method, path, status, headers, body}, for tests/spec/
 * responses.mjs, which checks each against api-spec/openapi.yaml. One
 * write(2) per line on an O_APPEND descriptor, so the parallel test
 * processes never interleave their lines. */
/* An answer of a metrics listener (the shared server's, or /metrics of a
 * server a test spawned), not of the API: not recorded. */
static int is_metrics_exchange(const char *addr, const char *path, const struct http_resp *r)
{
    const char *shared = getenv("REFLECTD_METRICS_ADDR");
    return (shared && strcmp(shared, addr) == 0) ||
           (strcmp(path, "/metrics") == 0 && r->status == 200);
}

static void record_exchange(const char *method, const char *path, const struct http_resp *r)
{
    const char *file = getenv("REFLECTD_RECORD");
    if (!file || !*file)
        return;
    json_t *headers = json_object();
    for (const char *f = r->fields_; f && *f;) {
        const char *value = f + strlen(f) + 1;
        char name[128];
        size_t i = 0;
        for (; f[i] && i + 1 < sizeof(name); i++)
            name[i] = (char)tolower((unsigned char)f[i]);
        name[i] = '\0';
        if (!json_object_get(headers, name))
            json_object_set_new(headers, name, json_string(value));
        f = value + strlen(value) + 1;
    }
    json_t *body = json_stringn(r->body ? r->body : "", r->body_len); /* NULL: not UTF-8 */
    json_t *line = json_pack("{s:s, s:s, s:i, s:o, s:o}", "method", method, "path", path, "status",
                             r->status, "headers", headers, "body", body ? body : json_null());
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    int fd = text ? open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (fd >= 0) {
        size_t n = strlen(text);
        text[n] = '\n'; /* replaces the NUL: one write with the newline */
        if (write(fd, text, n + 1) != (ssize_t)(n + 1))
            fprintf(stderr, "REFLECTD_RECORD: short write to %s\n", file);
        close(fd);
    }
    free(text);
}

static int has_header(const char *headers, const char *name)
{
    return headers && strcasestr(headers, name) != NULL;
}

int http_call(const char *addr, const char *method, const char *path, const char *token,
              const char *json_body, const char *extra_headers, struct http_resp *out)
{
    struct buf req = {0};
    size_t blen = json_body ? strlen(json_body) : 0;
    int wants_length = json_body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                       strcmp(method, "PATCH") == 0;
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, addr);
    buf_printf(&req, "Accept: application/json, application/problem+json\r\n");
    if (token)
        buf_printf(&req, "Authorization: Bearer %s\r\n", token);
    if (json_body && !has_header(extra_headers, "Content-Type:"))
        buf_printf(&req, "Content-Type: application/json\r\n");
    if (wants_length && !has_header(extra_headers, "Content-Length:"))
        buf_printf(&req, "Content-Length: %zu\r\n", blen);
    if (extra_headers)
        buf_printf(&req, "%s", extra_headers);
    buf_printf(&req, "\r\n");
    if (json_body)
        buf_add(&req, json_body, blen);
    int rc = exchange(addr, req.p, req.len, strcmp(method, "HEAD") == 0, out);
    free(req.p);
    if (rc == 0 && !is_metrics_exchange(addr, path, out))
        record_exchange(method, path, out);
    return rc;
}

int http_call_json(const char *addr, const char *method, const char *path, const char *token,
                   const json_t *body, const char *extra_headers, struct http_resp *out)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !s)
        abort();
    int rc = http_call(addr, method, path, token, s, extra_headers, out);
    free(s);
    return rc;
}

int http_get(const char *addr, const char *path, const char *token, struct http_resp *out)
{
    return http_call(addr, "GET", path, token, NULL, NULL, out);
}

int http_raw(const char *addr, const void *bytes, size_t n, struct http_resp *out)
{
    return exchange(addr, bytes, n, 0, out);
}

/* ---- assertions ---------------------------------------------------------- */

void expect_status(const struct http_resp *r, int status)
{
    cr_assert_eq(r->status, status, "expected status %d, got %d; body: %.*s", status, r->status,
                 (int)(r->body_len > 2000 ? 2000 : r->body_len), r->body ? r->body : "");
}

void expect_problem(const struct http_resp *r, int status)
{
    expect_status(r, status);
    const char *ct = http_header(r, "Content-Type");
    cr_assert(ct && strncmp(ct, "application/problem+json", 24) == 0,
              "problem Content-Type expected, got %s", ct ? ct : "(none)");
    cr_assert(json_is_object(r->json), "problem body is not a JSON object: %s", r->body);
    const char *type = json_string_value(json_object_get(r->json, "type"));
    const char *title = json_string_value(json_object_get(r->json, "title"));
    cr_assert(type && strncmp(type, "https://", 8) == 0, "problem type must be a URI: %s", r->body);
    cr_assert(title && *title, "problem needs a title: %s", r->body);
    cr_assert(json_is_string(json_object_get(r->json, "detail")), "problem needs a detail: %s",
              r->body);
    json_t *st = json_object_get(r->json, "status");
    cr_assert(json_is_integer(st) && json_integer_value(st) == status,
              "problem status must be the integer %d: %s", status, r->body);
}

void expect_common_headers(const struct http_resp *r)
{
    const char *id = http_header(r, "X-Request-Id");
    cr_assert(id && *id, "X-Request-Id missing:\n%s", r->head);
    size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
    cr_assert(n == strlen(id) && n <= 39, "bad X-Request-Id \"%s\"", id);
    const char *cc = http_header(r, "Cache-Control");
    cr_assert(cc && strstr(cc, "no-store"), "Cache-Control: no-store missing:\n%s", r->head);
    const char *xcto = http_header(r, "X-Content-Type-Options");
    cr_assert(xcto && strcasecmp(xcto, "nosniff") == 0, "nosniff missing:\n%s", r->head);
}

void expect_json(const struct http_resp *r, int status)
{
    expect_status(r, status);
    const char *ct = http_header(r, "Content-Type");
    cr_assert(ct && strncmp(ct, "application/json", 16) == 0,
              "application/json expected, got %s; body %s", ct ? ct : "(none)", r->body);
    cr_assert(json_is_object(r->json), "body is not a JSON object: %s", r->body);
    expect_common_headers(r);
}

void expect_empty(const struct http_resp *r, int status)
{
    expect_status(r, status);
    cr_assert_eq(r->body_len, 0, "a %d must have no body, got: %s", status, r->body);
    expect_common_headers(r);
}

int problem_names_field(const struct http_resp *r, const char *field)
{
    json_t *errors = json_object_get(r->json, "errors");
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *f = jstr(e, "field"), *m = jstr(e, "message");
        if (f && strcmp(f, field) == 0 && m && *m)
            return 1;
    }
    return 0;
}

void expect_invalid(const struct http_resp *r, const char *field)
{
    expect_problem(r, 422);
    cr_assert(json_is_array(json_object_get(r->json, "errors")), "422 without errors[]: %s",
              r->body);
    cr_assert(problem_names_field(r, field), "errors[] should name \"%s\": %s", field, r->body);
}

void expect_ids_in_order(const json_t *list, json_t *const *want, size_t n)
{
    json_t *items = json_object_get(list, "items");
    cr_expect_eq(json_array_size(items), n, "thread: %s", jdump(list));
    for (size_t i = 0; i < n && i < json_array_size(items); i++)
        cr_expect_str_eq(jstr(json_array_get(items, i), "id"), jstr(want[i], "id"),
                         "thread position %zu", i);
}

/* ---- helpers ------------------------------------------------------------- */

const char *test_addr(void)
{
    const char *a = getenv("REFLECTD_ADDR");
    cr_assert(a && *a, "REFLECTD_ADDR is not set (run the tests through scripts/test.sh)");
    return a;
}

const char *test_metrics_addr(void)
{
    const char *a = getenv("REFLECTD_METRICS_ADDR");
    cr_assert(a && *a, "REFLECTD_METRICS_ADDR is not set (run the tests through scripts/test.sh)");
    return a;
}

char *test_unique(char *buf, size_t n, const char *prefix)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, n, "%s-%ld-%u-%lld%09ld", prefix, (long)getpid(), ++counter, (long long)ts.tv_sec,
             ts.tv_nsec);
    return buf;
}

void test_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

long long test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int http_wait_status(const char *addr, const char *path, int want, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    int last = -1;
    for (;;) {
        struct http_resp r;
        if (http_get(addr, path, NULL, &r) == 0)
            last = r.status;
        http_resp_free(&r);
        if (last == want || test_now_ms() >= deadline)
            return last;
        test_sleep_ms(100);
    }
}

/* ---- server processes ---------------------------------------------------- */

/* A loopback port nobody listens on right now (a race we retry on). */
static int free_port(void)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int same_key(const char *a, const char *b)
{
    size_t n = strcspn(a, "=");
    return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* environ without the overridden keys, then the overrides (last one wins). */
static char **build_env(const char *const *over, size_t nover)
{
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **env = calloc(nenv + nover + 1, sizeof(char *));
    if (!env)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < nenv; i++) {
        size_t j = 0;
        while (j < nover && !same_key(over[j], environ[i]))
            j++;
        if (j == nover)
            env[o++] = environ[i];
    }
    for (size_t i = 0; i < nover; i++) {
        size_t j = i + 1;
        while (j < nover && !same_key(over[i], over[j]))
            j++;
        if (j == nover)
            env[o++] = (char *)over[i];
    }
    return env;
}

static void print_log(const struct spawned *s)
{
    FILE *f = fopen(s->log, "r");
    if (!f)
        return;
    char line[4096];
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : 0;
    if (size > 16384)
        fseek(f, size - 16384, SEEK_SET);
    else
        rewind(f);
    fprintf(stderr, "---- %s (server %s) ----\n", s->log, s->addr);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fprintf(stderr, "---- end of %s ----\n", s->log);
    fclose(f);
}

static int log_contains(const struct spawned *s, const char *needle)
{
    FILE *f = fopen(s->log, "r");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* In the child: stdout/stderr to the log, die with the test, exec. */
static void child_exec(const char *bin, int logfd, char **env, pid_t parent)
{
    dup2(logfd, STDOUT_FILENO);
    dup2(logfd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    char *argv[] = {(char *)bin, NULL};
    execve(bin, argv, env);
    _exit(127);
}

static int spawn_once(struct spawned *s, int port, const char *const *extra)
{
    const char *bin = getenv("REFLECTD_BIN");
    const char *dir = getenv("REFLECTD_LOG_DIR");
    const char *over[64];
    size_t n = 0;
    char listen[80], metrics[80];
    int mport;
    do /* every server its own: the default port would be shared */
        mport = free_port();
    while (mport == port);
    if (mport < 0)
        return -1;
    snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", port);
    snprintf(listen, sizeof(listen), "LISTEN_ADDR=%s", s->addr);
    snprintf(s->metrics_addr, sizeof(s->metrics_addr), "127.0.0.1:%d", mport);
    snprintf(metrics, sizeof(metrics), "METRICS_ADDR=%s", s->metrics_addr);
    over[n++] = "WORKERS=2";
    over[n++] = "ACCESS_LOG=off";
    over[n++] = metrics;
    for (size_t i = 0; extra && extra[i] && n < 62; i++)
        over[n++] = extra[i];
    over[n++] = listen;
    snprintf(s->log, sizeof(s->log), "%s/reflectd-spawn-XXXXXX", dir && *dir ? dir : "/tmp");
    int logfd = mkstemp(s->log);
    if (logfd < 0)
        return -1;
    char **env = build_env(over, n);
    pid_t parent = getpid();
    s->pid = fork();
    if (s->pid == 0)
        child_exec(bin && *bin ? bin : "bin/reflectd", logfd, env, parent);
    free(env);
    close(logfd);
    return s->pid > 0 ? 0 : -1;
}

/* The inode of the socket listening on 127.0.0.1:port, or 0. */
static unsigned long listen_inode(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    unsigned long found = 0;
    while (f && !found && fgets(line, sizeof(line), f)) {
        unsigned lport, st;
        unsigned long inode;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport, &st,
                   &inode) == 3 &&
            lport == (unsigned)port && st == 0x0A)
            found = inode;
    }
    if (f)
        fclose(f);
    return found;
}

/* Is pid the process listening on port? Another run's server may answer
 * /healthz on a port ours failed to bind. */
static int listens_on(pid_t pid, int port)
{
    unsigned long inode = listen_inode(port);
    char dir[64], path[320], link[64], want[48];
    snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    DIR *d = inode ? opendir(dir) : NULL;
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d))) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            found = strcmp(link, want) == 0;
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* 1 when the server answers /healthz, 0 when it exited, -1 on timeout. */
static int wait_healthy(struct spawned *s, int port, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    while (test_now_ms() < deadline) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            s->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return 0;
        }
        struct http_resp r;
        int ok = http_get(s->addr, "/healthz", NULL, &r) == 0 && r.status == 200;
        http_resp_free(&r);
        if (ok && listens_on(s->pid, port))
            return 1;
        test_sleep_ms(50);
    }
    return -1;
}

int server_spawn(struct spawned *s, const char *const *extra_env)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        memset(s, 0, sizeof(*s));
        int port = free_port();
        if (port < 0 || spawn_once(s, port, extra_env) < 0)
            return -1;
        int up = wait_healthy(s, port, 10000);
        if (up == 1)
            return 0;
        if (up == 0)
            fprintf(stderr, "server %s exited with status %d while starting\n", s->addr,
                    s->exit_status);
        print_log(s);
        if (up < 0) {
            server_stop(s);
            return -1;
        }
        /* It exited. Retry only when another process took the port. */
        int port_race = log_contains(s, "cannot listen");
        unlink(s->log);
        if (!port_race)
            return -1;
    }
    return -1;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (w < 0)
            return -1;
        if (test_now_ms() >= deadline)
            return -2;
        test_sleep_ms(20);
    }
}

int server_stop(struct spawned *s)
{
    if (s->pid <= 0)
        return s->exit_status;
    kill(s->pid, SIGTERM);
    int st = wait_exit(s->pid, 15000);
    if (st == -2) {
        fprintf(stderr, "server %s ignored SIGTERM for 15 s: killing it\n", s->addr);
        kill(s->pid, SIGKILL);
        st = wait_exit(s->pid, 15000);
        if (st >= 0)
            st = 128 + SIGKILL;
    }
    s->pid = 0;
    s->exit_status = st;
    if (st != 0)
        print_log(s);
    unlink(s->log);
    return st;
}

void http_send(const char *method, const char *path, const char *token, json_t *body,
               const char *headers, struct http_resp *r)
{
    int rc = http_call_json(test_addr(), method, path, token, body, headers, r);
    json_decref(body);
    cr_assert_eq(rc, 0, "%s %s: no HTTP response", method, path);
}

const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

const char *jdump(const json_t *j)
{
    static char buf[4096];
    size_t n = json_dumpb(j, buf, sizeof(buf) - 1, JSON_COMPACT);
    buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
    return buf;
}

int test_pg(const char *action)
{
    const char *dir = getenv("PG_DIR");
    cr_assert(dir && *dir, "PG_DIR is not set (run through scripts/test.sh)");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "scripts/pg.sh %s '%s' >/dev/null", action, dir);
    return system(cmd);
}

int test_sql(const char *sql, char *out, size_t n)
{
    const char *url = getenv("DATABASE_URL");
    cr_assert(url && *url, "DATABASE_URL is not set (run through scripts/test.sh)");
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("psql", "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql,
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    char sink[256];
    for (;;) { /* to EOF, keeping what fits: psql never blocks on a full pipe */
        int room = out && len + 1 < n;
        ssize_t got = read(fds[0], room ? out + len : sink, room ? n - 1 - len : sizeof(sink));
        if (got <= 0)
            break;
        if (room)
            len += (size_t)got;
    }
    close(fds[0]);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    if (out && n > 0) {
        while (len > 0 && out[len - 1] == '\n')
            len--;
        out[len] = '\0';
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

pid_t test_postmaster_pid(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/data/postmaster.pid", getenv("PG_DIR"));
    FILE *f = fopen(path, "r");
    long pid = -1;
    if (f && fscanf(f, "%ld", &pid) != 1)
        pid = -1;
    if (f)
        fclose(f);
    return (pid_t)pid;
}

/* ---- the database and the operator commands ---------------------------- */

const char *test_bin(void)
{
    const char *b = getenv("REFLECTD_BIN");
    return b && *b ? b : "bin/reflectd";
}

/* Runs argv with stdout into out (NUL-terminated, trailing newlines cut);
 * returns the exit status, or -1 when the child did not exit normally. */
static int run_capture(char *const argv[], char *out, size_t n)
{
    int fds[2];
    cr_assert(pipe(fds) == 0, "pipe failed");
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char sink[512];
    size_t got = 0;
    for (;;) {
        char *dst = out && got + 1 < n ? out + got : sink;
        size_t room = out && got + 1 < n ? n - 1 - got : sizeof(sink);
        ssize_t r = read(fds[0], dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (dst != sink)
            got += (size_t)r;
    }
    close(fds[0]);
    if (out && n) {
        out[got] = '\0';
        while (got && out[got - 1] == '\n')
            out[--got] = '\0';
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_vsql(char *out, size_t n, const char *fmt, va_list ap)
{
    char sql[8192];
    int len = vsnprintf(sql, sizeof(sql), fmt, ap);
    cr_assert(len >= 0 && (size_t)len < sizeof(sql), "SQL too long");
    cr_assert_eq(test_sql(sql, out, n), 0, "psql failed: %s", sql);
}

void test_sqlf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    test_vsql(out, n, fmt, ap);
    va_end(ap);
}

long long test_sql_int(const char *fmt, ...)
{
    char out[64];
    va_list ap;
    va_start(ap, fmt);
    test_vsql(out, sizeof(out), fmt, ap);
    va_end(ap);
    char *end;
    long long v = strtoll(out, &end, 10);
    cr_assert(end != out && *end == '\0', "not one integer from psql: \"%s\"", out);
    return v;
}

void test_age_org(const char *org_id, const char *month)
{
    /* X: the first instant of month in the organisation's time zone. Its
     * settings so far (the k a test gave it) are dated one second before,
     * so that they count as in force before its first month began. */
    long long n = test_sql_int(
        "WITH x AS (SELECT id, ('%s-01'::timestamp AT TIME ZONE timezone) AS at "
        "FROM organisations WHERE id = '%s'), "
        "o AS (UPDATE organisations SET created_at = x.at FROM x WHERE organisations.id = "
        "x.id RETURNING 1), "
        "u AS (UPDATE users SET created_at = x.at, roles_since = x.at FROM x "
        "WHERE users.organisation_id = x.id RETURNING 1), "
        "m AS (UPDATE team_members SET role_since = x.at FROM x "
        "WHERE team_members.organisation_id = x.id RETURNING 1), "
        "a AS (UPDATE audit_log SET at = x.at - interval '1 second' FROM x "
        "WHERE audit_log.organisation_id = x.id AND audit_log.action = "
        "'organisation.update' AND audit_log.at > x.at RETURNING 1) "
        "SELECT (SELECT count(*) FROM o) + 0 * (SELECT count(*) FROM u) "
        "+ 0 * (SELECT count(*) FROM m) + 0 * (SELECT count(*) FROM a)",
        month, org_id);
    cr_assert_eq(n, 1, "no organisation %s to age", org_id);
}

int test_publish(char *out, size_t n)
{
    char *argv[] = {(char *)test_bin(), "publish", NULL};
    return run_capture(argv, out, n);
}

long long test_publish_count(const char *out)
{
    for (const char *p = out; p && *p; p++)
        if (isdigit((unsigned char)*p))
            return strtoll(p, NULL, 10);
    return -1;
}

const char *test_day(int days)
{
    static char bufs[8][16];
    static int next;
    char *b = bufs[next++ % 8];
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    strftime(b, 16, "%Y-%m-%d", gmtime_r(&t, &tm));
    return b;
}
