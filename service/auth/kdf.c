/* kdf.c - one argon2id computation in this thread's reusable arena.
 *
 * libargon2's one-call functions allocate their working memory (64 MiB by
 * default) with malloc, which maps and unmaps it on every call; both take
 * the process-wide memory-map lock that the event loops need for their own
 * page faults and heap growth, and the first touch of each page faults.
 * Here each hash thread maps its arena once (MAP_POPULATE: faulted in at
 * once, at normal priority) and hands it to argon2_ctx() through the
 * allocator hooks, which take no context: the arena of the computation
 * running on a thread is found through a thread-local pointer. hasher.c
 * releases it after a while without work.
 *
 * Both directions therefore go through argon2_context, which needs the
 * stored hash's fields (phc.c reads and writes the PHC string). Lanes are
 * computed on this thread (threads = 1): the result depends on the lanes
 * only, and extra threads would escape both the priority and the CPU
 * accounting of hasher.c. */
#include "auth/kdf.h"

#include <argon2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#define KDF_SALT_LEN 16
#define KDF_HASH_LEN 32

static _Thread_local const struct kdf_arena *current;

int kdf_prepare_verify(struct kdf_job *k, const char *encoded, const char *fallback)
{
    k->verify = 1;
    if (encoded && phc_decode(encoded, &k->phc) == 0)
        return 1;
    if (phc_decode(fallback, &k->phc) < 0)
        memset(&k->phc, 0, sizeof(k->phc)); /* kdf_run then fails */
    return 0;
}

int kdf_prepare_hash(struct kdf_job *k, int t_cost, int m_cost_kib, int parallelism)
{
    memset(k, 0, sizeof(*k));
    k->phc.t_cost = (uint32_t)t_cost;
    k->phc.m_cost_kib = (uint32_t)m_cost_kib;
    k->phc.parallelism = (uint32_t)parallelism;
    k->phc.salt_len = KDF_SALT_LEN;
    k->phc.hash_len = KDF_HASH_LEN;
    return getrandom(k->phc.salt, KDF_SALT_LEN, 0) == KDF_SALT_LEN ? 0 : -1;
}

int kdf_needs_rehash(const struct phc *stored, const struct kdf_cost *want)
{
    return stored->t_cost != (uint32_t)want->t_cost ||
           stored->m_cost_kib != (uint32_t)want->m_cost_kib ||
           stored->parallelism != (uint32_t)want->parallelism || stored->salt_len != KDF_SALT_LEN ||
           stored->hash_len != KDF_HASH_LEN;
}

int kdf_needs_extra_work(const struct phc *stored, const struct kdf_cost *want)
{
    uint64_t have = (uint64_t)stored->t_cost * stored->m_cost_kib;
    return have < (uint64_t)want->t_cost * (uint64_t)want->m_cost_kib;
}

void kdf_release(struct kdf_arena *a)
{
    if (a->mem)
        munmap(a->mem, a->len);
    a->mem = NULL;
    a->len = 0;
}

void kdf_reserve(struct kdf_arena *a, const struct kdf_job *k, int cap_kib)
{
    size_t len = (size_t)k->phc.m_cost_kib * 1024;
    if (a->len >= len || k->phc.m_cost_kib > (uint32_t)cap_kib)
        return;
    kdf_release(a);
    void *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p != MAP_FAILED) {
        a->mem = p;
        a->len = len;
    }
}

/* libargon2's allocator hooks take no context: the arena is per thread. */
static int arena_alloc(uint8_t **memory, size_t bytes)
{
    const struct kdf_arena *a = current;
    *memory = a && a->mem && bytes <= a->len ? a->mem : malloc(bytes);
    return *memory ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

static void arena_free(uint8_t *memory, size_t bytes)
{
    (void)bytes;
    if (!current || memory != current->mem)
        free(memory);
}

int kdf_run(struct kdf_job *k, const struct kdf_arena *a, const char *password, char **encoded)
{
    current = a;
    uint8_t out[PHC_MAX_BYTES];
    argon2_context ctx = {
        .out = out,
        .outlen = (uint32_t)k->phc.hash_len,
        .pwd = (uint8_t *)(uintptr_t)password, /* not written: no CLEAR_PASSWORD flag */
        .pwdlen = (uint32_t)strlen(password),
        .salt = k->phc.salt,
        .saltlen = (uint32_t)k->phc.salt_len,
        .t_cost = k->phc.t_cost,
        .m_cost = k->phc.m_cost_kib,
        .lanes = k->phc.parallelism,
        .threads = 1,
        .version = ARGON2_VERSION_13,
        .allocate_cbk = arena_alloc,
        .free_cbk = arena_free,
    };
    int rc = k->verify ? argon2_verify_ctx(&ctx, (const char *)k->phc.hash, Argon2_id)
                       : argon2_ctx(&ctx, Argon2_id);
    current = NULL;
    if (k->verify || rc != ARGON2_OK)
        return rc == ARGON2_OK;
    memcpy(k->phc.hash, out, k->phc.hash_len);
    char *s = malloc(PHC_MAX_LEN);
    if (!s || phc_encode(&k->phc, s, PHC_MAX_LEN) < 0) {
        free(s);
        return 0;
    }
    *encoded = s;
    return 1;
}
