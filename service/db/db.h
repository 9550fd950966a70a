/* db.h - per-worker pool of asynchronous PostgreSQL connections, and the
 * one connection kind for LISTEN (a pool with cfg.listen set).
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count.
 * Asynchronous results arrive in a callback, with a db_status, instead. */
#ifndef REFLECTD_DB_H
#define REFLECTD_DB_H

#include <libpq-fe.h>

struct event_base;
struct db_pool;

enum db_status {
    DB_OK,          /* the statement ran; res holds its rows */
    DB_ERROR,       /* the statement failed; sqlstate says why, res has the details */
    DB_UNAVAILABLE, /* no connection to the database (down, restarting, broken) */
    DB_BUSY,        /* waited too long for a free connection, or the queue is full */
};

struct db_result {
    enum db_status status;
    PGresult *res;        /* owned by the pool: valid only during the callback */
    const char *sqlstate; /* "23505" etc. for DB_ERROR, else "" */
};

typedef void (*db_callback)(struct db_result *r, void *arg);
/* A notification on a listening pool's channel: payload is its text
 * ("" when none). NULL instead means the connection was (re)established and
 * LISTENs again: whatever was notified meanwhile is lost, so look again. */
typedef void (*db_notify_callback)(const char *payload, void *arg);

struct db_pool_config {
    const char *conninfo;
    int size;                 /* connections */
    int queue_max;            /* queries that may wait for a connection */
    int wait_ms;              /* how long one may wait */
    int statement_timeout_ms; /* server-side cancel of a long statement */
    /* Optional (zero: off). A listening pool LISTENs on this channel (a
     * plain lower-case identifier) on every connection it opens, before the
     * connection takes queries, and hands each notification to on_notify,
     * from the event loop: the LISTEN connection of the event streams is a
     * pool of one, with the same connect, reconnect and back-off. */
    const char *listen;
    db_notify_callback on_notify;
    void *notify_arg;
    const char *application_name; /* NULL: "reflectd" */
    /* Statements in flight per connection (libpq pipeline mode); 0 or 1:
     * one at a time, no pipeline. A listening pool is never pipelined. */
    int pipeline_depth;
    /* Group commit: up to this many statements sent with DB_GROUP share
     * one transaction, so one commit and one WAL flush (pipeline mode, one
     * Sync for all); 0 or 1: off. See db.c for what a group may hold. */
    int group_max;
};

struct db_stats {
    int size, idle, busy, connecting, down, waiting;
    int inflight; /* statements sent and not yet answered (busy <= inflight) */
    /* Group commit, since the start: groups committed, the statements in
     * them, and groups that failed (their statements then ran one by one). */
    long groups, grouped, group_failures;
};

/* Starts connecting (the connections come up from the loop); NULL when out
 * of memory. cfg's strings must outlive the pool. */
struct db_pool *db_pool_new(struct event_base *base, const struct db_pool_config *cfg);
/* Queues one statement with text parameters (NULL = SQL NULL). The callback is
 * called exactly once, always from the event loop, never from inside
 * db_query itself. sql must outlive the query (a string literal); values are
 * copied. */
void db_query(struct db_pool *p, const char *sql, int nparams, const char *const *values,
              db_callback cb, void *arg);
/* Flags of db_query_fmt. DB_BINARY: every column of the result in binary
 * format (PQgetvalue then points at PostgreSQL's send representation:
 * network byte order, see each type's *_send function). DB_GROUP: the
 * statement may share a transaction with other DB_GROUP statements of the
 * same moment (group commit, when the pool's group_max is above 1). Only
 * for a statement that is a whole transaction by itself, rarely waits for a
 * lock (a wait holds up the whole group; crossed waits between two groups
 * are a deadlock that PostgreSQL breaks after deadlock_timeout, and the
 * groups are then re-run), and whose answer does not depend on now() being
 * its own: its callback still gets its own result, and only once the
 * transaction has committed. If the connection is lost meanwhile, every
 * statement of the group gets DB_UNAVAILABLE: none may be retried blindly
 * unless it is idempotent. */
#define DB_BINARY 1
#define DB_GROUP  2
/* The same as db_query, with flags (DB_BINARY, DB_GROUP; 0: none). */
void db_query_fmt(struct db_pool *p, const char *sql, int nparams, const char *const *values,
                  int flags, db_callback cb, void *arg);
void db_pool_stats(const struct db_pool *p, struct db_stats *out);
/* Closes every connection; queued queries get DB_UNAVAILABLE first. */
void db_pool_free(struct db_pool *p);

#endif
