/* idtoken.h - OpenID Connect ID tokens: a provider's key set (JWKS), the
 * signature, the claims. Pure functions, no I/O (oidc_keys.c fetches).
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_IDTOKEN_H
#define REFLECTD_IDTOKEN_H

#include <jansson.h>
#include <stddef.h>

struct jwks;

enum idtoken_status {
    IDTOKEN_OK,
    IDTOKEN_MALFORMED,     /* not three base64url parts of JSON */
    IDTOKEN_BAD_ALG,       /* anything but RS256 and ES256 (none, HS*, PS*...) */
    IDTOKEN_UNKNOWN_KEY,   /* no key of the set has this kid and type */
    IDTOKEN_BAD_SIGNATURE, /* the signature does not verify */
    IDTOKEN_BAD_CLAIMS,    /* iss, aud, azp, exp, iat, nonce or sub wrong */
};

/* Parses a JWKS document ({"keys": [...]}). Keys it cannot use for RS256 or
 * ES256 (other types, curves, "use": "enc", RSA under 2048 bits) are
 * skipped. NULL when the document is not a JWKS. */
struct jwks *jwks_parse(const char *json, size_t len);
void jwks_free(struct jwks *ks);
size_t jwks_count(const struct jwks *ks);

/* Splits a compact JWS without verifying it: for finding the issuer (whose
 * keys to use) before any key is at hand. *header and *payload are new
 * references on IDTOKEN_OK. */
enum idtoken_status idtoken_peek(const char *token, json_t **header, json_t **payload);
/* Verifies the signature of token with the key its header names (kid; or
 * the only key of the right type when it names none). On IDTOKEN_OK
 * *payload is a new reference to the verified claims. */
enum idtoken_status idtoken_verify(const struct jwks *ks, const char *token, json_t **payload);

/* What the claims of a verified token must say. */
struct idtoken_expect {
    const char *issuer;
    const char *const *client_ids; /* the audiences accepted */
    size_t nclients;
    const char *nonce; /* the app's nonce for this sign-in */
    long now;          /* seconds since the epoch */
    int skew_s;        /* clock difference tolerated */
    int max_age_s;     /* oldest iat accepted */
};

/* NULL when the claims are right, else why not (for the log, not the
 * client: every failure is the same 401). */
const char *idtoken_check_claims(const json_t *claims, const struct idtoken_expect *e);

#endif
