/* hashpool.h - argon2id on a small thread pool (runs in the hasher process). */
#ifndef REFLECTD_HASHPOOL_H
#define REFLECTD_HASHPOOL_H

#include "auth/hasher.h"

struct event_base;
struct hashpool;

/* The callback gets ok 1 or 0 (never HASHER_UNAVAILABLE), as hasher_done. */
struct hashpool *hashpool_new(int threads, const struct hasher_params *p);
/* Stops the threads; queued jobs are dropped, none is called back. */
void hashpool_free(struct hashpool *h);
/* Both copy password (wiped when the job ends); the callback runs later on
 * base's loop thread (base must have libevent's thread locking). Both
 * return 0, or -1 when queue_max jobs are already waiting (no callback). */
int hashpool_hash(struct hashpool *h, struct event_base *base, const char *password, hasher_done cb,
                  void *arg);
/* encoded NULL verifies against a dummy hash (same cost, always fails), so
 * an unknown account takes as long as a wrong password; a stored hash
 * cheaper than the configured cost is topped up to it (hashpool.c). */
int hashpool_verify(struct hashpool *h, struct event_base *base, const char *encoded,
                    const char *password, hasher_done cb, void *arg);
/* Jobs waiting for a thread (takes the lock). */
int hashpool_queued(struct hashpool *h);

#endif
