/* events.c - live events for the apps: GET /v1/events (server-sent events).
 *
 * Events are rows (migrations/0006): a write that creates one calls
 * emit_event in its own statement, which numbers it per recipient and
 * NOTIFYs at commit. Each service instance keeps one LISTEN connection, on
 * loop 0 (a listening pool of one, db.c: the connection layer the queries
 * use); a notification names the recipient, and is passed to every loop,
 * which wakes that user's streams. A woken stream asks the
 * database for its events after the last one it sent, so the notification
 * itself carries nothing that could be lost or seen twice: resuming with
 * Last-Event-ID, waking twice, or missing a notification while the listener
 * reconnects all end in the same "seq > last" query. Every such query also
 * re-checks the caller's session, so logout or erasure ends the stream.
 *
 * State per loop: its open streams, a heartbeat timer (comments keep
 * proxies and phones from dropping an idle stream), and on loop 0 the
 * listener. This file keeps only the streams' logic: no libpq. Old events are removed by the
 * janitor (janitor.c). */
#include "db/statements.h"
#include "handlers/events.h"
#include "http/api.h"
#include "app.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "core/log.h"
#include "handlers/policy.h"
#include "http/loop.h"

#include <assert.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define EVENTS_BATCH 200

struct stream {
    TAILQ_ENTRY(stream) next;
    struct events_worker *ew;
    struct req *r;
    long long last; /* seq of the last event sent */
    int fetching;   /* a query is out */
    int dirty;      /* woken while fetching: ask again */
    int gone;       /* the client left while a query was out */
    int failed;     /* the last query failed: the heartbeat asks again */
};

struct events_worker {
    struct loop *l;
    // cppcheck-suppress unusedStructMember
    TAILQ_HEAD(, stream) streams;
    struct event *heartbeat;
    struct db_pool *listener; /* loop 0: LISTEN reflectd_events */
};

/* Every loop's state, by loop index: filled by events_worker_start before
 * any loop runs and emptied after all have ended, so the loops read it
 * without a lock (a wake goes to every loop). */
static struct events_worker **loops;
static int nloops;

/* ---- streams per user, across the process ------------------------------ */

struct user_count {
    char user[37];
    int n;
};
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct user_count *counts;
static size_t ncounts, capcounts;

/* Adds d to user's open streams; refuses (0) to go above max. */
static int events_count(const char *user, int d, int max)
{
    int ok = 1;
    pthread_mutex_lock(&counts_lock);
    size_t i = 0;
    while (i < ncounts && strcmp(counts[i].user, user) != 0)
        i++;
    if (i == ncounts && d > 0) {
        if (ncounts == capcounts) {
            capcounts = capcounts ? capcounts * 2 : 64;
            counts = realloc(counts, capcounts * sizeof(*counts));
            if (!counts)
                abort();
        }
        snprintf(counts[ncounts].user, sizeof(counts[ncounts].user), "%s", user);
        counts[ncounts++].n = 0;
    }
    if (i < ncounts) {
        if (d > 0 && counts[i].n >= max)
            ok = 0;
        else
            counts[i].n += d;
        if (counts[i].n == 0)
            counts[i] = counts[--ncounts];
    }
    pthread_mutex_unlock(&counts_lock);
    return ok;
}

/* ---- one stream ---------------------------------------------------------- */

/* clang-format off */
static const char SQL_EVENTS_OPEN[] =
    "WITH " SQL_ACTOR " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    " coalesce((SELECT seq FROM event_counters WHERE user_id = $1), 0)";

static const char SQL_EVENTS_AFTER[] =
    "WITH " SQL_ACTOR " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    " (SELECT json_agg(json_build_object('seq', e.seq, 'type', e.type, 'data', e.payload)"
    " ORDER BY e.seq) FROM (SELECT * FROM events e WHERE e.recipient_id = $1"
    " AND e.seq > $4::bigint AND EXISTS (SELECT 1 FROM actor) ORDER BY e.seq LIMIT $5::int) e)";
/* clang-format on */

static void stream_end(struct stream *s)
{
    TAILQ_REMOVE(&s->ew->streams, s, next);
    events_count(s->r->actor.user_id, -1, 0);
    req_stream_end(s->r);
    free(s);
}

static void stream_fetch(struct stream *s);

/* Writes each event as "id/event/data"; returns how many. */
static size_t stream_write_events(struct stream *s, const char *json)
{
    json_t *list = json_loads(json, 0, NULL);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        char *data = json_dumps(json_object_get(e, "data"), JSON_COMPACT);
        long long seq = (long long)json_integer_value(json_object_get(e, "seq"));
        char *frame = arena_printf(&s->r->arena, "id: %lld\nevent: %s\ndata: %s\n\n", seq,
                                   json_string_value(json_object_get(e, "type")), data);
        req_stream_write(s->r, frame, strlen(frame));
        free(data);
        s->last = seq;
    }
    size_t n = json_array_size(list);
    json_decref(list);
    return n;
}

static void stream_fetched(struct db_result *res, void *arg)
{
    struct stream *s = arg;
    s->fetching = 0;
    if (s->gone) {
        stream_end(s);
        return;
    }
    if (api_one_row_ok(res) && api_col_int(res, 0, 0) == 401) {
        stream_end(s); /* logged out, erased: the stream ends with the session */
        return;
    }
    size_t n = 0;
    s->failed = res->status != DB_OK;
    if (api_one_row_ok(res) && !api_col_is_null(res, 0, 1))
        n = stream_write_events(s, api_col(res, 0, 1));
    /* A failed query is retried at the next wake or heartbeat. */
    if (s->dirty || n == EVENTS_BATCH) {
        s->dirty = 0;
        stream_fetch(s);
    }
}

static void stream_fetch(struct stream *s)
{
    if (s->fetching) {
        s->dirty = 1;
        return;
    }
    s->fetching = 1;
    char last[24], batch[8];
    snprintf(last, sizeof(last), "%lld", s->last);
    snprintf(batch, sizeof(batch), "%d", EVENTS_BATCH);
    const char *p[5];
    api_actor_params(s->r, p);
    p[3] = last;
    p[4] = batch;
    db_query(s->ew->l->db, SQL_EVENTS_AFTER, 5, p, stream_fetched, s);
}

static void stream_client_gone(struct req *r, void *arg)
{
    (void)r;
    struct stream *s = arg;
    if (s->fetching) {
        /* The query's callback still points at s: let it end the stream. */
        s->gone = 1;
        return;
    }
    stream_end(s);
}

/* Last-Event-ID: the seq of the last event the client saw; -1 if absent. */
static long long events_last_id(struct req *r, int *bad)
{
    const char *v = req_header(r, "Last-Event-ID");
    *bad = 0;
    if (!v || !*v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < 0 || strlen(v) > 18)
        *bad = 1;
    return n;
}

static void events_opened(struct req *r, struct db_result *res)
{
    if (!api_one_row_ok(res) || api_col_int(res, 0, 0) != 200) {
        api_reply_row(r, res);
        return;
    }
    if (r->method == M_HEAD) {
        /* The stream's headers, no stream (a stream has no Content-Length). */
        req_set_header(r, "Content-Type", "text/event-stream");
        req_reply_empty(r, 200);
        return;
    }
    const struct config *cfg = &r->app->cfg;
    if (!events_count(r->actor.user_id, 1, cfg->events_max_per_user)) {
        req_set_header(r, "Retry-After", "30");
        req_problem(r, 429, "Too many open event streams for this user.");
        return;
    }
    struct stream *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->ew = loops[req_loop_index(r)];
    s->r = r;
    const long long *given = req_state_get(r, events_last);
    s->last = *given >= 0 ? *given : api_col_ll(res, 0, 1);
    TAILQ_INSERT_TAIL(&s->ew->streams, s, next);
    req_stream_start(r, "text/event-stream", stream_client_gone, s);
    char hello[64];
    int n = snprintf(hello, sizeof(hello), "retry: 3000\n: stream open\n\n");
    req_stream_write(r, hello, (size_t)n);
    /* What was missed (Last-Event-ID), or what committed between the
     * opening query and now, when no wake could reach this stream yet. */
    stream_fetch(s);
}

void h_events(struct req *r)
{
    int bad;
    long long *last = arena_alloc(&r->arena, sizeof(*last));
    *last = events_last_id(r, &bad);
    if (bad) {
        req_problem(r, 400, "Last-Event-ID must be an event id this service sent.");
        return;
    }
    if (req_is_draining(r)) {
        req_set_header(r, "Retry-After", "1");
        req_problem(r, 503, "The service is restarting; reconnect shortly.");
        return;
    }
    req_state_set(r, events_last, last);
    const char *p[3];
    api_actor_params(r, p);
    req_db(r, SQL_EVENTS_OPEN, 3, p, events_opened);
}

/* ---- waking streams ------------------------------------------------------ */

struct wake {
    struct events_worker *ew;
    char user[40]; /* empty: every stream */
};

/* Runs on each worker: wake the streams of user (NULL: every stream). */
static void events_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct wake *wk = arg;
    struct stream *s;
    TAILQ_FOREACH(s, &wk->ew->streams, next)
    {
        if (!wk->user[0] || strcmp(s->r->actor.user_id, wk->user) == 0)
            stream_fetch(s);
    }
    free(wk);
}

static void events_broadcast(const char *user)
{
    for (int i = 0; i < nloops; i++) {
        struct events_worker *ew = loops[i];
        if (!ew)
            continue; /* not started, or already freed */
        struct wake *wk = calloc(1, sizeof(*wk));
        if (!wk)
            abort();
        wk->ew = ew;
        snprintf(wk->user, sizeof(wk->user), "%s", user ? user : "");
        if (event_base_once(ew->l->base, -1, EV_TIMEOUT, events_wake, wk, NULL) < 0)
            free(wk);
    }
}

/* ---- the LISTEN connection (loop 0) ------------------------------------- */

/* A notification names its recipient; NULL (LISTENing again after a
 * reconnect, when some may have been missed): every stream looks. */
static void events_notified(const char *user, void *arg)
{
    (void)arg;
    events_broadcast(user);
}

/* A listening pool of one (db.c): the same connect, reconnect and back-off
 * as the query pools, and nothing else on it. */
static struct db_pool *listener_new(struct events_worker *ew)
{
    struct db_pool_config pc = {
        .conninfo = ew->l->app->cfg.database_url,
        .size = 1,
        .listen = "reflectd_events",
        .on_notify = events_notified,
        .notify_arg = ew,
        .application_name = "reflectd-events",
    };
    struct db_pool *p = db_pool_new(ew->l->base, &pc);
    if (!p)
        abort();
    return p;
}

/* ---- timers ------------------------------------------------------------ */

static void events_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct events_worker *ew = arg;
    static const char beat[] = ": keep-alive\n\n";
    struct stream *s;
    TAILQ_FOREACH(s, &ew->streams, next)
    {
        req_stream_write(s->r, beat, sizeof(beat) - 1);
        if (s->failed)
            stream_fetch(s);
    }
}

/* ---- the worker's life cycle ------------------------------------------- */

void events_worker_start(struct loop *l)
{
    if (!loops) {
        nloops = l->app->cfg.workers;
        loops = calloc((size_t)nloops, sizeof(*loops));
        if (!loops)
            abort();
    }
    assert(l->index < nloops && !loops[l->index]);
    struct events_worker *ew = calloc(1, sizeof(*ew));
    if (!ew)
        abort();
    ew->l = l;
    TAILQ_INIT(&ew->streams);
    loops[l->index] = ew;
    struct timeval beat = {l->app->cfg.events_heartbeat_s, 0};
    ew->heartbeat = event_new(l->base, -1, EV_PERSIST, events_heartbeat, ew);
    if (!ew->heartbeat || event_add(ew->heartbeat, &beat) < 0)
        abort();
    if (l->index == 0)
        ew->listener = listener_new(ew);
}

void events_worker_drain(struct loop *l)
{
    struct events_worker *ew = loops[l->index];
    struct stream *s = TAILQ_FIRST(&ew->streams);
    while (s) {
        struct stream *next = TAILQ_NEXT(s, next);
        if (s->fetching)
            s->gone = 1; /* its query's callback ends it */
        else
            stream_end(s);
        s = next;
    }
    event_del(ew->heartbeat);
    db_pool_free(ew->listener);
    ew->listener = NULL;
}

void events_worker_free(struct loop *l)
{
    struct events_worker *ew = loops ? loops[l->index] : NULL;
    if (!ew)
        return;
    db_pool_free(ew->listener);
    event_free(ew->heartbeat);
    free(ew);
    loops[l->index] = NULL;
    for (int i = 0; i < nloops; i++)
        if (loops[i])
            return;
    free(loops); /* the last one */
    loops = NULL;
    nloops = 0;
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement events_statements[] = {
    STATEMENT(SQL_EVENTS_OPEN),
    STATEMENT(SQL_EVENTS_AFTER),
    {NULL, NULL},
};
