/* sessions.h - what the sign-in handlers (sessions.c, oidc.c) share.
 *
 * Return convention: auth_reply_pair answers the request (200, or a 500
 * problem); it returns nothing. */
#ifndef REFLECTD_AUTH_H
#define REFLECTD_AUTH_H

struct req;

/* Answers 200 with the token pair of a new login session (or a refresh):
 * {access_token, refresh_token, token_type, expires_in, user}. me_json is
 * the caller's profile as JSON text (SQL_ME_JSON). */
void auth_reply_pair(struct req *r, const char *user_id, const char *org_id, const char *session_id,
                     const char *refresh, const char *me_json);

#endif
