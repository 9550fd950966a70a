/* me.c - the caller's own profile: GET /v1/me. */
#include "api.h"
#include "handlers.h"
#include "policy.h"
#include "users_sql.h"

/* clang-format off */
static const char SQL_ME[] = "WITH " SQL_ACTOR
                             " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
                             " (SELECT " SQL_ME_JSON("actor.id") " FROM actor)";
/* clang-format on */

void h_me(struct req *r)
{
    const char *p[3];
    api_actor_params(r, p);
    req_db(r, SQL_ME, 3, p, api_reply_row);
}
