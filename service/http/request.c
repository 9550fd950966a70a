/* request.c - the request context: routing, body parsing, replies, logging.
 *
 * A struct req is created for every request evhttp hands us and freed by
 * req_finish() right after the one reply is sent; everything the request
 * allocates comes from its arena. Handlers never see libevent types: they
 * read parameters, headers and the JSON body through req_*, run SQL through
 * req_db(), and answer with req_reply_*() or req_problem(). Every response
 * carries the request id and the headers an API holding personal data needs
 * (no caching, no sniffing).
 *
 * The server hands each request the struct loop of its thread (loop.h): the
 * request layer counts requests on it and tells the server through on_idle
 * when a draining loop has answered its last one, so it never needs
 * server.h, and handlers reach the loop's base only through req_base(). */
#include "http/request.h"
#include "app.h"
#include "http/conns.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/metrics.h"
#include "http/loop.h"
#include "http/problem.h"
#include "auth/token_cache.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

/* Request ids need to be unique, not secret: a per-thread xorshift seeded
 * once from the kernel avoids a system call per request. */
static void req_make_id(char *out, size_t len)
{
    static _Thread_local uint64_t s;
    if (!s && (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s) || !s))
        s = clock_mono_us() | 1;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    snprintf(out, len, "%016llx", (unsigned long long)s);
}

static int req_method(struct evhttp_request *ev)
{
    switch (evhttp_request_get_command(ev)) {
    case EVHTTP_REQ_GET:
        return M_GET;
    case EVHTTP_REQ_POST:
        return M_POST;
    case EVHTTP_REQ_PUT:
        return M_PUT;
    case EVHTTP_REQ_PATCH:
        return M_PATCH;
    case EVHTTP_REQ_DELETE:
        return M_DELETE;
    case EVHTTP_REQ_HEAD:
        return M_HEAD;
    case EVHTTP_REQ_OPTIONS:
        return M_OPTIONS;
    default:
        return 0;
    }
}

const char *req_param(struct req *r, int i)
{
    return i < r->match.nparams ? r->match.params[i] : NULL;
}

const char *req_query(struct req *r, const char *name)
{
    if (!r->query_raw)
        return NULL;
    if (!r->query) {
        r->query = arena_alloc(&r->arena, sizeof(*r->query));
        TAILQ_INIT(r->query);
        if (evhttp_parse_query_str(r->query_raw, r->query) < 0)
            return NULL;
    }
    return evhttp_find_header(r->query, name);
}

const char *req_header(struct req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *req_peer(struct req *r)
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    char *addr = NULL;
    ev_uint16_t port;
    if (!c)
        return "-";
    evhttp_connection_get_peer(c, &addr, &port);
    return addr ? addr : "-";
}

void req_keep_json(struct req *r, json_t *j)
{
    json_decref(r->kept);
    r->kept = j;
}

void req_set_header(struct req *r, const char *name, const char *value)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_remove_header(h, name);
    evhttp_add_header(h, name, value);
}

static void req_access_log(struct req *r, uint64_t usec)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (r->match.route && (r->match.route->flags & ROUTE_SECRET_PATH))
        path = r->match.route->pattern;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I}", "ts", ts, "level", "access", "id",
                          r->id, "method", router_method_name(r->method), "path", path ? path : "",
                          "status", r->status, "us", (json_int_t)usec);
    if (!o)
        return;
    if (r->match.route)
        json_object_set_new(o, "route", json_string(r->match.route->pattern));
    if (r->authenticated)
        json_object_set_new(o, "user", json_string(r->actor.user_id));
    char *s = json_dumps(o, JSON_COMPACT);
    if (s)
        log_line(s);
    free(s);
    json_decref(o);
}

/* Metrics and the access log; must run while r->ev is alive, i.e. before
 * the last evhttp_send_* call, which may free it (a client that went away). */
static void req_account(struct req *r)
{
    uint64_t usec = clock_mono_us() - r->start_usec;
    metrics_observe(r->app->metrics, r->status, usec);
    if (!r->app->cfg.quiet)
        req_access_log(r, usec);
}

/* Frees the request after its reply went out. */
static void req_finish(struct req *r)
{
    if (r->query)
        evhttp_clear_headers(r->query);
    json_decref(r->kept);
    struct loop *l = r->loop;
    arena_free(&r->arena);
    free(r);
    assert(l->inflight > 0);
    l->inflight--;
    if (l->draining && l->inflight == 0)
        l->on_idle(l);
}

/* CORS is off unless CORS_ORIGINS lists the caller's Origin exactly: the
 * apps are native and need none; a web front end must be named. */
static const char *req_cors_origin(struct req *r)
{
    const char *list = r->app->cfg.cors_origins, *origin = req_header(r, "Origin");
    if (!list || !origin || !*origin)
        return NULL;
    size_t n = strlen(origin);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, origin, n) == 0)
            return origin;
        p += len;
        p += *p == ',';
    }
    return NULL;
}

static void req_common_headers(struct req *r)
{
    const char *origin = req_cors_origin(r);
    if (origin) {
        req_set_header(r, "Access-Control-Allow-Origin", origin);
        req_set_header(r, "Access-Control-Expose-Headers", "ETag, Retry-After, X-Request-Id");
        req_set_header(r, "Vary", "Origin");
    }
    req_set_header(r, "X-Request-Id", r->id);
    req_set_header(r, "Cache-Control", "no-store");
    req_set_header(r, "X-Content-Type-Options", "nosniff");
    /* An HTML page sets a policy of its own (invite_page.c); all else is
     * data, which may load nothing. */
    if (!evhttp_find_header(evhttp_request_get_output_headers(r->ev), "Content-Security-Policy"))
        req_set_header(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    req_set_header(r, "Referrer-Policy", "no-referrer");
}

static void req_send(struct req *r, int status, struct evbuffer *body)
{
    assert(!r->streaming); /* a stream ends with req_stream_end */
    assert(!r->db_next);   /* no statement of this request is still out */
    r->status = status;
    req_common_headers(r);
    if (r->method == M_HEAD && body) {
        /* RFC 9110 9.3.2: the headers GET would send, its Content-Length
         * included, and no content. evhttp 2.1 would write the body anyway,
         * without a length, and a keep-alive client would read it as the
         * start of the next response. */
        char len[24];
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
        req_set_header(r, "Content-Length", len);
        body = NULL;
    }
    req_account(r);
    evhttp_send_reply(r->ev, status, NULL, body); /* libevent picks the phrase */
    req_finish(r);
}

/* libevent calls this while tearing the connection down; the request's own
 * callback runs on the next loop turn, when that is over. */
static void req_closed_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct req *r = arg;
    if (r->on_close)
        r->on_close(r, r->on_close_arg);
}

/* Replaces conns_closed() on a streaming connection, so calls it too. */
static void req_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct req *r = arg;
    conns_closed(evcon, r->loop->conns);
    if (!r->close_ev && !(r->close_ev = event_new(r->loop->base, -1, 0, req_closed_later, r)))
        abort();
    event_active(r->close_ev, EV_TIMEOUT, 0);
}

void req_stream_start(struct req *r, const char *ctype, req_close_cb on_close, void *arg)
{
    assert(!r->streaming && !r->db_next);
    r->status = 200;
    r->streaming = 1;
    r->on_close = on_close;
    r->on_close_arg = arg;
    req_common_headers(r);
    req_set_header(r, "Content-Type", ctype);
    req_set_header(r, "X-Accel-Buffering", "no"); /* proxies: do not hold events back */
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    evhttp_send_reply_start(r->ev, 200, "OK");
    if (c) {
        evhttp_connection_set_closecb(c, req_conn_closed, r);
        /* A stream's client sends nothing after its request: no read
         * timeout, or an idle stream would be cut. Writes keep theirs, so a
         * client that stops reading is still dropped. */
        struct timeval wt = {r->app->cfg.request_timeout_s, 0};
        bufferevent_set_timeouts(evhttp_connection_get_bufferevent(c), NULL, &wt);
    }
}

void req_stream_write(struct req *r, const char *data, size_t len)
{
    assert(r->streaming);
    struct evbuffer *b = evbuffer_new();
    if (!b)
        abort();
    evbuffer_add(b, data, len);
    evhttp_send_reply_chunk(r->ev, b);
    evbuffer_free(b);
}

void req_stream_end(struct req *r)
{
    assert(r->streaming);
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    if (c)
        evhttp_connection_set_closecb(c, conns_closed, r->loop->conns);
    r->on_close = NULL;
    if (r->close_ev)
        event_free(r->close_ev); /* a pending on_close must not outlive r */
    req_account(r);
    evhttp_send_reply_end(r->ev);
    req_finish(r);
}

void req_reply_text(struct req *r, int status, const char *ctype, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        abort();
    evbuffer_add(b, body, strlen(body));
    req_set_header(r, "Content-Type", ctype);
    req_send(r, status, b);
    evbuffer_free(b);
}

static void req_free_body(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

void req_reply_owned(struct req *r, int status, const char *ctype, char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b || evbuffer_add_reference(b, body, len, req_free_body, NULL) < 0)
        abort();
    req_set_header(r, "Content-Type", ctype);
    req_send(r, status, b);
    evbuffer_free(b); /* the body is the connection's now, or already freed */
}

static void req_reply_dumped(struct req *r, int status, json_t *json, const char *ctype)
{
    char *s = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    if (!s)
        abort();
    req_reply_text(r, status, ctype, s);
    free(s);
}

void req_reply_json(struct req *r, int status, json_t *json)
{
    req_reply_dumped(r, status, json, "application/json");
}

void req_reply_problem(struct req *r, json_t *problem)
{
    int status = (int)json_integer_value(json_object_get(problem, "status"));
    if (status == 401)
        req_set_header(r, "WWW-Authenticate", "Bearer realm=\"reflect\"");
    req_reply_dumped(r, status, problem, "application/problem+json");
}

void req_problem(struct req *r, int status, const char *detail)
{
    req_reply_problem(r, problem_new(status, NULL, detail));
}

void req_problem_code(struct req *r, int status, const char *code, const char *detail)
{
    req_reply_problem(r, problem_new_code(status, code, detail));
}

void req_reply_empty(struct req *r, int status)
{
    req_send(r, status, NULL);
}

const char *req_body(struct req *r, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    *len = evbuffer_get_length(in);
    const char *data = (const char *)evbuffer_pullup(in, -1);
    return data ? data : "";
}

static int req_is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

json_t *req_json_body(struct req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    size_t len = evbuffer_get_length(in);
    if (!req_is_json_type(req_header(r, "Content-Type"))) {
        req_problem(r, 415, "The body must be application/json.");
        return NULL;
    }
    if (len > r->app->cfg.max_body_bytes) {
        req_problem(r, 413, "The body is too large.");
        return NULL;
    }
    const char *data = (const char *)evbuffer_pullup(in, -1);
    json_error_t err;
    /* Duplicate keys are refused: two parsers could read them differently. */
    json_t *j = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &err);
    if (!j && json_error_code(&err) == json_error_numeric_overflow) {
        req_problem_code(r, 422, "number_out_of_range", "A number in the body is out of range.");
        return NULL;
    }
    if (!j) {
        req_problem(r, 400, "The body is not valid JSON (UTF-8, no duplicate keys).");
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        req_problem(r, 400, "The body must be a JSON object.");
        return NULL;
    }
    return j;
}

void req_busy(struct req *r, const char *detail)
{
    req_set_header(r, "Retry-After", "1");
    req_problem(r, 503, detail);
}

static void req_db_done(struct db_result *res, void *arg)
{
    struct req *r = arg;
    req_db_continue next = r->db_next;
    assert(next);
    r->db_next = NULL; /* next may send the next statement */
    if (res->status == DB_UNAVAILABLE || res->status == DB_BUSY) {
        req_busy(r, res->status == DB_BUSY ? "The service is busy; try again shortly."
                                           : "The database is unavailable; try again shortly.");
        return;
    }
    next(r, res);
}

static void req_db_fmt(struct req *r, const char *sql, int n, const char *const *params, int flags,
                       req_db_continue next)
{
    assert(!r->db_next && next); /* one statement out at a time */
    r->db_next = next;
    db_query_fmt(r->loop->db, sql, n, params, flags, req_db_done, r);
}

void req_db(struct req *r, const char *sql, int n, const char *const *params, req_db_continue next)
{
    req_db_fmt(r, sql, n, params, 0, next);
}

void req_db_binary(struct req *r, const char *sql, int n, const char *const *params,
                   req_db_continue next)
{
    req_db_fmt(r, sql, n, params, DB_BINARY, next);
}

void req_db_group(struct req *r, const char *sql, int n, const char *const *params,
                  req_db_continue next)
{
    req_db_fmt(r, sql, n, params, DB_GROUP, next);
}

void req_db_failed(struct req *r, struct db_result *res)
{
    if (strcmp(res->sqlstate, "57014") == 0) { /* statement timeout */
        req_busy(r, "The request took too long; try again shortly.");
        return;
    }
    /* Never the message itself: PostgreSQL quotes row values in it (a
     * "Failing row contains" detail could hold names or password hashes). */
    const char *constraint =
        res->res ? PQresultErrorField(res->res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    const char *table = res->res ? PQresultErrorField(res->res, PG_DIAG_TABLE_NAME) : NULL;
    log_error("request %s: database error %s (table %s, constraint %s)", r->id, res->sqlstate,
              table ? table : "-", constraint ? constraint : "-");
    req_problem(r, 500, "Something went wrong on our side.");
}

/* A browser asks before a cross-origin call; answer for the path's methods. */
static void req_cors_preflight(struct req *r)
{
    char allow[64];
    router_allow_header(r->match.allowed, allow, sizeof(allow));
    req_set_header(r, "Access-Control-Allow-Methods", allow);
    req_set_header(r, "Access-Control-Allow-Headers",
                   "Authorization, Content-Type, If-Match, If-None-Match, Last-Event-ID");
    req_set_header(r, "Access-Control-Max-Age", "600");
    req_reply_empty(r, 204);
}

static void req_route_failed(struct req *r, int status)
{
    if (status == 405) {
        char allow[64];
        router_allow_header(r->match.allowed, allow, sizeof(allow));
        req_set_header(r, "Allow", allow);
        req_problem(r, 405, "This method is not allowed here.");
        return;
    }
    req_problem(r, 404, "No such resource.");
}

static struct req *req_new(struct evhttp_request *ev, struct loop *l)
{
    struct req *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->ev = ev;
    r->loop = l;
    r->app = l->app;
    r->start_usec = clock_mono_us();
    r->method = req_method(ev);
    arena_init(&r->arena);
    const char *given = evhttp_find_header(evhttp_request_get_input_headers(ev), "X-Request-Id");
    size_t gl = given ? strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789-_")
                      : 0;
    if (given && gl == strlen(given) && gl > 0 && gl < sizeof(r->id))
        memcpy(r->id, given, gl + 1);
    else
        req_make_id(r->id, sizeof(r->id));
    l->inflight++;
    return r;
}

/* Content-Length must be one plain decimal number, however often it is
 * sent: libevent takes the first, a proxy might take another (request
 * smuggling), so a disagreement is refused outright. */
static int req_framing_ok(struct req *r)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(r->ev);
    const char *first = NULL;
    for (struct evkeyval *kv = TAILQ_FIRST(h); kv; kv = TAILQ_NEXT(kv, next)) {
        if (strcasecmp(kv->key, "Content-Length") != 0)
            continue;
        if (!*kv->value || strspn(kv->value, "0123456789") != strlen(kv->value))
            return 0;
        if (first && strcmp(first, kv->value) != 0)
            return 0;
        first = kv->value;
    }
    return 1;
}

struct event_base *req_base(struct req *r)
{
    return r->loop->base;
}

int req_is_draining(const struct req *r)
{
    return r->loop->draining;
}

int req_loop_index(const struct req *r)
{
    return r->loop->index;
}

void req_dispatch(struct evhttp_request *ev, struct loop *l)
{
    struct req *r = req_new(ev, l);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    r->query_raw = uri ? evhttp_uri_get_query(uri) : NULL;
    if (conns_request_begin(l->conns, ev) < 0) {
        req_set_header(r, "Connection", "close");
        req_set_header(r, "Retry-After", "1");
        req_problem(r, 429, "Too many connections from one address.");
        return;
    }
    if (!path || !r->method) {
        req_problem(r, 400, "Malformed request line.");
        return;
    }
    if (evbuffer_get_length(evhttp_request_get_input_buffer(ev)) >
        config_max_upload_bytes(&r->app->cfg)) {
        req_problem(r, 413, "The body is too large.");
        return;
    }
    if (!req_framing_ok(r)) {
        req_set_header(r, "Connection", "close");
        req_problem(r, 400, "Content-Length must be one decimal number.");
        return;
    }
    char *p = arena_strdup(&r->arena, path);
    int st = router_match(r->app->routes, r->app->nroutes, r->method, p, &r->match);
    if (evbuffer_get_length(evhttp_request_get_input_buffer(ev)) > r->app->cfg.max_body_bytes &&
        (st != 200 || !(r->match.route->flags & ROUTE_UPLOAD))) {
        req_problem(r, 413, "The body is too large.");
        return;
    }
    if (r->method == M_OPTIONS && st == 405 && req_cors_origin(r)) {
        req_cors_preflight(r);
        return;
    }
    if (st != 200) {
        req_route_failed(r, st);
        return;
    }
    if (r->match.route->flags & ROUTE_AUTH) {
        const char *why = token_cache_authenticate(r->loop->tokens, r->app->tokens,
                                                   req_header(r, "Authorization"), &r->actor);
        if (why) {
            req_problem(r, 401, why);
            return;
        }
        r->authenticated = 1;
    }
    r->match.route->fn(r);
}
