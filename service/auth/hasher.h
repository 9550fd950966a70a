/* hasher.h - argon2id password hashing, in a process of its own.
 *
 * reflectd's side of the hasher process (hasher.c): the API the handlers
 * use. The work itself is done by hashchild.c / hashpool.c in a child
 * process started by hasher_new(). */
#ifndef REFLECTD_HASHER_H
#define REFLECTD_HASHER_H

#include <sys/types.h>

struct event_base;
struct hasher;

struct hasher_params {
    int t_cost, m_cost_kib, parallelism;
    int cpu_percent; /* sustained hashing, % of one core (0: unpaced) */
    int queue_max;   /* jobs waiting at most (0: unbounded) */
    int timeout_ms;  /* a job unanswered this long is answered HASHER_UNAVAILABLE */
};

/* ok passed to hasher_done when the hasher process ended (or was busy)
 * before answering: the caller answers 503 with Retry-After. */
#define HASHER_UNAVAILABLE (-1)

/* ok: 1 verify matched / hash produced, 0 not, HASHER_UNAVAILABLE. encoded
 * (valid only during the callback): for a hash the PHC string; for a verify
 * that matched a hash made with other parameters than the configured ones,
 * a new hash of the password at the configured ones, for the caller to
 * store; else NULL. */
typedef void (*hasher_done)(int ok, const char *encoded, void *arg);

/* Starts the hasher process (call before any other thread exists: it
 * forks) and the thread that reads its answers. NULL when it cannot. */
struct hasher *hasher_new(int threads, const struct hasher_params *p);
/* Ends the process (closing its socket) and the reader; jobs in flight are
 * dropped, none is called back. Call once no event loop runs any more. */
void hasher_free(struct hasher *h);
/* Both copy password; the callback runs later on base's loop thread.
 * Both return 0, or -1 when the hasher process is not there or
 * queue_max + threads jobs are already out (no callback then: answer 503). */
int hasher_hash(struct hasher *h, struct event_base *base, const char *password, hasher_done cb,
                void *arg);
/* encoded NULL verifies against a dummy hash (same cost, always fails), so
 * an unknown account takes as long as a wrong password; a stored hash
 * cheaper than the configured cost is topped up to it (hashpool.c). */
int hasher_verify(struct hasher *h, struct event_base *base, const char *encoded,
                  const char *password, hasher_done cb, void *arg);
/* Jobs sent and not answered beyond one per hash thread: waiting (an
 * estimate from reflectd's side; for the metrics listener). */
int hasher_queued(struct hasher *h);
/* The hasher process's pid (0 while none runs) and how many times it was
 * restarted after ending (for the metrics listener). */
pid_t hasher_pid(struct hasher *h);
int hasher_restarts(struct hasher *h);
/* Blocking, in this process, for start-up tools (bootstrap, demo seed). */
char *hasher_hash_now(const struct hasher_params *p, const char *password);

#endif
