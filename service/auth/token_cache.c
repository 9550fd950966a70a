/* token_cache.c - the per-worker cache of verified access tokens
 * (token_cache.h says what it keeps and why).
 *
 * Slots are direct-mapped by a 64-bit FNV-1a hash of the token seeded from
 * the kernel at creation, so a client cannot aim its tokens at a slot. A hit
 * needs the same length and the same bytes, compared in constant time
 * (CRYPTO_memcmp): a timing difference must not tell anyone how much of a
 * cached token they guessed. */
#include "auth/token_cache.h"
#include "auth/actor.h"
#include "auth/tokens.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct token_entry {
    uint64_t hash;
    long exp, nbf;
    size_t len; /* 0: empty */
    struct actor actor;
    char token[TOKEN_CACHE_MAX_LEN];
};

struct token_cache {
    uint64_t seed;
    size_t mask; /* slots - 1 */
    long hits, misses;
    struct token_entry *slots;
};

struct token_cache *token_cache_new(int slots)
{
    size_t n = 1;
    while (n < (size_t)(slots > 1 ? slots : 1))
        n <<= 1;
    struct token_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    /* calloc: a slot's pages are only backed once a token lands there. */
    c->slots = calloc(n, sizeof(*c->slots));
    if (!c->slots || getrandom(&c->seed, sizeof(c->seed), 0) != (ssize_t)sizeof(c->seed)) {
        token_cache_free(c);
        return NULL;
    }
    c->mask = n - 1;
    return c;
}

void token_cache_free(struct token_cache *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c);
}

void token_cache_counts(const struct token_cache *c, long *hits, long *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}

static uint64_t token_hash(uint64_t seed, const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull ^ seed;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int token_entry_is(const struct token_entry *e, uint64_t hash, const char *token, size_t len)
{
    return e->len == len && e->hash == hash && CRYPTO_memcmp(e->token, token, len) == 0;
}

const char *token_cache_verify(struct token_cache *c, struct tokens *t, const char *token, long now,
                               struct actor *out)
{
    size_t len = token ? strnlen(token, TOKEN_CACHE_MAX_LEN) : 0;
    if (!c || len == 0 || len == TOKEN_CACHE_MAX_LEN)
        return tokens_verify(t, token, now, out); /* NULL, empty or too long to keep */
    uint64_t hash = token_hash(c->seed, token, len);
    struct token_entry *e = &c->slots[hash & c->mask];
    if (token_entry_is(e, hash, token, len)) {
        const char *when = tokens_check_times(e->exp, e->nbf, now);
        if (!when) {
            c->hits++;
            *out = e->actor;
            return NULL;
        }
        /* Out of its time window: verified afresh below, which says why
         * (and keeps the entry only if it is valid after all). */
    }
    c->misses++;
    long exp, nbf;
    const char *why = tokens_verify_times(t, token, now, out, &exp, &nbf);
    if (why)
        return why; /* only tokens that verified are kept */
    e->hash = hash;
    e->exp = exp;
    e->nbf = nbf;
    e->len = len;
    e->actor = *out;
    memcpy(e->token, token, len);
    return NULL;
}

const char *token_cache_authenticate(struct token_cache *c, struct tokens *t,
                                     const char *authorization, struct actor *out)
{
    const char *token = NULL;
    const char *why = tokens_bearer(authorization, &token);
    return why ? why : token_cache_verify(c, t, token, (long)time(NULL), out);
}
