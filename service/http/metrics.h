/* metrics.h - request counters, latency histogram and gauges (Prometheus text).
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_METRICS_H
#define REFLECTD_METRICS_H

#include "db/db.h"

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* Point-in-time figures gathered by the metrics listener for one scrape. */
struct metrics_gauges {
    struct db_stats pool; /* summed over the workers */
    int workers;
    int connections;   /* open API connections (conns.c) */
    int hash_queued;   /* password checks waiting for a hash thread */
    int hash_pid;      /* the hasher process (0: none running) */
    int hash_restarts; /* times it ended and was started again */
    char outbox[2048]; /* the outbox sender's figures, Prometheus text (sender.c) */
};

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* One answered request. Thread-safe (relaxed atomics). */
void metrics_observe(struct metrics *m, int status, uint64_t usec);
/* Renders the counters and g; returns a malloc'd string. */
char *metrics_render(struct metrics *m, const struct metrics_gauges *g);

#endif
