/* server.h - the listening socket and the worker threads that serve it.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_SERVER_H
#define REFLECTD_SERVER_H

#include "http/loop.h"

#include <pthread.h>

struct app;
struct event;
struct evhttp;
struct evhttp_bound_socket;
struct db_stats;

/* One event loop thread: its own evhttp, its own database pool. Only
 * server.c and main.c see it; every other module is given the loop. */
struct worker {
    struct loop loop; /* first: on_idle's loop is the worker */
    pthread_t thread;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *stop_ev;  /* activated from the main thread */
    struct event *grace_ev; /* shutdown deadline */
    int listen_fd;          /* this worker's listening socket (see server.c) */
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
/* The database pools' figures summed over the workers (the metrics
 * listener and /readyz read them; any thread may call it while the workers
 * run). Returns how many workers have no connection up: 0 when every
 * worker can reach the database. */
int server_pool_stats(const struct app *app, struct db_stats *sum);

#endif
