/* metrics_http.c - the metrics listener: GET /metrics on METRICS_ADDR.
 *
 * The metrics are for whoever runs the service, not for the apps, so they
 * are not on the public API listener: by default they answer on loopback
 * only (127.0.0.1:9090), where a Prometheus agent on the host scrapes them,
 * and a deployment that wants them elsewhere says so.
 *
 * The listener has a thread, event loop and evhttp of its own rather than
 * a spot on a worker's loop: a scrape (or a stuck or hostile scraper) then
 * never takes time from a loop that serves the API, it needs none of the
 * request layer's machinery (routing, limits, the per-address table), and
 * it reads only figures that are safe to read from another thread (the
 * metrics' and pools' atomics, the connection table and hash queue under
 * their locks). One more mostly idle thread is the whole cost. */
#include "http/metrics_http.h"
#include "app.h"
#include "http/conns.h"
#include "db/db.h"
#include "auth/hasher.h"
#include "core/log.h"
#include "http/metrics.h"
#include "http/server.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A scraper gets this long for a request; then its connection is closed. */
#define METRICS_HTTP_TIMEOUT_S 10

struct metrics_http {
    struct app *app;
    int fd; /* the bound socket; evhttp owns it once started */
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
    int running;
};

static void metrics_http_gauges(struct app *app, struct metrics_gauges *g)
{
    memset(g, 0, sizeof(*g));
    server_pool_stats(app, &g->pool); /* the count of unreachable pools is not a gauge */
    g->workers = app->cfg.workers;
    g->connections = conns_count(app->conns);
    g->hash_queued = app->hasher ? hasher_queued(app->hasher) : 0;
    g->hash_pid = app->hasher ? (int)hasher_pid(app->hasher) : 0;
    g->hash_restarts = app->hasher ? hasher_restarts(app->hasher) : 0;
    if (app->outbox_metrics) /* the sender sits above http: main.c connects them */
        app->outbox_metrics(app, g->outbox, sizeof(g->outbox));
}

static void metrics_http_reply(struct evhttp_request *ev, int status, const char *reason,
                               const char *content_type, const char *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(ev);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    struct evbuffer *buf = evbuffer_new();
    if (!buf || evbuffer_add(buf, body, strlen(body)) < 0) {
        evbuffer_free(buf);
        evhttp_send_error(ev, 500, NULL);
        return;
    }
    evhttp_send_reply(ev, status, reason, buf);
    evbuffer_free(buf);
}

static void metrics_http_cb(struct evhttp_request *ev, void *arg)
{
    struct metrics_http *mh = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(ev));
    if (!path || strcmp(path, "/metrics") != 0) {
        metrics_http_reply(ev, 404, "Not Found", "text/plain; charset=utf-8",
                           "Not found: the metrics are at /metrics.\n");
        return;
    }
    struct metrics_gauges g;
    metrics_http_gauges(mh->app, &g);
    char *text = metrics_render(mh->app->metrics, &g);
    metrics_http_reply(ev, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text);
    free(text);
}

int metrics_http_listen(struct app *app)
{
    app->metrics_http = NULL;
    if (!app->cfg.metrics_host)
        return 0;
    struct metrics_http *mh = calloc(1, sizeof(*mh));
    if (!mh)
        return -1;
    mh->app = app;
    mh->fd = server_listen(app->cfg.metrics_host, app->cfg.metrics_port);
    if (mh->fd < 0) {
        free(mh);
        return -1;
    }
    app->metrics_http = mh;
    return 0;
}

static void *metrics_http_main(void *arg)
{
    struct metrics_http *mh = arg;
    event_base_dispatch(mh->base);
    return NULL;
}

int metrics_http_start(struct app *app)
{
    struct metrics_http *mh = app->metrics_http;
    if (!mh)
        return 0;
    mh->base = event_base_new();
    mh->http = mh->base ? evhttp_new(mh->base) : NULL;
    if (!mh->http)
        return -1;
    evhttp_set_allowed_methods(mh->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(mh->http, METRICS_HTTP_TIMEOUT_S);
    evhttp_set_max_headers_size(mh->http, 8192);
    evhttp_set_max_body_size(mh->http, 1024);
    evhttp_set_gencb(mh->http, metrics_http_cb, mh);
    if (!evhttp_accept_socket_with_handle(mh->http, mh->fd))
        return -1;
    mh->fd = -1; /* evhttp closes it */
    if (pthread_create(&mh->thread, NULL, metrics_http_main, mh) != 0)
        return -1;
    mh->running = 1;
    log_info("metrics on %s:%d", app->cfg.metrics_host, app->cfg.metrics_port);
    return 0;
}

void metrics_http_stop(struct app *app)
{
    struct metrics_http *mh = app->metrics_http;
    if (!mh)
        return;
    app->metrics_http = NULL;
    if (mh->running) {
        /* Thread-safe: the base was made after libevent's locking was on. */
        event_base_loopexit(mh->base, NULL);
        pthread_join(mh->thread, NULL);
    }
    if (mh->http)
        evhttp_free(mh->http);
    if (mh->base)
        event_base_free(mh->base);
    if (mh->fd >= 0)
        close(mh->fd);
    free(mh);
}
