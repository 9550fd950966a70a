/* tokens.h - access tokens (HS256 JWTs): issuing and verifying.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_TOKENS_H
#define REFLECTD_TOKENS_H

#include <stddef.h>

struct config;
struct actor;
struct tokens;

struct tokens *tokens_new(const struct config *cfg);
void tokens_free(struct tokens *t);
/* Issues an access token for user/org/session; malloc'd, or NULL. */
char *tokens_issue(struct tokens *t, const char *user_id, const char *org_id,
                   const char *session_id, long now);
/* Checks "Bearer <jwt>"; fills actor and returns NULL, or returns why not
 * (a fixed string safe to show the client). */
const char *tokens_authenticate(struct tokens *t, const char *authorization, struct actor *out);
/* The same for a bare token at a given time (tests use this). */
const char *tokens_verify(struct tokens *t, const char *jwt, long now, struct actor *out);
/* tokens_verify that also gives the token's exp and nbf (token_cache.c). */
const char *tokens_verify_times(struct tokens *t, const char *jwt, long now, struct actor *out,
                                long *exp, long *nbf);
/* Why a token with these exp and nbf is not valid at now (the leeway
 * applied), or NULL. */
const char *tokens_check_times(long exp, long nbf, long now);
/* The token of a "Bearer <jwt>" header value in *token, and NULL; or why
 * the header does not carry one. */
const char *tokens_bearer(const char *authorization, const char **token);
int tokens_access_ttl(const struct tokens *t);
/* A new refresh token: 256 random bits, base64url (43 characters + NUL). */
int tokens_new_refresh(char out[44]);

#endif
