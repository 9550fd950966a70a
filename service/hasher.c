/* hasher.c - argon2id off the event loops.
 *
 * An argon2id computation takes tens of milliseconds and 64 MiB by design.
 * Done on a worker's event loop it would stall every other request on that
 * thread, so login and user creation hand passwords to this pool instead:
 * a fixed set of threads takes jobs from one queue, and each result goes
 * back to the event loop that asked, through event_base_once (thread-safe
 * since the server enabled libevent's pthread locking). The pool size
 * bounds the memory a burst of logins can take: threads x m_cost. */
#include "hasher.h"
#include "log.h"

#include <argon2.h>
#include <event2/event.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>

#define HASHER_SALT_LEN 16
#define HASHER_HASH_LEN 32

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

static void hasher_run(struct hasher *h, struct hasher_job *j)
{
    if (j->verify) {
        const char *enc = j->encoded ? j->encoded : h->dummy;
        int rc = argon2id_verify(enc, j->password, strlen(j->password));
        j->ok = j->encoded && rc == ARGON2_OK;
    } else {
        j->encoded = hasher_hash_now(&h->params, j->password);
        j->ok = j->encoded != NULL;
    }
}

static void *hasher_thread(void *arg)
{
    struct hasher *h = arg;
    /* SCHED_IDLE: hashing runs on what the event loops and PostgreSQL leave
     * over, so a burst of logins slows logins, not everyone's reads. Where
     * the policy is refused, the thread simply runs at normal priority. */
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
        log_warn("hasher: cannot lower the hash threads' priority");
    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (!h->stopping && TAILQ_EMPTY(&h->queue))
            pthread_cond_wait(&h->cond, &h->lock);
        if (h->stopping) {
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        struct hasher_job *j = TAILQ_FIRST(&h->queue);
        TAILQ_REMOVE(&h->queue, j, next);
        pthread_mutex_unlock(&h->lock);
        hasher_run(h, j);
        if (event_base_once(j->base, -1, EV_TIMEOUT, hasher_deliver, j, NULL) < 0) {
            log_error("hasher: cannot deliver a result");
            hasher_job_free(j);
        }
    }
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

static void hasher_submit(struct hasher *h, struct event_base *base, int verify,
                          const char *encoded, const char *password, hasher_done cb, void *arg)
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
    TAILQ_INSERT_TAIL(&h->queue, j, next);
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

void hasher_hash(struct hasher *h, struct event_base *base, const char *password, hasher_done cb,
                 void *arg)
{
    hasher_submit(h, base, 0, NULL, password, cb, arg);
}

void hasher_verify(struct hasher *h, struct event_base *base, const char *encoded,
                   const char *password, hasher_done cb, void *arg)
{
    hasher_submit(h, base, 1, encoded, password, cb, arg);
}
