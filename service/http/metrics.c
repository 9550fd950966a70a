/* metrics.c - what the metrics listener (metrics_http.c) reports.
 *
 * Only operational figures: requests by status class, one latency
 * histogram, and gauges (database pool, connections, hash queue). Nothing
 * per route or per status code: on a shared instance a counter of
 * POST /v1/checkins answering 201 or 200, or of DELETE /v1/me, is a count of
 * check-ins created and replaced, or of erasures, and watched over time it
 * tells who in a small organisation did what when. A status class or a
 * latency says how the service is doing and nothing about anyone's activity.
 *
 * Counters are bumped with relaxed atomics from every worker thread: a
 * scrape may see a count a moment old, which Prometheus tolerates, and the
 * hot path pays no lock. */
#include "http/metrics.h"
#include "core/buf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_class[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
#define NCLASS (sizeof(status_class) / sizeof(status_class[0]))
static const double bucket_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
#define NBUCKET (sizeof(bucket_ms) / sizeof(bucket_ms[0]))

struct metrics {
    atomic_uint_fast64_t count[NCLASS];
    atomic_uint_fast64_t bucket[NBUCKET + 1]; /* last: +Inf */
    atomic_uint_fast64_t usec_sum;
};

struct metrics *metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
}

static size_t metrics_class_slot(int status)
{
    return status >= 100 && status < 600 ? (size_t)(status / 100 - 1) : NCLASS - 1;
}

void metrics_observe(struct metrics *m, int status, uint64_t usec)
{
    atomic_fetch_add_explicit(&m->count[metrics_class_slot(status)], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKET && (double)usec / 1000.0 > bucket_ms[b])
        b++;
    atomic_fetch_add_explicit(&m->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->usec_sum, usec, memory_order_relaxed);
}

/* The page grows in a core/buf.h buffer. A failed append is remembered in
 * it and checked once, in metrics_render: running out of memory while
 * rendering is fatal, as before (a half page would read as counters going
 * backwards). */

static void metrics_render_requests(struct buf *b, struct metrics *m)
{
    buf_printf(b, "# HELP reflectd_requests_total HTTP requests answered, by status class.\n"
                  "# TYPE reflectd_requests_total counter\n");
    for (size_t i = 0; i < NCLASS; i++)
        buf_printf(b, "reflectd_requests_total{status=\"%s\"} %llu\n", status_class[i],
                   (unsigned long long)atomic_load_explicit(&m->count[i], memory_order_relaxed));
    buf_printf(b, "# HELP reflectd_request_duration_seconds Time from request to response.\n"
                  "# TYPE reflectd_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i <= NBUCKET; i++) {
        cum += atomic_load_explicit(&m->bucket[i], memory_order_relaxed);
        char le[16];
        if (i < NBUCKET)
            snprintf(le, sizeof(le), "%g", bucket_ms[i] / 1000.0);
        else
            snprintf(le, sizeof(le), "+Inf");
        buf_printf(b, "reflectd_request_duration_seconds_bucket{le=\"%s\"} %llu\n", le,
                   (unsigned long long)cum);
    }
    buf_printf(b, "reflectd_request_duration_seconds_sum %.6f\n",
               (double)atomic_load_explicit(&m->usec_sum, memory_order_relaxed) / 1e6);
    buf_printf(b, "reflectd_request_duration_seconds_count %llu\n", (unsigned long long)cum);
}

static void metrics_render_gauges(struct buf *b, const struct metrics_gauges *g)
{
    const struct db_stats *pool = &g->pool;
    buf_printf(b,
               "# HELP reflectd_db_pool_connections Database connections by state, all "
               "workers.\n# TYPE reflectd_db_pool_connections gauge\n"
               "reflectd_db_pool_connections{state=\"idle\"} %d\n"
               "reflectd_db_pool_connections{state=\"busy\"} %d\n"
               "reflectd_db_pool_connections{state=\"connecting\"} %d\n"
               "reflectd_db_pool_connections{state=\"down\"} %d\n"
               "# HELP reflectd_db_pool_size Configured connections, all workers.\n"
               "# TYPE reflectd_db_pool_size gauge\nreflectd_db_pool_size %d\n"
               "# HELP reflectd_db_pool_waiting Requests waiting for a connection.\n"
               "# TYPE reflectd_db_pool_waiting gauge\nreflectd_db_pool_waiting %d\n"
               "# HELP reflectd_db_pool_inflight Statements sent and not yet answered (a busy "
               "connection carries up to DB_PIPELINE_DEPTH).\n"
               "# TYPE reflectd_db_pool_inflight gauge\nreflectd_db_pool_inflight %d\n",
               pool->idle, pool->busy, pool->connecting, pool->down, pool->size, pool->waiting,
               pool->inflight);
    buf_printf(b,
               "# HELP reflectd_db_group_commits_total Groups of creates committed as one "
               "transaction (DB_GROUP_COMMIT).\n"
               "# TYPE reflectd_db_group_commits_total counter\n"
               "reflectd_db_group_commits_total %ld\n"
               "# HELP reflectd_db_grouped_statements_total Statements committed in those "
               "groups.\n"
               "# TYPE reflectd_db_grouped_statements_total counter\n"
               "reflectd_db_grouped_statements_total %ld\n"
               "# HELP reflectd_db_group_failures_total Groups rolled back by an error in one "
               "statement; that one then ran again alone, the others in a group again.\n"
               "# TYPE reflectd_db_group_failures_total counter\n"
               "reflectd_db_group_failures_total %ld\n",
               pool->groups, pool->grouped, pool->group_failures);
    buf_printf(b,
               "# HELP reflectd_workers Event-loop threads.\n"
               "# TYPE reflectd_workers gauge\nreflectd_workers %d\n"
               "# HELP reflectd_connections Open API connections.\n"
               "# TYPE reflectd_connections gauge\nreflectd_connections %d\n"
               "# HELP reflectd_hasher_queued Password checks waiting for a hash thread.\n"
               "# TYPE reflectd_hasher_queued gauge\nreflectd_hasher_queued %d\n"
               "# HELP reflectd_hasher_pid The hasher process (0 while none runs).\n"
               "# TYPE reflectd_hasher_pid gauge\nreflectd_hasher_pid %d\n"
               "# HELP reflectd_hasher_restarts_total Times the hasher process ended and was "
               "started again.\n"
               "# TYPE reflectd_hasher_restarts_total counter\nreflectd_hasher_restarts_total %d\n",
               g->workers, g->connections, g->hash_queued, g->hash_pid, g->hash_restarts);
}

char *metrics_render(struct metrics *m, const struct metrics_gauges *g)
{
    struct buf b = BUF_INIT;
    metrics_render_requests(&b, m);
    metrics_render_gauges(&b, g);
    buf_printf(&b, "%s", g->outbox);
    if (b.failed || !b.data)
        abort();
    return b.data;
}
