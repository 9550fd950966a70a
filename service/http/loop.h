/* loop.h - one event-loop thread as the layers above the server see it.
 *
 * server.c owns one per worker thread (inside its struct worker) and fills
 * it before the thread runs; the request layer counts requests on it and,
 * when a draining loop has answered its last one, tells the server through
 * on_idle. That callback is what keeps the dependency one way: request.c
 * needs nothing of server.c, server.c calls req_dispatch(). Modules with
 * per-loop state (event streams, the janitor) are given the loop, never the
 * worker. Nothing in it is shared between threads. */
#ifndef REFLECTD_LOOP_H
#define REFLECTD_LOOP_H

struct app;
struct event_base;
struct db_pool;
struct conns_worker;
struct token_cache;

struct loop {
    int index; /* 0 .. cfg.workers-1; loop 0 also runs the singletons */
    struct app *app;
    struct event_base *base;
    struct db_pool *db;         /* this loop's connections (db/db.c) */
    struct conns_worker *conns; /* this loop's connection table (http/conns.c) */
    struct token_cache *tokens; /* verified access tokens (auth/token_cache.c) */
    int inflight;               /* requests begun and not yet finished */
    int draining;               /* shutdown began: accept nothing new */
    /* Called by the request layer when draining and inflight reaches 0. */
    void (*on_idle)(struct loop *l);
};

#endif
