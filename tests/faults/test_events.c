/* test_events.c - live events (GET /v1/events, server-sent events) across
 * service instances, resumption, limits, session ends, shutdown and a
 * PostgreSQL restart.
 *
 * Each test spawns its own server processes (harness.h) so it can choose the
 * heartbeat, the per-user limit and the time-outs, and so that an event
 * written through one instance must reach a stream held by another: the only
 * path between them is the database's NOTIFY and the "seq > last" query.
 * Organisations are built through the shared server (fixtures.h); all
 * instances share one database and one JWT_KEY, so a token works everywhere.
 *
 * A small SSE reader lives here: a raw socket, the response head, HTTP/1.1
 * chunked decoding, and frames ("id: N\nevent: T\ndata: JSON\n\n"; lines
 * starting with ':' are comments, the heartbeats among them). It reads with
 * poll() against deadlines, so a missing event fails the test instead of
 * hanging it. Deadlines are generous; no test asserts how fast anything is.
 *
 * Covered: delivery across instances (order, gap-free ids, payloads) and
 * to nobody else; feedback requests and owner replies to supervisors;
 * Last-Event-ID resumption and its 400s; 401; the per-user limit (429);
 * logout ending a stream; SIGTERM ending streams with a clean exit; the
 * request time-out not cutting a stream; the LISTEN connection surviving a
 * PostgreSQL restart; an event whose wake-up query failed still arriving;
 * ended streams with the access log on.
 *
 * Runs in the faults binary with --jobs 1: one test stops PostgreSQL, and
 * another holds a lock on the events table. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time ------------------------------------------------------------------ */

/* ---- a server-sent events reader ---------------------------------------------- */

struct sse {
    int fd;
    char head[8192]; /* status line and headers */
    char *raw;       /* received, not yet de-chunked */
    size_t rlen, rcap;
    char *text; /* de-chunked, not yet split into frames */
    size_t tlen, tcap;
    long long chunk_left;     /* 0: a size line is next; -1: the CRLF after data */
    int ended;                /* the terminating chunk arrived */
    int closed;               /* EOF or a socket error */
    int comments, heartbeats; /* ':' lines seen, and those saying keep-alive */
};

struct sse_event {
    long long id;
    char type[64];
    json_t *data; /* owned */
};

static void grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    char *np = realloc(*p, c);
    if (!np)
        abort();
    *p = np;
    *cap = c;
}

static void sse_close(struct sse *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->raw);
    free(s->text);
    s->raw = s->text = NULL;
    s->rlen = s->rcap = s->tlen = s->tcap = 0;
}

static void event_clear(struct sse_event *e)
{
    json_decref(e->data);
    memset(e, 0, sizeof(*e));
}

/* The value of header name in head (case-insensitive), copied to out. */
static int head_value(const char *head, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            if (len >= n)
                len = n - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
        line = strstr(line, "\r\n");
    }
    return 0;
}

/* Moves complete chunk data from raw to text. */
static void sse_dechunk(struct sse *s)
{
    size_t pos = 0;
    while (!s->ended) {
        char *p = s->raw + pos;
        size_t avail = s->rlen - pos;
        if (s->chunk_left == 0) {
            char *crlf = memmem(p, avail, "\r\n", 2);
            if (!crlf)
                break;
            char *end;
            long long size = strtoll(p, &end, 16);
            cr_assert(end != p && (end == crlf || *end == ';'), "bad chunk size line: %.*s",
                      (int)(crlf - p), p);
            pos += (size_t)(crlf - p) + 2;
            if (size == 0)
                s->ended = 1; /* trailers, if any, do not matter */
            else
                s->chunk_left = size;
        } else if (s->chunk_left > 0) {
            if (!avail)
                break;
            size_t n = avail < (size_t)s->chunk_left ? avail : (size_t)s->chunk_left;
            grow(&s->text, &s->tcap, s->tlen + n + 1);
            memcpy(s->text + s->tlen, p, n);
            s->tlen += n;
            s->text[s->tlen] = '\0';
            pos += n;
            s->chunk_left -= (long long)n;
            if (s->chunk_left == 0)
                s->chunk_left = -1;
        } else {
            if (avail < 2)
                break;
            cr_assert(p[0] == '\r' && p[1] == '\n', "chunk data not followed by CRLF");
            pos += 2;
            s->chunk_left = 0;
        }
    }
    memmove(s->raw, s->raw + pos, s->rlen - pos);
    s->rlen -= pos;
}

/* Reads what arrives before deadline: 1 got bytes, 0 timed out, -1 closed. */
static int sse_read(struct sse *s, long long deadline)
{
    if (s->closed)
        return -1;
    long long left = deadline - test_now_ms();
    if (left < 0)
        left = 0;
    struct pollfd pfd = {s->fd, POLLIN, 0};
    int pr = poll(&pfd, 1, (int)left);
    if (pr < 0 && errno == EINTR)
        return 0;
    if (pr == 0)
        return 0;
    grow(&s->raw, &s->rcap, s->rlen + 4096);
    ssize_t n = recv(s->fd, s->raw + s->rlen, s->rcap - s->rlen, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        s->closed = 1;
        return -1;
    }
    s->rlen += (size_t)n;
    return 1;
}

/* Opens a stream. Returns the HTTP status; on 200 checks the head (event
 * stream, chunked) and leaves s open, otherwise s is closed. */
static int sse_open(struct sse *s, const char *addr, const char *token, const char *last_id)
{
    memset(s, 0, sizeof(*s));
    s->fd = http_connect(addr);
    cr_assert(s->fd >= 0, "cannot connect to %s", addr);
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n"
                     "Authorization: Bearer %s\r\n%s%s%s\r\n",
                     addr, token, last_id ? "Last-Event-ID: " : "", last_id ? last_id : "",
                     last_id ? "\r\n" : "");
    cr_assert(n > 0 && (size_t)n < sizeof(req));
    cr_assert_eq(send(s->fd, req, (size_t)n, MSG_NOSIGNAL), n, "cannot send the request");
    long long deadline = test_now_ms() + 5000;
    char *end = NULL;
    while (!(s->raw && (end = memmem(s->raw, s->rlen, "\r\n\r\n", 4)))) {
        int rc = sse_read(s, deadline);
        cr_assert(rc != 0, "no response head from %s within 5 s", addr);
        cr_assert(rc > 0, "%s closed the connection before a response head", addr);
    }
    size_t hl = (size_t)(end - s->raw);
    cr_assert(hl < sizeof(s->head), "response head too long");
    memcpy(s->head, s->raw, hl);
    s->head[hl] = '\0';
    memmove(s->raw, end + 4, s->rlen - hl - 4);
    s->rlen -= hl + 4;
    int status = 0;
    cr_assert(sscanf(s->head, "HTTP/1.1 %d", &status) == 1, "not HTTP/1.1: %s", s->head);
    if (status != 200) {
        sse_close(s);
        return status;
    }
    char v[256];
    cr_assert(head_value(s->head, "Content-Type", v, sizeof(v)) &&
                  strncmp(v, "text/event-stream", 17) == 0,
              "a stream must be text/event-stream:\n%s", s->head);
    cr_assert(head_value(s->head, "Transfer-Encoding", v, sizeof(v)) &&
                  strcasecmp(v, "chunked") == 0,
              "a stream must be chunked:\n%s", s->head);
    cr_assert(!head_value(s->head, "Content-Length", v, sizeof(v)),
              "a stream has no Content-Length:\n%s", s->head);
    sse_dechunk(s);
    return 200;
}

/* Takes one frame from text; 1 and *e filled when it was an event, 0 when
 * it was only comments/fields, -1 when no whole frame is there yet. */
static int sse_frame(struct sse *s, struct sse_event *e)
{
    char *sep = s->tlen ? strstr(s->text, "\n\n") : NULL;
    if (!sep)
        return -1;
    size_t flen = (size_t)(sep - s->text);
    char *frame = strndup(s->text, flen);
    memmove(s->text, sep + 2, s->tlen - flen - 2 + 1);
    s->tlen -= flen + 2;
    int has_id = 0, has_type = 0, has_data = 0;
    long long id = 0;
    char type[64] = "", *data = NULL;
    char *save = NULL;
    for (char *line = strtok_r(frame, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == ':') {
            s->comments++;
            if (strstr(line, "keep-alive"))
                s->heartbeats++;
            continue;
        }
        char *colon = strchr(line, ':');
        const char *val = colon ? colon + 1 : "";
        if (colon)
            *colon = '\0';
        if (*val == ' ')
            val++;
        if (strcmp(line, "id") == 0) {
            char *end;
            id = strtoll(val, &end, 10);
            cr_assert(*val && !*end, "event id is not a number: \"%s\"", val);
            has_id = 1;
        } else if (strcmp(line, "event") == 0) {
            snprintf(type, sizeof(type), "%s", val);
            has_type = 1;
        } else if (strcmp(line, "data") == 0) {
            cr_assert(!data, "this service sends one data line per event");
            data = strdup(val);
            has_data = 1;
        } else {
            cr_assert(strcmp(line, "retry") == 0, "unknown SSE field \"%s\"", line);
        }
    }
    free(frame);
    if (!has_id && !has_type && !has_data)
        return 0;
    cr_assert(has_id && has_type && has_data, "an event needs id, event and data (%d %d %d)",
              has_id, has_type, has_data);
    json_error_t err;
    json_t *j = json_loads(data, 0, &err);
    cr_assert(json_is_object(j), "event data is not a JSON object: %s", data);
    free(data);
    memset(e, 0, sizeof(*e));
    e->id = id;
    snprintf(e->type, sizeof(e->type), "%s", type);
    e->data = j;
    return 1;
}

/* The next event before deadline: 1 (e filled), 0 deadline passed, -1 the
 * stream ended (terminating chunk or connection closed). */
static int sse_next(struct sse *s, struct sse_event *e, long long deadline)
{
    for (;;) {
        int f;
        while ((f = sse_frame(s, e)) == 0)
            ;
        if (f == 1)
            return 1;
        if (s->ended || s->closed)
            return -1;
        int rc = sse_read(s, deadline);
        if (rc > 0)
            sse_dechunk(s);
        else if (rc == 0 && test_now_ms() >= deadline)
            return 0;
    }
}

/* Exactly n events within timeout_ms, else the test fails. */
static void sse_expect(struct sse *s, const char *who, int n, struct sse_event *out, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (int i = 0; i < n; i++) {
        int rc = sse_next(s, &out[i], deadline);
        cr_assert(rc != 0, "%s: got %d of %d events within %d ms", who, i, n, timeout_ms);
        cr_assert(rc > 0, "%s: the stream ended after %d of %d events", who, i, n);
    }
}

/* No event and no end for ms milliseconds. */
static void sse_quiet(struct sse *s, const char *who, int ms)
{
    struct sse_event e;
    int rc = sse_next(s, &e, test_now_ms() + ms);
    if (rc == 1) {
        char *d = json_dumps(e.data, JSON_COMPACT);
        cr_assert_fail("%s must receive nothing, got id %lld %s %s", who, e.id, e.type, d);
    }
    cr_assert(rc == 0, "%s: the stream ended unexpectedly", who);
}

/* The stream ends (terminating chunk or EOF) within timeout_ms, with no
 * event before that. */
static void sse_expect_end(struct sse *s, const char *who, int timeout_ms)
{
    struct sse_event e;
    int rc = sse_next(s, &e, test_now_ms() + timeout_ms);
    if (rc == 1) {
        char *d = json_dumps(e.data, JSON_COMPACT);
        cr_assert_fail("%s: the stream should end, but delivered id %lld %s %s", who, e.id, e.type,
                       d);
    }
    cr_assert(rc < 0, "%s: the stream did not end within %d ms", who, timeout_ms);
}

/* ---- the world and its writes ------------------------------------------------ */

static void reflection(const char *addr, const struct fix_user *student, const char *team,
                       char id[40])
{
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "team_id", team, "occurred_on",
                  test_day(-10), "situation", "Avonddienst, een cliënt viel in de badkamer.",
                  "task", "Ik was eerste verantwoordelijke op de gang.", "action",
                  "Ik heb alarm geslagen en de cliënt niet zelf opgetild.", "result",
                  "De cliënt werd veilig geholpen.", "reflection",
                  "Volgende keer meld ik het eerder.", "status", "final");
    json_t *j = fix_call(addr, "POST", "/v1/reflections", student, body, 201);
    snprintf(id, 40, "%s", jstr(j, "id"));
    json_decref(j);
}

static void share(const char *addr, const struct fix_user *student, const char *refl,
                  const struct fix_user *to)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", refl, to->id);
    json_decref(fix_call(addr, "PUT", path, student, NULL, 204));
}

/* Writes feedback on refl as u; returns the new feedback's id in id. */
static void feedback(const char *addr, const struct fix_user *u, const char *refl, const char *kind,
                     char id[40])
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback", refl);
    json_t *j = fix_call(
        addr, "POST", path, u,
        json_pack("{s:s, s:s}", "kind", kind, "body", "Goed dat je direct alarm sloeg."), 201);
    cr_assert_str_eq(jstr(j, "reflection_id"), refl);
    snprintf(id, 40, "%s", jstr(j, "id"));
    json_decref(j);
}

/* A feedback.created event for this feedback, from this author. */
static void expect_feedback_event(const struct sse_event *e, const char *refl, const char *fb,
                                  const char *kind, const struct fix_user *from)
{
    char *d = json_dumps(e->data, JSON_COMPACT);
    cr_assert_str_eq(e->type, "feedback.created", "event %lld: %s %s", e->id, e->type, d);
    cr_assert(jstr(e->data, "reflection_id") && strcmp(jstr(e->data, "reflection_id"), refl) == 0,
              "event %lld names another reflection: %s (want %s)", e->id, d, refl);
    cr_assert(jstr(e->data, "feedback_id") && strcmp(jstr(e->data, "feedback_id"), fb) == 0,
              "event %lld names another feedback: %s (want %s)", e->id, d, fb);
    cr_assert(jstr(e->data, "kind") && strcmp(jstr(e->data, "kind"), kind) == 0,
              "event %lld: kind %s", e->id, d);
    cr_assert(jstr(e->data, "from_user_id") && strcmp(jstr(e->data, "from_user_id"), from->id) == 0,
              "event %lld: from_user_id %s", e->id, d);
    free(d);
}

struct world {
    struct fix_org o;
    char team[40];
    struct fix_user student, coach;
    char refl[40]; /* a final reflection of student, shared with coach */
};

static void world(struct world *w)
{
    fix_org(&w->o);
    fix_student_and_coach(&w->o, w->team, &w->student, &w->coach);
    reflection(test_addr(), &w->student, w->team, w->refl);
    share(test_addr(), &w->student, w->refl, &w->coach);
}

/* ---- servers and the database ---------------------------------------------- */

static struct spawned srv_a, srv_b;

/* Spawns s with a short heartbeat plus extra ("K=V", NULL-terminated). */
static void spawn(struct spawned *s, const char *const *extra)
{
    const char *key = getenv("JWT_KEY");
    cr_assert(key && *key, "JWT_KEY must be set: every instance must accept the same tokens");
    static char keyvar[512];
    snprintf(keyvar, sizeof(keyvar), "JWT_KEY=%s", key);
    const char *env[24];
    size_t n = 0;
    env[n++] = keyvar;
    env[n++] = "EVENTS_HEARTBEAT_S=1";
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    cr_assert_eq(server_spawn(s, env), 0, "a server instance did not start");
    cr_assert_eq(http_wait_status(s->addr, "/readyz", 200, 10000), 200,
                 "instance %s never became ready", s->addr);
}

static struct spawned srv_shared;

/* Setup goes through the shared server ($REFLECTD_ADDR). When none answers
 * (scripts/test.sh stops it before the fault tests), a private one stands
 * in, so the suite also runs on its own. */
static void events_init(void)
{
    const char *a = getenv("REFLECTD_ADDR");
    if (a && *a && http_wait_status(a, "/healthz", 200, 1000) == 200)
        return;
    spawn(&srv_shared, NULL);
    setenv("REFLECTD_ADDR", srv_shared.addr, 1);
}

static void events_fini(void)
{
    const char *dir = getenv("PG_DIR");
    /* Idempotent: starts PostgreSQL only if a failed test left it down. */
    if (dir && *dir && test_pg("start") != 0)
        fprintf(stderr, "could not restart PostgreSQL in %s\n", dir);
    server_stop(&srv_a);
    server_stop(&srv_b);
    server_stop(&srv_shared);
}

TestSuite(events, .init = events_init, .fini = events_fini, .timeout = 120);

/* ---- tests -------------------------------------------------------------------- */

/* Feedback written through instance B reaches the student's stream on A, in
 * order and gap-free; nobody else's stream sees anything. */
Test(events, feedback_crosses_instances_and_reaches_only_its_recipient)
{
    struct world w;
    world(&w);
    struct fix_user peer, outsider;
    fix_user(&w.o, NULL, &peer);
    fix_member(&w.o, w.team, &peer, "student");
    fix_supervise(&w.o, &peer, &w.coach); /* even with the same coach */
    struct fix_org other;
    fix_org(&other);
    fix_user(&other, NULL, &outsider);

    spawn(&srv_a, NULL);
    spawn(&srv_b, NULL);
    struct sse st, sp, so;
    cr_assert_eq(sse_open(&st, srv_a.addr, w.student.token, NULL), 200);
    cr_assert_eq(sse_open(&sp, srv_a.addr, peer.token, NULL), 200);
    cr_assert_eq(sse_open(&so, srv_a.addr, outsider.token, NULL), 200);

    static const char *const kinds[] = {"top", "tip", "question", "top"};
    enum { N = 4 };
    char fb[N][40];
    for (int i = 0; i < N; i++)
        feedback(srv_b.addr, &w.coach, w.refl, kinds[i], fb[i]);

    struct sse_event ev[N];
    sse_expect(&st, "student", N, ev, 10000);
    /* The student had no event before: the sequence starts at 1. */
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ev[i].id, i + 1, "event %d has id %lld, want %d (gap-free, in order)", i,
                     ev[i].id, i + 1);
        expect_feedback_event(&ev[i], w.refl, fb[i], kinds[i], &w.coach);
        event_clear(&ev[i]);
    }
    sse_quiet(&st, "the student after the last feedback (a duplicate?)", 1500);
    sse_quiet(&sp, "another student of the same team and coach", 2000);
    sse_quiet(&so, "a user of another organisation", 500);
    cr_assert_geq(sp.heartbeats, 1, "a quiet stream still gets heartbeats");
    cr_assert_geq(so.heartbeats, 1, "a quiet stream still gets heartbeats");
    cr_assert_geq(st.heartbeats, 1, "a busy stream also gets heartbeats");
    sse_close(&st);
    sse_close(&sp);
    sse_close(&so);
}

/* Asking for feedback through B tells the supervisor on A (request and
 * share); the student's reply reaches the supervisor it is shared with, and
 * not another supervisor who was never shared the reflection. */
Test(events, feedback_request_and_owner_reply_reach_the_supervisor)
{
    struct world w;
    world(&w);
    struct fix_user coach2;
    fix_user(&w.o, "praktijkopleider", &coach2);
    fix_supervise(&w.o, &w.student, &coach2);
    char refl[40];
    reflection(test_addr(), &w.student, w.team, refl); /* not shared with anyone yet */

    spawn(&srv_a, NULL);
    spawn(&srv_b, NULL);
    struct sse sc, s2, ss;
    cr_assert_eq(sse_open(&sc, srv_a.addr, w.coach.token, NULL), 200);
    cr_assert_eq(sse_open(&s2, srv_a.addr, coach2.token, NULL), 200);
    cr_assert_eq(sse_open(&ss, srv_a.addr, w.student.token, NULL), 200);

    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback-requests", refl);
    json_t *q = fix_call(srv_b.addr, "POST", path, &w.student,
                         json_pack("{s:s}", "to_user_id", w.coach.id), 201);
    char qid[40];
    snprintf(qid, sizeof(qid), "%s", jstr(q, "id"));
    json_decref(q);

    struct sse_event ev[2];
    sse_expect(&sc, "supervisor", 2, ev, 10000);
    cr_assert_eq(ev[1].id, ev[0].id + 1, "ids must rise by 1: %lld after %lld", ev[1].id, ev[0].id);
    int req = strcmp(ev[0].type, "feedback_request.created") == 0 ? 0 : 1;
    struct sse_event *er = &ev[req], *es = &ev[1 - req];
    cr_assert_str_eq(er->type, "feedback_request.created");
    cr_assert_str_eq(es->type, "reflection.shared");
    cr_assert_str_eq(jstr(er->data, "feedback_request_id"), qid);
    cr_assert_str_eq(jstr(er->data, "reflection_id"), refl);
    cr_assert_str_eq(jstr(er->data, "from_user_id"), w.student.id);
    cr_assert_str_eq(jstr(es->data, "reflection_id"), refl);
    cr_assert_str_eq(jstr(es->data, "from_user_id"), w.student.id);
    long long last = ev[1].id;
    event_clear(&ev[0]);
    event_clear(&ev[1]);

    /* The student replies in the thread (owner feedback). */
    char fb[40];
    feedback(srv_b.addr, &w.student, refl, "question", fb);
    sse_expect(&sc, "supervisor", 1, ev, 10000);
    cr_assert_eq(ev[0].id, last + 1, "ids must rise by 1: %lld after %lld", ev[0].id, last);
    expect_feedback_event(&ev[0], refl, fb, "question", &w.student);
    event_clear(&ev[0]);

    sse_quiet(&sc, "the supervisor after the reply", 1000);
    sse_quiet(&s2, "a supervisor the reflection was not shared with", 1000);
    sse_quiet(&ss, "the student (own request and own reply)", 500);
    sse_close(&sc);
    sse_close(&s2);
    sse_close(&ss);
}

/* Last-Event-ID resumes exactly after the last event seen, on any instance,
 * and the resumed stream then stays live. */
Test(events, resume_with_last_event_id_has_no_gap_and_no_duplicate)
{
    struct world w;
    world(&w);
    spawn(&srv_a, NULL);
    struct sse s;
    struct sse_event ev[4];
    char fb[6][40];
    static const char *const kinds[] = {"top", "tip", "question", "question", "question", "top"};

    cr_assert_eq(sse_open(&s, srv_a.addr, w.student.token, NULL), 200);
    feedback(test_addr(), &w.coach, w.refl, "top", fb[0]);
    feedback(test_addr(), &w.coach, w.refl, "tip", fb[1]);
    sse_expect(&s, "first connection", 2, ev, 10000);
    expect_feedback_event(&ev[0], w.refl, fb[0], "top", &w.coach);
    expect_feedback_event(&ev[1], w.refl, fb[1], "tip", &w.coach);
    cr_assert_eq(ev[1].id, ev[0].id + 1);
    long long seen = ev[1].id;
    event_clear(&ev[0]);
    event_clear(&ev[1]);
    sse_close(&s);

    /* Written while the phone is away. */
    for (int i = 2; i < 5; i++)
        feedback(test_addr(), &w.coach, w.refl, "question", fb[i]);

    /* Resumed through the other instance (the shared server). */
    char last[24];
    snprintf(last, sizeof(last), "%lld", seen);
    cr_assert_eq(sse_open(&s, test_addr(), w.student.token, last), 200);
    sse_expect(&s, "resumed connection", 3, ev, 10000);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ev[i].id, seen + 1 + i, "resumed event %d has id %lld, want %lld", i, ev[i].id,
                     seen + 1 + i);
        expect_feedback_event(&ev[i], w.refl, fb[2 + i], "question", &w.coach);
        event_clear(&ev[i]);
    }
    sse_quiet(&s, "the resumed stream after the missed events", 1500);

    feedback(srv_a.addr, &w.coach, w.refl, "top", fb[5]);
    sse_expect(&s, "resumed connection, live", 1, ev, 10000);
    cr_assert_eq(ev[0].id, seen + 4);
    expect_feedback_event(&ev[0], w.refl, fb[5], "top", &w.coach);
    event_clear(&ev[0]);
    sse_close(&s);

    /* Resuming from 0 replays the whole history, once. */
    cr_assert_eq(sse_open(&s, srv_a.addr, w.student.token, "0"), 200);
    struct sse_event all[6];
    sse_expect(&s, "replay from 0", 6, all, 10000);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(all[i].id, i + 1);
        expect_feedback_event(&all[i], w.refl, fb[i], kinds[i], &w.coach);
        event_clear(&all[i]);
    }
    sse_quiet(&s, "the replayed stream", 1000);
    sse_close(&s);
}

static void expect_events_problem(const char *addr, const char *token, const char *extra,
                                  int status)
{
    struct http_resp r;
    cr_assert_eq(http_call(addr, "GET", "/v1/events", token, NULL, extra, &r), 0,
                 "GET /v1/events (%s) did not answer", extra ? extra : "no extras");
    expect_problem(&r, status);
    expect_common_headers(&r);
    if (status == 401) {
        const char *wa = http_header(&r, "WWW-Authenticate");
        cr_assert(wa && strncmp(wa, "Bearer", 6) == 0, "401 needs WWW-Authenticate: Bearer");
    }
    http_resp_free(&r);
}

Test(events, bad_last_event_id_missing_token_and_too_many_streams)
{
    struct world w;
    world(&w);
    static const char *const bad[] = {"abc", "-1", "1x", "1.5", "99999999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char h[128];
        snprintf(h, sizeof(h), "Last-Event-ID: %s\r\n", bad[i]);
        expect_events_problem(test_addr(), w.student.token, h, 400);
    }
    expect_events_problem(test_addr(), NULL, NULL, 401);
    expect_events_problem(test_addr(), "not-a-token", NULL, 401);

    static const char *const two[] = {"EVENTS_MAX_PER_USER=2", NULL};
    spawn(&srv_a, two);
    struct sse s1, s2, c1;
    cr_assert_eq(sse_open(&s1, srv_a.addr, w.student.token, NULL), 200);
    cr_assert_eq(sse_open(&s2, srv_a.addr, w.student.token, NULL), 200);
    struct http_resp r;
    cr_assert_eq(http_call(srv_a.addr, "GET", "/v1/events", w.student.token, NULL, NULL, &r), 0,
                 "the third stream got no answer (held open?)");
    expect_problem(&r, 429);
    const char *ra = http_header(&r, "Retry-After");
    cr_assert(ra && atoi(ra) > 0, "429 needs a positive Retry-After:\n%s", r.head);
    http_resp_free(&r);
    /* The limit is per user: the coach still gets a stream. */
    cr_assert_eq(sse_open(&c1, srv_a.addr, w.coach.token, NULL), 200);

    /* The two open streams still work. */
    char fb[40];
    feedback(test_addr(), &w.coach, w.refl, "top", fb);
    struct sse_event e;
    sse_expect(&s1, "first stream", 1, &e, 10000);
    expect_feedback_event(&e, w.refl, fb, "top", &w.coach);
    event_clear(&e);
    sse_expect(&s2, "second stream", 1, &e, 10000);
    expect_feedback_event(&e, w.refl, fb, "top", &w.coach);
    event_clear(&e);

    /* Closing one frees its place (noticed at the latest by a failing heartbeat). */
    sse_close(&s1);
    int status = 0;
    for (long long deadline = test_now_ms() + 10000; test_now_ms() < deadline;) {
        status = sse_open(&s1, srv_a.addr, w.student.token, NULL);
        if (status == 200)
            break;
        cr_assert_eq(status, 429);
        test_sleep_ms(250);
    }
    cr_assert_eq(status, 200, "a closed stream's place was not freed within 10 s");
    sse_close(&s1);
    sse_close(&s2);
    sse_close(&c1);
}

/* Logging out ends that session's streams at their next wake; another
 * session of the same user keeps receiving. */
Test(events, logout_ends_the_sessions_stream)
{
    struct world w;
    world(&w);
    struct fix_user other_session;
    cr_assert_eq(fix_login(w.student.email, FIX_PASSWORD, &other_session), 200);
    spawn(&srv_a, NULL);
    struct sse s, keep;
    cr_assert_eq(sse_open(&s, srv_a.addr, w.student.token, NULL), 200);
    cr_assert_eq(sse_open(&keep, srv_a.addr, other_session.token, NULL), 200);

    json_decref(fix_call(test_addr(), "POST", "/v1/auth/logout", NULL,
                         json_pack("{s:s}", "refresh_token", w.student.refresh), 204));
    char fb[40];
    feedback(test_addr(), &w.coach, w.refl, "tip", fb);
    sse_expect_end(&s, "the logged-out session's stream", 10000);
    struct sse_event e;
    sse_expect(&keep, "the other session's stream", 1, &e, 10000);
    expect_feedback_event(&e, w.refl, fb, "tip", &w.coach);
    event_clear(&e);
    sse_close(&s);

    /* And the ended session cannot open a new one. */
    struct sse again;
    cr_assert_eq(sse_open(&again, srv_a.addr, w.student.token, NULL), 401);
    sse_close(&keep);
}

/* SIGTERM with streams open: they end, and the process exits cleanly without
 * waiting out its grace period (60 s here, longer than server_stop waits
 * before it resorts to SIGKILL, so a stream holding the server up fails the
 * exit status). */
Test(events, shutdown_ends_open_streams_and_exits_cleanly)
{
    struct world w;
    world(&w);
    static const char *const grace[] = {"SHUTDOWN_GRACE_S=60", NULL};
    spawn(&srv_a, grace);
    struct sse s[4];
    cr_assert_eq(sse_open(&s[0], srv_a.addr, w.student.token, NULL), 200);
    cr_assert_eq(sse_open(&s[1], srv_a.addr, w.coach.token, NULL), 200);
    cr_assert_eq(sse_open(&s[2], srv_a.addr, w.coach.token, "0"), 200);
    cr_assert_eq(sse_open(&s[3], srv_a.addr, w.student.token, NULL), 200);
    /* s[2] replays the coach's one event so far: the student's share. */
    struct sse_event e;
    sse_expect(&s[2], "coach, replayed", 1, &e, 10000);
    cr_assert_str_eq(e.type, "reflection.shared");
    cr_assert_str_eq(jstr(e.data, "reflection_id"), w.refl);
    event_clear(&e);
    sse_quiet(&s[0], "student", 1200);
    cr_assert_eq(server_stop(&srv_a), 0, "the server did not exit cleanly with streams open");
    for (int i = 0; i < 4; i++) {
        char who[32];
        snprintf(who, sizeof(who), "stream %d", i);
        sse_expect_end(&s[i], who, 5000);
        sse_close(&s[i]);
    }
}

/* A stream is long-lived: REQUEST_TIMEOUT_S (the time-out for ordinary
 * requests) must not cut it, whatever the heartbeat interval. Both settings
 * here are valid configuration; the server chose not to write for 4 s, so
 * it must not drop the client for being idle after 2. */
Test(events, stream_is_not_cut_by_the_request_timeout)
{
    struct world w;
    world(&w);
    static const char *const quick[] = {"REQUEST_TIMEOUT_S=2", "EVENTS_HEARTBEAT_S=4", NULL};
    spawn(&srv_a, quick);
    struct sse s;
    cr_assert_eq(sse_open(&s, srv_a.addr, w.student.token, NULL), 200);
    sse_quiet(&s, "an idle stream (REQUEST_TIMEOUT_S=2, EVENTS_HEARTBEAT_S=4)", 6000);
    char fb[40];
    feedback(test_addr(), &w.coach, w.refl, "top", fb);
    struct sse_event e;
    sse_expect(&s, "a stream older than REQUEST_TIMEOUT_S", 1, &e, 10000);
    expect_feedback_event(&e, w.refl, fb, "top", &w.coach);
    event_clear(&e);
    sse_close(&s);
}

/* Waits until addr answers /readyz 200 (the shared server too has to
 * reconnect after a PostgreSQL restart). */
static void wait_ready(const char *addr)
{
    cr_assert_eq(http_wait_status(addr, "/readyz", 200, 20000), 200,
                 "%s did not become ready within 20 s after PostgreSQL returned", addr);
}

/* After PostgreSQL restarts, the instance's LISTEN connection comes back by
 * itself and its open stream keeps receiving. */
Test(events, listener_reconnects_after_postgresql_restart)
{
    struct world w;
    world(&w);
    spawn(&srv_a, NULL);
    struct sse s;
    struct sse_event e;
    char fb[40];
    cr_assert_eq(sse_open(&s, srv_a.addr, w.student.token, NULL), 200);
    feedback(test_addr(), &w.coach, w.refl, "top", fb);
    sse_expect(&s, "before the restart", 1, &e, 10000);
    expect_feedback_event(&e, w.refl, fb, "top", &w.coach);
    long long last = e.id;
    event_clear(&e);

    cr_assert_eq(test_pg("stop"), 0, "could not stop PostgreSQL");
    int hb = s.heartbeats;
    sse_quiet(&s, "the stream while PostgreSQL is down", 2500);
    cr_assert_gt(s.heartbeats, hb, "heartbeats go on while the database is away");
    cr_assert_eq(test_pg("start"), 0, "could not start PostgreSQL again");
    wait_ready(test_addr());
    wait_ready(srv_a.addr);

    feedback(test_addr(), &w.coach, w.refl, "tip", fb);
    sse_expect(&s, "after the restart", 1, &e, 15000);
    cr_assert_eq(e.id, last + 1, "ids must rise by 1: %lld after %lld", e.id, last);
    expect_feedback_event(&e, w.refl, fb, "tip", &w.coach);
    event_clear(&e);

    /* And again, well after every reconnect back-off. */
    test_sleep_ms(3000);
    feedback(test_addr(), &w.coach, w.refl, "question", fb);
    sse_expect(&s, "later after the restart", 1, &e, 10000);
    cr_assert_eq(e.id, last + 2);
    expect_feedback_event(&e, w.refl, fb, "question", &w.coach);
    event_clear(&e);
    sse_close(&s);
}

/* ---- a database hiccup under a stream ------------------------------------------- */

static pid_t psql_pids[4];

/* Runs sql through psql against $DATABASE_URL in the background. */
static pid_t psql_bg(const char *sql)
{
    const char *url = getenv("DATABASE_URL");
    cr_assert(url && *url, "DATABASE_URL is not set");
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execlp("psql", "psql", url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql, (char *)NULL);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof(psql_pids) / sizeof(psql_pids[0]); i++)
        if (!psql_pids[i]) {
            psql_pids[i] = pid;
            break;
        }
    return pid;
}

static int psql_wait(pid_t pid)
{
    int st = 0;
    pid_t w = waitpid(pid, &st, 0);
    for (size_t i = 0; i < sizeof(psql_pids) / sizeof(psql_pids[0]); i++)
        if (psql_pids[i] == pid)
            psql_pids[i] = 0;
    return w == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Waits for any psql a failed test left running (it holds a lock). */
static void hiccup_fini(void)
{
    for (size_t i = 0; i < sizeof(psql_pids) / sizeof(psql_pids[0]); i++)
        if (psql_pids[i])
            psql_wait(psql_pids[i]);
    events_fini();
}

/* An event commits; the woken stream's "seq > last" query then fails (here:
 * a statement time-out behind a lock on events, as a restart or a network
 * blip would fail it). Nothing else happens for this user. The event must
 * still arrive once the database answers again: the stream has to retry
 * (events.c says "a database hiccup is retried at the next wake or
 * heartbeat"), not wait for the user's next event, which may be days away. */
Test(events, event_is_delivered_after_the_woken_query_failed, .fini = hiccup_fini)
{
    struct world w;
    world(&w);
    static const char *const st[] = {"STATEMENT_TIMEOUT_MS=1000", NULL};
    spawn(&srv_a, st);
    struct sse s;
    cr_assert_eq(sse_open(&s, srv_a.addr, w.student.token, NULL), 200);

    /* X creates the student's event and commits after 2 s; Y queues for an
     * exclusive lock on events behind X, so it holds the table from X's
     * commit (the NOTIFY) for 3 s: the woken query times out after 1 s. */
    char x[512];
    snprintf(x, sizeof(x),
             "BEGIN; SELECT emit_event('%s', '%s', 'reflection.shared',"
             " jsonb_build_object('reflection_id', '%s'::text, 'from_user_id', '%s'::text));"
             " SELECT pg_sleep(2); COMMIT;",
             w.student.id, w.o.id, w.refl, w.coach.id);
    pid_t px = psql_bg(x);
    test_sleep_ms(700);
    pid_t py = psql_bg("BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE;"
                       " SELECT pg_sleep(3); ROLLBACK;");
    cr_assert_eq(psql_wait(px), 0, "psql could not emit the event");
    cr_assert_eq(psql_wait(py), 0, "psql could not lock the events table");

    /* The database is fine again: the event must come, with heartbeats at 1 s. */
    struct sse_event e;
    int rc = sse_next(&s, &e, test_now_ms() + 8000);
    cr_assert(rc >= 0, "the stream ended");
    if (rc == 0) {
        /* Diagnose: does it come with the next wake only? */
        char fb[40];
        feedback(test_addr(), &w.coach, w.refl, "top", fb);
        struct sse_event later[2];
        int n = 0;
        while (n < 2 && sse_next(&s, &later[n], test_now_ms() + 10000) == 1)
            n++;
        int with_next = n == 2 && later[0].id == 1 && later[1].id == 2;
        for (int i = 0; i < n; i++)
            event_clear(&later[i]);
        cr_assert_fail("the event committed while its stream's query failed was not delivered "
                       "within 8 s after the database recovered (heartbeats do not retry); %s",
                       with_next ? "it arrived only with the user's next event"
                                 : "it did not arrive with the next event either");
    }
    cr_assert_eq(e.id, 1);
    cr_assert_str_eq(e.type, "reflection.shared");
    cr_assert_str_eq(jstr(e.data, "reflection_id"), w.refl);
    event_clear(&e);
    sse_close(&s);
}

/* ---- the access log of a stream --------------------------------------------------- */

/* How many access-log lines in s's log are for route /v1/events; fails the
 * test on one whose path is not /v1/events. */
static int events_access_lines(const struct spawned *s)
{
    FILE *f = fopen(s->log, "r");
    cr_assert(f, "cannot read the server log %s", s->log);
    char line[4096], bad[256] = "";
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *level = jstr(j, "level"), *route = jstr(j, "route"), *path = jstr(j, "path");
        if (level && strcmp(level, "access") == 0 && route && strcmp(route, "/v1/events") == 0) {
            n++;
            if (!bad[0] && (!path || strcmp(path, "/v1/events") != 0))
                snprintf(bad, sizeof(bad), "%s", path ? path : "(none)");
        }
        json_decref(j);
    }
    fclose(f);
    cr_assert(!bad[0], "a stream's access-log line has path \"%s\", not /v1/events", bad);
    return n;
}

static void expect_alive(const struct spawned *s, const char *after)
{
    struct http_resp r;
    cr_assert_eq(http_get(s->addr, "/healthz", NULL, &r), 0,
                 "the server stopped answering after %s", after);
    expect_status(&r, 200);
    http_resp_free(&r);
}

/* Streams that end (the client leaves, the session ends, the server stops)
 * with the access log on, as in production: the server survives each and
 * logs the finished request correctly. Under the sanitizer build (make test
 * spawns build/asan/reflectd) any use of the finished request is fatal. */
Test(events, ended_streams_are_logged_and_the_server_survives)
{
    struct world w;
    world(&w);
    static const char *const logged[] = {"ACCESS_LOG=on", NULL};
    spawn(&srv_a, logged);
    struct sse s;

    /* The client leaves; a heartbeat write finds out. */
    cr_assert_eq(sse_open(&s, srv_a.addr, w.coach.token, NULL), 200);
    sse_close(&s);
    int n = 0;
    for (long long deadline = test_now_ms() + 8000; n < 1 && test_now_ms() < deadline;
         test_sleep_ms(200))
        n = events_access_lines(&srv_a);
    expect_alive(&srv_a, "a client closed its stream");
    cr_assert_eq(n, 1, "the closed stream was never logged as finished");

    /* The session ends; the next wake closes the stream. */
    cr_assert_eq(sse_open(&s, srv_a.addr, w.student.token, NULL), 200);
    json_decref(fix_call(test_addr(), "POST", "/v1/auth/logout", NULL,
                         json_pack("{s:s}", "refresh_token", w.student.refresh), 204));
    char fb[40];
    feedback(test_addr(), &w.coach, w.refl, "tip", fb);
    sse_expect_end(&s, "the logged-out stream", 10000);
    sse_close(&s);
    for (long long deadline = test_now_ms() + 5000; n < 2 && test_now_ms() < deadline;
         test_sleep_ms(200))
        n = events_access_lines(&srv_a);
    expect_alive(&srv_a, "a logout ended a stream");
    cr_assert_eq(n, 2, "the ended stream was never logged as finished");

    /* The server stops with a stream open. */
    cr_assert_eq(sse_open(&s, srv_a.addr, w.coach.token, NULL), 200);
    cr_assert_eq(server_stop(&srv_a), 0, "unclean exit when stopping with a logged stream");
    sse_expect_end(&s, "the stream at shutdown", 5000);
    sse_close(&s);
}
