/* tokens.c - short-lived access tokens as JWTs, made and checked with libjwt.
 *
 * Only HS256 is ever accepted: the algorithm in a token's header is an
 * attacker's choice, so after libjwt verifies a token we still insist that it
 * was HS256 ("none" and RS/ES algorithms, which could confuse a verifier into
 * using the secret as a public key, are refused). Tokens carry iss, aud, sub
 * (user), org, sid (login session), iat, nbf and exp; every one is checked.
 *
 * Key rotation: JWT_KEY signs; JWT_PREVIOUS_KEY, when set, is still accepted
 * for verification, so tokens issued before a rotation stay valid until they
 * expire (at most ACCESS_TOKEN_TTL_S). Roles are not in the token: they are
 * read from the database by each query, so a revoked role takes effect at
 * once. */
#include "auth/tokens.h"
#include "core/config.h"
#include "auth/actor.h"

#include <errno.h>
#include <jwt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define TOKENS_LEEWAY_S 30 /* clock skew tolerated between instances */
#define TOKENS_MAX_LEN  4096

struct tokens {
    char *key, *previous;
    char *issuer, *audience;
    int ttl;
};

struct tokens *tokens_new(const struct config *cfg)
{
    struct tokens *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->key = strdup(cfg->jwt_key);
    t->previous = cfg->jwt_previous_key ? strdup(cfg->jwt_previous_key) : NULL;
    t->issuer = strdup(cfg->jwt_issuer);
    t->audience = strdup(cfg->jwt_audience);
    t->ttl = cfg->access_ttl_s;
    if (!t->key || !t->issuer || !t->audience) {
        tokens_free(t);
        return NULL;
    }
    return t;
}

void tokens_free(struct tokens *t)
{
    if (!t)
        return;
    free(t->key);
    free(t->previous);
    free(t->issuer);
    free(t->audience);
    free(t);
}

int tokens_access_ttl(const struct tokens *t)
{
    return t->ttl;
}

char *tokens_issue(struct tokens *t, const char *user_id, const char *org_id,
                   const char *session_id, long now)
{
    jwt_t *jwt = NULL;
    char *out = NULL;
    if (jwt_new(&jwt) != 0)
        return NULL;
    if (jwt_add_grant(jwt, "iss", t->issuer) == 0 && jwt_add_grant(jwt, "aud", t->audience) == 0 &&
        jwt_add_grant(jwt, "sub", user_id) == 0 && jwt_add_grant(jwt, "org", org_id) == 0 &&
        jwt_add_grant(jwt, "sid", session_id) == 0 && jwt_add_grant_int(jwt, "iat", now) == 0 &&
        jwt_add_grant_int(jwt, "nbf", now) == 0 &&
        jwt_add_grant_int(jwt, "exp", now + t->ttl) == 0 &&
        jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)t->key, (int)strlen(t->key)) == 0)
        out = jwt_encode_str(jwt);
    jwt_free(jwt);
    return out;
}

static int tokens_copy_id(jwt_t *jwt, const char *claim, char *dst, size_t len)
{
    const char *v = jwt_get_grant(jwt, claim);
    if (!v || strlen(v) != 36)
        return -1;
    memcpy(dst, v, 37);
    (void)len;
    return 0;
}

const char *tokens_check_times(long exp, long nbf, long now)
{
    if (now >= exp + TOKENS_LEEWAY_S)
        return "The token has expired.";
    if (now + TOKENS_LEEWAY_S < nbf)
        return "The token is not valid yet.";
    return NULL;
}

/* Time and identity claims, after the signature has been verified; the
 * token's exp and nbf go to *exp_out and *nbf_out. */
static const char *tokens_check_claims(struct tokens *t, jwt_t *jwt, long now, struct actor *out,
                                       long *exp_out, long *nbf_out)
{
    const char *iss = jwt_get_grant(jwt, "iss");
    const char *aud = jwt_get_grant(jwt, "aud");
    if (!iss || strcmp(iss, t->issuer) != 0 || !aud || strcmp(aud, t->audience) != 0)
        return "The token was not issued for this service.";
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno)
        return "The token has no expiry.";
    errno = 0;
    long nbf = jwt_get_grant_int(jwt, "nbf");
    if (errno)
        return "The token has no start time.";
    if (exp <= 0 || nbf <= 0 || exp > LONG_MAX - TOKENS_LEEWAY_S ||
        nbf > LONG_MAX - TOKENS_LEEWAY_S)
        return "The token is malformed.";
    const char *when = tokens_check_times(exp, nbf, now);
    if (when)
        return when;
    *exp_out = exp;
    *nbf_out = nbf;
    memset(out, 0, sizeof(*out));
    if (tokens_copy_id(jwt, "sub", out->user_id, sizeof(out->user_id)) < 0 ||
        tokens_copy_id(jwt, "org", out->org_id, sizeof(out->org_id)) < 0 ||
        tokens_copy_id(jwt, "sid", out->session_id, sizeof(out->session_id)) < 0)
        return "The token is malformed.";
    return NULL;
}

/* Three non-empty segments separated by dots, as every HS256 token has.
 * libjwt 1.10 (Debian 12) base64-decodes an empty segment into a 0-byte
 * buffer that libb64 then writes past (valgrind: invalid write in
 * base64_decode_block), so such a token must never reach jwt_decode. */
static int tokens_well_formed(const char *token)
{
    const char *a = strchr(token, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    return a && b && a > token && b > a + 1 && b[1] && !strchr(b + 1, '.');
}

static jwt_t *tokens_decode_with(const char *token, const char *key)
{
    jwt_t *jwt = NULL;
    if (!key || jwt_decode(&jwt, token, (const unsigned char *)key, (int)strlen(key)) != 0)
        return NULL;
    /* libjwt matches the name loosely ("Hs256"); we take it only exact. */
    const char *alg = jwt_get_header(jwt, "alg");
    if (jwt_get_alg(jwt) != JWT_ALG_HS256 || !alg || strcmp(alg, "HS256") != 0) {
        jwt_free(jwt);
        return NULL;
    }
    return jwt;
}

const char *tokens_verify_times(struct tokens *t, const char *token, long now, struct actor *out,
                                long *exp, long *nbf)
{
    if (!token || strlen(token) > TOKENS_MAX_LEN || !tokens_well_formed(token))
        return "The token is malformed.";
    jwt_t *jwt = tokens_decode_with(token, t->key);
    if (!jwt)
        jwt = tokens_decode_with(token, t->previous);
    if (!jwt)
        return "The token is invalid.";
    const char *why = tokens_check_claims(t, jwt, now, out, exp, nbf);
    jwt_free(jwt);
    return why;
}

const char *tokens_verify(struct tokens *t, const char *token, long now, struct actor *out)
{
    long exp, nbf;
    return tokens_verify_times(t, token, now, out, &exp, &nbf);
}

const char *tokens_bearer(const char *authorization, const char **token)
{
    if (!authorization)
        return "An access token is required.";
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return "Use the Bearer scheme.";
    const char *p = authorization + 7;
    while (*p == ' ')
        p++;
    *token = p;
    return NULL;
}

const char *tokens_authenticate(struct tokens *t, const char *authorization, struct actor *out)
{
    const char *token = NULL;
    const char *why = tokens_bearer(authorization, &token);
    return why ? why : tokens_verify(t, token, (long)time(NULL), out);
}

int tokens_new_refresh(char out[44])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[33]; /* 264 bits: 44 symbols, we keep 43 (258 bits) */
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    for (int i = 0, bit = 0; i < 43; i++, bit += 6) {
        int byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)raw[byte] << 8 | raw[byte + 1]) >> (10 - shift);
        out[i] = alphabet[v & 63];
    }
    out[43] = '\0';
    return 0;
}
