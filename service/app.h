/* app.h - process-wide state shared (read-only, or atomically) by workers. */
#ifndef REFLECTD_APP_H
#define REFLECTD_APP_H

#include "core/config.h"
#include "notify/notify_config.h"
#include "http/router.h"

#include <stdatomic.h>
#include <stddef.h>

struct metrics;
struct metrics_http;
struct worker;
struct loop;
struct hasher;
struct tokens;
struct conns;
struct sender;
struct oidc_keys;
struct janitor;

struct app {
    struct config cfg;
    const struct route *routes;
    size_t nroutes;
    struct metrics *metrics;
    struct metrics_http *metrics_http; /* the metrics listener; NULL when off */
    struct worker **workers;           /* cfg.workers of them */
    struct hasher *hasher;             /* argon2id off the event loops */
    struct tokens *tokens;             /* JWT keys */
    struct conns *conns;               /* connections per address, request deadlines */
    struct notify_config notify;       /* push and e-mail channels (issue 15) */
    struct sender *sender;             /* the outbox sender (sender.c); NULL before start */
    struct oidc_keys *oidc_keys;       /* identity providers' keys, fetched off the loops */
    struct janitor *janitor;           /* periodic maintenance, on loop 0 (janitor.c) */
    int schema_version;                /* the highest migration this binary knows */
    atomic_int shutting_down;
    /* Per-worker hooks of modules with long-lived state (event streams,
     * janitor): start before any worker thread runs, drain on the worker's
     * thread when shutdown begins, stop after every thread has ended. */
    void (*worker_start)(struct loop *l);
    void (*worker_drain)(struct loop *l);
    void (*worker_stop)(struct loop *l);
    /* The outbox sender's figures for /metrics, Prometheus text into buf (the
     * metrics listener is below the sender's layer, so main.c hands it this). */
    void (*outbox_metrics)(const struct app *app, char *buf, size_t n);
};

#endif
