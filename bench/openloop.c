/* openloop.c - an open-loop HTTP/1.1 load generator for the benchmark
 * (wrk2's idea, in one small C file; built by scripts/bench.sh with cc).
 *
 *   openloop HOST PORT RATE SECS CONNS REQFILE
 *
 * RATE 0 runs it closed-loop instead: each connection sends its next
 * request as soon as the answer is in, for SECS seconds (the answers due
 * then are waited for and counted), and a latency runs from the send. This
 * is what wrk does, with one difference that matters: wrk 4.1 "corrects"
 * its histogram for coordinated omission before it reports (stats_correct:
 * with I the mean interval of one connection, runtime x connections /
 * requests, every latency L of at least 2I adds samples L - I, L - 2I, ...
 * while they are above I), so one stall of 600 ms on 16 connections at an
 * interval of 2 ms becomes some 4,800 invented samples and, out of 80,000,
 * the p99. Here every sample is a request that was made; an open-loop run
 * is the way to see what a stall does to arrivals.
 *
 * REQFILE holds complete requests, one per line, with CR and LF written as
 * \r and \n; they are sent in turn. Request i is due at t0 + i / RATE whatever happened to
 * the ones before it; it goes out on the first idle keep-alive connection,
 * and its latency runs from its due time to the last byte of the answer,
 * so a queue in front of the server counts (no coordinated omission).
 *
 * Why not bench.py's asyncio generator alone: on a loaded 2-core machine a
 * Python event loop is late by milliseconds itself (its send lag p99 was
 * 4.45 ms), which is the size of the tail being measured. This one waits on
 * a timerfd with nanosecond deadlines, spends microseconds per request and
 * reports its own lateness (due to sent) so that it can be told apart.
 *
 * Prints one JSON object on stdout. Answers must carry Content-Length
 * (reflectd's do). Exit status 1 when a request failed or went unanswered. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536

struct conn {
    int fd;
    int busy;
    int64_t due; /* ns: the due time of the request in flight */
    size_t have, need;
    int status;
    char buf[RBUF];
};

struct run {
    struct conn *conns;
    int nconns;
    int *idle, nidle;
    char **reqs;
    size_t *reqlen;
    int nreqs;
    int64_t *lat, *lag; /* ns */
    long nlat, nlag, bad, sent;
    long cap, lagcap;        /* room in lat and lag */
    int ep, live;            /* the epoll set; connections still open */
    int64_t worst, worst_at; /* the slowest answer, and when it came (CLOCK_REALTIME ms) */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const int64_t *v, long n, double p)
{
    if (n == 0)
        return 0;
    long i = (long)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static int read_requests(struct run *r, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        r->reqs = realloc(r->reqs, sizeof(char *) * (size_t)(r->nreqs + 1));
        r->reqlen = realloc(r->reqlen, sizeof(size_t) * (size_t)(r->nreqs + 1));
        char *q = malloc((size_t)len + 3);
        if (!r->reqs || !r->reqlen || !q)
            return -1;
        /* a line is the request with "\r\n" spelled as "\\r\\n" */
        size_t k = 0;
        for (ssize_t i = 0; i < len; i++) {
            if (line[i] == '\\' && i + 1 < len && (line[i + 1] == 'r' || line[i + 1] == 'n')) {
                q[k++] = line[i + 1] == 'r' ? '\r' : '\n';
                i++;
            } else
                q[k++] = line[i];
        }
        r->reqs[r->nreqs] = q;
        r->reqlen[r->nreqs++] = k;
    }
    free(line);
    fclose(f);
    return r->nreqs > 0 ? 0 : -1;
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void record(struct run *r, int64_t lat);

/* Takes connection ci out of the run (it failed). */
static void drop(struct run *r, int ci)
{
    struct conn *c = &r->conns[ci];
    epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->busy = 0;
    r->live--; /* (this slot is never idle again) */
}

static void send_on(struct run *r, int ci, int64_t due)
{
    struct conn *c = &r->conns[ci];
    int q = (int)(r->sent++ % r->nreqs);
    c->busy = 1;
    c->due = due;
    c->have = c->need = 0;
    if (r->nlag < r->lagcap)
        r->lag[r->nlag++] = now_ns() - due;
    ssize_t n = write(c->fd, r->reqs[q], r->reqlen[q]);
    if (n != (ssize_t)r->reqlen[q]) { /* a request fits a fresh socket buffer */
        r->bad++;
        record(r, INT64_MAX);
        drop(r, ci);
    }
}

/* Reads what c has; returns 1 when an answer is complete, -1 on error. */
static int on_readable(struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->have, RBUF - 1 - c->have);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        if (n == 0)
            return -1;
        c->have += (size_t)n;
        c->buf[c->have] = 0;
        if (!c->need) {
            char *end = strstr(c->buf, "\r\n\r\n");
            if (!end)
                continue;
            char *cl = strcasestr(c->buf, "\r\ncontent-length:");
            c->status = atoi(c->buf + 9);
            c->need =
                (size_t)(end + 4 - c->buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (c->have >= c->need) {
            /* large bodies: keep counting without keeping them */
            if (c->have > c->need)
                return -1; /* pipelining is not used: extra bytes are an error */
            return 1;
        }
        if (c->have > RBUF / 2) {
            c->need -= c->have;
            c->have = 0;
        }
    }
}

static void arm(int tfd, int64_t at)
{
    struct itimerspec its = {{0, 0}, {at / 1000000000, at % 1000000000}};
    if (at <= 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records one answer's latency (INT64_MAX: failed). */
static void record(struct run *r, int64_t lat)
{
    if (r->nlat == r->cap) {
        long cap = r->cap ? r->cap * 2 : 1 << 16;
        int64_t *v = realloc(r->lat, sizeof(int64_t) * (size_t)cap);
        if (!v) {
            fprintf(stderr, "openloop: out of memory\n");
            exit(2);
        }
        r->lat = v;
        r->cap = cap;
    }
    r->lat[r->nlat++] = lat;
    if (lat != INT64_MAX && lat > r->worst) {
        r->worst = lat;
        r->worst_at = realtime_ms();
    }
}

static int open_conns(struct run *r, const char *host, int port)
{
    for (int i = 0; i < r->nconns; i++) {
        r->conns[i].fd = connect_to(host, port);
        if (r->conns[i].fd < 0) {
            fprintf(stderr, "openloop: cannot connect: %s\n", strerror(errno));
            return -1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(r->ep, EPOLL_CTL_ADD, r->conns[i].fd, &ev);
        r->idle[r->nidle++] = i;
    }
    r->live = r->nconns;
    return 0;
}

/* Handles readiness on connection k: 1 when an answer completed (the
 * connection is idle again), 0 when not yet, -1 when it was lost. */
static int on_event(struct run *r, uint32_t k)
{
    struct conn *c = &r->conns[k];
    int rc = on_readable(c);
    if (rc == 0)
        return 0;
    if (c->busy) {
        record(r, rc > 0 ? now_ns() - c->due : INT64_MAX);
        if (rc < 0 || c->status != 200)
            r->bad++;
    }
    c->busy = 0;
    if (rc < 0) {
        drop(r, (int)k);
        return -1;
    }
    return 1;
}

/* Request i is due at t0 + i / rate; each goes out on an idle connection.
 * Returns t0. */
static int64_t run_open(struct run *r, double rate, double secs)
{
    long total = (long)(rate * secs);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    if (tfd < 0 || epoll_ctl(r->ep, EPOLL_CTL_ADD, tfd, &ev) < 0) {
        fprintf(stderr, "openloop: timerfd: %s\n", strerror(errno));
        exit(2);
    }
    int64_t t0 = now_ns() + 200000000, period = (int64_t)(1e9 / rate);
    int64_t stop = t0 + (int64_t)(secs * 1e9) + 30000000000LL;
    long next = 0, backlog_from = 0; /* requests next.. not yet due; backlog_from..next due */
    arm(tfd, t0);
    struct epoll_event evs[256];
    while ((next < total || backlog_from < next || r->nidle < r->live) && r->live > 0 &&
           now_ns() < stop) {
        int n = epoll_wait(r->ep, evs, 256, 1000);
        for (int e = 0; e < n; e++) {
            uint32_t k = evs[e].data.u32;
            if (k == UINT32_MAX) {
                uint64_t x;
                if (read(tfd, &x, sizeof(x)) < 0 && errno != EAGAIN) {
                }
                continue;
            }
            if (on_event(r, k) > 0)
                r->idle[r->nidle++] = (int)k;
        }
        int64_t now = now_ns();
        while (next < total && t0 + next * period <= now)
            next++;
        while (backlog_from < next && r->nidle > 0)
            send_on(r, r->idle[--r->nidle], t0 + (backlog_from++) * period);
        if (next < total)
            arm(tfd, t0 + next * period);
    }
    r->sent = total; /* what was due; report() counts the missing */
    close(tfd);
    return t0;
}

/* Every connection always has one request in flight, for secs seconds;
 * then the answers still due are waited for (at most 30 s) and counted, so
 * that a stall at the end of the window is not left out. Returns when it
 * started. */
static int64_t run_closed(struct run *r, double secs)
{
    int64_t t0 = now_ns(), stop = t0 + (int64_t)(secs * 1e9), drain = stop + 30000000000LL;
    while (r->nidle > 0)
        send_on(r, r->idle[--r->nidle], now_ns());
    struct epoll_event evs[256];
    long busy = r->live;
    while (busy > 0 && now_ns() < drain) {
        int n = epoll_wait(r->ep, evs, 256, 100);
        for (int e = 0; e < n; e++) {
            int was_busy = r->conns[evs[e].data.u32].busy;
            int rc = on_event(r, evs[e].data.u32);
            if (rc != 0 && was_busy)
                busy--;
            if (rc > 0 && now_ns() < stop) {
                send_on(r, (int)evs[e].data.u32, now_ns());
                busy += r->conns[evs[e].data.u32].busy;
            }
        }
    }
    return t0; /* r->sent - r->nlat: still unanswered at the end, counted as missing */
}

static void report(struct run *r, double rate, double wall)
{
    long missing = r->sent - r->nlat;
    qsort(r->lat, (size_t)r->nlat, sizeof(int64_t), cmp64);
    qsort(r->lag, (size_t)r->nlag, sizeof(int64_t), cmp64);
    long over50 = 0;
    for (long i = 0; i < r->nlat; i++)
        over50 += r->lat[i] >= 50000000;
    printf("{\"offered_rps\": %.1f, \"requests\": %ld, \"missing\": %ld, \"bad\": %ld, "
           "\"secs\": %.2f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
           "\"p999_ms\": %.3f, \"max_ms\": %.3f, \"max_at_ms\": %lld, \"over_50ms\": %ld, "
           "\"send_lag_p50_ms\": %.3f, \"send_lag_p99_ms\": %.3f, \"send_lag_max_ms\": %.3f}\n",
           rate, r->nlat, missing, r->bad, wall, pct_ms(r->lat, r->nlat, 50),
           pct_ms(r->lat, r->nlat, 90), pct_ms(r->lat, r->nlat, 99), pct_ms(r->lat, r->nlat, 99.9),
           r->nlat ? (double)r->lat[r->nlat - 1] / 1e6 : 0, (long long)r->worst_at, over50,
           pct_ms(r->lag, r->nlag, 50), pct_ms(r->lag, r->nlag, 99),
           r->nlag ? (double)r->lag[r->nlag - 1] / 1e6 : 0);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr,
                "usage: openloop HOST PORT RATE SECS CONNS REQFILE (RATE 0: closed loop)\n");
        return 2;
    }
    struct run r = {0};
    double rate = atof(argv[3]), secs = atof(argv[4]);
    r.nconns = atoi(argv[5]);
    /* The send lag is lateness against the schedule: none in a closed loop. */
    r.lagcap = rate > 0 ? (long)(rate * secs) + 1 : 0;
    if (rate < 0 || secs <= 0 || (rate > 0 && r.lagcap <= 1) || r.nconns <= 0 ||
        read_requests(&r, argv[6]) < 0) {
        fprintf(stderr, "openloop: bad arguments or request file\n");
        return 2;
    }
    r.conns = calloc((size_t)r.nconns, sizeof(struct conn));
    r.idle = calloc((size_t)r.nconns, sizeof(int));
    r.lag = calloc((size_t)r.lagcap + 1, sizeof(int64_t));
    r.ep = epoll_create1(0);
    if (!r.conns || !r.idle || !r.lag || r.ep < 0)
        return 2;
    if (open_conns(&r, argv[1], atoi(argv[2])) < 0)
        return 1;
    int64_t t0 = rate > 0 ? run_open(&r, rate, secs) : run_closed(&r, secs);
    report(&r, rate, (double)(now_ns() - t0) / 1e9);
    return r.bad || r.sent > r.nlat ? 1 : 0;
}
