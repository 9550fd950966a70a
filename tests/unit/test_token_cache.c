/* test_token_cache.c - the per-worker cache of verified access tokens
 * (auth/token_cache.c): a hit gives what verification gave, expiry and
 * nbf are checked on every hit, only the exact bytes hit, failures are
 * never kept, and the cache stays within its slots. */
#include "auth/actor.h"
#include "auth/token_cache.h"
#include "auth/tokens.h"
#include "core/config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW  1900000000L
#define USER "11111111-2222-3333-4444-555555555555"
#define ORG  "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define SID  "99999999-8888-7777-6666-555555555555"

static struct tokens *t;

static void setup(void)
{
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.jwt_key = "unit-test-signing-key-0123456789abcdef";
    cfg.jwt_issuer = "reflectd";
    cfg.jwt_audience = "reflect-app";
    cfg.access_ttl_s = 900;
    t = tokens_new(&cfg);
    cr_assert(t);
}

static void teardown(void)
{
    tokens_free(t);
}

static char *issue(const char *sid, long at)
{
    char *s = tokens_issue(t, USER, ORG, sid, at);
    cr_assert(s);
    return s;
}

TestSuite(token_cache, .init = setup, .fini = teardown);

Test(token_cache, hit_gives_the_verified_actor)
{
    struct token_cache *c = token_cache_new(8);
    char *tok = issue(SID, NOW);
    struct actor a, b;
    long hits, misses;
    cr_assert_null(token_cache_verify(c, t, tok, NOW, &a));
    memset(&b, 0x5a, sizeof(b));
    cr_assert_null(token_cache_verify(c, t, tok, NOW + 1, &b));
    token_cache_counts(c, &hits, &misses);
    cr_assert_eq(hits, 1);
    cr_assert_eq(misses, 1);
    cr_assert_str_eq(b.user_id, USER);
    cr_assert_str_eq(b.org_id, ORG);
    cr_assert_str_eq(b.session_id, SID);
    cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
    free(tok);
    token_cache_free(c);
}

Test(token_cache, expiry_is_checked_on_every_hit)
{
    struct token_cache *c = token_cache_new(8);
    char *tok = issue(SID, NOW);
    struct actor a;
    cr_assert_null(token_cache_verify(c, t, tok, NOW, &a));
    /* exp = NOW + 900, 30 s of leeway: the cached entry must not outlive it. */
    cr_assert_null(token_cache_verify(c, t, tok, NOW + 929, &a));
    cr_assert_str_eq(token_cache_verify(c, t, tok, NOW + 930, &a), "The token has expired.");
    cr_assert_str_eq(token_cache_verify(c, t, tok, NOW + 100000, &a), "The token has expired.");
    /* ...and the same for a token that is not valid yet (nbf = NOW). */
    cr_assert_str_eq(token_cache_verify(c, t, tok, NOW - 31, &a), "The token is not valid yet.");
    free(tok);
    token_cache_free(c);
}

Test(token_cache, only_the_exact_bytes_hit)
{
    struct token_cache *c = token_cache_new(8);
    char *tok = issue(SID, NOW);
    struct actor a;
    long hits, misses;
    cr_assert_null(token_cache_verify(c, t, tok, NOW, &a));
    size_t n = strlen(tok);
    /* The same token with a signature character changed (one in the
     * middle: the last carries padding bits a lenient decoder ignores),
     * with one byte more, and with one byte fewer: none is the cached token. */
    char *other = strdup(tok);
    size_t sig = (size_t)(strrchr(other, '.') - other) + 1, mid = sig + (n - sig) / 2;
    other[mid] = other[mid] == 'A' ? 'B' : 'A';
    cr_assert_not_null(token_cache_verify(c, t, other, NOW, &a));
    char *longer = malloc(n + 2);
    snprintf(longer, n + 2, "%sA", tok);
    cr_assert_not_null(token_cache_verify(c, t, longer, NOW, &a));
    tok[n - 1] = '\0';
    cr_assert_not_null(token_cache_verify(c, t, tok, NOW, &a));
    token_cache_counts(c, &hits, &misses);
    cr_assert_eq(hits, 0);
    cr_assert_eq(misses, 4);
    /* A failure is never kept: asking again verifies again. */
    cr_assert_not_null(token_cache_verify(c, t, other, NOW, &a));
    token_cache_counts(c, &hits, &misses);
    cr_assert_eq(hits, 0);
    free(other);
    free(longer);
    free(tok);
    token_cache_free(c);
}

Test(token_cache, different_tokens_get_their_own_actor)
{
    struct token_cache *c = token_cache_new(64);
    char *one = issue(SID, NOW);
    char *two = issue("12345678-1234-1234-1234-123456789abc", NOW);
    struct actor a;
    for (int i = 0; i < 3; i++) {
        cr_assert_null(token_cache_verify(c, t, one, NOW, &a));
        cr_assert_str_eq(a.session_id, SID);
        cr_assert_null(token_cache_verify(c, t, two, NOW, &a));
        cr_assert_str_eq(a.session_id, "12345678-1234-1234-1234-123456789abc");
    }
    free(one);
    free(two);
    token_cache_free(c);
}

Test(token_cache, bounded_by_its_slots)
{
    /* 40 distinct tokens through 4 slots, twice: at most 4 can be kept, so
     * the second round hits at most 4 times and every token still gets its
     * own actor. */
    struct token_cache *c = token_cache_new(4);
    char *toks[40];
    char sid[37];
    struct actor a;
    long hits, misses;
    for (int i = 0; i < 40; i++) {
        snprintf(sid, sizeof(sid), "00000000-0000-0000-0000-%012d", i);
        toks[i] = issue(sid, NOW);
        cr_assert_null(token_cache_verify(c, t, toks[i], NOW, &a));
    }
    for (int i = 0; i < 40; i++) {
        snprintf(sid, sizeof(sid), "00000000-0000-0000-0000-%012d", i);
        cr_assert_null(token_cache_verify(c, t, toks[i], NOW, &a));
        cr_assert_str_eq(a.session_id, sid);
    }
    token_cache_counts(c, &hits, &misses);
    cr_assert_leq(hits, 4);
    cr_assert_eq(hits + misses, 80);
    for (int i = 0; i < 40; i++)
        free(toks[i]);
    token_cache_free(c);
}

Test(token_cache, long_and_bad_tokens_are_verified_not_kept)
{
    struct token_cache *c = token_cache_new(8);
    struct actor a;
    long hits, misses;
    char big[TOKEN_CACHE_MAX_LEN + 10];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 2; i++) {
        cr_assert_str_eq(token_cache_verify(c, t, big, NOW, &a), "The token is malformed.");
        cr_assert_str_eq(token_cache_verify(c, t, "", NOW, &a), "The token is malformed.");
        cr_assert_not_null(token_cache_verify(c, t, NULL, NOW, &a));
    }
    token_cache_counts(c, &hits, &misses);
    cr_assert_eq(hits, 0);
    /* Without a cache it is plain verification. */
    char *tok = issue(SID, NOW);
    cr_assert_null(token_cache_verify(NULL, t, tok, NOW, &a));
    cr_assert_str_eq(a.user_id, USER);
    free(tok);
    token_cache_free(c);
}

Test(token_cache, bearer_header)
{
    struct token_cache *c = token_cache_new(8);
    struct actor a;
    cr_assert_str_eq(token_cache_authenticate(c, t, NULL, &a), "An access token is required.");
    cr_assert_str_eq(token_cache_authenticate(c, t, "Basic abc", &a), "Use the Bearer scheme.");
    token_cache_free(c);
}
