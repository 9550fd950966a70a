/* metrics_http.h - the metrics listener (METRICS_ADDR), apart from the API.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_METRICS_HTTP_H
#define REFLECTD_METRICS_HTTP_H

struct app;
struct metrics_http;

/* Binds METRICS_ADDR into app->metrics_http. Returns 0 (also when the
 * listener is off: app->metrics_http stays NULL) or -1. Call before the
 * workers start, so a taken port fails start-up at once. */
int metrics_http_listen(struct app *app);
/* Starts its thread; after server_start() (the workers it reports on must
 * exist, and libevent's locking must be on). Returns 0 or -1. */
int metrics_http_start(struct app *app);
/* Stops the thread and frees the listener; a no-op when there is none. Must
 * run before the workers free their pools, which a scrape reads. */
void metrics_http_stop(struct app *app);

#endif
