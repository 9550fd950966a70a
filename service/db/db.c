/* db.c - a pool of asynchronous libpq connections driven by one event loop.
 *
 * Each worker thread owns one pool; nothing here is shared between threads.
 * The loop never blocks on the database: connections are opened with
 * PQconnectStartParams/PQconnectPoll, statements are sent with
 * PQsendQueryParams on non-blocking sockets, and results are read when the
 * socket is readable.
 *
 * A connection is in one of four states, moved only by db_conn_set():
 *
 *   DOWN --(retry timer)--> CONNECTING --(poll ok)--> IDLE <--> BUSY
 *     ^                          |                      |         |
 *     +------------(failure)-----+----------------------+---------+
 *
 * A query that finds no IDLE connection waits in a FIFO queue with a timer
 * (DB_BUSY when it fires). When every connection is DOWN the database is
 * presumed unreachable and queries fail at once with DB_UNAVAILABLE, so a
 * client gets a prompt 503 instead of hanging; DOWN connections retry with
 * capped back-off, so the pool heals by itself when the database returns.
 *
 * Idle connections keep a read event armed: when PostgreSQL goes away the
 * socket turns readable (EOF) and the connection is marked DOWN before the
 * next query would have found out the hard way.
 *
 * A listening pool (cfg.listen: the event streams' LISTEN connection) is the
 * same machine with one more step: a new connection sends LISTEN before it
 * becomes IDLE, and notifications, which libpq queues while reading, are
 * handed to cfg.on_notify wherever results are read. */
#include "db/db.h"
#include "core/log.h"

#include <assert.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* More distinct statements than the service has; past it, unprepared. */
#define DB_MAX_PREPARED 128

enum db_conn_state { DBC_DOWN, DBC_CONNECTING, DBC_IDLE, DBC_BUSY };

struct db_query {
    TAILQ_ENTRY(db_query) next;
    struct db_pool *pool;
    const char *sql;
    int nparams;
    char **values;
    db_callback cb;
    void *arg;
    struct event *timer; /* queue wait limit, or the deferred failure */
    enum db_status fail_status;
    int raw;    /* simple protocol, never prepared (LISTEN cannot be) */
    int binary; /* results in binary format (PQsendQuery*'s resultFormat 1) */
};

// cppcheck-suppress unusedStructMember
TAILQ_HEAD(db_query_list, db_query);

struct db_conn {
    struct db_pool *pool;
    PGconn *pg;
    enum db_conn_state state;
    struct event *io;    /* socket readiness */
    short io_flags;      /* what io was made with */
    struct event *retry; /* reconnect timer while DOWN */
    int backoff_ms;
    struct db_query *query; /* in flight while BUSY */
    PGresult *result;       /* result kept while draining */
    /* Statements prepared on this connection, by the address of their SQL
     * (every statement is a string constant); named s0, s1, ... */
    const char *prepared[DB_MAX_PREPARED];
    int nprepared;
    int preparing; /* the query waits for its statement to be prepared */
};

struct db_pool {
    struct event_base *base;
    struct db_pool_config cfg;
    char *conninfo;
    char options[128];
    char listen_sql[80]; /* "LISTEN channel", when cfg.listen */
    struct db_conn *conns;
    struct db_query_list queue;
    /* Written only by the owning thread; atomic so /metrics, served by any
     * worker, may read every pool's figures without a lock. */
    atomic_int in_state[4]; /* connections per enum db_conn_state */
    atomic_int waiting;
    int closing; /* db_pool_free is running: no new work */
};

static void db_conn_connect(struct db_conn *c);
static void db_conn_send(struct db_conn *c);
static void db_conn_notifies(struct db_conn *c);
static void db_conn_io(evutil_socket_t fd, short what, void *arg);
static void db_conn_dispatch(struct db_conn *c);
static void db_query_finish(struct db_query *q, enum db_status st, PGresult *res);

/* ---- queries ---------------------------------------------------------- */

static struct db_query *db_query_new(struct db_pool *p, const char *sql, int n,
                                     const char *const *values, db_callback cb, void *arg)
{
    struct db_query *q = calloc(1, sizeof(*q));
    if (!q)
        abort();
    q->pool = p;
    q->sql = sql;
    q->nparams = n;
    q->cb = cb;
    q->arg = arg;
    if (n > 0) {
        q->values = calloc((size_t)n, sizeof(char *));
        if (!q->values)
            abort();
        for (int i = 0; i < n; i++)
            if (values[i] && !(q->values[i] = strdup(values[i])))
                abort();
    }
    return q;
}

static void db_query_free(struct db_query *q)
{
    for (int i = 0; i < q->nparams; i++)
        free(q->values[i]);
    free(q->values);
    if (q->timer)
        event_free(q->timer);
    free(q);
}

static void db_query_finish(struct db_query *q, enum db_status st, PGresult *res)
{
    struct db_result r = {st, res, ""};
    if (st == DB_ERROR && res) {
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        r.sqlstate = s ? s : "";
    }
    q->cb(&r, q->arg);
    db_query_free(q);
}

static void db_query_deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct db_query *q = arg;
    db_query_finish(q, q->fail_status, NULL);
}

/* Fails q from the event loop rather than from the caller's stack. */
static void db_query_fail_later(struct db_query *q, enum db_status st)
{
    q->fail_status = st;
    if (q->timer)
        event_free(q->timer);
    q->timer = evtimer_new(q->pool->base, db_query_deferred, q);
    if (!q->timer)
        abort();
    event_active(q->timer, EV_TIMEOUT, 0);
}

static void db_query_wait_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct db_query *q = arg;
    TAILQ_REMOVE(&q->pool->queue, q, next);
    q->pool->waiting--;
    db_query_finish(q, DB_BUSY, NULL);
}

static void db_queue_fail_all(struct db_pool *p, enum db_status st)
{
    struct db_query *q;
    while ((q = TAILQ_FIRST(&p->queue))) {
        TAILQ_REMOVE(&p->queue, q, next);
        p->waiting--;
        db_query_fail_later(q, st);
    }
}

/* ---- connections ------------------------------------------------------ */

static int db_pool_count(const struct db_pool *p, enum db_conn_state st)
{
    return atomic_load_explicit(&p->in_state[st], memory_order_relaxed);
}

/* The only place a connection changes state. */
static void db_conn_set(struct db_conn *c, enum db_conn_state st)
{
    /* A connection is BUSY exactly while it holds a query. */
    assert((st == DBC_BUSY) == (c->query != NULL) || st == DBC_DOWN);
    assert(db_pool_count(c->pool, c->state) > 0);
    atomic_fetch_sub_explicit(&c->pool->in_state[c->state], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->pool->in_state[st], 1, memory_order_relaxed);
    c->state = st;
}

/* Without a timeout the event persists, and asking for what it already
 * watches changes nothing: re-creating it at every step of every statement
 * cost two epoll_ctl calls each time (about six per statement). Timeouts
 * (connecting) are one-shot and made afresh each time. */
static void db_conn_watch(struct db_conn *c, short what, int timeout_ms)
{
    short flags = timeout_ms > 0 ? what : (short)(what | EV_PERSIST);
    if (c->io && timeout_ms <= 0 && c->io_flags == flags)
        return; /* armed already */
    if (c->io)
        event_free(c->io);
    c->io = event_new(c->pool->base, PQsocket(c->pg), flags, db_conn_io, c);
    if (!c->io)
        abort();
    c->io_flags = flags;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    event_add(c->io, timeout_ms > 0 ? &tv : NULL);
}

static void db_conn_down(struct db_conn *c, const char *why)
{
    if (c->state != DBC_DOWN && c->state != DBC_CONNECTING)
        log_warn("database connection lost: %s", why);
    if (c->io) {
        event_free(c->io);
        c->io = NULL;
    }
    if (c->result) {
        PQclear(c->result);
        c->result = NULL;
    }
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    c->nprepared = 0; /* a new connection knows no statements */
    c->preparing = 0;
    db_conn_set(c, DBC_DOWN);
    if (c->query) {
        /* We cannot know whether the statement committed; the caller says 503. */
        struct db_query *q = c->query;
        c->query = NULL;
        db_query_fail_later(q, DB_UNAVAILABLE);
    }
    struct db_pool *p = c->pool;
    if (db_pool_count(p, DBC_DOWN) == p->cfg.size)
        db_queue_fail_all(p, DB_UNAVAILABLE);
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 100;
    if (c->backoff_ms > 2000)
        c->backoff_ms = 2000;
    struct timeval tv = {c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000};
    evtimer_add(c->retry, &tv);
}

static void db_conn_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    db_conn_connect(arg);
}

static void db_conn_connect(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    const char *keys[] = {"dbname", "options", "application_name", "connect_timeout", NULL};
    const char *app = p->cfg.application_name ? p->cfg.application_name : "reflectd";
    const char *vals[] = {p->conninfo, p->options, app, "5", NULL};
    c->pg = PQconnectStartParams(keys, vals, 1);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD || PQsocket(c->pg) < 0) {
        db_conn_down(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        return;
    }
    db_conn_set(c, DBC_CONNECTING);
    db_conn_watch(c, EV_WRITE, 5000);
}

/* A listening pool's connection: LISTEN is its first statement, ahead of
 * any queued query; only its answer makes the connection IDLE. */
static void db_conn_listened(struct db_result *res, void *arg)
{
    struct db_conn *c = arg;
    if (res->status == DB_ERROR) {
        db_conn_down(c, "LISTEN failed");
        return;
    }
    if (res->status != DB_OK)
        return; /* the connection went down (or the pool is closing): it retries */
    const struct db_pool_config *cfg = &c->pool->cfg;
    cfg->on_notify(NULL, cfg->notify_arg);
}

static void db_conn_listen(struct db_conn *c)
{
    struct db_query *q = db_query_new(c->pool, c->pool->listen_sql, 0, NULL, db_conn_listened, c);
    q->raw = 1;
    assert(!c->query);
    c->query = q;
    db_conn_send(c);
}

static void db_conn_poll_connect(struct db_conn *c, short what)
{
    if (what & EV_TIMEOUT) {
        db_conn_down(c, "connect timeout");
        return;
    }
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        db_conn_watch(c, EV_READ, 5000);
        return;
    case PGRES_POLLING_WRITING:
        db_conn_watch(c, EV_WRITE, 5000);
        return;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(c->pg, 1) != 0) {
            db_conn_down(c, "cannot make connection non-blocking");
            return;
        }
        if (c->backoff_ms)
            log_info("database connection re-established");
        c->backoff_ms = 0;
        if (c->pool->cfg.listen) {
            db_conn_listen(c);
            return;
        }
        db_conn_set(c, DBC_IDLE);
        db_conn_dispatch(c);
        return;
    default:
        db_conn_down(c, PQerrorMessage(c->pg));
        return;
    }
}

/* Prepared statements: the first use of a statement on a connection
 * prepares it (one extra round trip), every later one only binds and
 * executes, so PostgreSQL parses and plans it once per connection instead
 * of once per request. */
static int db_conn_send_statement(struct db_conn *c, struct db_query *q)
{
    const char *const *values = (const char *const *)q->values;
    char name[16];
    if (q->raw)
        return PQsendQuery(c->pg, q->sql);
    for (int i = 0; i < c->nprepared; i++) {
        if (c->prepared[i] == q->sql) {
            snprintf(name, sizeof(name), "s%d", i);
            return PQsendQueryPrepared(c->pg, name, q->nparams, values, NULL, NULL, q->binary);
        }
    }
    if (c->nprepared == DB_MAX_PREPARED)
        return PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, values, NULL, NULL, q->binary);
    snprintf(name, sizeof(name), "s%d", c->nprepared);
    c->preparing = 1;
    return PQsendPrepare(c->pg, name, q->sql, q->nparams, NULL);
}

/* Sends c->query; the connection is BUSY until its last result is read. */
static void db_conn_send(struct db_conn *c)
{
    struct db_query *q = c->query;
    assert(q && c->pg);
    db_conn_set(c, DBC_BUSY);
    if (!db_conn_send_statement(c, q)) {
        db_conn_down(c, PQerrorMessage(c->pg));
        return;
    }
    int f = PQflush(c->pg);
    if (f < 0)
        db_conn_down(c, PQerrorMessage(c->pg));
    else
        db_conn_watch(c, f ? EV_READ | EV_WRITE : EV_READ, 0);
}

/* Reads whatever has arrived; finishes the query when its results end. */
static void db_conn_read(struct db_conn *c)
{
    if (!PQconsumeInput(c->pg)) {
        db_conn_down(c, PQerrorMessage(c->pg));
        return;
    }
    while (!PQisBusy(c->pg)) {
        PGresult *res = PQgetResult(c->pg);
        if (!res)
            break;
        /* One statement gives one result; keep the first error if any. */
        if (c->result && PQresultStatus(c->result) == PGRES_FATAL_ERROR) {
            PQclear(res);
            continue;
        }
        if (c->result)
            PQclear(c->result);
        c->result = res;
    }
    if (PQisBusy(c->pg)) {
        db_conn_watch(c, EV_READ, 0);
        return;
    }
    struct db_query *q = c->query;
    PGresult *res = c->result;
    c->result = NULL;
    if (c->preparing) {
        c->preparing = 0;
        if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
            PQclear(res);
            c->prepared[c->nprepared++] = q->sql;
            db_conn_send(c); /* now the query itself */
            return;
        }
        /* A statement that does not prepare would not run either: its
         * error is the query's. */
    }
    c->query = NULL;
    db_conn_set(c, DBC_IDLE);
    int failed = !res || PQresultStatus(res) == PGRES_FATAL_ERROR;
    /* "cached plan must not change result type": another instance migrated
     * the schema under our prepared statements. A new connection prepares
     * them afresh. */
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int stale = failed && state && strcmp(state, "0A000") == 0;
    db_query_finish(q, failed ? DB_ERROR : DB_OK, res);
    PQclear(res);
    if (c->state == DBC_IDLE && PQstatus(c->pg) == CONNECTION_BAD)
        db_conn_down(c, "connection bad after query");
    else if (c->state == DBC_IDLE && stale)
        db_conn_down(c, "prepared statements outdated by a schema change; reconnecting");
    else if (c->state == DBC_IDLE) {
        db_conn_notifies(c);
        db_conn_dispatch(c);
    }
}

/* Notifications arrive between results (libpq queues them as it reads):
 * a listening pool hands them on, any other swallows them. */
static void db_conn_notifies(struct db_conn *c)
{
    const struct db_pool_config *cfg = &c->pool->cfg;
    PGnotify *n;
    while (c->pg && (n = PQnotifies(c->pg))) {
        if (cfg->on_notify)
            cfg->on_notify(n->extra ? n->extra : "", cfg->notify_arg);
        PQfreemem(n);
    }
}

static void db_conn_idle_readable(struct db_conn *c)
{
    /* Nothing was asked: this is EOF, an error, or a notification. */
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
        db_conn_down(c, "server closed the connection");
        return;
    }
    db_conn_notifies(c);
    db_conn_watch(c, EV_READ, 0);
}

static void db_conn_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct db_conn *c = arg;
    switch (c->state) {
    case DBC_CONNECTING:
        db_conn_poll_connect(c, what);
        break;
    case DBC_BUSY:
        if (what & EV_WRITE) {
            int f = PQflush(c->pg);
            if (f < 0) {
                db_conn_down(c, PQerrorMessage(c->pg));
                return;
            }
            if (f == 1) {
                db_conn_watch(c, EV_READ | EV_WRITE, 0);
                return;
            }
        }
        db_conn_read(c);
        break;
    case DBC_IDLE:
        db_conn_idle_readable(c);
        break;
    case DBC_DOWN:
        break;
    }
}

/* An IDLE connection takes the oldest waiting query, or watches for EOF. */
static void db_conn_dispatch(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    struct db_query *q = TAILQ_FIRST(&p->queue);
    if (!q) {
        db_conn_watch(c, EV_READ, 0);
        return;
    }
    TAILQ_REMOVE(&p->queue, q, next);
    p->waiting--;
    if (q->timer) {
        event_free(q->timer);
        q->timer = NULL;
    }
    assert(c->state == DBC_IDLE && !c->query); /* checked out once */
    c->query = q;
    db_conn_send(c);
}

/* ---- the pool --------------------------------------------------------- */

struct db_pool *db_pool_new(struct event_base *base, const struct db_pool_config *cfg)
{
    struct db_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base = base;
    p->cfg = *cfg;
    p->conninfo = strdup(cfg->conninfo);
    p->conns = calloc((size_t)cfg->size, sizeof(*p->conns));
    if (!p->conninfo || !p->conns)
        abort();
    /* UTC so every timestamp the API renders is the same, whatever the server says. */
    /* UTF-8 whatever the database's encoding: JSON is UTF-8, and the texts
     * of a summary arrive with their length in UTF-8 bytes (summaries.c). */
    snprintf(p->options, sizeof(p->options),
             "-c statement_timeout=%d -c TimeZone=UTC -c client_encoding=UTF8",
             cfg->statement_timeout_ms);
    if (cfg->listen) {
        assert(cfg->on_notify && strspn(cfg->listen, "abcdefghijklmnopqrstuvwxyz_") ==
                                     strlen(cfg->listen)); /* spliced into SQL */
        snprintf(p->listen_sql, sizeof(p->listen_sql), "LISTEN %s", cfg->listen);
    }
    TAILQ_INIT(&p->queue);
    atomic_store(&p->in_state[DBC_DOWN], cfg->size); /* calloc made every conn DOWN */
    for (int i = 0; i < cfg->size; i++) {
        struct db_conn *c = &p->conns[i];
        c->pool = p;
        c->retry = evtimer_new(base, db_conn_retry, c);
        if (!c->retry)
            abort();
        db_conn_connect(c);
    }
    return p;
}

void db_query(struct db_pool *p, const char *sql, int nparams, const char *const *values,
              db_callback cb, void *arg)
{
    db_query_fmt(p, sql, nparams, values, 0, cb, arg);
}

void db_query_fmt(struct db_pool *p, const char *sql, int nparams, const char *const *values,
                  int binary, db_callback cb, void *arg)
{
    struct db_query *q = db_query_new(p, sql, nparams, values, cb, arg);
    q->binary = binary;
    if (p->closing) {
        /* The loop has stopped, so nothing could run a deferred callback:
         * fail now. Callers issue queries as their last act, so this is
         * safe for them. */
        db_query_finish(q, DB_UNAVAILABLE, NULL);
        return;
    }
    if (db_pool_count(p, DBC_DOWN) == p->cfg.size) {
        db_query_fail_later(q, DB_UNAVAILABLE);
        return;
    }
    if (p->waiting >= p->cfg.queue_max) {
        db_query_fail_later(q, DB_BUSY);
        return;
    }
    for (int i = 0; i < p->cfg.size; i++) {
        struct db_conn *c = &p->conns[i];
        if (c->state == DBC_IDLE) {
            /* Sending directly keeps the caller's stack free of callbacks:
             * results only ever arrive through the event loop. */
            assert(!c->query); /* checked out once */
            c->query = q;
            db_conn_send(c);
            return;
        }
    }
    q->timer = evtimer_new(p->base, db_query_wait_expired, q);
    if (!q->timer)
        abort();
    struct timeval tv = {p->cfg.wait_ms / 1000, (p->cfg.wait_ms % 1000) * 1000};
    evtimer_add(q->timer, &tv);
    TAILQ_INSERT_TAIL(&p->queue, q, next);
    p->waiting++;
}

void db_pool_stats(const struct db_pool *p, struct db_stats *out)
{
    out->size = p->cfg.size;
    out->idle = db_pool_count(p, DBC_IDLE);
    out->busy = db_pool_count(p, DBC_BUSY);
    out->connecting = db_pool_count(p, DBC_CONNECTING);
    out->down = db_pool_count(p, DBC_DOWN);
    out->waiting = p->waiting;
}

void db_pool_free(struct db_pool *p)
{
    if (!p)
        return;
    p->closing = 1;
    struct db_query *q;
    while ((q = TAILQ_FIRST(&p->queue))) {
        TAILQ_REMOVE(&p->queue, q, next);
        db_query_finish(q, DB_UNAVAILABLE, NULL);
    }
    for (int i = 0; i < p->cfg.size; i++) {
        struct db_conn *c = &p->conns[i];
        if (c->query) {
            struct db_query *inflight = c->query;
            c->query = NULL;
            db_query_finish(inflight, DB_UNAVAILABLE, NULL);
        }
        if (c->io)
            event_free(c->io);
        if (c->retry)
            event_free(c->retry);
        if (c->result)
            PQclear(c->result);
        if (c->pg)
            PQfinish(c->pg);
    }
    free(p->conns);
    free(p->conninfo);
    free(p);
}
