/* metrics.c - what /metrics reports.
 *
 * Counters are plain arrays indexed by route and by a small set of status
 * codes, bumped with relaxed atomics from every worker thread: a scrape may
 * see a count a moment old, which Prometheus tolerates, and the hot path pays
 * no lock. Latency is a cumulative histogram per route with fixed buckets. */
#include "metrics.h"
#include "db.h"
#include "router.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int tracked_status[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409,
                                     412, 413, 415, 422, 428, 429, 500, 503, 0};
#define NSTATUS (sizeof(tracked_status) / sizeof(tracked_status[0])) /* last: other */
static const double bucket_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
#define NBUCKET (sizeof(bucket_ms) / sizeof(bucket_ms[0]))

struct route_metrics {
    atomic_uint_fast64_t count[NSTATUS];
    atomic_uint_fast64_t bucket[NBUCKET + 1]; /* last: +Inf */
    atomic_uint_fast64_t usec_sum;
};

struct metrics {
    const struct route *routes;
    size_t nroutes;
    struct route_metrics *per; /* nroutes + 1 */
};

struct metrics *metrics_new(const struct route *routes, size_t nroutes)
{
    struct metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->routes = routes;
    m->nroutes = nroutes;
    m->per = calloc(nroutes + 1, sizeof(*m->per));
    if (!m->per) {
        free(m);
        return NULL;
    }
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    free(m->per);
    free(m);
}

static size_t metrics_status_slot(int status)
{
    for (size_t i = 0; i + 1 < NSTATUS; i++)
        if (tracked_status[i] == status)
            return i;
    return NSTATUS - 1;
}

void metrics_observe(struct metrics *m, const struct route *route, int status, uint64_t usec)
{
    size_t idx = route ? (size_t)(route - m->routes) : m->nroutes;
    if (idx > m->nroutes)
        idx = m->nroutes;
    struct route_metrics *rm = &m->per[idx];
    atomic_fetch_add_explicit(&rm->count[metrics_status_slot(status)], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKET && (double)usec / 1000.0 > bucket_ms[b])
        b++;
    atomic_fetch_add_explicit(&rm->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rm->usec_sum, usec, memory_order_relaxed);
}

/* A growing string buffer for the rendered page. */
struct strbuf {
    char *s;
    size_t len, cap;
};

static void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n) * 2;
        char *ns = realloc(b->s, b->cap);
        if (!ns)
            abort();
        b->s = ns;
    }
}

static void metrics_render_route(struct strbuf *b, const char *label, const char *method,
                                 struct route_metrics *rm)
{
    for (size_t i = 0; i < NSTATUS; i++) {
        uint64_t n = atomic_load_explicit(&rm->count[i], memory_order_relaxed);
        if (!n)
            continue;
        char st[8];
        snprintf(st, sizeof(st), "%d", tracked_status[i]);
        sb_printf(b, "reflectd_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
                  method, label, tracked_status[i] ? st : "other", (unsigned long long)n);
    }
    uint64_t cum = 0;
    for (size_t i = 0; i <= NBUCKET; i++) {
        cum += atomic_load_explicit(&rm->bucket[i], memory_order_relaxed);
        char le[16];
        if (i < NBUCKET)
            snprintf(le, sizeof(le), "%g", bucket_ms[i] / 1000.0);
        else
            snprintf(le, sizeof(le), "+Inf");
        sb_printf(b,
                  "reflectd_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                  "le=\"%s\"} %llu\n",
                  method, label, le, (unsigned long long)cum);
    }
    sb_printf(b, "reflectd_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", method,
              label, (double)atomic_load_explicit(&rm->usec_sum, memory_order_relaxed) / 1e6);
    sb_printf(b, "reflectd_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
              method, label, (unsigned long long)cum);
}

char *metrics_render(struct metrics *m, const struct db_stats *pool, int workers)
{
    struct strbuf b = {malloc(4096), 0, 4096};
    if (!b.s)
        abort();
    b.s[0] = '\0';
    sb_printf(&b, "# HELP reflectd_requests_total HTTP requests by route and status.\n"
                  "# TYPE reflectd_requests_total counter\n"
                  "# HELP reflectd_request_duration_seconds Time from request to response.\n"
                  "# TYPE reflectd_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        const char *label = i < m->nroutes ? m->routes[i].pattern : "unmatched";
        const char *method = i < m->nroutes ? router_method_name(m->routes[i].method) : "any";
        metrics_render_route(&b, label, method, &m->per[i]);
    }
    sb_printf(&b,
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
              "# HELP reflectd_workers Event-loop threads.\n"
              "# TYPE reflectd_workers gauge\nreflectd_workers %d\n",
              pool->idle, pool->busy, pool->connecting, pool->down, pool->size, pool->waiting,
              workers);
    return b.s;
}
