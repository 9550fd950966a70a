/* sessions.c - login, refresh and logout (POST /v1/auth/...).
 *
 * Login is three steps: (1) one statement finds the account and whether the
 * e-mail address or the client address is throttled; (2) the password is
 * checked by argon2id on the hasher threads, against a dummy hash when the
 * account does not exist, so both failures take the same time and give the
 * same 401; (3) one statement opens the session and stores the refresh
 * token's hash, or counts the failure. When the stored hash was made with
 * other argon2id parameters than the configured ones, the hasher hands back
 * a new hash with the verdict and step (3) stores it too - only where the
 * stored hash is still the one verified, so a password changed meanwhile is
 * never overwritten with the old one.
 *
 * Refresh tokens rotate: each is good for one use. Using one twice means it
 * was copied, so the whole session is revoked (both the thief's and the
 * owner's tokens die) and the owner has to log in again. */
#include "db/statements.h"
#include "http/api.h"
#include "app.h"
#include "handlers/sessions.h"
#include "handlers/handlers.h"
#include "auth/hasher.h"
#include "handlers/policy.h"
#include "auth/tokens.h"
#include "handlers/users_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct login {
    const char *email, *password;
    const char *stored_hash; /* the hash verified (arena); NULL: unknown account */
    const char *new_hash;    /* a rehash to store (arena), or NULL */
    char user_id[37], org_id[37];
    char refresh[44];
};

/* clang-format off */
/* Step (1) of a login: the account (or NULLs), and how many seconds the
 * e-mail address or the client address is still throttled (NULL: not).
 * $1 e-mail address, $2 client address, $3 failures allowed per account,
 * $4 per client address, $5 the throttle window in seconds.
 * Returns one row (user id, organisation id, password hash, seconds). */
static const char SQL_LOGIN_LOOKUP[] =
    "SELECT u.id, u.organisation_id, u.password_hash,"
    "       (SELECT ceil(extract(epoch FROM max(t.window_start) + make_interval(secs => $5)"
    "                                       - now()))::int"
    "        FROM login_throttle t"
    "        WHERE t.window_start > now() - make_interval(secs => $5)"
    "          AND ((t.key = 'email:' || lower($1) AND t.failures >= $3)"
    "               OR (t.key = 'addr:' || $2 AND t.failures >= $4)))"
    " FROM (SELECT 1) AS one"
    " LEFT JOIN users u ON u.email = lower($1) AND u.deleted_at IS NULL"
    /* An organisation that signs in only through its identity provider:
     * its people are unknown here (the same 401, the same work). */
    "                  AND NOT EXISTS (SELECT 1 FROM oidc_providers op"
    "                                  WHERE op.organisation_id = u.organisation_id"
    "                                    AND NOT op.password_login)";

/* Step (3) when the password was wrong: counts the failure for the
 * address and the client, in a window that restarts once it has passed.
 * $1 e-mail address, $2 client address, $3 the window in seconds.
 * Returns nothing. */
static const char SQL_LOGIN_FAILED[] =
    "INSERT INTO login_throttle AS t (key, window_start, failures)"
    " VALUES ('email:' || lower($1), now(), 1), ('addr:' || $2, now(), 1)"
    " ON CONFLICT (key) DO UPDATE"
    " SET failures = CASE WHEN t.window_start > now() - make_interval(secs => $3)"
    "                     THEN t.failures + 1 ELSE 1 END,"
    "     window_start = CASE WHEN t.window_start > now() - make_interval(secs => $3)"
    "                         THEN t.window_start ELSE now() END";

/* Step (3) when the password was right: a session and its first refresh
 * token, the address's failures forgotten, the login audited, and the
 * rehash stored where the stored hash is still the one verified.
 * $1 user id, $2 organisation id, $3 refresh token, $4 its lifetime in
 * seconds, $5 e-mail address, $6 new hash or NULL, $7 the hash verified.
 * Returns one row (session id, profile JSON). */
static const char SQL_LOGIN_SESSION[] =
    "WITH s AS (INSERT INTO sessions (organisation_id, user_id, expires_at)"
    "           VALUES ($2, $1, now() + make_interval(secs => $4))"
    "           RETURNING id),"
    " rt AS (INSERT INTO refresh_tokens (token_hash, session_id, organisation_id, user_id,"
    "                                    expires_at)"
    "        SELECT sha256(convert_to($3, 'UTF8')), s.id, $2, $1, now() + make_interval(secs => $4)"
    "        FROM s),"
    " clr AS (DELETE FROM login_throttle WHERE key = 'email:' || lower($5)),"
    " aud AS (INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id,"
    "                                object_type, object_id)"
    "         SELECT $2, $1, 'auth.login', $1, 'session', s.id FROM s),"
    " rehash AS (UPDATE users SET password_hash = $6::text"
    "            WHERE id = $1 AND $6::text IS NOT NULL AND password_hash = $7::text)"
    " SELECT s.id, " SQL_ME_JSON("$1")
    " FROM s";

/* A refresh: spends the token and issues the next one, when token and
 * session are live. A token used before revokes its session (reuse).
 * $1 the refresh token, $2 the next one, $3 its lifetime in seconds.
 * Returns one row (user id, organisation id, session id, profile JSON),
 * all NULL when the token is not good. */
static const char SQL_REFRESH[] =
    "WITH t AS (SELECT rt.token_hash, rt.session_id, rt.used_at, rt.expires_at AS rt_exp,"
    "                  s.revoked_at, s.expires_at AS s_exp, s.user_id, s.organisation_id"
    "           FROM refresh_tokens rt"
    "           JOIN sessions s ON s.id = rt.session_id"
    "           JOIN users u ON u.id = s.user_id AND u.deleted_at IS NULL"
    "           WHERE rt.token_hash = sha256(convert_to($1, 'UTF8'))"
    "           FOR UPDATE OF rt),"
    " used AS (UPDATE refresh_tokens r SET used_at = now() FROM t"
    "          WHERE r.token_hash = t.token_hash AND t.used_at IS NULL AND t.revoked_at IS NULL"
    "            AND t.rt_exp > now() AND t.s_exp > now()"
    "          RETURNING t.session_id, t.user_id, t.organisation_id),"
    " reuse AS (UPDATE sessions s SET revoked_at = now(), revoke_reason = 'refresh_reuse'"
    "           FROM t"
    "           WHERE s.id = t.session_id AND t.used_at IS NOT NULL AND s.revoked_at IS NULL"
    "           RETURNING s.id, t.user_id, t.organisation_id),"
    " fresh AS (INSERT INTO refresh_tokens (token_hash, session_id, organisation_id, user_id,"
    "                                       expires_at)"
    "           SELECT sha256(convert_to($2, 'UTF8')), used.session_id, used.organisation_id,"
    "                  used.user_id, now() + make_interval(secs => $3)"
    "           FROM used),"
    " aud AS (INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id,"
    "                                object_type, object_id)"
    "         SELECT reuse.organisation_id, NULL, 'auth.refresh_reuse', reuse.user_id, 'session',"
    "                reuse.id"
    "         FROM reuse)"
    " SELECT used.user_id, used.organisation_id, used.session_id, " SQL_ME_JSON("used.user_id")
    " FROM (SELECT 1) AS one LEFT JOIN used ON true";

/* A logout ends the session the refresh token belongs to.
 * $1 the refresh token.
 * Returns nothing. */
static const char SQL_LOGOUT[] =
    "UPDATE sessions SET revoked_at = now(), revoke_reason = 'logout'"
    " WHERE id = (SELECT session_id FROM refresh_tokens"
    "             WHERE token_hash = sha256(convert_to($1, 'UTF8')))"
    "   AND revoked_at IS NULL";
/* clang-format on */

void auth_reply_pair(struct req *r, const char *user_id, const char *org_id, const char *session_id,
                     const char *refresh, const char *me_json)
{
    char *access = tokens_issue(r->app->tokens, user_id, org_id, session_id, (long)time(NULL));
    json_t *me = json_loads(me_json, 0, NULL);
    if (!access || !me) {
        free(access);
        json_decref(me);
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    json_t *out = json_pack("{s:s, s:s, s:s, s:i, s:o}", "access_token", access, "refresh_token",
                            refresh, "token_type", "Bearer", "expires_in",
                            tokens_access_ttl(r->app->tokens), "user", me);
    free(access);
    req_reply_json(r, 200, out);
}

static void auth_unauthorized(struct req *r)
{
    req_problem(r, 401, "The e-mail address or password is wrong.");
}

static void login_session_done(struct req *r, struct db_result *res)
{
    struct login *l = req_state_get(r, login);
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    auth_reply_pair(r, l->user_id, l->org_id, api_col(res, 0, 0), l->refresh, api_col(res, 0, 1));
}

static void login_failure_counted(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    auth_unauthorized(r);
}

static void login_verified(int ok, const char *encoded, void *arg)
{
    struct req *r = arg;
    struct login *l = req_state_get(r, login);
    char ttl[16], window[16];
    snprintf(window, sizeof(window), "%d", r->app->cfg.login_window_s);
    if (ok == HASHER_UNAVAILABLE) { /* no verdict: not counted as a failure */
        req_busy(r, "Logins cannot be checked right now; try again shortly.");
        return;
    }
    if (!ok) {
        struct api_params p;
        api_params_none(&p);
        api_param(&p, l->email);
        api_param(&p, req_peer(r));
        api_param(&p, window);
        api_db(r, SQL_LOGIN_FAILED, &p, login_failure_counted);
        return;
    }
    if (tokens_new_refresh(l->refresh) < 0) {
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    snprintf(ttl, sizeof(ttl), "%d", r->app->cfg.refresh_ttl_s);
    l->new_hash = encoded ? arena_strdup(&r->arena, encoded) : NULL;
    struct api_params p;
    api_params_none(&p);
    api_param(&p, l->user_id);
    api_param(&p, l->org_id);
    api_param(&p, l->refresh);
    api_param(&p, ttl);
    api_param(&p, l->email);
    api_param(&p, l->new_hash);
    api_param(&p, l->stored_hash);
    api_db(r, SQL_LOGIN_SESSION, &p, login_session_done);
}

static void login_looked_up(struct req *r, struct db_result *res)
{
    struct login *l = req_state_get(r, login);
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    if (!api_col_is_null(res, 0, 3)) {
        int wait = api_col_int(res, 0, 3);
        req_set_header(r, "Retry-After", arena_printf(&r->arena, "%d", wait > 0 ? wait : 1));
        req_problem(r, 429, "Too many failed logins; try again later.");
        return;
    }
    const char *hash = NULL;
    if (!api_col_is_null(res, 0, 0) && !api_col_is_null(res, 0, 2)) {
        snprintf(l->user_id, sizeof(l->user_id), "%s", api_col(res, 0, 0));
        snprintf(l->org_id, sizeof(l->org_id), "%s", api_col(res, 0, 1));
        hash = api_col(res, 0, 2);
        l->stored_hash = arena_strdup(&r->arena, hash); /* the result goes before the verdict */
    }
    if (hasher_verify(r->app->hasher, req_base(r), hash, l->password, login_verified, r) < 0)
        req_busy(r, "Too many logins at once; try again shortly.");
}

void h_login(struct req *r)
{
    static const char *const fields[] = {"email", "password", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    struct login *l = arena_alloc(&r->arena, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->email = v_email(&v, "email", V_REQUIRED);
    l->password = v_text(&v, "password", V_REQUIRED, 1, 256, 0);
    if (api_reject_invalid(r, &v))
        return;
    req_state_set(r, login, l);
    char max_acct[16], max_addr[16], window[16];
    snprintf(max_acct, sizeof(max_acct), "%d", r->app->cfg.login_max_failures);
    snprintf(max_addr, sizeof(max_addr), "%d", r->app->cfg.login_max_failures_addr);
    snprintf(window, sizeof(window), "%d", r->app->cfg.login_window_s);
    struct api_params p;
    api_params_none(&p);
    api_param(&p, l->email);
    api_param(&p, req_peer(r));
    api_param(&p, max_acct);
    api_param(&p, max_addr);
    api_param(&p, window);
    api_db(r, SQL_LOGIN_LOOKUP, &p, login_looked_up);
}

static void refresh_done(struct req *r, struct db_result *res)
{
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    if (api_col_is_null(res, 0, 0)) {
        req_problem(r, 401, "The refresh token is not valid; log in again.");
        return;
    }
    auth_reply_pair(r, api_col(res, 0, 0), api_col(res, 0, 1), api_col(res, 0, 2),
                    req_state_get(r, text), api_col(res, 0, 3));
}

/* Reads {refresh_token}; NULL when the reply has been sent. */
static const char *auth_refresh_token(struct req *r)
{
    static const char *const fields[] = {"refresh_token", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return NULL;
    const char *token = v_text(&v, "refresh_token", V_REQUIRED, 1, 128, 0);
    return api_reject_invalid(r, &v) ? NULL : token;
}

void h_refresh(struct req *r)
{
    const char *token = auth_refresh_token(r);
    if (!token)
        return;
    char *fresh = arena_alloc(&r->arena, 44);
    if (tokens_new_refresh(fresh) < 0) {
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    req_state_set(r, text, fresh);
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", r->app->cfg.refresh_ttl_s);
    struct api_params p;
    api_params_none(&p);
    api_param(&p, token);
    api_param(&p, fresh);
    api_param(&p, ttl);
    api_db(r, SQL_REFRESH, &p, refresh_done);
}

static void logout_done(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    req_reply_empty(r, 204);
}

void h_logout(struct req *r)
{
    const char *token = auth_refresh_token(r);
    if (!token)
        return;
    struct api_params p;
    api_params_none(&p);
    api_param(&p, token);
    api_db(r, SQL_LOGOUT, &p, logout_done);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement auth_statements[] = {
    STATEMENT(SQL_LOGIN_LOOKUP), STATEMENT(SQL_LOGIN_FAILED), STATEMENT(SQL_LOGIN_SESSION),
    STATEMENT(SQL_REFRESH),      STATEMENT(SQL_LOGOUT),       {NULL, NULL},
};
