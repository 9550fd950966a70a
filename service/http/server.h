/* server.h - the listening socket and the worker threads that serve it. */
#ifndef REFLECTD_SERVER_H
#define REFLECTD_SERVER_H

#include <pthread.h>

struct app;
struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct db_pool;
struct events_worker;
struct conns_worker;

/* One event loop thread: its own evhttp, its own database pool. */
struct worker {
    int index;
    pthread_t thread;
    struct app *app;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct db_pool *db;
    struct event *stop_ev;        /* activated from the main thread */
    struct event *grace_ev;       /* shutdown deadline */
    int listen_fd;                /* this worker's listening socket (see server.c) */
    int inflight;                 /* requests not yet answered */
    struct events_worker *events; /* live event streams (events.c) */
    struct conns_worker *conns;   /* connection table (conns.c) */
    struct event *janitor;        /* periodic maintenance (janitor.c) */
    int draining;
};

/* Binds and listens; returns the socket or -1. */
int server_listen(const char *host, int port);
/* Starts app->cfg.workers threads serving fd. Returns 0 or -1. */
int server_start(struct app *app, int fd);
/* Asks every worker to stop accepting and finish in-flight requests. */
void server_stop(struct app *app);
/* Waits for the workers, then stops the hasher (whose results go to the
 * workers' loops, so it must stop before they are freed), then frees them. */
struct hasher;
void server_join(struct app *app, struct hasher *hasher);
/* Bookkeeping from the request layer. */
void worker_request_begin(struct worker *w);
void worker_request_end(struct worker *w);

#endif
