/* conns.h - the connection table: connections per address, and a deadline
 * for each connection to deliver a whole request.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_CONNS_H
#define REFLECTD_CONNS_H

struct bufferevent;
struct event_base;
struct evhttp_connection;
struct evhttp_request;

struct conns;        /* one per process, shared by the workers */
struct conns_worker; /* one per worker thread */

/* per_addr_max 0 turns the per-address limit off; deadline_s bounds the
 * time from accept (or from the previous response) to a complete request. */
struct conns *conns_new(int per_addr_max, int deadline_s);
void conns_free(struct conns *c);

struct conns_worker *conns_worker_new(struct conns *c, struct event_base *base, int index);
/* After the worker's evhttp is freed. */
void conns_worker_free(struct conns_worker *cw);

/* For evhttp_set_bevcb(http, conns_bevcb, cw): sees every accepted
 * connection. */
struct bufferevent *conns_bevcb(struct event_base *base, void *arg);

/* A complete request arrived. Returns 0, or -1 when the connection was
 * refused by the per-address limit (answer 429 and close). */
int conns_request_begin(struct conns_worker *cw, struct evhttp_request *ev);
/* The connection close callback; whoever replaces it on a connection must
 * call it (arg: the worker's conns_worker). */
void conns_closed(struct evhttp_connection *evcon, void *arg);

/* Connections currently counted (for /metrics): a connection that went
 * without completing a request may count for up to deadline_s (conns.c). */
int conns_count(struct conns *c);

#endif
