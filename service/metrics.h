/* metrics.h - request counters and latency histograms (Prometheus text). */
#ifndef REFLECTD_METRICS_H
#define REFLECTD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct route;
struct db_stats;

/* One slot per route, plus one for requests that matched none. */
struct metrics *metrics_new(const struct route *routes, size_t nroutes);
void metrics_free(struct metrics *m);
/* route may be NULL (unmatched). Thread-safe (relaxed atomics). */
void metrics_observe(struct metrics *m, const struct route *route, int status, uint64_t usec);
/* Renders all counters plus the pool figures; returns a malloc'd string. */
char *metrics_render(struct metrics *m, const struct db_stats *pool, int workers);

#endif
