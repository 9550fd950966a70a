/* hashpool.c - argon2id on a small thread pool, inside the hasher process.
 *
 * An argon2id computation takes tens of milliseconds and 64 MiB by design.
 * Since issue 18 this pool runs in a process of its own (hashchild.c, which
 * feeds it from reflectd's socket; hasher.c is reflectd's side): a fixed set
 * of threads takes jobs from one queue, and each result goes back to the
 * event loop that asked, through event_base_once. The pool size bounds the
 * memory a burst of logins can take: threads x m_cost.
 *
 * What it does to keep hashing cheap for everyone else:
 *   - The computation runs at SCHED_IDLE (the whole hasher process does;
 *     the pool still runs each computation on a thread created for it at
 *     SCHED_IDLE, which costs one thread per job and keeps the pool correct
 *     when it runs in a process at normal priority, as before issue 18).
 *   - Memory: each thread computes in its own arena, mapped once and kept
 *     while logins keep coming (kdf.c), released after HASHPOOL_KEEP_S idle.
 *     In its own process the faults and the unmapping's TLB shootdowns no
 *     longer reach the event loops' threads.
 *   - Pacing. The kernel shares CPU between scheduling groups (autogroups,
 *     cgroups) before priorities count, so hashing has a CPU budget,
 *     HASH_CPU_PERCENT of one core, kept here as a token bucket of CPU
 *     seconds (HASHPOOL_BURST_S deep): a handful of logins run at full
 *     speed, a sustained burst is slowed to the budget, and at most
 *     HASH_QUEUE_MAX jobs wait (the rest get a 503 and Retry-After).
 *
 * A stored hash made with other parameters than the configured ones is
 * replaced on the next successful login (the verify job hands back a new
 * hash), and checking one that is cheaper costs the configured work all the
 * same (hashpool_run_verify), so its cost tells nobody which accounts exist. */
#include "auth/hashpool.h"
#include "auth/kdf.h"
#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#define HASHPOOL_KEEP_S  30
#define HASHPOOL_BURST_S 1.0
/* A stored hash may cost more memory than configured (an older setting);
 * up to this many times the configured cost it gets an arena too. */
#define HASHPOOL_ARENA_CAP 4

struct hashpool_job {
    TAILQ_ENTRY(hashpool_job) next;
    struct event_base *base;
    char *password;
    char *encoded; /* verify: the stored hash, then the new one (rehash); hash: the result */
    int verify;
    int ok;
    hasher_done cb;
    void *arg;
};

struct hashpool {
    struct hasher_params params;
    char *dummy; /* verified against for unknown accounts */
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* a job was queued, or stopping */
    pthread_cond_t stop_cond; /* stopping (wakes threads pacing themselves) */
    // cppcheck-suppress unusedStructMember
    TAILQ_HEAD(, hashpool_job) queue;
    int queued;
    double budget;    /* CPU seconds hashing may spend now (may go negative) */
    double budget_at; /* when budget was last refilled (monotonic s) */
    int stopping;
    int nthreads;
    pthread_t *threads;
};

char *hasher_hash_now(const struct hasher_params *p, const char *password)
{
    struct kdf_job k;
    char *encoded = NULL;
    if (kdf_prepare_hash(&k, p->t_cost, p->m_cost_kib, p->parallelism) < 0)
        return NULL;
    return kdf_run(&k, NULL, password, &encoded) ? encoded : NULL; /* malloc'd memory */
}

static void hashpool_job_free(struct hashpool_job *j)
{
    if (j->password) {
        explicit_bzero(j->password, strlen(j->password));
        free(j->password);
    }
    free(j->encoded);
    free(j);
}

static void hashpool_deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hashpool_job *j = arg;
    j->cb(j->ok, j->encoded, j->arg);
    hashpool_job_free(j);
}

/* One computation on a thread of its own (see the top of the file). */
struct compute {
    struct kdf_job *k;
    const struct kdf_arena *arena;
    const char *password;
    char *encoded;
    int ok;
    double cpu; /* seconds of CPU it took */
};

static void *compute_main(void *arg)
{
    struct compute *c = arg;
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    c->ok = kdf_run(c->k, c->arena, c->password, &c->encoded);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    c->cpu = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return NULL;
}

/* The thread lowers itself: glibc's thread attributes know no SCHED_IDLE,
 * and lowering needs no privilege. */
static void *compute_idle_main(void *arg)
{
    struct sched_param sp = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    return compute_main(arg);
}

/* Runs c on a new thread at SCHED_IDLE and waits for it; where no thread
 * can be made, here, at normal priority (still paced). */
static void compute_idle(struct compute *c)
{
    pthread_t t;
    if (pthread_create(&t, NULL, compute_idle_main, c) == 0)
        pthread_join(t, NULL);
    else
        compute_main(c);
}

/* One computation of k for password on a thread at SCHED_IDLE; *ok as
 * kdf_run, and for a hash the PHC string in *encoded. Returns the CPU
 * seconds it took. */
static double hashpool_compute(struct hashpool *h, struct kdf_arena *arena, struct kdf_job *k,
                               const char *password, int *ok, char **encoded)
{
    kdf_reserve(arena, k, h->params.m_cost_kib * HASHPOOL_ARENA_CAP);
    struct compute c = {k, arena, password, NULL, 0, 0};
    compute_idle(&c);
    *ok = c.ok;
    *encoded = c.encoded;
    return c.cpu;
}

/* A new hash of password at the configured cost into *encoded (NULL when
 * it failed); returns the CPU seconds. */
static double hashpool_run_hash(struct hashpool *h, struct kdf_arena *arena, const char *password,
                                char **encoded)
{
    struct kdf_job k;
    int ok = 0;
    *encoded = NULL;
    if (kdf_prepare_hash(&k, h->params.t_cost, h->params.m_cost_kib, h->params.parallelism) < 0)
        return 0;
    double cpu = hashpool_compute(h, arena, &k, password, &ok, encoded);
    if (!ok) {
        free(*encoded);
        *encoded = NULL;
    }
    return cpu;
}

/* A verify. When the stored hash was made with other parameters, a match
 * is followed by a new hash at the configured ones, handed back in
 * j->encoded for the caller to store; a mismatch against a hash cheaper
 * than the configured cost is followed by the same computation, thrown
 * away, so that every check costs at least the configured work (as the
 * dummy does for an unknown address). One computation does both jobs
 * because a match needs it anyway: success and failure then cost alike. */
static double hashpool_run_verify(struct hashpool *h, struct kdf_arena *arena,
                                  struct hashpool_job *j)
{
    struct kdf_job k;
    int real = kdf_prepare_verify(&k, j->encoded, h->dummy); /* unknown: same work */
    int ok = 0;
    char *unused = NULL;
    double cpu = hashpool_compute(h, arena, &k, j->password, &ok, &unused);
    free(unused);     /* a verify writes none */
    free(j->encoded); /* from here on: the new hash, if any */
    j->encoded = NULL;
    j->ok = ok && real;
    struct kdf_cost want = {h->params.t_cost, h->params.m_cost_kib, h->params.parallelism};
    if (j->ok ? !kdf_needs_rehash(&k.phc, &want) : !kdf_needs_extra_work(&k.phc, &want))
        return cpu;
    char *fresh = NULL;
    cpu += hashpool_run_hash(h, arena, j->password, &fresh);
    if (j->ok)
        j->encoded = fresh; /* NULL when hashing failed: the login still succeeds */
    else
        free(fresh);
    return cpu;
}

/* Computes j; returns the CPU seconds it took. */
static double hashpool_run(struct hashpool *h, struct kdf_arena *arena, struct hashpool_job *j)
{
    if (j->verify)
        return hashpool_run_verify(h, arena, j);
    double cpu = hashpool_run_hash(h, arena, j->password, &j->encoded);
    j->ok = j->encoded != NULL;
    return cpu;
}

/* Charges cpu seconds of hashing to the budget; waits while it is spent
 * (or until the pool stops). */
static void hashpool_pace(struct hashpool *h, double cpu)
{
    double rate = h->params.cpu_percent / 100.0;
    if (rate <= 0)
        return;
    pthread_mutex_lock(&h->lock);
    double now = clock_mono_s();
    h->budget += rate * (now - h->budget_at);
    if (h->budget > HASHPOOL_BURST_S)
        h->budget = HASHPOOL_BURST_S;
    h->budget_at = now;
    h->budget -= cpu;
    double wait = h->budget < 0 ? -h->budget / rate : 0;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double end = (double)until.tv_nsec / 1e9 + wait;
    until.tv_sec += (time_t)end;
    until.tv_nsec = (long)((end - (double)(time_t)end) * 1e9);
    while (wait > 0 && !h->stopping &&
           pthread_cond_timedwait(&h->stop_cond, &h->lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&h->lock);
}

/* The next job, or NULL when stopping. Waits; after HASHPOOL_KEEP_S without
 * work the thread's arena goes back to the system. */
static struct hashpool_job *hashpool_next(struct hashpool *h, struct kdf_arena *arena)
{
    pthread_mutex_lock(&h->lock);
    while (!h->stopping && TAILQ_EMPTY(&h->queue)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HASHPOOL_KEEP_S;
        if (pthread_cond_timedwait(&h->cond, &h->lock, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&h->lock); /* unmapping takes a while */
            kdf_release(arena);
            pthread_mutex_lock(&h->lock);
        }
    }
    struct hashpool_job *j = h->stopping ? NULL : TAILQ_FIRST(&h->queue);
    if (j) {
        TAILQ_REMOVE(&h->queue, j, next);
        h->queued--;
    }
    pthread_mutex_unlock(&h->lock);
    return j;
}

/* Hands j's result to its event loop - unless the pool is stopping, when
 * the loops may have ended and would never run (nor free) it. */
static void hashpool_hand_back(struct hashpool *h, struct hashpool_job *j)
{
    pthread_mutex_lock(&h->lock);
    int stopping = h->stopping;
    pthread_mutex_unlock(&h->lock);
    if (stopping || event_base_once(j->base, -1, EV_TIMEOUT, hashpool_deliver, j, NULL) < 0) {
        if (!stopping)
            log_error("hash pool: cannot deliver a result");
        hashpool_job_free(j);
    }
}

static void *hashpool_thread(void *arg)
{
    struct hashpool *h = arg;
    struct hashpool_job *j;
    struct kdf_arena arena = {0};
    while ((j = hashpool_next(h, &arena))) {
        double cpu = hashpool_run(h, &arena, j);
        hashpool_hand_back(h, j);
        hashpool_pace(h, cpu); /* after delivering: this job is not delayed */
    }
    kdf_release(&arena);
    return NULL;
}

struct hashpool *hashpool_new(int threads, const struct hasher_params *p)
{
    struct hashpool *h = calloc(1, sizeof(*h));
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
    pthread_cond_init(&h->stop_cond, NULL);
    TAILQ_INIT(&h->queue);
    h->budget = HASHPOOL_BURST_S;
    h->budget_at = clock_mono_s();
    for (int i = 0; i < threads; i++)
        if (pthread_create(&h->threads[i], NULL, hashpool_thread, h) == 0)
            h->nthreads++;
    return h;
}

void hashpool_free(struct hashpool *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_cond_broadcast(&h->stop_cond);
    pthread_mutex_unlock(&h->lock);
    for (int i = 0; i < h->nthreads; i++)
        pthread_join(h->threads[i], NULL);
    struct hashpool_job *j;
    while ((j = TAILQ_FIRST(&h->queue))) {
        TAILQ_REMOVE(&h->queue, j, next);
        hashpool_job_free(j);
    }
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    pthread_cond_destroy(&h->stop_cond);
    free(h->threads);
    free(h->dummy);
    free(h);
}

static int hashpool_submit(struct hashpool *h, struct event_base *base, int verify,
                           const char *encoded, const char *password, hasher_done cb, void *arg)
{
    struct hashpool_job *j = calloc(1, sizeof(*j));
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
        hashpool_job_free(j);
    return full ? -1 : 0;
}

int hashpool_queued(struct hashpool *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->queued;
    pthread_mutex_unlock(&h->lock);
    return n;
}

int hashpool_hash(struct hashpool *h, struct event_base *base, const char *password, hasher_done cb,
                  void *arg)
{
    return hashpool_submit(h, base, 0, NULL, password, cb, arg);
}

int hashpool_verify(struct hashpool *h, struct event_base *base, const char *encoded,
                    const char *password, hasher_done cb, void *arg)
{
    return hashpool_submit(h, base, 1, encoded, password, cb, arg);
}
