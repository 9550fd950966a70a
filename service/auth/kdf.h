/* kdf.h - one argon2id computation in this thread's reusable arena. */
#ifndef REFLECTD_KDF_H
#define REFLECTD_KDF_H

#include "auth/phc.h"

#include <stdint.h>

/* A verify against a stored PHC string, or a new hash. */
struct kdf_job {
    struct phc phc; /* parameters and salt; for a verify also the hash */
    int verify;
};

/* A verify of encoded; when encoded is NULL or not a string we wrote,
 * fallback (the dummy) is used instead so that the work is the same, and
 * 0 is returned (1 when encoded decoded). */
int kdf_prepare_verify(struct kdf_job *k, const char *encoded, const char *fallback);
/* A new hash with these costs and a fresh random salt; 0 or -1. */
int kdf_prepare_hash(struct kdf_job *k, int t_cost, int m_cost_kib, int parallelism);
/* The parameters new hashes are made with (ARGON2_*). */
struct kdf_cost {
    int t_cost, m_cost_kib, parallelism;
};
/* Pure decisions about a stored hash (decoded), for the hasher:
 * - needs rehash: it was made with other parameters than want (passes,
 *   memory, lanes, salt or hash length), so a successful login stores a
 *   new hash made with want;
 * - extra work: verifying it costs less than one computation at want
 *   (passes x memory, the work argon2 does; lanes only split the memory),
 *   so a wrong password would be answered faster than for an unknown
 *   address (the dummy has want's cost) and tell that the account exists.
 *   The hasher then also computes a hash at want. */
int kdf_needs_rehash(const struct phc *stored, const struct kdf_cost *want);
int kdf_needs_extra_work(const struct phc *stored, const struct kdf_cost *want);
/* Working memory kept from one computation to the next. */
struct kdf_arena {
    uint8_t *mem;
    size_t len;
};

/* Maps (once) the arena big enough for k, at most cap_kib KiB (larger
 * jobs get malloc'd memory). Call at normal priority: mapping takes the
 * process's memory-map lock. */
void kdf_reserve(struct kdf_arena *a, const struct kdf_job *k, int cap_kib);
/* Gives the arena back to the system. */
void kdf_release(struct kdf_arena *a);
/* The computation, in a (may be NULL or too small: malloc). verify: 1 when
 * password matches. hash: 1 and a malloc'd PHC string in *encoded, or 0. */
int kdf_run(struct kdf_job *k, const struct kdf_arena *a, const char *password, char **encoded);

#endif
