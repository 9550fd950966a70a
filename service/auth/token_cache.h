/* token_cache.h - a small cache of verified access tokens, one per worker.
 *
 * Verifying an HS256 JWT with libjwt (base64, two JSON parses, an HMAC and
 * the claim look-ups) cost about 6 us per request, and an app sends the
 * same token for up to ACCESS_TOKEN_TTL_S. A token verified once is kept
 * here by its exact bytes with what it said (the actor, exp and nbf); a
 * later request with the very same bytes is answered from the entry, its
 * time claims checked again against the clock. Only tokens that verified
 * are kept. Nothing here replaces the per-request session check in SQL, so
 * a logout still takes effect at the next request.
 *
 * Bounded: a fixed number of slots of fixed size, chosen by a keyed hash of
 * the token (a newcomer replaces the slot's entry); tokens longer than a
 * slot holds are verified every time. Not thread-safe: each worker has its
 * own (struct loop). */
#ifndef REFLECTD_TOKEN_CACHE_H
#define REFLECTD_TOKEN_CACHE_H

#include <stddef.h>

struct actor;
struct tokens;
struct token_cache;

/* The longest token a slot holds; ours are about 380 bytes. */
#define TOKEN_CACHE_MAX_LEN 512

/* A cache of `slots` entries (rounded up to a power of two), or NULL. */
struct token_cache *token_cache_new(int slots);
void token_cache_free(struct token_cache *c);
/* tokens_verify(), answered from the cache when these exact bytes verified
 * before; c may be NULL (no cache). */
const char *token_cache_verify(struct token_cache *c, struct tokens *t, const char *token, long now,
                               struct actor *out);
/* tokens_authenticate() through the cache, at the current time. */
const char *token_cache_authenticate(struct token_cache *c, struct tokens *t,
                                     const char *authorization, struct actor *out);
/* Verifications answered from the cache, and the ones that were not. */
void token_cache_counts(const struct token_cache *c, long *hits, long *misses);

#endif
