/* conns.c - the connection table: who is connected from where, and how long
 * each connection has been waiting for a complete request.
 *
 * It adds two defences evhttp (libevent 2.1) lacks:
 *   - MAX_CONNS_PER_ADDR: one address holds at most so many connections;
 *     the next one gets a 429 and is closed at once.
 *   - A deadline for a whole request. evhttp's timeout restarts with every
 *     byte read, so a client trickling its headers one byte at a time would
 *     keep a connection for ever (slowloris). Here a connection that has not
 *     delivered a complete request REQUEST_TIMEOUT_S after it was accepted,
 *     or after its previous response was written, is shut down.
 *
 * Seeing connections. evhttp accepts by itself and has no hook that shows
 * the socket. Its bufferevent callback (evhttp_set_bevcb) runs for every
 * accepted connection just before the socket is attached; we create the
 * bufferevent there, keep a reference, and activate this worker's adopt
 * event. That event runs later in the same loop iteration, before the
 * connection can have read a byte, when bufferevent_getfd() has the socket.
 *
 * Seeing them go. A connection that carried a request gets our close
 * callback, which evhttp calls before it closes the socket. One that never
 * completed a request (closed by its client, or by evhttp for a malformed
 * one) goes silently: its slot stays until the socket number is reused by a
 * new connection or until its deadline, when the sweep finds the descriptor
 * closed or pointing at another inode. Such a connection counts against its
 * address for at most REQUEST_TIMEOUT_S after it has gone.
 *
 * The table is indexed by descriptor and shared by the workers under one
 * mutex (taken once per connection and twice per request, for a few
 * stores). A slot is changed by its owning worker, except when a new
 * connection reuses its descriptor, which proves the old one closed. */
#include "http/conns.h"
#include "core/clock.h"
#include "core/log.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#define ADDR_BUCKETS           4096
#define SWEEP_INTERVAL_S       1
#define CONNS_MAX_SINGLE_WRITE (256 * 1024) /* bytes per write call */

enum { S_FREE, S_WAITING, S_BUSY, S_REJECTED };

/* Connections from one address; IPv6 addresses are counted per /64, the
 * block one subscriber usually gets, so rotating through it gains nothing. */
struct addr {
    struct addr *next;
    unsigned char key[16];
    int count;
};

struct slot {
    ino_t ino;         /* the socket's inode: tells a reused descriptor */
    struct addr *addr; /* counted against; NULL when free or refused */
    int64_t since;     /* monotonic ms: accepted, or previous response done */
    short worker;      /* owning worker */
    unsigned char state;
};

struct conns {
    pthread_mutex_t lock;
    struct slot *slots;
    int nslots;   /* the descriptor limit: no socket number reaches it */
    int high;     /* highest slot in use + 1 */
    int per_addr; /* 0: no limit */
    int deadline; /* seconds */
    int counted;
    struct addr *buckets[ADDR_BUCKETS];
};

struct conns_worker {
    struct conns *c;
    int index;
    struct event *adopt_ev; /* adopts the connections accepted this turn */
    struct event *sweep_ev; /* enforces deadlines */
    struct bufferevent **pending;
    int npending, cap;
};

struct conns *conns_new(int per_addr_max, int deadline_s)
{
    struct rlimit rl;
    struct conns *c = calloc(1, sizeof(*c));
    if (!c || getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        free(c);
        return NULL;
    }
    /* calloc'd pages are only backed once touched: a large limit costs
     * address space, not memory. */
    c->nslots = rl.rlim_cur > (1u << 22) ? (1 << 22) : (int)rl.rlim_cur;
    c->slots = calloc((size_t)c->nslots, sizeof(*c->slots));
    if (!c->slots || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->slots);
        free(c);
        return NULL;
    }
    c->per_addr = per_addr_max;
    c->deadline = deadline_s;
    return c;
}

void conns_free(struct conns *c)
{
    if (!c)
        return;
    for (int i = 0; i < ADDR_BUCKETS; i++)
        for (struct addr *a = c->buckets[i], *n; a; a = n) {
            n = a->next;
            free(a);
        }
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

int conns_count(struct conns *c)
{
    pthread_mutex_lock(&c->lock);
    int n = c->counted;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* ---- addresses (caller holds the lock) ------------------------------------- */

static int addr_key(int fd, unsigned char key[16])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(key, 0, 16);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET) {
        key[10] = key[11] = 0xff; /* as ::ffff:a.b.c.d */
        memcpy(key + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        return 0;
    }
    if (ss.ss_family == AF_INET6) {
        const unsigned char *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(key, a, memcmp(a, v4mapped, 12) == 0 ? 16 : 8);
        return 0;
    }
    return 0; /* a Unix socket: all in one bucket */
}

static unsigned addr_hash(const unsigned char key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % ADDR_BUCKETS;
}

static struct addr *addr_get(struct conns *c, const unsigned char key[16])
{
    unsigned b = addr_hash(key);
    for (struct addr *a = c->buckets[b]; a; a = a->next)
        if (memcmp(a->key, key, 16) == 0)
            return a;
    struct addr *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    memcpy(a->key, key, 16);
    a->next = c->buckets[b];
    c->buckets[b] = a;
    return a;
}

static void addr_put(struct conns *c, struct addr *a)
{
    if (--a->count > 0)
        return;
    struct addr **p = &c->buckets[addr_hash(a->key)];
    while (*p != a)
        p = &(*p)->next;
    *p = a->next;
    free(a);
}

/* ---- slots (caller holds the lock) ---------------------------------------- */

static void slot_clear(struct conns *c, int fd)
{
    struct slot *s = &c->slots[fd];
    if (s->addr) {
        addr_put(c, s->addr);
        c->counted--;
    }
    memset(s, 0, sizeof(*s));
}

static struct slot *slot_of(struct conns_worker *cw, struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    int fd = bev ? (int)bufferevent_getfd(bev) : -1;
    if (fd < 0 || fd >= cw->c->nslots)
        return NULL;
    struct slot *s = &cw->c->slots[fd];
    return s->state != S_FREE && s->worker == cw->index ? s : NULL;
}

/* ---- accepting ------------------------------------------------------------- */

static const char refusal_body[] =
    "{\"type\":\"https://reflect.example/problems/too-many-requests\","
    "\"title\":\"Too Many Requests\",\"status\":429,"
    "\"detail\":\"Too many connections from one address.\"}";

/* A connection over the limit gets this and is closed: it was accepted a
 * moment ago, its send buffer is empty, so one send() writes it all. evhttp
 * then reads end-of-file and frees the connection. */
static void conns_refuse(int fd)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 429 Too Many Requests\r\n"
                     "Content-Type: application/problem+json\r\n"
                     "Retry-After: 1\r\nCache-Control: no-store\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     sizeof(refusal_body) - 1, refusal_body);
    if (n > 0 && (size_t)n < sizeof(msg)) {
        ssize_t sent = send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)sent; /* best effort: the connection is closed either way */
    }
    shutdown(fd, SHUT_RDWR);
}

/* The connection on fd joins the table, or is refused. */
static void conns_adopt_fd(struct conns_worker *cw, int fd)
{
    struct conns *c = cw->c;
    struct stat st;
    unsigned char key[16];
    if (fd < 0 || fd >= c->nslots)
        return; /* untracked */
    if (fstat(fd, &st) < 0 || addr_key(fd, key) < 0) {
        pthread_mutex_lock(&c->lock); /* gone already: so is any old slot's connection */
        slot_clear(c, fd);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    pthread_mutex_lock(&c->lock);
    slot_clear(c, fd); /* a stale slot: its connection has closed */
    struct addr *a = addr_get(c, key);
    int refuse = a && c->per_addr > 0 && a->count >= c->per_addr;
    if (a && !refuse) {
        a->count++;
        c->counted++;
    }
    c->slots[fd] = (struct slot){st.st_ino, refuse ? NULL : a, clock_coarse_ms(), (short)cw->index,
                                 refuse ? S_REJECTED : S_WAITING};
    if (fd >= c->high)
        c->high = fd + 1;
    pthread_mutex_unlock(&c->lock);
    if (refuse)
        conns_refuse(fd);
}

static void conns_adopt(evutil_socket_t unused, short what, void *arg)
{
    (void)unused;
    (void)what;
    struct conns_worker *cw = arg;
    for (int i = 0; i < cw->npending; i++) {
        struct bufferevent *bev = cw->pending[i];
        bufferevent_data_cb readcb = NULL;
        /* evhttp sets a read callback when it takes the connection, and
         * bufferevent_free() clears it: without one, evhttp has already
         * dropped it (an error while setting up), the socket is closed and
         * its number may belong to someone else by now. */
        bufferevent_getcb(bev, &readcb, NULL, NULL, NULL);
        if (readcb)
            conns_adopt_fd(cw, (int)bufferevent_getfd(bev));
        bufferevent_decref(bev);
    }
    cw->npending = 0;
}

struct bufferevent *conns_bevcb(struct event_base *base, void *arg)
{
    struct conns_worker *cw = arg;
    if (cw->npending == cw->cap) {
        int cap = cw->cap ? 2 * cw->cap : 64;
        struct bufferevent **p = realloc(cw->pending, (size_t)cap * sizeof(*p));
        if (!p)
            return NULL; /* evhttp makes its own; this one goes untracked */
        cw->pending = p;
        cw->cap = cap;
    }
    /* Options as evhttp's own: it closes the socket itself. */
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    if (!bev)
        return NULL;
    /* libevent writes at most 16 KiB per call by default: a 35 KB page of
     * reflections took three writev calls, each a loop turn of its own with
     * its epoll_ctl calls. One call now writes what the kernel takes. */
    if (bufferevent_set_max_single_write(bev, CONNS_MAX_SINGLE_WRITE) < 0)
        log_warn("cannot raise the write size of a connection");
    bufferevent_incref(bev);
    cw->pending[cw->npending++] = bev;
    event_active(cw->adopt_ev, EV_TIMEOUT, 0);
    return bev;
}

/* ---- requests -------------------------------------------------------------- */

static void conns_request_done(struct evhttp_request *ev, void *arg)
{
    struct conns_worker *cw = arg;
    pthread_mutex_lock(&cw->c->lock);
    struct slot *s = slot_of(cw, evhttp_request_get_connection(ev));
    if (s && s->state == S_BUSY) {
        s->state = S_WAITING;
        s->since = clock_coarse_ms();
    }
    pthread_mutex_unlock(&cw->c->lock);
}

int conns_request_begin(struct conns_worker *cw, struct evhttp_request *ev)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    pthread_mutex_lock(&cw->c->lock);
    struct slot *s = slot_of(cw, evcon);
    int refused = s && s->state == S_REJECTED;
    if (s && !refused)
        s->state = S_BUSY;
    pthread_mutex_unlock(&cw->c->lock);
    if (evcon)
        evhttp_connection_set_closecb(evcon, conns_closed, cw);
    evhttp_request_set_on_complete_cb(ev, conns_request_done, cw);
    return refused ? -1 : 0;
}

void conns_closed(struct evhttp_connection *evcon, void *arg)
{
    struct conns_worker *cw = arg;
    pthread_mutex_lock(&cw->c->lock);
    struct slot *s = slot_of(cw, evcon);
    if (s)
        slot_clear(cw->c, (int)(s - cw->c->slots));
    pthread_mutex_unlock(&cw->c->lock);
}

/* ---- deadlines ------------------------------------------------------------- */

/* Every second: this worker's connections past their deadline are shut
 * down (evhttp then reads end-of-file and frees them), and slots of
 * connections that went silently are cleared. fstat() tells the two apart:
 * a descriptor that is closed, or now names another inode, is gone. */
static void conns_sweep(evutil_socket_t unused, short what, void *arg)
{
    (void)unused;
    (void)what;
    struct conns_worker *cw = arg;
    struct conns *c = cw->c;
    int64_t limit = clock_coarse_ms() - (int64_t)c->deadline * 1000;
    struct stat st;
    pthread_mutex_lock(&c->lock);
    for (int fd = 0; fd < c->high; fd++) {
        struct slot *s = &c->slots[fd];
        if (s->worker != cw->index || (s->state != S_WAITING && s->state != S_REJECTED) ||
            s->since > limit)
            continue;
        if (fstat(fd, &st) == 0 && st.st_ino == s->ino)
            shutdown(fd, SHUT_RDWR);
        slot_clear(c, fd);
    }
    pthread_mutex_unlock(&c->lock);
}

struct conns_worker *conns_worker_new(struct conns *c, struct event_base *base, int index)
{
    struct conns_worker *cw = calloc(1, sizeof(*cw));
    if (!cw)
        return NULL;
    cw->c = c;
    cw->index = index;
    cw->adopt_ev = event_new(base, -1, 0, conns_adopt, cw);
    cw->sweep_ev = event_new(base, -1, EV_PERSIST, conns_sweep, cw);
    struct timeval tv = {SWEEP_INTERVAL_S, 0};
    if (!cw->adopt_ev || !cw->sweep_ev || event_add(cw->sweep_ev, &tv) < 0) {
        conns_worker_free(cw);
        return NULL;
    }
    return cw;
}

void conns_worker_free(struct conns_worker *cw)
{
    if (!cw)
        return;
    for (int i = 0; i < cw->npending; i++)
        bufferevent_decref(cw->pending[i]);
    free(cw->pending);
    if (cw->adopt_ev)
        event_free(cw->adopt_ev);
    if (cw->sweep_ev)
        event_free(cw->sweep_ev);
    free(cw);
}
