/* hasher.c - argon2id off the event loops.
 *
 * An argon2id computation takes tens of milliseconds and 64 MiB by design.
 * Done on a worker's event loop it would stall every other request on that
 * thread, so login and user creation hand passwords to this pool instead:
 * a fixed set of threads takes jobs from one queue, and each result goes
 * back to the event loop that asked, through event_base_once (thread-safe
 * since the server enabled libevent's pthread locking). The pool size
 * bounds the memory a burst of logins can take: threads x m_cost.
 *
 * Keeping hashing from hurting everyone else's latency took two things:
 *   - The computation runs at SCHED_IDLE, so it gets only the CPU the event
 *     loops and PostgreSQL leave over. Only the computation: a thread at
 *     that priority that holds a lock (the job queue's, or a worker's event
 *     base lock while delivering) can sit preempted for hundreds of
 *     milliseconds with a worker waiting on it. So the thread takes and
 *     hands back jobs at normal priority.
 *   - A verify works in the thread's own buffer, mapped once and kept while
 *     logins keep coming. libargon2's default allocator would map and unmap
 *     64 MiB per login; both take the process-wide memory-map lock, which
 *     the event loops need for their own page faults and heap growth, and a
 *     SCHED_IDLE thread holding it stalls them (measured: reads' p99 went
 *     to half a second during a login burst). The buffer is released after
 *     HASHER_KEEP_S without work, so an idle server does not hold it.
 *   - Pacing. SCHED_IDLE orders threads within one scheduling group, but the
 *     kernel first shares CPU fairly between groups (autogroups, cgroups):
 *     hashing is charged to this process's group, and once that group has
 *     used its share the event loops wait for PostgreSQL's group, however
 *     idle the hash threads' priority. So hashing has a CPU budget,
 *     HASH_CPU_PERCENT of one core, kept as a token bucket of CPU seconds
 *     (HASHER_BURST_S deep): a handful of logins run at full speed, a
 *     sustained burst is slowed to the budget, and at most HASH_QUEUE_MAX
 *     jobs wait (the rest get a 503 and Retry-After). */
#include "hasher.h"
#include "log.h"
#include "phc.h"

#include <argon2.h>
#include <event2/event.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#define HASHER_SALT_LEN 16
#define HASHER_HASH_LEN 32
#define HASHER_KEEP_S   30
#define HASHER_BURST_S  1.0

/* This thread's argon2 working memory (see the top of the file). */
static _Thread_local uint8_t *arena_mem;
static _Thread_local size_t arena_len;

struct hasher_job {
    TAILQ_ENTRY(hasher_job) next;
    struct event_base *base;
    char *password;
    char *encoded; /* verify: the stored hash; hash: the result */
    int verify;
    int ok;
    hasher_done cb;
    void *arg;
};

struct hasher {
    struct hasher_params params;
    char *dummy; /* verified against for unknown accounts */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    // cppcheck-suppress unusedStructMember
    TAILQ_HEAD(, hasher_job) queue;
    int queued;
    double budget;    /* CPU seconds hashing may spend now (may go negative) */
    double budget_at; /* when budget was last refilled (monotonic s) */
    int stopping;
    int nthreads;
    pthread_t *threads;
};

char *hasher_hash_now(const struct hasher_params *p, const char *password)
{
    unsigned char salt[HASHER_SALT_LEN];
    if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
        return NULL;
    size_t len =
        argon2_encodedlen((uint32_t)p->t_cost, (uint32_t)p->m_cost_kib, (uint32_t)p->parallelism,
                          HASHER_SALT_LEN, HASHER_HASH_LEN, Argon2_id);
    char *out = malloc(len);
    if (!out)
        return NULL;
    if (argon2id_hash_encoded((uint32_t)p->t_cost, (uint32_t)p->m_cost_kib,
                              (uint32_t)p->parallelism, password, strlen(password), salt,
                              sizeof(salt), HASHER_HASH_LEN, out, len) != ARGON2_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static void hasher_job_free(struct hasher_job *j)
{
    if (j->password) {
        explicit_bzero(j->password, strlen(j->password));
        free(j->password);
    }
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

static void arena_release(void)
{
    if (arena_mem)
        munmap(arena_mem, arena_len);
    arena_mem = NULL;
    arena_len = 0;
}

/* MAP_POPULATE: the pages are faulted in once, here, not during hashing. */
static void arena_reserve(size_t len)
{
    if (arena_len >= len)
        return;
    arena_release();
    void *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p != MAP_FAILED) {
        arena_mem = p;
        arena_len = len;
    }
}

/* libargon2's allocator hooks take no context: the arena is per thread. */
static int arena_alloc(uint8_t **memory, size_t bytes)
{
    *memory = arena_mem && bytes <= arena_len ? arena_mem : malloc(bytes);
    return *memory ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

static void arena_free(uint8_t *memory, size_t bytes)
{
    (void)bytes;
    if (memory != arena_mem)
        free(memory);
}

/* argon2id_verify() with the thread's arena; 1 when password matches. */
static int hasher_verify_now(const char *encoded, const char *password)
{
    struct phc phc;
    uint8_t out[PHC_MAX_BYTES];
    if (phc_decode(encoded, &phc) < 0)
        return 0;
    argon2_context ctx = {
        .out = out,
        .outlen = (uint32_t)phc.hash_len,
        .pwd = (uint8_t *)(uintptr_t)password, /* not written: no CLEAR_PASSWORD flag */
        .pwdlen = (uint32_t)strlen(password),
        .salt = phc.salt,
        .saltlen = (uint32_t)phc.salt_len,
        .t_cost = phc.t_cost,
        .m_cost = phc.m_cost_kib,
        .lanes = phc.parallelism,
        .threads = phc.parallelism,
        .version = ARGON2_VERSION_13,
        .allocate_cbk = arena_alloc,
        .free_cbk = arena_free,
    };
    return argon2_verify_ctx(&ctx, (const char *)phc.hash, Argon2_id) == ARGON2_OK;
}

static void hasher_priority(int idle)
{
    struct sched_param sp = {0};
    static _Thread_local int warned;
    if (pthread_setschedparam(pthread_self(), idle ? SCHED_IDLE : SCHED_OTHER, &sp) != 0 &&
        !warned++)
        log_warn("hasher: cannot change the hash threads' priority");
}

static void hasher_run(struct hasher *h, struct hasher_job *j)
{
    /* Mapped at normal priority: populating holds the memory-map lock, and
     * at SCHED_IDLE a preempted holder would stall the event loops. A stored
     * hash with a larger m_cost than configured gets malloc's memory. */
    if (j->verify)
        arena_reserve((size_t)h->params.m_cost_kib * 1024);
    hasher_priority(1);
    if (j->verify) {
        int match = hasher_verify_now(j->encoded ? j->encoded : h->dummy, j->password);
        j->ok = j->encoded && match;
    } else {
        j->encoded = hasher_hash_now(&h->params, j->password);
        j->ok = j->encoded != NULL;
    }
    hasher_priority(0);
}

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Charges cpu seconds of hashing to the budget; sleeps while it is spent. */
static void hasher_pace(struct hasher *h, double cpu)
{
    double rate = h->params.cpu_percent / 100.0;
    if (rate <= 0)
        return;
    pthread_mutex_lock(&h->lock);
    double now = seconds(CLOCK_MONOTONIC);
    h->budget += rate * (now - h->budget_at);
    if (h->budget > HASHER_BURST_S)
        h->budget = HASHER_BURST_S;
    h->budget_at = now;
    h->budget -= cpu;
    double wait = h->budget < 0 ? -h->budget / rate : 0;
    pthread_mutex_unlock(&h->lock);
    if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* The next job, or NULL when stopping. Waits; after HASHER_KEEP_S without
 * work the thread's arena goes back to the system. */
static struct hasher_job *hasher_next(struct hasher *h)
{
    pthread_mutex_lock(&h->lock);
    while (!h->stopping && TAILQ_EMPTY(&h->queue)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HASHER_KEEP_S;
        if (pthread_cond_timedwait(&h->cond, &h->lock, &until) == ETIMEDOUT && arena_mem) {
            pthread_mutex_unlock(&h->lock); /* unmapping takes a while */
            arena_release();
            pthread_mutex_lock(&h->lock);
        }
    }
    struct hasher_job *j = h->stopping ? NULL : TAILQ_FIRST(&h->queue);
    if (j) {
        TAILQ_REMOVE(&h->queue, j, next);
        h->queued--;
    }
    pthread_mutex_unlock(&h->lock);
    return j;
}

static void *hasher_thread(void *arg)
{
    struct hasher *h = arg;
    struct hasher_job *j;
    while ((j = hasher_next(h))) {
        double cpu = seconds(CLOCK_THREAD_CPUTIME_ID);
        hasher_run(h, j);
        cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu;
        if (event_base_once(j->base, -1, EV_TIMEOUT, hasher_deliver, j, NULL) < 0) {
            log_error("hasher: cannot deliver a result");
            hasher_job_free(j);
        }
        hasher_pace(h, cpu); /* after delivering: this job is not delayed */
    }
    arena_release();
    return NULL;
}

struct hasher *hasher_new(int threads, const struct hasher_params *p)
{
    struct hasher *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->params = *p;
    h->dummy = hasher_hash_now(p, "dummy password for unknown accounts");
    h->threads = calloc((size_t)threads, sizeof(pthread_t));
    if (!h->dummy || !h->threads) {
        free(h->dummy);
        free(h->threads);
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    TAILQ_INIT(&h->queue);
    h->budget = HASHER_BURST_S;
    h->budget_at = seconds(CLOCK_MONOTONIC);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&h->threads[i], NULL, hasher_thread, h) == 0)
            h->nthreads++;
    return h;
}

void hasher_free(struct hasher *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    for (int i = 0; i < h->nthreads; i++)
        pthread_join(h->threads[i], NULL);
    struct hasher_job *j;
    while ((j = TAILQ_FIRST(&h->queue))) {
        TAILQ_REMOVE(&h->queue, j, next);
        hasher_job_free(j);
    }
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h->threads);
    free(h->dummy);
    free(h);
}

static int hasher_submit(struct hasher *h, struct event_base *base, int verify, const char *encoded,
                         const char *password, hasher_done cb, void *arg)
{
    struct hasher_job *j = calloc(1, sizeof(*j));
    if (!j)
        abort();
    j->base = base;
    j->verify = verify;
    j->password = strdup(password);
    j->encoded = encoded ? strdup(encoded) : NULL;
    j->cb = cb;
    j->arg = arg;
    if (!j->password || (encoded && !j->encoded))
        abort();
    pthread_mutex_lock(&h->lock);
    int full = h->params.queue_max > 0 && h->queued >= h->params.queue_max;
    if (!full) {
        TAILQ_INSERT_TAIL(&h->queue, j, next);
        h->queued++;
        pthread_cond_signal(&h->cond);
    }
    pthread_mutex_unlock(&h->lock);
    if (full)
        hasher_job_free(j);
    return full ? -1 : 0;
}

int hasher_hash(struct hasher *h, struct event_base *base, const char *password, hasher_done cb,
                void *arg)
{
    return hasher_submit(h, base, 0, NULL, password, cb, arg);
}

int hasher_verify(struct hasher *h, struct event_base *base, const char *encoded,
                  const char *password, hasher_done cb, void *arg)
{
    return hasher_submit(h, base, 1, encoded, password, cb, arg);
}
