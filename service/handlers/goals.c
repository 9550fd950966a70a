/* goals.c - learning goals (leerdoelen), owned by students:
 * POST/GET /v1/goals, GET/PATCH/DELETE /v1/goals/{id},
 * PUT/DELETE /v1/goals/{id}/shares/{user_id}.
 *
 * A goal is what, why and by when, with a status (open, active, achieved,
 * dropped), the vermogens it serves and the reflections linked to it as
 * evidence. It behaves like a reflection for a phone with a bad connection
 * (see reflections.c): a create may carry its own id and is then
 * idempotent, GET has an ETag, PATCH needs If-Match, and ?updated_since=
 * lists changes with tombstones for deleted goals.
 *
 * Only the owner writes. The owner may share a goal with a supervisor
 * assigned to them; that supervisor may then read it for as long as the
 * supervision lasts (SQL_READS_GOAL), and every such read is audited by the
 * statement that reads it. Sharing changes shared_with, so it moves the
 * goal's updated_at (and ETag) like any other edit. */
#include "core/vermogens.h"
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "http/pagination.h"
#include "handlers/policy.h"

#define GOAL_WHAT_MAX 500
#define GOAL_WHY_MAX  2000

static const char *const statuses[] = {"open", "active", "achieved", "dropped", NULL};

/* reflection_ids: the owner's live reflections that name this goal. */
/* clang-format off */
#define SQL_GOAL_JSON(x)                                                                           \
    "json_build_object('id', " x ".id, 'owner_id', " x ".owner_id, 'what', " x ".what,"           \
    " 'why', " x ".why, 'due_on', " x ".due_on, 'status', " x ".status,"                           \
    " 'vermogens', to_json(" x ".vermogens), 'reflection_ids',"                                     \
    " coalesce((SELECT json_agg(rg.reflection_id ORDER BY rg.reflection_id)"                       \
    " FROM reflection_goals rg JOIN reflections rf ON rf.id = rg.reflection_id"                     \
    " WHERE rg.goal_id = " x ".id AND rf.owner_id = " x ".owner_id AND rf.deleted_at IS NULL),"    \
    " '[]'::json), 'shared_with', coalesce((SELECT json_agg(gs.user_id ORDER BY gs.user_id)"       \
    " FROM goal_shares gs WHERE gs.goal_id = " x ".id), '[]'::json),"                              \
    " 'created_at', " SQL_TS(x ".created_at") ", 'updated_at', " SQL_TS(x ".updated_at") ")"
/* The caller's own live goal whose id is parameter id ("$4"): the only goal
 * anyone may change. The statement that uses it says which parameter. */
#define SQL_OWN_GOAL(id)                                                                           \
    "SELECT x.* FROM goals x, actor WHERE x.id = " id "::uuid AND x.organisation_id = $2::uuid"   \
    " AND x.owner_id = $1::uuid AND x.deleted_at IS NULL"

/* $4 id (NULL: a new one), $5 what, $6 why, $7 due_on, $8 status, $9 vermogens. */
static const char SQL_GOAL_CREATE[] =
    "WITH " SQL_ACTOR ", ins AS (INSERT INTO goals (id, organisation_id, owner_id, what, why,"
    " due_on, status, vermogens) SELECT coalesce($4::uuid, gen_random_uuid()), $2, $1, $5, $6,"
    " $7::date, $8, $9::text[] FROM actor"
    /* A no-op update instead of DO NOTHING: it waits for a racing insert of
     * the same id and returns that row, which our snapshot could not see. */
    " ON CONFLICT (id) DO UPDATE SET updated_at = goals.updated_at"
    " WHERE goals.owner_id = $1 AND goals.deleted_at IS NULL RETURNING *, xmax = 0 AS fresh),"
    " same AS (SELECT * FROM ins WHERE NOT ins.fresh AND ins.what = $5 AND ins.why = $6"
    " AND ins.due_on IS NOT DISTINCT FROM $7::date AND ins.status = $8"
    " AND ins.vermogens = $9::text[])"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN EXISTS (SELECT 1 FROM ins WHERE fresh)"
    " THEN 201 WHEN EXISTS (SELECT 1 FROM same) THEN 200 ELSE 409 END,"
    " (SELECT " SQL_GOAL_JSON("ins") " FROM ins WHERE ins.fresh OR EXISTS (SELECT 1 FROM same)),"
    " (SELECT " SQL_ETAG("ins.updated_at") " FROM ins WHERE ins.fresh"
    " OR EXISTS (SELECT 1 FROM same)),"
    " CASE WHEN NOT " SQL_NO_ACTOR " THEN 'A different learning goal with this id exists.' END";

static const char SQL_GOAL_GET[] =
    "WITH " SQL_ACTOR ", x AS (SELECT x.* FROM goals x, actor WHERE x.id = $4::uuid"
    " AND x.organisation_id = $2 AND x.deleted_at IS NULL AND " SQL_READS_GOAL("x") "),"
    " aud AS (" SQL_AUDIT("'goal.read'", "x.owner_id", "'goal'", "x.id")
    " FROM x WHERE x.owner_id <> $1)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN x.id IS NULL THEN 404 ELSE 200 END,"
    " CASE WHEN x.id IS NOT NULL THEN " SQL_GOAL_JSON("x") " END,"
    " CASE WHEN x.id IS NOT NULL THEN " SQL_ETAG("x.updated_at") " END"
    " FROM (SELECT 1) one LEFT JOIN x ON true";

/* $5 If-Match; $6..$11: NULL means "leave as it is"; $8 says whether
 * due_on is set (an explicit null clears it). */
static const char SQL_GOAL_PATCH[] =
    "WITH " SQL_ACTOR ", cur AS (SELECT x.id, " SQL_ETAG("x.updated_at") " AS etag"
    " FROM (" SQL_OWN_GOAL("$4") ") x),"
    " upd AS (UPDATE goals x SET what = coalesce($6, x.what), why = coalesce($7, x.why),"
    " due_on = CASE WHEN $8::boolean THEN $9::date ELSE x.due_on END,"
    " status = coalesce($10, x.status), vermogens = coalesce($11::text[], x.vermogens),"
    " updated_at = now() FROM cur WHERE x.id = cur.id AND " SQL_IF_MATCH("x.updated_at", "$5") " RETURNING x.*)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM cur) THEN 404"
    " WHEN NOT EXISTS (SELECT 1 FROM upd) THEN 412 ELSE 200 END,"
    " (SELECT " SQL_GOAL_JSON("upd") " FROM upd), (SELECT " SQL_ETAG("upd.updated_at")
    " FROM upd)";

/* Deleting wipes the content and leaves a tombstone for syncing phones.
 * Unlinking changes the goal_ids of those reflections, so they move too. */
static const char SQL_GOAL_DELETE[] =
    "WITH " SQL_ACTOR ", del AS (UPDATE goals x SET deleted_at = now(), updated_at = now(),"
    " what = '', why = '', due_on = NULL, vermogens = '{}' FROM (" SQL_OWN_GOAL("$4") ") o"
    " WHERE x.id = o.id RETURNING x.id),"
    " sh AS (DELETE FROM goal_shares s USING del WHERE s.goal_id = del.id),"
    " gl AS (DELETE FROM reflection_goals l USING del WHERE l.goal_id = del.id"
    " RETURNING l.reflection_id, l.goal_id),"
    " rt AS (UPDATE reflections rf SET updated_at = now(),"
    " goal_ids = array_remove(rf.goal_ids, gl.goal_id) FROM gl WHERE rf.id = gl.reflection_id),"
    " fb AS (DELETE FROM feedback f USING del WHERE f.goal_id = del.id)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM del) THEN 404"
    " ELSE 204 END";

/* The caller's own goals, oldest first, in keyset pages. */
static const char SQL_GOAL_LIST[] =
    "WITH " SQL_ACTOR ", page AS (SELECT x.* FROM goals x, actor WHERE x.owner_id = $1"
    " AND x.organisation_id = $2 AND x.deleted_at IS NULL"
    " AND " SQL_AFTER("x.created_at", "x.id", "$5", "$6")
    " ORDER BY x.created_at, x.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END, " SQL_PAGE_BODY(
        SQL_GOAL_JSON("shown"), "shown.created_at", "shown.id", "$4");

/* Changes since $7 (minus the overlap $8), tombstones included. */
static const char SQL_GOAL_SYNC[] =
    "WITH " SQL_ACTOR ", page AS (SELECT x.* FROM goals x, actor WHERE x.owner_id = $1"
    " AND x.organisation_id = $2"
    " AND x.updated_at > $7::timestamptz - make_interval(secs => $8::int)"
    " AND " SQL_AFTER("x.updated_at", "x.id", "$5", "$6")
    " ORDER BY x.updated_at, x.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY updated_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END, " SQL_PAGE_BODY(
        "CASE WHEN shown.deleted_at IS NULL THEN " SQL_GOAL_JSON(
            "shown") " ELSE " SQL_TOMBSTONE("shown") " END",
        "shown.updated_at", "shown.id", "$4");

/* $4 goal, $5 the user to share with: a supervisor assigned to the owner. */
static const char SQL_GOAL_SHARE_PUT[] =
    "WITH " SQL_ACTOR ", g AS (" SQL_OWN_GOAL("$4") "),"
    " ok AS (SELECT EXISTS (SELECT 1 FROM supervisions sv WHERE sv.student_id = $1::uuid"
    " AND sv.supervisor_id = $5::uuid AND sv.organisation_id = $2::uuid) AS v),"
    " ins AS (INSERT INTO goal_shares (organisation_id, goal_id, user_id)"
    " SELECT $2, g.id, $5 FROM g, ok WHERE ok.v ON CONFLICT DO NOTHING RETURNING *),"
    " touch AS (UPDATE goals x SET updated_at = now() FROM ins WHERE x.id = ins.goal_id),"
    " aud AS (" SQL_AUDIT("'goal.share'", "ins.user_id", "'goal'", "ins.goal_id") " FROM ins)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM g) THEN 404"
    " WHEN NOT ok.v THEN 422 ELSE 204 END, NULL, NULL,"
    " CASE WHEN EXISTS (SELECT 1 FROM g) AND NOT ok.v THEN 'not_assigned_supervisor|You can share a goal only with a"
    " supervisor assigned to you.' END FROM ok";

static const char SQL_GOAL_SHARE_DELETE[] =
    "WITH " SQL_ACTOR ", g AS (" SQL_OWN_GOAL("$4") "),"
    " del AS (DELETE FROM goal_shares s USING g WHERE s.goal_id = g.id"
    " AND s.user_id = $5::uuid AND s.organisation_id = $2 RETURNING s.*),"
    " touch AS (UPDATE goals x SET updated_at = now() FROM del WHERE x.id = del.goal_id),"
    " aud AS (" SQL_AUDIT("'goal.unshare'", "del.user_id", "'goal'", "del.goal_id") " FROM del)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM g) THEN 404"
    " ELSE 204 END";
/* clang-format on */

/* A field that may be left out of a PATCH but not cleared with null. */
static void reject_null(struct validator *v, const char *field)
{
    if (json_is_null(json_object_get(v->body, field)))
        v_error(v, field, "cannot be null");
}

void h_goal_create(struct req *r)
{
    static const char *const fields[] = {"id",     "what",      "why", "due_on",
                                         "status", "vermogens", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    const char *p[9];
    api_actor_params(r, p);
    p[3] = v_uuid(&v, "id", V_OPTIONAL);
    p[4] = v_text(&v, "what", V_REQUIRED, 1, GOAL_WHAT_MAX, 1);
    p[5] = v_text(&v, "why", V_OPTIONAL, 0, GOAL_WHY_MAX, 1);
    if (!p[5]) /* absent or null: empty (an invalid one fails v anyway) */
        p[5] = "";
    p[6] = v_date(&v, "due_on", V_OPTIONAL);
    p[7] = v_enum(&v, "status", V_REQUIRED, statuses);
    p[8] = v_enum_array(&v, "vermogens", vermogens);
    if (api_reject_invalid(r, &v))
        return;
    api_db_create(r, SQL_GOAL_CREATE, 9, p, api_reply_row);
}

void h_goal_list(struct req *r)
{
    api_sync_list(r, SQL_GOAL_LIST, SQL_GOAL_SYNC);
}

void h_goal_get(struct req *r)
{
    const char *p[4];
    api_actor_params(r, p);
    if (!(p[3] = api_uuid_param(r, 0)))
        return;
    req_db(r, SQL_GOAL_GET, 4, p, api_reply_row);
}

void h_goal_patch(struct req *r)
{
    static const char *const fields[] = {"what", "why", "due_on", "status", "vermogens", NULL};
    const char *id = api_uuid_param(r, 0);
    const char *if_match = id ? api_if_match(r) : NULL;
    struct validator v;
    if (!if_match || !api_body(r, &v, fields))
        return;
    const char *p[11];
    api_actor_params(r, p);
    p[3] = id;
    p[4] = if_match;
    reject_null(&v, "what");
    p[5] = v_text(&v, "what", V_OPTIONAL, 1, GOAL_WHAT_MAX, 1);
    p[6] = v_text(&v, "why", V_OPTIONAL, 0, GOAL_WHY_MAX, 1);
    if (!p[6] && json_is_null(json_object_get(v.body, "why"))) /* null clears it */
        p[6] = "";
    p[7] = json_object_get(v.body, "due_on") ? "true" : "false";
    p[8] = v_date(&v, "due_on", V_OPTIONAL);
    reject_null(&v, "status");
    p[9] = v_enum(&v, "status", V_OPTIONAL, statuses);
    /* absent: unchanged; null or []: none */
    p[10] = json_object_get(v.body, "vermogens") ? v_enum_array(&v, "vermogens", vermogens) : NULL;
    if (api_reject_invalid(r, &v))
        return;
    req_db(r, SQL_GOAL_PATCH, 11, p, api_reply_row);
}

void h_goal_delete(struct req *r)
{
    const char *p[4];
    api_actor_params(r, p);
    if (!(p[3] = api_uuid_param(r, 0)))
        return;
    req_db(r, SQL_GOAL_DELETE, 4, p, api_reply_row);
}

/* Both share routes: /v1/goals/{id}/shares/{user_id}. */
static void goal_share_run(struct req *r, const char *sql)
{
    const char *goal = api_uuid_param(r, 0);
    const char *user = goal ? api_uuid_param(r, 1) : NULL;
    if (!user)
        return;
    const char *p[5];
    api_actor_params(r, p);
    p[3] = goal;
    p[4] = user;
    req_db(r, sql, 5, p, api_reply_row);
}

void h_goal_share_put(struct req *r)
{
    goal_share_run(r, SQL_GOAL_SHARE_PUT);
}

void h_goal_share_delete(struct req *r)
{
    goal_share_run(r, SQL_GOAL_SHARE_DELETE);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement goals_statements[] = {
    STATEMENT(SQL_GOAL_CREATE),    STATEMENT(SQL_GOAL_GET),          STATEMENT(SQL_GOAL_PATCH),
    STATEMENT(SQL_GOAL_DELETE),    STATEMENT(SQL_GOAL_LIST),         STATEMENT(SQL_GOAL_SYNC),
    STATEMENT(SQL_GOAL_SHARE_PUT), STATEMENT(SQL_GOAL_SHARE_DELETE), {NULL, NULL},
};
