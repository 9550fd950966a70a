/* users.c - organisation users, managed by its admins: POST/GET /v1/users.
 *
 * Creating a user hashes the password with argon2id, which is expensive on
 * purpose. So the cheap checks (is the caller an admin, is the address
 * free) run first, and only an admin's valid request reaches the hasher: a
 * student cannot make the server burn CPU by posting users. */
#include "db/statements.h"
#include "http/api.h"
#include "app.h"
#include "handlers/handlers.h"
#include "auth/hasher.h"
#include "http/pagination.h"
#include "handlers/policy.h"
#include "handlers/users_sql.h"

#include <string.h>

struct new_user {
    const char *email, *name, *password, *roles;
};

static const char *const org_roles[] = {"admin", "praktijkopleider", NULL};

/* clang-format off */
/* The cheap checks before the password is hashed: the caller is an admin
 * and no live user has the address.
 * $1..$3 the caller, $4 e-mail address.
 * Returns (200 | 401 | 404 | 409, NULL, NULL, detail). */
static const char SQL_USER_PRECHECK[] =
    "WITH " SQL_ACTOR ","
    " taken AS (SELECT EXISTS (SELECT 1 FROM users"
    "                          WHERE email = lower($4) AND deleted_at IS NULL) AS v)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             WHEN taken.v THEN 409"
    "             ELSE 200 END,"
    "        NULL, NULL,"
    "        CASE WHEN taken.v THEN 'A user with this e-mail address exists.' END"
    " FROM taken";

/* An admin creates a user with a hashed password. The address may have
 * been taken since the precheck: then nothing is inserted (409).
 * $1..$3 the caller, $4 e-mail address, $5 name, $6 password hash (PHC),
 * $7 organisation roles (a text[] literal).
 * Returns (201 | 401 | 404 | 409, user JSON). */
static const char SQL_USER_CREATE[] =
    "WITH " SQL_ACTOR ","
    " ins AS (INSERT INTO users (organisation_id, email, name, password_hash, roles)"
    "         SELECT $2, lower($4), $5, $6, $7::text[] WHERE " SQL_IS_ADMIN
    "         ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING"
    "         RETURNING *),"
    " aud AS (" SQL_AUDIT("'user.create'", "ins.id", "'user'", "ins.id") " FROM ins)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             WHEN NOT EXISTS (SELECT 1 FROM ins) THEN 409"
    "             ELSE 201 END,"
    "        (SELECT " SQL_USER_JSON("ins") " FROM ins)";

/* One page of the organisation's live users, for an admin.
 * $1..$3 the caller, $4 limit, $5 and $6 the cursor.
 * Returns (200 | 401 | 404, page JSON). */
static const char SQL_USER_LIST[] =
    "WITH " SQL_ACTOR ","
    " page AS (SELECT * FROM users u"
    "          WHERE u.organisation_id = $2 AND u.deleted_at IS NULL AND " SQL_IS_ADMIN
    "            AND " SQL_AFTER("u.created_at", "u.id", "$5", "$6")
    "          ORDER BY u.created_at, u.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             ELSE 200 END,"
    "        " SQL_PAGE_BODY(SQL_USER_JSON("shown"), "shown.created_at", "shown.id", "$4");
/* clang-format on */

static void user_created(struct req *r, struct db_result *res)
{
    if (res->status == DB_ERROR && strcmp(res->sqlstate, "23505") == 0) {
        req_problem(r, 409, "A user with this e-mail address exists.");
        return;
    }
    api_reply_row(r, res);
}

static void user_hashed(int ok, const char *encoded, void *arg)
{
    struct req *r = arg;
    struct new_user *u = req_state_get(r, new_user);
    if (ok == HASHER_UNAVAILABLE) { /* the hasher process ended: nothing was stored */
        req_busy(r, "Passwords cannot be hashed right now; try again shortly.");
        return;
    }
    if (!ok) {
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, u->email);
    api_param(&p, u->name);
    api_param(&p, encoded);
    api_param(&p, u->roles);
    api_db(r, SQL_USER_CREATE, &p, user_created);
}

static void user_prechecked(struct req *r, struct db_result *res)
{
    struct new_user *u = req_state_get(r, new_user);
    if (!api_one_row_ok(res) || strcmp(api_col(res, 0, 0), "200") != 0) {
        api_reply_row(r, res);
        return;
    }
    if (hasher_hash(r->app->hasher, req_base(r), u->password, user_hashed, r) < 0)
        req_busy(r, "Too many passwords being checked; try again shortly.");
}

void h_user_create(struct req *r)
{
    static const char *const fields[] = {"email", "name", "password", "roles", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    struct new_user *u = arena_alloc(&r->arena, sizeof(*u));
    u->email = v_email(&v, "email", V_REQUIRED);
    u->name = v_text(&v, "name", V_REQUIRED, 1, 200, 0);
    u->password = v_text(&v, "password", V_REQUIRED, 12, 256, 0);
    u->roles = v_enum_array(&v, "roles", org_roles);
    if (api_reject_invalid(r, &v))
        return;
    req_state_set(r, new_user, u);
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, u->email);
    api_db(r, SQL_USER_PRECHECK, &p, user_prechecked);
}

void h_user_list(struct req *r)
{
    api_list(r, SQL_USER_LIST);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement users_statements[] = {
    STATEMENT(SQL_USER_PRECHECK),
    STATEMENT(SQL_USER_CREATE),
    STATEMENT(SQL_USER_LIST),
    {NULL, NULL},
};
