/* set_password.c - the one-time set-password link: POST /v1/auth/set-password.
 *
 * Users an import creates have no password (a file never carries one).
 * The import stores a random token per new user - only its SHA-256 in
 * password_tokens - and queues the e-mail with the link in password_emails,
 * the table the notifications outbox sends from (migration 0012). The app
 * opens the link and posts {token, password} here; the token is good once
 * and until INVITATION_TTL_H after the import.
 *
 * As with creating a user, the cheap check comes first: only a live token
 * reaches argon2id, so posting random tokens cannot make the server hash.
 * Every refusal (unknown, used, expired) is the same 400, so the answer
 * says nothing about which tokens ever existed. */
#include "http/api.h"
#include "app.h"
#include "handlers/handlers.h"
#include "auth/hasher.h"
#include "db/statements.h"

#include <string.h>

struct set_password {
    const char *token, *password;
};

/* clang-format off */
/* Whether the link's token is live: unused, unexpired, of a user not
 * erased (the same test as SQL_SET_PASSWORD's, before the expensive hash).
 * $1 the token.
 * Returns one row (1 when live, else 0). */
static const char SQL_TOKEN_CHECK[] =
    "SELECT count(*)"
    " FROM password_tokens pt"
    " JOIN users u ON u.id = pt.user_id AND u.deleted_at IS NULL"
    " WHERE pt.token_hash = sha256(convert_to($1, 'UTF8'))"
    "   AND pt.used_at IS NULL AND pt.expires_at > now()";

/* Spends the token and sets the password, audited. The link is spent: no
 * copy of it stays in the outbox queue (mail).
 * $1 the token, $2 the password hash (PHC).
 * Returns one row (1 when the password was set, 0 when the token was not
 * live any more). */
static const char SQL_SET_PASSWORD[] =
    "WITH used AS (UPDATE password_tokens pt SET used_at = now()"
    "              FROM users u"
    "              WHERE u.id = pt.user_id AND u.deleted_at IS NULL"
    "                AND pt.token_hash = sha256(convert_to($1, 'UTF8'))"
    "                AND pt.used_at IS NULL AND pt.expires_at > now()"
    "              RETURNING pt.user_id, pt.organisation_id),"
    " pw AS (UPDATE users u SET password_hash = $2, updated_at = now() FROM used"
    "        WHERE u.id = used.user_id),"
    " mail AS (UPDATE password_emails e SET token = NULL FROM used"
    "          WHERE e.user_id = used.user_id),"
    " aud AS (INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id,"
    "                                object_type, object_id)"
    "         SELECT organisation_id, user_id, 'user.set_password', user_id, 'user', user_id"
    "         FROM used)"
    " SELECT count(*) FROM used";
/* clang-format on */

static void set_password_refuse(struct req *r)
{
    req_problem(r, 400, "The link is not valid or has expired; ask an admin for a new one.");
}

static void set_password_done(struct req *r, struct db_result *res)
{
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    if (strcmp(api_col(res, 0, 0), "1") != 0)
        set_password_refuse(r); /* used by a concurrent request meanwhile */
    else
        req_reply_empty(r, 204);
}

static void set_password_hashed(int ok, const char *encoded, void *arg)
{
    struct req *r = arg;
    struct set_password *s = req_state_get(r, set_password);
    if (ok == HASHER_UNAVAILABLE) { /* the hasher process ended: nothing was stored */
        req_busy(r, "Passwords cannot be hashed right now; try again shortly.");
        return;
    }
    if (!ok) {
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    struct api_params p;
    api_params_none(&p);
    api_param(&p, s->token);
    api_param(&p, encoded);
    api_db(r, SQL_SET_PASSWORD, &p, set_password_done);
}

static void set_password_checked(struct req *r, struct db_result *res)
{
    struct set_password *s = req_state_get(r, set_password);
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    if (strcmp(api_col(res, 0, 0), "1") != 0) {
        set_password_refuse(r);
        return;
    }
    if (hasher_hash(r->app->hasher, req_base(r), s->password, set_password_hashed, r) < 0)
        req_busy(r, "Too many passwords being set; try again shortly.");
}

void h_set_password(struct req *r)
{
    static const char *const fields[] = {"token", "password", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    struct set_password *s = arena_alloc(&r->arena, sizeof(*s));
    s->token = v_text(&v, "token", V_REQUIRED, 1, 128, 0);
    s->password = v_text(&v, "password", V_REQUIRED, 12, 256, 0);
    if (api_reject_invalid(r, &v))
        return;
    req_state_set(r, set_password, s);
    struct api_params p;
    api_params_none(&p);
    api_param(&p, s->token);
    api_db(r, SQL_TOKEN_CHECK, &p, set_password_checked);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement set_password_statements[] = {
    STATEMENT(SQL_TOKEN_CHECK),
    STATEMENT(SQL_SET_PASSWORD),
    {NULL, NULL},
};
