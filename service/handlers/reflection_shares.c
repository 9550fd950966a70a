/* reflection_shares.c - sharing one reflection with a supervisor:
 * PUT/DELETE /v1/reflections/{id}/shares/{user_id}.
 *
 * A reflection is private until its owner shares it, item by item, and
 * only with a werkbegeleider or praktijkopleider assigned to them. The
 * share is part of the reflection's representation (shared_with), so it
 * moves updated_at: a syncing phone sees the change and the ETag changes.
 * The statements keep the reflection's shared_with array (migration 0017)
 * themselves, so its trigger has nothing left to write. */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "handlers/policy.h"

/* clang-format off */
#define SQL_OWN_REFLECTION                                                                         \
    "x AS (SELECT x.id FROM reflections x, actor WHERE x.id = $4 AND x.organisation_id = $2"       \
    " AND x.owner_id = $1 AND x.deleted_at IS NULL)"

static const char SQL_SHARE_PUT[] =
    "WITH " SQL_ACTOR ", " SQL_OWN_REFLECTION ","
    " ok AS (SELECT EXISTS (SELECT 1 FROM supervisions sv WHERE sv.student_id = $1"
    " AND sv.supervisor_id = $5::uuid) AS v),"
    " ins AS (INSERT INTO reflection_shares (organisation_id, reflection_id, user_id)"
    " SELECT $2, x.id, $5 FROM x, ok WHERE ok.v ON CONFLICT DO NOTHING RETURNING reflection_id),"
    " touch AS (UPDATE reflections t SET updated_at = now(),"
    " shared_with = ARRAY(SELECT DISTINCT u FROM unnest(t.shared_with || $5::uuid) u ORDER BY u)"
    " FROM ins WHERE t.id = ins.reflection_id),"
    " aud AS (" SQL_AUDIT("'reflection.share'", "$5::uuid", "'reflection'", "ins.reflection_id")
    " FROM ins),"
    " ev AS (SELECT emit_event($5::uuid, $2::uuid, 'reflection.shared', jsonb_build_object("
    "'reflection_id', ins.reflection_id, 'from_user_id', $1::uuid)) FROM ins)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM x) THEN 404"
    " WHEN NOT ok.v THEN 422 ELSE 204 END, NULL, NULL,"
    " CASE WHEN EXISTS (SELECT 1 FROM x) THEN"
    " 'not_assigned_supervisor|You can share only with a supervisor assigned to you.' END, (SELECT count(*) FROM ev)"
    " FROM ok";

static const char SQL_SHARE_DELETE[] =
    "WITH " SQL_ACTOR ", " SQL_OWN_REFLECTION ","
    " del AS (DELETE FROM reflection_shares s USING x WHERE s.reflection_id = x.id"
    " AND s.user_id = $5 RETURNING s.reflection_id),"
    " touch AS (UPDATE reflections t SET updated_at = now(),"
    " shared_with = array_remove(t.shared_with, $5::uuid) FROM del"
    " WHERE t.id = del.reflection_id),"
    " withdraw AS (DELETE FROM feedback_requests q USING del WHERE q.reflection_id ="
    " del.reflection_id AND q.to_user_id = $5 AND q.status = 'open'),"
    " aud AS (" SQL_AUDIT("'reflection.unshare'", "$5::uuid", "'reflection'", "del.reflection_id")
    " FROM del)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM x) THEN 404"
    " ELSE 204 END";
/* clang-format on */

static void share_run(struct req *r, const char *sql)
{
    const char *p[5];
    api_actor_params(r, p);
    if (!(p[3] = api_uuid_param(r, 0)) || !(p[4] = api_uuid_param(r, 1)))
        return;
    req_db(r, sql, 5, p, api_reply_row);
}

void h_reflection_share_put(struct req *r)
{
    share_run(r, SQL_SHARE_PUT);
}

void h_reflection_share_delete(struct req *r)
{
    share_run(r, SQL_SHARE_DELETE);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement reflection_shares_statements[] = {
    STATEMENT(SQL_SHARE_PUT),
    STATEMENT(SQL_SHARE_DELETE),
    {NULL, NULL},
};
