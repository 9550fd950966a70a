/* hashchild.c - the hasher process: argon2id for reflectd, in its own
 * address space and scheduling group (issue 18).
 *
 * reflectd (hasher.c) forks and executes itself as `reflectd --hasher ...`
 * with one end of a SOCK_SEQPACKET socket pair on HASHMSG_CHILD_FD. This
 * process then
 *   - leaves reflectd's scheduling: hasher.c gave it a session of its own
 *     (setsid before exec), hence an autogroup of its own, whose nice value
 *     it sets to 19 (/proc/self/autogroup); the process itself goes to
 *     nice 19 and SCHED_IDLE before any thread exists, so every thread of
 *     it inherits that. The kernel then shares CPU between reflectd's group,
 *     PostgreSQL's and this one, and this one is the cheapest to preempt;
 *   - has its own memory map: argon2's 64 MiB arenas fault and unmap here,
 *     and their TLB shootdowns no longer interrupt the event loops;
 *   - dies with reflectd (PR_SET_PDEATHSIG, set before exec, and a check of
 *     the parent's pid) and exits when reflectd closes the socket;
 *   - reads requests on its one event loop and hands them to the thread pool
 *     (hashpool.c: HASH_THREADS threads, the HASH_CPU_PERCENT budget and
 *     HASH_QUEUE_MAX live there); each result goes back as one reply with
 *     the request's id. Passwords are wiped from every buffer after use. */
#include "auth/hashchild.h"
#include "auth/hashmsg.h"
#include "auth/hashpool.h"
#include "core/log.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "request ids travel as callback arguments");

struct hashchild {
    struct event_base *base;
    struct hashpool *pool;
    int fd;
};

/* The one instance: the pool's callbacks carry only the request id. */
static struct hashchild child;

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < INT_MIN || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

/* Lowest CPU priority for this process and every thread it will start.
 * The autogroup is the session's: reniced only when the session is ours
 * (hasher.c calls setsid), never the one of whoever ran this by hand. */
static void hashchild_lower_priority(void)
{
    int fd = getsid(0) == getpid() ? open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC) : -1;
    if (getsid(0) != getpid())
        log_warn("hasher: not a session leader; the autogroup keeps its nice value");
    else if (fd < 0 || write(fd, "19", 2) != 2)
        log_warn("hasher: cannot set the autogroup's nice value: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    if (setpriority(PRIO_PROCESS, 0, 19) < 0)
        log_warn("hasher: setpriority: %s", strerror(errno));
    struct sched_param sp = {0};
    if (sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
        log_warn("hasher: SCHED_IDLE: %s", strerror(errno));
}

static void hashchild_send(uint64_t id, int status, const char *encoded)
{
    struct hashmsg_rep m = {.id = id, .status = status};
    if (encoded && strlen(encoded) <= HASHMSG_ENC_MAX) {
        m.has_encoded = 1;
        memcpy(m.encoded, encoded, strlen(encoded) + 1);
    } else if (encoded) { /* a hash too long to travel: not a success without it */
        m.status = HASHMSG_BUSY;
    }
    uint8_t buf[HASHMSG_REP_MAX];
    size_t n = hashmsg_rep_encode(&m, buf, sizeof(buf));
    if (n == 0) { /* a hash too long to travel: cannot happen with PHC_MAX_LEN */
        m.has_encoded = 0;
        m.status = HASHMSG_BUSY;
        n = hashmsg_rep_encode(&m, buf, sizeof(buf));
    }
    if (send(child.fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n && errno != EPIPE)
        log_error("hasher: cannot reply: %s", strerror(errno));
}

static void hashchild_done(int ok, const char *encoded, void *arg)
{
    hashchild_send((uint64_t)(uintptr_t)arg, ok ? HASHMSG_OK : HASHMSG_NO, encoded);
}

/* One request; buf is wiped by the caller. */
static void hashchild_request(const uint8_t *buf, size_t len)
{
    struct hashmsg_req m;
    uint64_t id = 0;
    if (hashmsg_req_decode(buf, len, &m) < 0) {
        log_error("hasher: malformed request (%zu bytes)", len);
        if (hashmsg_id(buf, len, &id) == 0)
            hashchild_send(id, HASHMSG_BUSY, NULL);
        explicit_bzero(&m, sizeof(m));
        return;
    }
    void *arg = (void *)(uintptr_t)m.id;
    int rc = m.op == HASHMSG_HASH
                 ? hashpool_hash(child.pool, child.base, m.password, hashchild_done, arg)
                 : hashpool_verify(child.pool, child.base, m.has_encoded ? m.encoded : NULL,
                                   m.password, hashchild_done, arg);
    if (rc < 0)
        hashchild_send(m.id, HASHMSG_BUSY, NULL);
    explicit_bzero(&m, sizeof(m));
}

/* Reads every waiting request; ends the loop when reflectd closed its end. */
static void hashchild_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    uint8_t buf[HASHMSG_REQ_MAX + 1];
    size_t len;
    int rc;
    while ((rc = hashmsg_recv(fd, buf, sizeof(buf), &len)) > 0) {
        hashchild_request(buf, len); /* one too long is sizeof(buf) bytes: refused */
        explicit_bzero(buf, len);
    }
    if (rc < 0) /* EOF: reflectd is stopping (or gone) */
        event_base_loopbreak(child.base);
}

static int hashchild_args(int argc, char **argv, pid_t *ppid, int *threads, struct hasher_params *p)
{
    int v[7];
    if (argc != 9)
        return -1;
    for (int i = 0; i < 7; i++)
        if (parse_int(argv[i + 2], &v[i]) < 0)
            return -1;
    *ppid = (pid_t)v[0];
    *threads = v[1];
    *p = (struct hasher_params){v[2], v[3], v[4], v[5], v[6]};
    return *threads > 0 ? 0 : -1;
}

/* Serves until the socket closes. */
static int hashchild_serve(int threads, const struct hasher_params *p)
{
    if (evthread_use_pthreads() < 0 || !(child.base = event_base_new()))
        return 1;
    child.pool = hashpool_new(threads, p);
    struct event *ev =
        event_new(child.base, child.fd, EV_READ | EV_PERSIST, hashchild_readable, NULL);
    int rc = 1;
    if (child.pool && ev && event_add(ev, NULL) == 0)
        rc = event_base_dispatch(child.base) < 0;
    if (ev)
        event_free(ev);
    hashpool_free(child.pool);
    /* Results handed back before the pool stopped: run them (their replies
     * go nowhere), so that their jobs, and the passwords, are freed. */
    event_base_loop(child.base, EVLOOP_NONBLOCK);
    event_base_free(child.base);
    return rc;
}

int hashchild_main(int argc, char **argv)
{
    pid_t ppid;
    int threads;
    struct hasher_params p;
    if (hashchild_args(argc, argv, &ppid, &threads, &p) < 0) {
        fprintf(stderr, "reflectd --hasher: internal mode, started by reflectd itself\n");
        return 2;
    }
    /* Set before exec already; again in case of an exec that dropped it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ppid)
        return 1;
    child.fd = HASHMSG_CHILD_FD;
    hashchild_lower_priority();
    int rc = hashchild_serve(threads, &p);
    close(child.fd);
    return rc;
}
