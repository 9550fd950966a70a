/* reflections.c - STARR(T) reflections, owned by students:
 * POST/GET /v1/reflections, GET/PATCH/DELETE /v1/reflections/{id}.
 *
 * Mobile-grade behaviour, because students write after a shift on a phone
 * with a bad connection:
 * - a create may carry its own id; repeating it with the same content
 *   returns the stored reflection (200), with other content 409, so a retry
 *   never makes a duplicate;
 * - GET answers with an ETag and honours If-None-Match; PATCH needs
 *   If-Match, so an edit made offline cannot silently overwrite a newer one;
 * - ?updated_since= lists every change since then, deletions included as
 *   tombstones, for a cheap incremental sync (see api_sync_since for the
 *   overlap that makes it miss nothing).
 * Reading someone else's reflection (a supervisor it is shared with) is
 * written to the audit log by the same statement that reads it. */
#include "db/statements.h"
#include "http/api.h"
#include "app.h"
#include "handlers/handlers.h"
#include "http/pagination.h"
#include "handlers/policy.h"
#include "handlers/reflections_sql.h"

#include <string.h>
#include <time.h>

#define STARR_MAX            5000 /* characters per part: a long page of real writing */
#define REFLECTION_MAX_GOALS 20

static const char *const vermogens[] = {"absorptie", "verbindend", "opleidend", "lerend", NULL};
static const char *const dimensions[] = {"mensen", "processen", "systemen", NULL};
static const char *const statuses[] = {"draft", "final", NULL};
static const char *const starr_parts[] = {"situation", "task",       "action",
                                          "result",    "reflection", NULL};

/* Checks shared by create and update: the team is one the student is in,
 * the goals are the student's own. $team and $goals may be NULL (unchanged). */
/* clang-format off */
#define SQL_REFLECTION_CHECKS(team, goals)                                                         \
    "chk AS (SELECT (" team "::uuid IS NULL OR EXISTS (SELECT 1 FROM team_members m"               \
    " WHERE m.team_id = " team "::uuid AND m.user_id = $1::uuid)) AS team_ok,"                     \
    " (" goals "::uuid[] IS NULL OR (SELECT count(*) FROM goals g WHERE g.id = ANY (" goals        \
    "::uuid[]) AND g.owner_id = $1::uuid AND g.deleted_at IS NULL)"                                \
    " = cardinality(" goals "::uuid[])) AS goals_ok)"
#define SQL_CHECKS_STATUS                                                                          \
    "WHEN NOT chk.team_ok THEN 422 WHEN NOT chk.goals_ok THEN 422"
#define SQL_CHECKS_DETAIL                                                                          \
    "CASE WHEN NOT chk.team_ok THEN 'not_team_member|team_id is not a team you belong to.'"                        \
    " WHEN NOT chk.goals_ok THEN 'not_own_goal|goal_ids must name your own learning goals.' END"

/* A retried create compares with what is stored. ON CONFLICT takes a no-op
 * update rather than DO NOTHING: it waits for a racing insert of the same id
 * and returns that row, which this statement's snapshot could not see. For
 * the same reason the goal links of such a row are not compared: a replay
 * is recognised by the reflection's own fields. */
static const char SQL_REFLECTION_CREATE[] =
    "WITH " SQL_ACTOR ", " SQL_REFLECTION_CHECKS("$5", "$16") ","
    " ins AS (INSERT INTO reflections (id, organisation_id, owner_id, team_id, occurred_on,"
    " situation, task, action, result, reflection, transfer, status, vermogens, dimensions)"
    " SELECT coalesce($4::uuid, gen_random_uuid()), $2, $1, $5, $6, $7, $8, $9, $10, $11, $12,"
    " $13, $14, $15 FROM actor, chk WHERE chk.team_ok AND chk.goals_ok"
    " ON CONFLICT (id) DO UPDATE SET updated_at = reflections.updated_at"
    " WHERE reflections.owner_id = $1 AND reflections.deleted_at IS NULL"
    " RETURNING *, xmax = 0 AS fresh),"
    " links AS (INSERT INTO reflection_goals (organisation_id, reflection_id, goal_id)"
    " SELECT $2, ins.id, unnest($16::uuid[]) FROM ins WHERE ins.fresh),"
    " same AS (SELECT * FROM ins WHERE NOT ins.fresh AND ins.team_id = $5"
    " AND ins.occurred_on = $6 AND ins.situation = $7 AND ins.task = $8 AND ins.action = $9"
    " AND ins.result = $10 AND ins.reflection = $11 AND ins.transfer IS NOT DISTINCT FROM $12"
    " AND ins.status = $13 AND ins.vermogens = $14 AND ins.dimensions = $15),"
    " shown AS (SELECT * FROM ins WHERE ins.fresh OR EXISTS (SELECT 1 FROM same))"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 " SQL_CHECKS_STATUS
    " WHEN EXISTS (SELECT 1 FROM ins WHERE fresh) THEN 201"
    " WHEN EXISTS (SELECT 1 FROM same) THEN 200 ELSE 409 END,"
    " (SELECT " SQL_REFLECTION_JSON("shown", SQL_GIVEN_GOALS("$16")) " FROM shown),"
    " (SELECT " SQL_ETAG("shown.updated_at") " FROM shown),"
    " coalesce(" SQL_CHECKS_DETAIL ", 'A different reflection with this id exists.') FROM chk";

static const char SQL_REFLECTION_GET[] =
    "WITH " SQL_ACTOR ", x AS (SELECT x.* FROM reflections x, actor WHERE x.id = $4"
    " AND x.organisation_id = $2 AND x.deleted_at IS NULL AND " SQL_READS_REFLECTION("x") "),"
    " aud AS (" SQL_AUDIT("'reflection.read'", "x.owner_id", "'reflection'", "x.id")
    " FROM x WHERE x.owner_id <> $1)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN x.id IS NULL THEN 404 ELSE 200 END,"
    " CASE WHEN x.id IS NOT NULL THEN " SQL_REFLECTION_JSON("x", SQL_STORED_GOALS("x")) " END,"
    " CASE WHEN x.id IS NOT NULL THEN " SQL_ETAG("x.updated_at") " END"
    " FROM (SELECT 1) one LEFT JOIN x ON true";

/* $6..$18: NULL means "leave as it is"; $12 says whether transfer is set
 * (an explicit null clears it). */
static const char SQL_REFLECTION_PATCH[] =
    "WITH " SQL_ACTOR ", cur AS (SELECT x.id, " SQL_ETAG("x.updated_at") " AS etag"
    " FROM reflections x, actor WHERE x.id = $4 AND x.organisation_id = $2 AND x.owner_id = $1"
    " AND x.deleted_at IS NULL), " SQL_REFLECTION_CHECKS("$6", "$17") ","
    " upd AS (UPDATE reflections x SET team_id = coalesce($6::uuid, x.team_id),"
    " occurred_on = coalesce($7::date, x.occurred_on), situation = coalesce($8, x.situation),"
    " task = coalesce($9, x.task), action = coalesce($10, x.action),"
    " result = coalesce($11, x.result), reflection = coalesce($18, x.reflection),"
    " transfer = CASE WHEN $12::boolean THEN $13 ELSE x.transfer END,"
    " status = coalesce($14, x.status), vermogens = coalesce($15::text[], x.vermogens),"
    " dimensions = coalesce($16::text[], x.dimensions), updated_at = now()"
    " FROM cur, chk WHERE x.id = cur.id AND (" SQL_ETAG("x.updated_at") " = $5 OR $5 = '*') AND chk.team_ok AND chk.goals_ok"
    " RETURNING x.*),"
    " unlink AS (DELETE FROM reflection_goals rg USING upd WHERE rg.reflection_id = upd.id"
    " AND $17::uuid[] IS NOT NULL AND rg.goal_id <> ALL ($17::uuid[])),"
    " link AS (INSERT INTO reflection_goals (organisation_id, reflection_id, goal_id)"
    " SELECT $2, upd.id, unnest($17::uuid[]) FROM upd WHERE $17::uuid[] IS NOT NULL"
    " ON CONFLICT DO NOTHING)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM cur) THEN 404"
    " " SQL_CHECKS_STATUS " WHEN NOT EXISTS (SELECT 1 FROM upd) THEN 412 ELSE 200 END,"
    " (SELECT " SQL_REFLECTION_JSON("upd", "CASE WHEN $17::uuid[] IS NULL THEN "
                                           SQL_STORED_GOALS("upd") " ELSE " SQL_GIVEN_GOALS(
                                               "$17") " END") " FROM upd),"
    " (SELECT " SQL_ETAG("upd.updated_at") " FROM upd),"
    " CASE WHEN EXISTS (SELECT 1 FROM cur) THEN " SQL_CHECKS_DETAIL " END FROM chk";

/* Deleting wipes the content and leaves a tombstone for syncing phones. */
static const char SQL_REFLECTION_DELETE[] =
    "WITH " SQL_ACTOR ", del AS (UPDATE reflections x SET deleted_at = now(), updated_at = now(),"
    " situation = '', task = '', action = '', result = '', reflection = '', transfer = NULL,"
    " vermogens = '{}', dimensions = '{}' FROM actor WHERE x.id = $4 AND x.organisation_id = $2"
    " AND x.owner_id = $1 AND x.deleted_at IS NULL RETURNING x.id),"
    " sh AS (DELETE FROM reflection_shares s USING del WHERE s.reflection_id = del.id),"
    " gl AS (DELETE FROM reflection_goals g USING del WHERE g.reflection_id = del.id),"
    " fb AS (DELETE FROM feedback f USING del WHERE f.reflection_id = del.id),"
    " fr AS (DELETE FROM feedback_requests q USING del WHERE q.reflection_id = del.id)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM del) THEN 404"
    " ELSE 204 END";

/* The caller's own reflections, newest last, in keyset pages. */
static const char SQL_REFLECTION_LIST[] =
    "WITH " SQL_ACTOR ", page AS (SELECT x.* FROM reflections x, actor WHERE x.owner_id = $1"
    " AND x.deleted_at IS NULL AND " SQL_AFTER("x.created_at", "x.id", "$5", "$6")
    " ORDER BY x.created_at, x.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END, " SQL_PAGE_BODY(
        SQL_REFLECTION_JSON("shown", SQL_STORED_GOALS("shown")), "shown.created_at", "shown.id",
        "$4");

/* Changes since $7 (minus the overlap), tombstones included. */
static const char SQL_REFLECTION_SYNC[] =
    "WITH " SQL_ACTOR ", page AS (SELECT x.* FROM reflections x, actor WHERE x.owner_id = $1"
    " AND x.updated_at > $7::timestamptz - make_interval(secs => $8::int)"
    " AND " SQL_AFTER("x.updated_at", "x.id", "$5", "$6")
    " ORDER BY x.updated_at, x.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY updated_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END, " SQL_PAGE_BODY(
        "CASE WHEN shown.deleted_at IS NULL THEN " SQL_REFLECTION_JSON(
            "shown", SQL_STORED_GOALS("shown")) " ELSE " SQL_TOMBSTONE("shown") " END",
        "shown.updated_at", "shown.id", "$4");
/* clang-format on */

static void reflection_write_done(struct req *r, struct db_result *res)
{
    if (res->status == DB_ERROR && strcmp(res->sqlstate, "23514") == 0) {
        req_problem_code(r, 422, "starr_incomplete",
                         "A final reflection needs all five STARR parts.");
        return;
    }
    api_reply_row(r, res);
}

/* A final reflection must have every STARR part; say which are missing. */
static void reflection_check_final(struct validator *v, const char *status, const char **parts)
{
    if (!status || strcmp(status, "final") != 0)
        return;
    for (int i = 0; starr_parts[i]; i++)
        if (parts[i] && !*parts[i])
            v_error(v, starr_parts[i], "is required in a final reflection");
}

/* occurred_on lies between BACKDATE_MAX_DAYS ago and tomorrow (UTC): a
 * reflection is about a shift that happened, and "tomorrow" leaves room
 * for every time zone east of UTC, where the day has already begun. */
static void occurred_on_bounds(struct req *r, char lo[16], char hi[16])
{
    time_t now = time(NULL), first = now - (time_t)r->app->cfg.backdate_max_days * 86400;
    time_t last = now + 86400;
    struct tm tm;
    strftime(lo, 16, "%Y-%m-%d", gmtime_r(&first, &tm));
    strftime(hi, 16, "%Y-%m-%d", gmtime_r(&last, &tm));
}

void h_reflection_create(struct req *r)
{
    static const char *const fields[] = {
        "id",         "team_id",  "occurred_on", "situation", "task",       "action",   "result",
        "reflection", "transfer", "status",      "vermogens", "dimensions", "goal_ids", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    const char *p[16];
    api_actor_params(r, p);
    p[3] = v_uuid(&v, "id", V_OPTIONAL);
    p[4] = v_uuid(&v, "team_id", V_REQUIRED);
    char lo[16], hi[16];
    occurred_on_bounds(r, lo, hi);
    p[5] = v_date_between(&v, "occurred_on", V_REQUIRED, lo, hi);
    for (int i = 0; i < 5; i++) {
        p[6 + i] = v_text(&v, starr_parts[i], V_OPTIONAL, 0, STARR_MAX, 1);
        if (!p[6 + i]) /* absent or null: empty (invalid ones fail v anyway) */
            p[6 + i] = "";
    }
    p[11] = v_text(&v, "transfer", V_OPTIONAL, 0, STARR_MAX, 1);
    p[12] = v_enum(&v, "status", V_REQUIRED, statuses);
    p[13] = v_enum_array(&v, "vermogens", vermogens);
    p[14] = v_enum_array(&v, "dimensions", dimensions);
    p[15] = v_uuid_array(&v, "goal_ids", REFLECTION_MAX_GOALS, NULL);
    reflection_check_final(&v, p[12], p + 6);
    if (api_reject_invalid(r, &v))
        return;
    api_db_create(r, SQL_REFLECTION_CREATE, 16, p, reflection_write_done);
}

void h_reflection_get(struct req *r)
{
    const char *p[4];
    api_actor_params(r, p);
    if (!(p[3] = api_uuid_param(r, 0)))
        return;
    req_db(r, SQL_REFLECTION_GET, 4, p, api_reply_row);
}

/* An optional enum array for PATCH: NULL when absent (unchanged). */
static const char *patch_enum_array(struct validator *v, const char *field,
                                    const char *const *allowed)
{
    return json_object_get(v->body, field) ? v_enum_array(v, field, allowed) : NULL;
}

void h_reflection_patch(struct req *r)
{
    static const char *const fields[] = {
        "team_id",  "occurred_on", "situation", "task",       "action",   "result", "reflection",
        "transfer", "status",      "vermogens", "dimensions", "goal_ids", NULL};
    const char *id = api_uuid_param(r, 0);
    const char *if_match = id ? api_if_match(r) : NULL;
    struct validator v;
    if (!if_match || !api_body(r, &v, fields))
        return;
    const char *p[18], *parts[5];
    api_actor_params(r, p);
    p[3] = id;
    p[4] = if_match;
    p[5] = v_uuid(&v, "team_id", V_OPTIONAL);
    char lo[16], hi[16];
    occurred_on_bounds(r, lo, hi);
    p[6] = v_date_between(&v, "occurred_on", V_OPTIONAL, lo, hi);
    for (int i = 0; i < 5; i++)
        parts[i] = v_text(&v, starr_parts[i], V_OPTIONAL, 0, STARR_MAX, 1);
    for (int i = 0; i < 4; i++)
        p[7 + i] = parts[i];
    p[17] = parts[4];
    p[11] = json_object_get(v.body, "transfer") ? "true" : "false";
    p[12] = v_text(&v, "transfer", V_OPTIONAL, 0, STARR_MAX, 1);
    p[13] = v_enum(&v, "status", V_OPTIONAL, statuses);
    p[14] = patch_enum_array(&v, "vermogens", vermogens);
    p[15] = patch_enum_array(&v, "dimensions", dimensions);
    int has_goals = 0;
    p[16] = v_uuid_array(&v, "goal_ids", REFLECTION_MAX_GOALS, &has_goals);
    reflection_check_final(&v, p[13], parts);
    if (api_reject_invalid(r, &v))
        return;
    req_db(r, SQL_REFLECTION_PATCH, 18, p, reflection_write_done);
}

void h_reflection_delete(struct req *r)
{
    const char *p[4];
    api_actor_params(r, p);
    if (!(p[3] = api_uuid_param(r, 0)))
        return;
    req_db(r, SQL_REFLECTION_DELETE, 4, p, api_reply_row);
}

void h_reflection_list(struct req *r)
{
    api_sync_list(r, SQL_REFLECTION_LIST, SQL_REFLECTION_SYNC);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement reflections_statements[] = {
    STATEMENT(SQL_REFLECTION_CREATE),
    STATEMENT(SQL_REFLECTION_GET),
    STATEMENT(SQL_REFLECTION_PATCH),
    STATEMENT(SQL_REFLECTION_DELETE),
    STATEMENT(SQL_REFLECTION_LIST),
    STATEMENT(SQL_REFLECTION_SYNC),
    {NULL, NULL},
};
