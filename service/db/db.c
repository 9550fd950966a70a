/* db.c - a pool of asynchronous libpq connections driven by one event loop.
 *
 * Each worker thread owns one pool; nothing here is shared between threads.
 * The loop never blocks on the database: connections are opened with
 * PQconnectStartParams/PQconnectPoll, statements are sent with
 * PQsendQueryPrepared/PQsendQueryParams on non-blocking sockets, and
 * results are read when the socket is readable.
 *
 * A connection is in one of four states, moved only by db_conn_set():
 *
 *   DOWN --(retry timer)--> CONNECTING --(poll ok)--> IDLE <--> BUSY
 *     ^                          |                      |         |
 *     +------------(failure)-----+----------------------+---------+
 *
 * BUSY means one or more statements in flight. With cfg.pipeline_depth > 1
 * a connection is in libpq's pipeline mode and carries up to that many
 * statements at once, in a FIFO (c->inflight): the next statement is
 * already on the server when the previous one's rows are being sent, so
 * the backend does not sit idle for a round trip through this loop between
 * statements. Every statement is followed by its own Sync, so each one is
 * its own implicit transaction (its own snapshot, as before) and an error
 * fails only that statement: its results, a NULL, then PGRES_PIPELINE_SYNC.
 * Depth 1 is the old protocol, with no pipeline mode at all (unless group
 * commit is on: see below).
 *
 * Group commit (cfg.group_max > 1): statements sent with DB_GROUP in the
 * same turn of the event loop go out on one connection with one Sync after
 * the last, so PostgreSQL runs them as one implicit transaction: one commit
 * and one WAL flush for all, one wake-up of the backend, one send and one
 * receive here. Under load many creates arrive in one turn; PostgreSQL
 * already shares a WAL flush between transactions committing at once, but
 * each still pays its own start, commit record and wake-ups. The first
 * DB_GROUP statement that finds an IDLE connection opens a group there and
 * makes the pool's group event active; every later one of the turn joins
 * it, up to group_max; the event, run after the callbacks already active in
 * this turn, sends the Sync. Statements that wait in the queue form groups
 * too, when a connection takes them. A connection carrying a group carries
 * nothing else. Each statement's results are held (c->held) until the
 * Sync's answer: only then has it committed, and only then do the callbacks
 * run, in order. If one statement failed, the transaction rolled back all
 * of them: the one that failed is sent again on its own and the others in
 * groups again, ahead of the queue, so each gets the answer it would have
 * had alone (db_group_failed).
 *
 * Dispatch: an IDLE connection first; else the least loaded BUSY one below
 * the depth (see db_conn_appendable for the head-of-line bound); else the
 * query waits in a FIFO queue with a timer (DB_BUSY when it fires). When
 * every connection is DOWN the database is presumed unreachable and queries
 * fail at once with DB_UNAVAILABLE, so a client gets a prompt 503 instead of
 * hanging; DOWN connections retry with capped back-off, so the pool heals by
 * itself when the database returns. A connection that breaks fails every
 * statement in its pipeline with DB_UNAVAILABLE, once each, from the loop.
 *
 * Idle connections keep a read event armed: when PostgreSQL goes away the
 * socket turns readable (EOF) and the connection is marked DOWN before the
 * next query would have found out the hard way.
 *
 * A listening pool (cfg.listen: the event streams' LISTEN connection) is the
 * same machine with one more step, and never in pipeline mode (LISTEN is a
 * simple-protocol query): a new connection sends LISTEN before it becomes
 * IDLE, and notifications, which libpq queues while reading, are handed to
 * cfg.on_notify wherever results are read. */
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

/* Head-of-line bound: a statement is appended to a connection's pipeline
 * only while the statement at its head has been on the server for less than
 * this. The service's statements take 0.1-1 ms of CPU, and a few ms of wall
 * time when PostgreSQL is saturated (16 backends on 2 cores); one that has
 * taken longer than this is probably a slow one (an export, a lock wait),
 * and whatever is behind it waits for all of it. Past the bound
 * a new statement waits in the pool's queue instead, which any connection
 * serves as soon as it has room, so a slow statement delays only the
 * statements already behind it (at most depth - 1), not every later one. */
#define DB_HOL_US 10000

enum db_conn_state { DBC_DOWN, DBC_CONNECTING, DBC_IDLE, DBC_BUSY };

/* Where an in-flight query's results are: the answer to its Parse (first
 * use of a statement on the connection), to the statement itself, or (in
 * pipeline mode) the Sync that ends it. */
enum db_stage { DBS_PREPARE, DBS_RUN, DBS_SYNC };

struct db_query {
    TAILQ_ENTRY(db_query) next; /* in the pool's queue or a connection's pipeline */
    struct db_pool *pool;
    const char *sql;
    int nparams;
    char **values;
    db_callback cb;
    void *arg;
    struct event *timer; /* queue wait limit, or the deferred failure */
    enum db_status fail_status;
    int raw;     /* simple protocol, never prepared (LISTEN cannot be) */
    int binary;  /* results in binary format (PQsendQuery*'s resultFormat 1) */
    int grouped; /* may share a commit (DB_GROUP, and the pool groups) */
    /* while in flight */
    enum db_stage stage;
    int stage_results; /* results read in this stage (a NULL ends a stage only after one) */
    int prep_slot;     /* c->prepared index of the Parse sent for it, or -1 */
    PGresult *result;  /* the first error, else the last result */
    ev_uint64_t sent_us;
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
    struct db_query_list inflight; /* sent, oldest first; non-empty exactly while BUSY */
    int depth;                     /* queries in inflight */
    int pipelined;                 /* in libpq pipeline mode */
    int draining;                  /* takes no more queries; reconnects once empty */
    /* Group commit: grouping while c carries a group (and nothing else),
     * group_open until its Sync is sent, group_failed when an error came
     * outside any statement (the commit itself); held, the group's
     * statements whose own results are in, waiting for the commit. depth
     * counts inflight and held. */
    int grouping, group_open, group_failed;
    struct db_query_list held;
    /* Statements prepared on this connection, by the address of their SQL
     * (every statement is a string constant); named s0, s1, ... A slot is
     * taken when its Parse is sent, ready once it succeeded, and cleared if
     * it failed. Until it is ready, the same statement behind it in the
     * pipeline goes unprepared, so that each gets its own error if the
     * Parse fails. */
    const char *prepared[DB_MAX_PREPARED];
    unsigned char ready[DB_MAX_PREPARED];
    int nprepared;
};

struct db_pool {
    struct event_base *base;
    struct db_pool_config cfg;
    int depth;              /* statements in flight per connection, at most */
    int group_max;          /* statements per group commit; 0: no groups */
    struct db_conn *open;   /* the connection whose group takes statements */
    struct event *group_ev; /* made active when a group opens; sends its Sync */
    char *conninfo;
    char options[128];
    char listen_sql[80]; /* "LISTEN channel", when cfg.listen */
    struct db_conn *conns;
    struct db_query_list queue;
    /* Written only by the owning thread; atomic so /metrics, served by any
     * worker, may read every pool's figures without a lock. */
    atomic_int in_state[4]; /* connections per enum db_conn_state */
    atomic_int waiting;
    atomic_int inflight; /* statements on connections */
    atomic_long groups, grouped, group_failures;
    int closing; /* db_pool_free is running: no new work */
};

static void db_conn_connect(struct db_conn *c);
static void db_conn_send(struct db_conn *c, struct db_query *q);
static void db_conn_notifies(struct db_conn *c);
static void db_conn_io(evutil_socket_t fd, short what, void *arg);
static void db_conn_fill(struct db_conn *c);
static void db_group_done(struct db_conn *c);
static void db_group_from_queue(struct db_conn *c);
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
    q->prep_slot = -1;
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
    if (q->result)
        PQclear(q->result);
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
    if (q->result) {
        PQclear(q->result);
        q->result = NULL;
    }
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

/* q waits for a connection, at the head of the queue or at its tail, for
 * at most cfg.wait_ms (then DB_BUSY). */
static void db_queue_add(struct db_pool *p, struct db_query *q, int at_head)
{
    q->timer = evtimer_new(p->base, db_query_wait_expired, q);
    if (!q->timer)
        abort();
    struct timeval tv = {p->cfg.wait_ms / 1000, (p->cfg.wait_ms % 1000) * 1000};
    evtimer_add(q->timer, &tv);
    if (at_head)
        TAILQ_INSERT_HEAD(&p->queue, q, next);
    else
        TAILQ_INSERT_TAIL(&p->queue, q, next);
    p->waiting++;
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
    assert((st == DBC_BUSY) == (c->depth > 0) || st == DBC_DOWN);
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

/* Takes q off c's pipeline or its held group (the head, or all of them
 * when c breaks). */
static void db_conn_unlink(struct db_conn *c, struct db_query_list *l, struct db_query *q)
{
    TAILQ_REMOVE(l, q, next);
    c->depth--;
    atomic_fetch_sub_explicit(&c->pool->inflight, 1, memory_order_relaxed);
}

/* Takes every statement off c, its held group and its pipeline, and fails
 * each with DB_UNAVAILABLE: from the loop (later), or at once when the
 * loop has stopped (db_pool_free). */
static void db_conn_fail_all(struct db_conn *c, int later)
{
    struct db_query_list *lists[] = {&c->held, &c->inflight};
    for (int i = 0; i < 2; i++) {
        struct db_query *q;
        while ((q = TAILQ_FIRST(lists[i]))) {
            db_conn_unlink(c, lists[i], q);
            if (later)
                db_query_fail_later(q, DB_UNAVAILABLE);
            else
                db_query_finish(q, DB_UNAVAILABLE, NULL);
        }
    }
}

static void db_conn_down(struct db_conn *c, const char *why)
{
    if (c->state != DBC_DOWN && c->state != DBC_CONNECTING)
        log_warn("database connection lost: %s", why);
    if (c->io) {
        event_free(c->io);
        c->io = NULL;
    }
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    c->nprepared = 0; /* a new connection knows no statements */
    c->pipelined = 0;
    c->draining = 0;
    /* We cannot know whether the statements committed; the callers say
     * 503. Each fails once, from the loop. */
    db_conn_fail_all(c, 1);
    if (c->pool->open == c)
        c->pool->open = NULL;
    c->grouping = c->group_open = c->group_failed = 0;
    db_conn_set(c, DBC_DOWN);
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
    assert(c->depth == 0);
    db_conn_send(c, q);
}

/* Turns libpq's pipeline mode on or off; only while c has nothing in
 * flight (libpq refuses otherwise). -1: c went down. */
static int db_conn_pipeline(struct db_conn *c, int on)
{
    if (c->pipelined == on)
        return 0;
    if (!(on ? PQenterPipelineMode(c->pg) : PQexitPipelineMode(c->pg))) {
        db_conn_down(c, PQerrorMessage(c->pg));
        return -1;
    }
    c->pipelined = on;
    return 0;
}

static void db_conn_established(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    if (PQsetnonblocking(c->pg, 1) != 0) {
        db_conn_down(c, "cannot make connection non-blocking");
        return;
    }
    if (p->depth > 1 && !p->cfg.listen && db_conn_pipeline(c, 1) < 0)
        return;
    if (c->backoff_ms)
        log_info("database connection re-established");
    c->backoff_ms = 0;
    if (p->cfg.listen) {
        db_conn_listen(c);
        return;
    }
    db_conn_set(c, DBC_IDLE);
    db_conn_fill(c);
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
        db_conn_established(c);
        return;
    default:
        db_conn_down(c, PQerrorMessage(c->pg));
        return;
    }
}

static int db_conn_find_prepared(const struct db_conn *c, const char *sql)
{
    for (int i = 0; i < c->nprepared; i++)
        if (c->prepared[i] == sql)
            return i;
    return -1;
}

/* The statement itself: by its prepared name (slot), or unprepared (-1). */
static int db_conn_send_run(struct db_conn *c, struct db_query *q, int slot)
{
    const char *const *values = (const char *const *)q->values;
    if (q->raw)
        return PQsendQuery(c->pg, q->sql);
    if (slot < 0)
        return PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, values, NULL, NULL, q->binary);
    char name[16];
    snprintf(name, sizeof(name), "s%d", slot);
    return PQsendQueryPrepared(c->pg, name, q->nparams, values, NULL, NULL, q->binary);
}

/* Prepared statements: the first use of a statement on a connection
 * prepares it, every later one only binds and executes, so PostgreSQL
 * parses and plans it once per connection instead of once per request.
 * Without a pipeline the Parse costs a round trip of its own (the statement
 * is sent when its answer arrives, db_conn_stage_ended); in a pipeline the
 * Parse, the statement and the Sync go together, and if the Parse fails
 * the statement is PGRES_PIPELINE_ABORTED and the query gets the Parse's
 * error. */
static int db_conn_send_statement(struct db_conn *c, struct db_query *q)
{
    int slot = q->raw ? -1 : db_conn_find_prepared(c, q->sql);
    q->stage = DBS_RUN;
    q->stage_results = 0;
    if (slot >= 0 && !c->ready[slot])
        slot = -1; /* its Parse is ahead in the pipeline, unanswered */
    else if (slot < 0 && !q->raw && c->nprepared < DB_MAX_PREPARED) {
        char name[16];
        slot = c->nprepared++;
        c->prepared[slot] = q->sql;
        c->ready[slot] = 0;
        q->prep_slot = slot;
        q->stage = DBS_PREPARE;
        q->stage_results = 0;
        snprintf(name, sizeof(name), "s%d", slot);
        if (!PQsendPrepare(c->pg, name, q->sql, q->nparams, NULL))
            return 0;
        if (!c->pipelined)
            return 1;
    }
    if (!db_conn_send_run(c, q, slot))
        return 0;
    /* libpq 15's PQpipelineSync also flushes, so sends cannot be batched
     * across statements (PQsendPipelineSync, libpq 17, could). */
    return !c->pipelined || q->grouped || PQpipelineSync(c->pg);
}

/* Flushes what libpq holds; watches for writability while some is left. */
static void db_conn_flush(struct db_conn *c)
{
    int f = PQflush(c->pg);
    if (f < 0)
        db_conn_down(c, PQerrorMessage(c->pg));
    else
        db_conn_watch(c, f ? EV_READ | EV_WRITE : EV_READ, 0);
}

/* Sends q on c, at the tail of its pipeline; c is BUSY until its last
 * result is read. */
static void db_conn_send(struct db_conn *c, struct db_query *q)
{
    assert(c->pg && c->depth < (q->grouped ? c->pool->group_max : c->pool->depth));
    if (q->timer) {
        event_free(q->timer);
        q->timer = NULL;
    }
    q->sent_us = 0;
    struct timeval now;
    if (event_base_gettimeofday_cached(c->pool->base, &now) == 0)
        q->sent_us = (ev_uint64_t)now.tv_sec * 1000000u + (ev_uint64_t)now.tv_usec;
    TAILQ_INSERT_TAIL(&c->inflight, q, next);
    c->depth++;
    atomic_fetch_add_explicit(&c->pool->inflight, 1, memory_order_relaxed);
    if (c->depth == 1)
        db_conn_set(c, DBC_BUSY);
    if (!db_conn_send_statement(c, q)) {
        db_conn_down(c, PQerrorMessage(c->pg));
        return;
    }
    if (!q->grouped) /* a group goes out with its Sync */
        db_conn_flush(c);
}

/* Keeps one result of q: the first error wins (a failed Parse, then the
 * statement's PGRES_PIPELINE_ABORTED), else the latest. */
static void db_query_keep(struct db_conn *c, struct db_query *q, PGresult *res)
{
    q->stage_results++;
    if (q->stage == DBS_PREPARE && PQresultStatus(res) == PGRES_COMMAND_OK)
        c->ready[q->prep_slot] = 1;
    else if (q->stage == DBS_PREPARE)
        c->prepared[q->prep_slot] = NULL; /* not prepared: the next use tries again */
    if (q->result && PQresultStatus(q->result) == PGRES_FATAL_ERROR) {
        PQclear(res);
        return;
    }
    if (q->result)
        PQclear(q->result);
    q->result = res;
}

static int db_result_failed(const PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED || st == PGRES_BAD_RESPONSE;
}

/* q, at the head of c's pipeline, has all its results: its callback runs.
 * Returns 1 when the error says c's prepared statements are stale. */
static int db_conn_complete(struct db_conn *c, struct db_query *q)
{
    db_conn_unlink(c, &c->inflight, q);
    if (c->depth == 0)
        db_conn_set(c, DBC_IDLE);
    PGresult *res = q->result;
    q->result = NULL;
    int failed = db_result_failed(res);
    /* "cached plan must not change result type": another instance migrated
     * the schema under our prepared statements. A new connection prepares
     * them afresh. */
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int stale = failed && state && strcmp(state, "0A000") == 0;
    /* Class 57P: the server is shutting down or terminated this backend
     * (57P01-57P03). The statement did not commit, and the connection is
     * going: the same DB_UNAVAILABLE as every statement behind it gets. */
    int gone = failed && state && strncmp(state, "57P", 3) == 0;
    db_query_finish(q, gone ? DB_UNAVAILABLE : failed ? DB_ERROR : DB_OK, gone ? NULL : res);
    PQclear(res);
    return stale;
}

/* A NULL from PQgetResult: the end of one command's results. Moves the head
 * query q on; returns 0 if the NULL was not one (nothing more to read). */
static int db_conn_stage_ended(struct db_conn *c, struct db_query *q, int *stale)
{
    if (q->stage_results == 0 || q->stage == DBS_SYNC)
        return 0;
    if (q->stage == DBS_RUN) {
        if (q->grouped) { /* its results are in; it waits for the commit */
            TAILQ_REMOVE(&c->inflight, q, next);
            TAILQ_INSERT_TAIL(&c->held, q, next);
        } else if (c->pipelined) {
            q->stage = DBS_SYNC;
            q->stage_results = 0;
        } else {
            *stale |= db_conn_complete(c, q);
        }
        return 1;
    }
    /* the Parse's answer */
    q->stage = DBS_RUN;
    q->stage_results = 0;
    if (c->pipelined)
        return 1; /* the statement itself was sent with it */
    if (db_result_failed(q->result))
        *stale |= db_conn_complete(c, q); /* a statement that does not prepare would not run */
    else if (!db_conn_send_run(c, q, q->prep_slot))
        db_conn_down(c, PQerrorMessage(c->pg));
    else
        db_conn_flush(c);
    return 1;
}

/* Reads whatever has arrived, and finishes the queries whose results end.
 * A callback may send more on c, or break it (c->pg is then NULL). */
static void db_conn_read(struct db_conn *c)
{
    if (!PQconsumeInput(c->pg)) {
        db_conn_down(c, PQerrorMessage(c->pg));
        return;
    }
    int stale = 0, nulls = 0;
    while (c->pg && c->depth > 0 && !PQisBusy(c->pg)) {
        struct db_query *q = TAILQ_FIRST(&c->inflight); /* NULL: a group's Sync is next */
        PGresult *res = PQgetResult(c->pg);
        nulls = res ? 0 : nulls + 1;
        if (res && PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            if (c->grouping && !q)
                db_group_done(c);
            else if (q && q->stage == DBS_SYNC)
                stale |= db_conn_complete(c, q);
            else
                db_conn_down(c, "pipeline out of step");
        } else if (res && !q) {
            c->group_failed = 1; /* an error at the group's commit */
            PQclear(res);
        } else if (res) {
            db_query_keep(c, q, res);
        } else if ((!q || !db_conn_stage_ended(c, q, &stale)) && nulls > 1) {
            /* A NULL that ends nothing: libpq moving on to the next command
             * of its queue; a second one means nothing more has arrived. */
            break;
        }
    }
    if (!c->pg)
        return; /* went down: its queries have been failed */
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        db_conn_down(c, "connection bad after query");
        return;
    }
    db_conn_notifies(c);
    if (stale && !c->draining)
        log_info("prepared statements outdated by a schema change; reconnecting");
    c->draining |= stale;
    if (c->draining && c->depth == 0)
        db_conn_down(c, "reconnecting for the new schema");
    else
        db_conn_fill(c);
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
            db_conn_flush(c);
            if (!c->pg)
                return;
        }
        if (what & EV_READ)
            db_conn_read(c);
        break;
    case DBC_IDLE:
        db_conn_idle_readable(c);
        break;
    case DBC_DOWN:
        break;
    }
}

/* Takes waiting queries, oldest first, while c has room; an IDLE
 * connection with nothing to do watches for EOF. */
static void db_conn_fill(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    struct db_query *q;
    while (c->pg && !c->draining && !c->grouping && c->depth < p->depth &&
           (q = TAILQ_FIRST(&p->queue))) {
        if (q->grouped) {
            if (c->depth == 0)
                db_group_from_queue(c);
            break; /* a group needs a connection of its own */
        }
        TAILQ_REMOVE(&p->queue, q, next);
        p->waiting--;
        db_conn_send(c, q);
    }
    if (c->pg && c->state == DBC_IDLE)
        db_conn_watch(c, EV_READ, 0);
}

/* ---- group commit ------------------------------------------------------ */

/* The first IDLE connection that takes queries, or NULL. */
static struct db_conn *db_pool_idle(struct db_pool *p)
{
    for (int i = 0; i < p->cfg.size; i++)
        if (p->conns[i].state == DBC_IDLE && !p->conns[i].draining)
            return &p->conns[i];
    return NULL;
}

/* Sends the Sync that ends c's group: from here on it takes no more. */
static void db_group_close(struct db_conn *c)
{
    if (c->pool->open == c)
        c->pool->open = NULL;
    if (!c->group_open)
        return;
    c->group_open = 0;
    if (!PQpipelineSync(c->pg)) {
        db_conn_down(c, PQerrorMessage(c->pg));
        return;
    }
    db_conn_flush(c);
}

/* The pool's group event: the turn's callbacks have run, the group is
 * complete. */
static void db_group_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct db_pool *p = arg;
    if (p->open)
        db_group_close(p->open);
}

/* An IDLE c starts a group: in pipeline mode for it (a pool of depth 1
 * uses the mode only for groups, so that every other statement goes as it
 * would without groups). -1: c went down. */
static int db_group_open(struct db_conn *c)
{
    if (db_conn_pipeline(c, 1) < 0)
        return -1;
    c->grouping = c->group_open = 1;
    return 0;
}

/* Sends q in the open group, or opens one on an IDLE connection. Returns 0
 * when there is neither (q then waits in the queue). */
static int db_group_add(struct db_pool *p, struct db_query *q)
{
    struct db_conn *c = p->open;
    if (!c) {
        /* A connection that fails to open a group is DOWN, so not found again. */
        while ((c = db_pool_idle(p)) && db_group_open(c) < 0)
            ;
        if (!c)
            return 0;
        p->open = c;
        event_active(p->group_ev, EV_TIMEOUT, 0);
    }
    db_conn_send(c, q);
    if (c->pg && c->depth >= p->group_max)
        db_group_close(c);
    return 1;
}

/* An IDLE c takes the DB_GROUP statements at the head of the queue as one
 * group, and closes it at once: they are all there. */
static void db_group_from_queue(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    struct db_query *q;
    if (db_group_open(c) < 0)
        return;
    while (c->pg && c->depth < p->group_max && (q = TAILQ_FIRST(&p->queue)) && q->grouped) {
        TAILQ_REMOVE(&p->queue, q, next);
        p->waiting--;
        db_conn_send(c, q);
    }
    if (c->pg)
        db_group_close(c);
}

/* A failed group's statements, in order, go back to the head of the queue
 * (they are older than what waits); IDLE connections take them at once. */
static void db_group_redo(struct db_pool *p, struct db_query_list *l)
{
    struct db_query *q;
    while ((q = TAILQ_LAST(l, db_query_list))) {
        TAILQ_REMOVE(l, q, next);
        if (q->result)
            PQclear(q->result);
        q->result = NULL;
        db_queue_add(p, q, 1);
    }
    for (int i = 0; i < p->cfg.size; i++)
        if (p->conns[i].state == DBC_IDLE)
            db_conn_fill(&p->conns[i]);
}

/* c's group rolled back because culprit failed (NULL: the commit itself
 * did). Only the culprit runs again alone: it then fails again, or it
 * failed only because of another member, and either way its answer is its
 * own. The others did nothing wrong and form groups again, so a retry that
 * meets its own id (23505, the common failure) costs the others one more
 * round, not a round each; each failure takes one statement out of the
 * groups, so this ends. After a failed commit, all run alone. Like
 * db_conn_complete: a stale prepared statement (0A000) first drains c
 * (the statements are re-run on other connections, prepared afresh), and a
 * server going away (57P) fails them all with DB_UNAVAILABLE. */
static void db_group_failed(struct db_conn *c, struct db_query_list *done,
                            const struct db_query *culprit)
{
    const char *state =
        culprit && culprit->result ? PQresultErrorField(culprit->result, PG_DIAG_SQLSTATE) : NULL;
    struct db_query *q;
    if (state && strncmp(state, "57P", 3) == 0) {
        while ((q = TAILQ_FIRST(done))) {
            TAILQ_REMOVE(done, q, next);
            db_query_fail_later(q, DB_UNAVAILABLE);
        }
        return;
    }
    if (state && strcmp(state, "0A000") == 0 && !c->draining) {
        log_info("prepared statements outdated by a schema change; reconnecting");
        c->draining = 1;
    }
    TAILQ_FOREACH(q, done, next)
    {
        q->grouped = culprit && q != culprit;
    }
    db_group_redo(c->pool, done);
}

/* The Sync's answer to c's group: all of its statements committed, or, if
 * one failed, none did (they are then sent again, one by one). */
static void db_group_done(struct db_conn *c)
{
    struct db_query_list done = TAILQ_HEAD_INITIALIZER(done);
    struct db_query *q, *culprit = NULL; /* the first that failed; those after it aborted */
    while ((q = TAILQ_FIRST(&c->held))) {
        db_conn_unlink(c, &c->held, q);
        if (!culprit && db_result_failed(q->result))
            culprit = q;
        TAILQ_INSERT_TAIL(&done, q, next);
    }
    int failed = c->group_failed || culprit;
    c->grouping = c->group_failed = 0;
    struct db_pool *p = c->pool;
    assert(c->depth == 0); /* a connection carrying a group carries nothing else */
    db_conn_set(c, DBC_IDLE);
    if (p->depth == 1)
        db_conn_pipeline(c, 0); /* if c goes down, the group has still committed */
    if (failed) {
        atomic_fetch_add_explicit(&p->group_failures, 1, memory_order_relaxed);
        db_group_failed(c, &done, culprit);
        return;
    }
    atomic_fetch_add_explicit(&p->groups, 1, memory_order_relaxed);
    while ((q = TAILQ_FIRST(&done))) {
        TAILQ_REMOVE(&done, q, next);
        atomic_fetch_add_explicit(&p->grouped, 1, memory_order_relaxed);
        PGresult *res = q->result;
        q->result = NULL;
        db_query_finish(q, DB_OK, res);
        PQclear(res);
    }
}

/* ---- the pool --------------------------------------------------------- */

struct db_pool *db_pool_new(struct event_base *base, const struct db_pool_config *cfg)
{
    struct db_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base = base;
    p->cfg = *cfg;
    p->depth = cfg->listen || cfg->pipeline_depth < 1 ? 1 : cfg->pipeline_depth;
    p->group_max = cfg->listen || cfg->group_max < 2 ? 0 : cfg->group_max;
    p->group_ev = event_new(base, -1, 0, db_group_due, p);
    if (!p->group_ev)
        abort();
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
        TAILQ_INIT(&c->inflight);
        TAILQ_INIT(&c->held);
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

/* May q's statement go behind what c has in flight? Only in a pipeline with
 * room, and only while c's oldest statement is younger than DB_HOL_US. */
static int db_conn_appendable(const struct db_conn *c, ev_uint64_t now_us)
{
    if (c->state != DBC_BUSY || !c->pipelined || c->draining || c->grouping ||
        c->depth >= c->pool->depth)
        return 0;
    const struct db_query *head = TAILQ_FIRST(&c->inflight);
    return now_us < head->sent_us + DB_HOL_US;
}

/* Where a new query goes: an IDLE connection, else the least loaded one it
 * may be appended to; NULL: none, it waits. */
static struct db_conn *db_pool_pick(struct db_pool *p)
{
    struct db_conn *best = db_pool_idle(p);
    if (best || p->depth == 1)
        return best;
    ev_uint64_t now_us = 0;
    struct timeval now;
    if (event_base_gettimeofday_cached(p->base, &now) == 0)
        now_us = (ev_uint64_t)now.tv_sec * 1000000u + (ev_uint64_t)now.tv_usec;
    for (int i = 0; i < p->cfg.size; i++) {
        struct db_conn *c = &p->conns[i];
        if (db_conn_appendable(c, now_us) && (!best || c->depth < best->depth))
            best = c;
    }
    return best;
}

void db_query_fmt(struct db_pool *p, const char *sql, int nparams, const char *const *values,
                  int flags, db_callback cb, void *arg)
{
    struct db_query *q = db_query_new(p, sql, nparams, values, cb, arg);
    q->binary = (flags & DB_BINARY) != 0;
    q->grouped = (flags & DB_GROUP) && p->group_max > 1;
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
    /* Waiting queries are older: a new one is sent ahead of them only while
     * none wait. */
    if (q->grouped && TAILQ_EMPTY(&p->queue) && db_group_add(p, q))
        return;
    struct db_conn *c = TAILQ_EMPTY(&p->queue) && !q->grouped ? db_pool_pick(p) : NULL;
    if (c) {
        /* Sending directly keeps the caller's stack free of callbacks:
         * results only ever arrive through the event loop (a send that
         * fails defers its failure too). */
        db_conn_send(c, q);
        return;
    }
    if (p->waiting >= p->cfg.queue_max) {
        db_query_fail_later(q, DB_BUSY);
        return;
    }
    db_queue_add(p, q, 0);
}

void db_pool_stats(const struct db_pool *p, struct db_stats *out)
{
    out->size = p->cfg.size;
    out->idle = db_pool_count(p, DBC_IDLE);
    out->busy = db_pool_count(p, DBC_BUSY);
    out->connecting = db_pool_count(p, DBC_CONNECTING);
    out->down = db_pool_count(p, DBC_DOWN);
    out->waiting = p->waiting;
    out->inflight = atomic_load_explicit(&p->inflight, memory_order_relaxed);
    out->groups = atomic_load_explicit(&p->groups, memory_order_relaxed);
    out->grouped = atomic_load_explicit(&p->grouped, memory_order_relaxed);
    out->group_failures = atomic_load_explicit(&p->group_failures, memory_order_relaxed);
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
        db_conn_fail_all(c, 0);
        if (c->io)
            event_free(c->io);
        if (c->retry)
            event_free(c->retry);
        if (c->pg)
            PQfinish(c->pg);
    }
    event_free(p->group_ev);
    free(p->conns);
    free(p->conninfo);
    free(p);
}
