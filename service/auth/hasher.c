/* hasher.c - reflectd's side of the hasher process (issue 18).
 *
 * argon2id runs in a child process (hashchild.c): its computations and its
 * 64 MiB arenas then share neither the scheduling group nor the memory map
 * of the event loops (see hashchild.c for what the child does to itself).
 * This file starts it, talks to it and starts it again when it ends.
 *
 *   - Start: fork, and in the child only async-signal-safe calls until it
 *     executes this binary again as `reflectd --hasher ...`: parent-death
 *     signal, setsid (a session, so an autogroup, of its own), the socket
 *     on HASHMSG_CHILD_FD, stdin from /dev/null, every other descriptor closed.
 *     Executing rather than running on after fork makes restarting safe
 *     once threads exist, and gives the child a fresh address space.
 *   - Requests: a worker's handler encodes one message (hashmsg.c) with a
 *     new id and sends it without blocking on the SOCK_SEQPACKET socket (a
 *     full socket or no child: -1, the handler answers 503). The job waits
 *     in a list under the lock.
 *   - Replies: one thread of our own runs a libevent loop on the socket,
 *     matches each reply's id to its job and hands the result to the
 *     worker loop that asked (event_base_once, as the in-process pool did).
 *   - The child ends (killed, crashed, a malformed reply): every job in
 *     flight is answered HASHER_UNAVAILABLE (the handlers send 503 with
 *     Retry-After), the exit is logged and reaped, and a new child starts:
 *     at once, or after HASHER_RETRY_S when the last one lived shorter than
 *     that (a child that cannot start does not make us spin).
 *   - Shutdown: closing our end makes the child exit; we reap it.
 * The CPU budget (HASH_CPU_PERCENT) and the queue bound (HASH_QUEUE_MAX)
 * live in the child's pool (hashpool.c); reflectd itself refuses a job
 * only when HASH_QUEUE_MAX + HASH_THREADS jobs are already out. */
#include "auth/hasher.h"
#include "auth/hashmsg.h"
#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define HASHER_RETRY_S 1
#define HASHER_STOP_MS 10000 /* a stopping child gets this long, then SIGKILL */
#define HASHER_LOST_MS 1000  /* a child whose socket closed gets this long to be reaped */
#define HASHER_NARGS   7     /* the child's decimal arguments (hashchild.h) */

struct hasher_job {
    TAILQ_ENTRY(hasher_job) next;
    uint64_t id;
    struct event_base *base;
    hasher_done cb;
    void *arg;
    int op;          /* HASHMSG_HASH or HASHMSG_VERIFY */
    double deadline; /* monotonic s: unanswered by then, it is answered 503 */
    int ok;
    char *encoded;
};

struct hasher {
    struct hasher_params params;
    int threads;
    char exe[PATH_MAX];
    char args[HASHER_NARGS][24]; /* made before any fork: the child may not format */
    char *argv[HASHER_NARGS + 3];
    long open_max;        /* for closing descriptors by hand where close_range fails */
    pthread_mutex_t lock; /* fd, pid, next_id, jobs, in_flight, restarts, stopping */
    int fd;               /* our end of the socket; -1 while no child runs */
    pid_t pid;
    uint64_t next_id;
    // cppcheck-suppress unusedStructMember
    TAILQ_HEAD(, hasher_job) jobs; /* sent, not answered */
    int in_flight;
    int restarts;
    int stopping;
    double started_at;       /* when the current child started (monotonic s) */
    struct event_base *base; /* the reader thread's loop */
    struct event *read_ev, *retry_ev, *sweep_ev;
    int expired; /* jobs answered 503 at their deadline */
    pthread_t thread;
    int thread_started;
};

static void hasher_readable(evutil_socket_t fd, short what, void *arg);
static int hasher_reap(pid_t pid, int timeout_ms);

/* Between fork and exec: async-signal-safe calls only, since another
 * thread may have held any lock at the fork. */
static void hasher_exec(const struct hasher *h, int sock, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(1);
    /* Out of reflectd's process group before any signal is unblocked: a
     * signal to the group would run reflectd's handlers here, and they
     * write to the pipe reflectd's own loop reads. */
    setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* a mask survives exec */
    if (sock == HASHMSG_CHILD_FD)
        fcntl(sock, F_SETFD, 0); /* keep it across exec */
    else if (dup2(sock, HASHMSG_CHILD_FD) < 0)
        _exit(1);
    int null = open("/dev/null", O_RDONLY);
    if (null > 0 && null != HASHMSG_CHILD_FD)
        dup2(null, 0);
    /* Nothing else of reflectd's may reach the child: accepted client
     * sockets are not all close-on-exec. Without close_range (Linux < 5.9)
     * close them one by one. */
    if (close_range(HASHMSG_CHILD_FD + 1, ~0U, 0) < 0)
        for (long fd = HASHMSG_CHILD_FD + 1; fd < h->open_max; fd++)
            close((int)fd);
    execv(h->exe, h->argv);
    _exit(127);
}

/* Starts a child and watches its socket; 0 or -1. */
static int hasher_spawn(struct hasher *h)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        log_error("hasher: socketpair: %s", strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        hasher_exec(h, sv[1], parent);
    close(sv[1]);
    struct event *ev = NULL;
    if (pid < 0 || evutil_make_socket_nonblocking(sv[0]) < 0 ||
        !(ev = event_new(h->base, sv[0], EV_READ | EV_PERSIST, hasher_readable, h)) ||
        event_add(ev, NULL) < 0) {
        log_error("hasher: cannot start the hasher process: %s", strerror(errno));
        if (ev)
            event_free(ev);
        close(sv[0]); /* a child started exits on EOF; reaped below */
        if (pid > 0)
            hasher_reap(pid, HASHER_LOST_MS);
        return -1;
    }
    pthread_mutex_lock(&h->lock);
    h->fd = sv[0];
    h->pid = pid;
    pthread_mutex_unlock(&h->lock);
    h->read_ev = ev;
    h->started_at = clock_mono_s();
    log_info("hasher process %ld started", (long)pid);
    return 0;
}

/* Waits up to timeout_ms for pid, then kills it (not reaped yet, so the
 * pid is still ours). Its wait status, or -1. */
static int hasher_reap(pid_t pid, int timeout_ms)
{
    int st = 0;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return st;
        if (w < 0 && errno != EINTR)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

static void hasher_describe(int st, char *buf, size_t n)
{
    if (st >= 0 && WIFEXITED(st))
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(st));
    else if (st >= 0 && WIFSIGNALED(st))
        snprintf(buf, n, "was killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, n, "ended");
}

static void hasher_job_free(struct hasher_job *j)
{
    free(j->encoded);
    free(j);
}

static void hasher_deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hasher_job *j = arg;
    j->cb(j->ok, j->encoded, j->arg);
    hasher_job_free(j);
}

static void hasher_hand_back(struct hasher_job *j)
{
    if (event_base_once(j->base, -1, EV_TIMEOUT, hasher_deliver, j, NULL) < 0) {
        log_error("hasher: cannot deliver a result");
        hasher_job_free(j);
    }
}

/* The child is gone or broken: answer its jobs, reap it, start another. */
static void hasher_lost(struct hasher *h, const char *why)
{
    TAILQ_HEAD(, hasher_job) lost = TAILQ_HEAD_INITIALIZER(lost);
    pthread_mutex_lock(&h->lock);
    int fd = h->fd, n = h->in_flight;
    pid_t pid = h->pid;
    h->fd = -1;
    h->pid = 0;
    h->in_flight = 0;
    h->restarts++;
    int stopping = h->stopping;
    TAILQ_CONCAT(&lost, &h->jobs, next);
    pthread_mutex_unlock(&h->lock);
    event_free(h->read_ev);
    h->read_ev = NULL;
    close(fd);
    char status[64];
    hasher_describe(hasher_reap(pid, HASHER_LOST_MS), status, sizeof(status));
    log_error("hasher process %ld %s (%s); %d job(s) in flight answered 503; starting another",
              (long)pid, status, why, n);
    struct hasher_job *j;
    while ((j = TAILQ_FIRST(&lost))) {
        TAILQ_REMOVE(&lost, j, next);
        j->ok = HASHER_UNAVAILABLE;
        hasher_hand_back(j);
    }
    struct timeval retry = {HASHER_RETRY_S, 0};
    if (stopping)
        return;
    if (clock_mono_s() - h->started_at < HASHER_RETRY_S || hasher_spawn(h) < 0)
        event_add(h->retry_ev, &retry);
}

static void hasher_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hasher *h = arg;
    struct timeval retry = {HASHER_RETRY_S, 0};
    if (hasher_spawn(h) < 0)
        event_add(h->retry_ev, &retry);
}

/* The job a reply answers, taken off the list; NULL for an unknown id. */
static struct hasher_job *hasher_take(struct hasher *h, uint64_t id)
{
    pthread_mutex_lock(&h->lock);
    struct hasher_job *j;
    TAILQ_FOREACH(j, &h->jobs, next)
    if (j->id == id)
        break;
    if (j) {
        TAILQ_REMOVE(&h->jobs, j, next);
        h->in_flight--;
    }
    pthread_mutex_unlock(&h->lock);
    return j;
}

/* One reply; -1 when it answers no job we ever sent. A reply to a job
 * already answered at its deadline (hasher_sweep) is dropped. */
static int hasher_answer(struct hasher *h, const struct hashmsg_rep *m)
{
    struct hasher_job *j = hasher_take(h, m->id);
    if (!j) {
        pthread_mutex_lock(&h->lock);
        int sent = m->id > 0 && m->id <= h->next_id;
        pthread_mutex_unlock(&h->lock);
        return sent ? 0 : -1;
    }
    j->ok = m->status == HASHMSG_OK ? 1 : m->status == HASHMSG_NO ? 0 : HASHER_UNAVAILABLE;
    /* A hash "produced" without the hash would be stored as NULL: an
     * account nobody can log in to. Not a success, whatever the child says. */
    if (j->op == HASHMSG_HASH && j->ok == 1 && !m->has_encoded)
        j->ok = HASHER_UNAVAILABLE;
    if (m->has_encoded && !(j->encoded = strdup(m->encoded)))
        abort();
    hasher_hand_back(j);
    return 0;
}

/* Answers 503 to the jobs past their deadline: a child that lives but does
 * not work (stopped, or starved on a saturated machine) must not hold a
 * login forever. Jobs are listed in the order sent, with one timeout, so
 * the late ones are at the head. */
static void hasher_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hasher *h = arg;
    TAILQ_HEAD(, hasher_job) late = TAILQ_HEAD_INITIALIZER(late);
    double now = clock_mono_s();
    int n = 0;
    struct hasher_job *j;
    pthread_mutex_lock(&h->lock);
    while ((j = TAILQ_FIRST(&h->jobs)) && j->deadline <= now) {
        TAILQ_REMOVE(&h->jobs, j, next);
        TAILQ_INSERT_TAIL(&late, j, next);
        h->in_flight--;
        n++;
    }
    h->expired += n;
    pthread_mutex_unlock(&h->lock);
    if (n)
        log_warn("hasher: %d job(s) unanswered after %d ms answered 503", n, h->params.timeout_ms);
    while ((j = TAILQ_FIRST(&late))) {
        TAILQ_REMOVE(&late, j, next);
        j->ok = HASHER_UNAVAILABLE;
        hasher_hand_back(j);
    }
}

static void hasher_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct hasher *h = arg;
    uint8_t buf[HASHMSG_REP_MAX + 1];
    size_t len;
    int rc;
    while ((rc = hashmsg_recv(fd, buf, sizeof(buf), &len)) > 0) {
        struct hashmsg_rep m; /* one too long is sizeof(buf) bytes: refused */
        if (hashmsg_rep_decode(buf, len, &m) < 0 || hasher_answer(h, &m) < 0) {
            hasher_lost(h, "a malformed or unexpected reply");
            return;
        }
    }
    if (rc < 0)
        hasher_lost(h, errno ? strerror(errno) : "its socket closed");
}

static void *hasher_main(void *arg)
{
    struct hasher *h = arg;
    /* Runs (also while no child does, waiting to retry) until hasher_free. */
    event_base_loop(h->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* The child's command line (hashchild.h). */
static void hasher_args(struct hasher *h)
{
    const int v[HASHER_NARGS] = {(int)getpid(),         h->threads,
                                 h->params.t_cost,      h->params.m_cost_kib,
                                 h->params.parallelism, h->params.cpu_percent,
                                 h->params.queue_max};
    /* The path rather than /proc/self/exe itself, whose target under valgrind is
     * valgrind's tool (valgrind answers readlink with the program's path). */
    ssize_t n = readlink("/proc/self/exe", h->exe, sizeof(h->exe) - 1);
    if (n > 0)
        h->exe[n] = 0;
    else
        snprintf(h->exe, sizeof(h->exe), "/proc/self/exe");
    h->argv[0] = "reflectd";
    h->argv[1] = "--hasher";
    for (int i = 0; i < HASHER_NARGS; i++) {
        snprintf(h->args[i], sizeof(h->args[i]), "%d", v[i]);
        h->argv[i + 2] = h->args[i];
    }
    h->argv[HASHER_NARGS + 2] = NULL;
    h->open_max = sysconf(_SC_OPEN_MAX);
    if (h->open_max <= 0 || h->open_max > 1L << 20)
        h->open_max = 1L << 20;
}

static void hasher_destroy(struct hasher *h)
{
    struct hasher_job *j;
    while ((j = TAILQ_FIRST(&h->jobs))) {
        TAILQ_REMOVE(&h->jobs, j, next);
        hasher_job_free(j);
    }
    if (h->read_ev)
        event_free(h->read_ev);
    if (h->retry_ev)
        event_free(h->retry_ev);
    if (h->sweep_ev)
        event_free(h->sweep_ev);
    if (h->base)
        event_base_free(h->base);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

struct hasher *hasher_new(int threads, const struct hasher_params *p)
{
    if (evthread_use_pthreads() < 0) /* the reader hands results to other loops */
        return NULL;
    struct hasher *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->params = *p;
    h->threads = threads;
    h->fd = -1;
    pthread_mutex_init(&h->lock, NULL);
    TAILQ_INIT(&h->jobs);
    hasher_args(h);
    h->base = event_base_new();
    h->retry_ev = h->base ? evtimer_new(h->base, hasher_retry, h) : NULL;
    h->sweep_ev = h->base ? event_new(h->base, -1, EV_PERSIST, hasher_sweep, h) : NULL;
    int period_ms = p->timeout_ms / 10 < 10     ? 10
                    : p->timeout_ms / 10 > 1000 ? 1000
                                                : p->timeout_ms / 10;
    struct timeval period = {period_ms / 1000, (period_ms % 1000) * 1000};
    if (!h->retry_ev || !h->sweep_ev || event_add(h->sweep_ev, &period) < 0 ||
        hasher_spawn(h) < 0) {
        hasher_destroy(h);
        return NULL;
    }
    if (pthread_create(&h->thread, NULL, hasher_main, h) != 0) {
        close(h->fd);
        hasher_reap(h->pid, HASHER_STOP_MS);
        hasher_destroy(h);
        return NULL;
    }
    h->thread_started = 1;
    return h;
}

/* Closes the child's socket (EOF: it finishes its computation and exits)
 * and reaps it. */
static void hasher_stop_child(struct hasher *h)
{
    pthread_mutex_lock(&h->lock);
    int fd = h->fd;
    pid_t pid = h->pid;
    h->fd = -1;
    h->pid = 0;
    pthread_mutex_unlock(&h->lock);
    if (fd < 0)
        return;
    if (h->read_ev) {
        event_free(h->read_ev);
        h->read_ev = NULL;
    }
    close(fd);
    int st = hasher_reap(pid, HASHER_STOP_MS);
    if (st != 0) {
        char status[64];
        hasher_describe(st, status, sizeof(status));
        log_error("hasher process %ld %s while stopping", (long)pid, status);
    }
}

/* On the reader thread: a restarted child was forked by this thread, and
 * its PR_SET_PDEATHSIG fires when the forking thread ends, so the child
 * is stopped before the thread is. */
static void hasher_stop_on_reader(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hasher *h = arg;
    hasher_stop_child(h);
    event_base_loopbreak(h->base);
}

void hasher_free(struct hasher *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_mutex_unlock(&h->lock);
    if (h->thread_started) {
        if (event_base_once(h->base, -1, EV_TIMEOUT, hasher_stop_on_reader, h, NULL) < 0)
            event_base_loopbreak(h->base);
        pthread_join(h->thread, NULL);
    }
    hasher_stop_child(h); /* no reader thread, or it could not be asked */
    hasher_destroy(h);
}

static int hasher_submit(struct hasher *h, struct event_base *base, int op, const char *encoded,
                         const char *password, hasher_done cb, void *arg)
{
    size_t pw = strlen(password);
    if (pw > HASHMSG_PW_MAX) /* the handlers allow less */
        return -1;
    struct hashmsg_req m = {.op = op};
    memcpy(m.password, password, pw + 1);
    /* A stored hash too long to be one of ours is checked like one that
     * does not decode: against the dummy, failing (kdf_prepare_verify). */
    if (encoded && strlen(encoded) <= HASHMSG_ENC_MAX) {
        m.has_encoded = 1;
        memcpy(m.encoded, encoded, strlen(encoded) + 1);
    }
    struct hasher_job *j = calloc(1, sizeof(*j));
    if (!j)
        abort();
    j->base = base;
    j->cb = cb;
    j->arg = arg;
    j->op = op;
    j->deadline = clock_mono_s() + h->params.timeout_ms / 1000.0;
    uint8_t buf[HASHMSG_REQ_MAX];
    int rc = -1;
    pthread_mutex_lock(&h->lock);
    int full = h->params.queue_max > 0 && h->in_flight >= h->params.queue_max + h->threads;
    if (!h->stopping && h->fd >= 0 && !full) {
        m.id = j->id = ++h->next_id;
        size_t n = hashmsg_req_encode(&m, buf, sizeof(buf));
        if (n && send(h->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n) {
            TAILQ_INSERT_TAIL(&h->jobs, j, next);
            h->in_flight++;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&h->lock);
    explicit_bzero(buf, sizeof(buf));
    explicit_bzero(&m, sizeof(m));
    if (rc < 0)
        free(j);
    return rc;
}

int hasher_hash(struct hasher *h, struct event_base *base, const char *password, hasher_done cb,
                void *arg)
{
    return hasher_submit(h, base, HASHMSG_HASH, NULL, password, cb, arg);
}

int hasher_verify(struct hasher *h, struct event_base *base, const char *encoded,
                  const char *password, hasher_done cb, void *arg)
{
    return hasher_submit(h, base, HASHMSG_VERIFY, encoded, password, cb, arg);
}

int hasher_queued(struct hasher *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->in_flight > h->threads ? h->in_flight - h->threads : 0;
    pthread_mutex_unlock(&h->lock);
    return n;
}

pid_t hasher_pid(struct hasher *h)
{
    pthread_mutex_lock(&h->lock);
    pid_t pid = h->pid;
    pthread_mutex_unlock(&h->lock);
    return pid;
}

int hasher_restarts(struct hasher *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->restarts;
    pthread_mutex_unlock(&h->lock);
    return n;
}
