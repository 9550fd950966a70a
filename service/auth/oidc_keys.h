/* oidc_keys.h - each provider's signing keys, fetched off the event loops
 * and cached per issuer.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_OIDC_KEYS_H
#define REFLECTD_OIDC_KEYS_H

#include "auth/idtoken.h"

#include <jansson.h>

struct event_base;
struct oidc_keys;

struct oidc_keys_params {
    int fetch_timeout_ms; /* one HTTP request to the provider */
    int min_refresh_s;    /* an unknown kid refetches at most this often per issuer */
    int retry_s;          /* after a failed fetch, answer "unavailable" this long */
    int queue_max;        /* fetches waiting at most */
};

/* IDTOKEN_* from idtoken_verify, or this one: the provider could not be
 * reached (or answered nonsense) and no key was at hand: 503. */
#define OIDC_KEYS_UNAVAILABLE 100

/* status: IDTOKEN_OK (claims: a new reference, the callee's), another
 * IDTOKEN_*, or OIDC_KEYS_UNAVAILABLE. */
typedef void (*oidc_keys_done)(int status, json_t *claims, void *arg);

struct oidc_keys *oidc_keys_new(const struct oidc_keys_params *p);
/* Stops the fetch thread; jobs still queued are dropped without a call. */
void oidc_keys_free(struct oidc_keys *k);
/* Verifies token's signature with issuer's keys: from the cache, or (no
 * keys yet, or an unknown kid) after fetching the discovery document and
 * the JWKS on the fetch thread. done runs later on base's loop, never from
 * inside this call. issuer must be one an organisation configured (the
 * caller checks: no token makes the service fetch an arbitrary URL).
 * Returns 0, or -1 when too many fetches wait (no call then: 503). */
int oidc_keys_verify(struct oidc_keys *k, struct event_base *base, const char *issuer,
                     const char *token, oidc_keys_done done, void *arg);

/* May the service fetch from url for issuer? https always; http only on a
 * loopback host (development and the tests' local provider). */
int oidc_url_allowed(const char *url);

#endif
