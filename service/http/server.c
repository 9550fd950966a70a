/* server.c - listening, worker threads and graceful shutdown.
 *
 * The process binds one listening socket; worker 0 gets a dup() of it and
 * every other worker a socket of its own on the same address
 * (SO_REUSEPORT), and each has its own event_base, evhttp instance and
 * database pool, so a request lives its whole life on one thread and no lock
 * is taken on the hot path. Separate sockets, because with one shared socket
 * every loop wakes for a new connection and the first to run accepts all
 * that are waiting: 64 connections opened at once ended 58/6 on 2 workers,
 * one pool queueing while the other idled. With SO_REUSEPORT the kernel
 * hashes each connection to one socket, about evenly.
 *
 * Shutdown (SIGTERM/SIGINT): the main thread activates each worker's stop
 * event. The worker stops accepting, lets in-flight requests finish, and
 * leaves its loop when the last one is answered or the grace period ends. */
#include "http/server.h"
#include "app.h"
#include "http/conns.h"
#include "db/db.h"
#include "auth/hasher.h"
#include "auth/token_cache.h"
#include "core/log.h"
#include "http/request.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Verified tokens kept per worker: about 0.6 MB each when all are used,
 * enough for the tokens of this many users active at once. */
#define TOKEN_CACHE_SLOTS 1024

int server_listen(const char *host, int port)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0) {
        log_error("cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    /* TCP_NODELAY is inherited by accepted sockets (Linux): without it a
     * response written in two segments waits for the client's delayed ACK,
     * 40 ms on every keep-alive request. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
        log_error("cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Another listening socket on fd's address (same port, SO_REUSEPORT), or -1. */
static int server_listen_again(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    int one = 1;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    int s = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
        bind(s, (struct sockaddr *)&sa, len) < 0 || listen(s, 4096) < 0) {
        log_error("cannot add a listening socket: %s", strerror(errno));
        if (s >= 0)
            close(s);
        return -1;
    }
    return s;
}

static void worker_exit_loop(struct worker *w)
{
    event_base_loopexit(w->loop.base, NULL);
}

static void worker_grace_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    log_warn("worker %d: shutdown grace period over with %d requests in flight", w->loop.index,
             w->loop.inflight);
    worker_exit_loop(w);
}

static void worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    if (w->loop.draining)
        return;
    w->loop.draining = 1;
    if (w->loop.app->worker_drain)
        w->loop.app->worker_drain(&w->loop);
    if (w->bound) {
        evhttp_del_accept_socket(w->http, w->bound); /* closes our socket */
        w->bound = NULL;
    }
    if (w->loop.inflight == 0) {
        worker_exit_loop(w);
        return;
    }
    struct timeval tv = {w->loop.app->cfg.shutdown_grace_s, 0};
    evtimer_add(w->grace_ev, &tv);
}

/* The request layer's word that a draining loop answered its last request. */
static void worker_idle(struct loop *l)
{
    worker_exit_loop((struct worker *)l); /* the loop is the worker's first member */
}

static void worker_http_cb(struct evhttp_request *ev, void *arg)
{
    struct worker *w = arg;
    req_dispatch(ev, &w->loop);
}

static int worker_setup_http(struct worker *w)
{
    const struct config *cfg = &w->loop.app->cfg;
    w->http = evhttp_new(w->loop.base);
    if (!w->http)
        return -1;
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_OPTIONS);
    /* libevent's own 413 is bare HTML; up to twice the limit the body is
     * read and the request layer answers a proper problem document. */
    evhttp_set_max_body_size(w->http, (ev_ssize_t)config_max_upload_bytes(cfg) * 2);
    evhttp_set_max_headers_size(w->http, (ev_ssize_t)cfg->max_header_bytes);
    evhttp_set_timeout(w->http, cfg->request_timeout_s);
    evhttp_set_default_content_type(w->http, "application/json");
    evhttp_set_gencb(w->http, worker_http_cb, w);
    evhttp_set_bevcb(w->http, conns_bevcb, w->loop.conns);
    w->bound = evhttp_accept_socket_with_handle(w->http, w->listen_fd);
    return w->bound ? 0 : -1;
}

static struct worker *worker_new(struct app *app, int index, int listen_fd)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->loop.index = index;
    w->loop.app = app;
    w->loop.on_idle = worker_idle;
    w->listen_fd = index == 0 ? dup(listen_fd) : server_listen_again(listen_fd);
    w->loop.base = event_base_new();
    if (w->listen_fd < 0 || !w->loop.base)
        goto fail;
    w->stop_ev = event_new(w->loop.base, -1, 0, worker_stop_cb, w);
    w->grace_ev = evtimer_new(w->loop.base, worker_grace_expired, w);
    struct db_pool_config pc = {.conninfo = app->cfg.database_url,
                                .size = app->cfg.db_pool_size,
                                .queue_max = app->cfg.db_queue_max,
                                .wait_ms = app->cfg.db_wait_ms,
                                .statement_timeout_ms = app->cfg.statement_timeout_ms,
                                .pipeline_depth = app->cfg.db_pipeline_depth,
                                .group_max = app->cfg.db_group_commit};
    w->loop.db = db_pool_new(w->loop.base, &pc);
    w->loop.conns = conns_worker_new(app->conns, w->loop.base, index);
    w->loop.tokens = token_cache_new(TOKEN_CACHE_SLOTS);
    if (!w->stop_ev || !w->grace_ev || !w->loop.db || !w->loop.conns || !w->loop.tokens ||
        worker_setup_http(w) < 0)
        goto fail;
    return w;
fail:
    log_error("worker %d: setup failed", index);
    return NULL; /* start-up failure: the process exits */
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->loop.base);
    /* Answer whatever still waits on the database before the HTTP side goes. */
    db_pool_free(w->loop.db);
    w->loop.db = NULL;
    return NULL;
}

int server_start(struct app *app, int fd)
{
    if (evthread_use_pthreads() < 0)
        return -1;
    app->workers = calloc((size_t)app->cfg.workers, sizeof(*app->workers));
    app->conns = conns_new(app->cfg.max_conns_per_addr, app->cfg.request_timeout_s);
    if (!app->workers || !app->conns)
        return -1;
    for (int i = 0; i < app->cfg.workers; i++)
        if (!(app->workers[i] = worker_new(app, i, fd)))
            return -1;
    /* Module state of every worker exists before any loop runs, because
     * worker 0's listener may reach the others' state at once. */
    for (int i = 0; i < app->cfg.workers && app->worker_start; i++)
        app->worker_start(&app->workers[i]->loop);
    for (int i = 0; i < app->cfg.workers; i++)
        if (pthread_create(&app->workers[i]->thread, NULL, worker_main, app->workers[i]) != 0)
            return -1;
    return 0;
}

void server_stop(struct app *app)
{
    atomic_store(&app->shutting_down, 1);
    for (int i = 0; i < app->cfg.workers; i++)
        event_active(app->workers[i]->stop_ev, EV_TIMEOUT, 0);
}

void server_join(struct app *app, struct hasher *hasher)
{
    for (int i = 0; i < app->cfg.workers; i++)
        pthread_join(app->workers[i]->thread, NULL);
    /* ...and goes only when no loop is left to reach it. */
    for (int i = 0; i < app->cfg.workers && app->worker_stop; i++)
        app->worker_stop(&app->workers[i]->loop);
    hasher_free(hasher);
    for (int i = 0; i < app->cfg.workers; i++) {
        struct worker *w = app->workers[i];
        if (w->bound)
            evhttp_del_accept_socket(w->http, w->bound);
        evhttp_free(w->http);
        conns_worker_free(w->loop.conns);
        token_cache_free(w->loop.tokens);
        event_free(w->stop_ev);
        event_free(w->grace_ev);
        event_base_free(w->loop.base);
        free(w);
    }
    free(app->workers);
    app->workers = NULL;
    conns_free(app->conns);
    app->conns = NULL;
}

int server_pool_stats(const struct app *app, struct db_stats *sum)
{
    int unreachable = 0;
    memset(sum, 0, sizeof(*sum));
    for (int i = 0; i < app->cfg.workers; i++) {
        struct db_stats one;
        db_pool_stats(app->workers[i]->loop.db, &one);
        sum->size += one.size;
        sum->idle += one.idle;
        sum->busy += one.busy;
        sum->connecting += one.connecting;
        sum->down += one.down;
        sum->waiting += one.waiting;
        sum->inflight += one.inflight;
        sum->groups += one.groups;
        sum->grouped += one.grouped;
        sum->group_failures += one.group_failures;
        unreachable += one.down == one.size;
    }
    return unreachable;
}
