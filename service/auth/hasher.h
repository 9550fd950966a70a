/* hasher.h - argon2id password hashing on a small thread pool. */
#ifndef REFLECTD_HASHER_H
#define REFLECTD_HASHER_H

struct event_base;
struct hasher;

struct hasher_params {
    int t_cost, m_cost_kib, parallelism;
    int cpu_percent; /* sustained hashing, % of one core (0: unpaced) */
    int queue_max;   /* jobs waiting at most (0: unbounded) */
};

/* ok: verify matched / hash produced. encoded (valid only during the
 * callback): for a hash the PHC string; for a verify that matched a hash
 * made with other parameters than the configured ones, a new hash of the
 * password at the configured ones, for the caller to store; else NULL. */
typedef void (*hasher_done)(int ok, const char *encoded, void *arg);

struct hasher *hasher_new(int threads, const struct hasher_params *p);
/* Stops the threads; queued jobs are dropped, none is called back. */
void hasher_free(struct hasher *h);
/* Both copy password; the callback runs later on base's loop thread.
 * Both return 0, or -1 when queue_max jobs are already waiting (no
 * callback then: answer 503). */
int hasher_hash(struct hasher *h, struct event_base *base, const char *password, hasher_done cb,
                void *arg);
/* encoded NULL verifies against a dummy hash (same cost, always fails), so
 * an unknown account takes as long as a wrong password; a stored hash
 * cheaper than the configured cost is topped up to it (hasher.c). */
int hasher_verify(struct hasher *h, struct event_base *base, const char *encoded,
                  const char *password, hasher_done cb, void *arg);
/* Jobs waiting for a thread (for the metrics listener; takes the lock). */
int hasher_queued(struct hasher *h);
/* Blocking variants for start-up tools (bootstrap, demo seed). */
char *hasher_hash_now(const struct hasher_params *p, const char *password);

#endif
