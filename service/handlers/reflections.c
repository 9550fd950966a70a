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
#include "core/jsonw.h"
#include "core/vermogens.h"
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

static const char *const dimensions[] = {"mensen", "processen", "systemen", NULL};
static const char *const statuses[] = {"draft", "final", NULL};
static const char *const starr_parts[] = {"situation", "task",       "action",
                                          "result",    "reflection", NULL};

/* Statements: one literal each, laid out as SQL. Shared fragments are the
 * caller (SQL_ACTOR, policy.h), the columns of a reflection
 * (SQL_REFLECTION_COLS) and the pagination and ETag helpers. Create and
 * update name their parameters (api.h: args), with the indices below. */
/* clang-format off */
#define CREATE_ARGS(X, P)                                                                          \
    X(P, id) X(P, team_id) X(P, occurred_on) X(P, situation) X(P, task) X(P, action)               \
    X(P, result) X(P, reflection) X(P, transfer) X(P, status) X(P, vermogens) X(P, dimensions)     \
    X(P, goal_ids)
/* clang-format on */
enum { CREATE_FIRST = API_ARGS_FIRST - 1, CREATE_ARGS(API_ARG_INDEX, CREATE) CREATE_N };
static const char *const create_args[] = {CREATE_ARGS(API_ARG_NAME, CREATE) NULL};

/* clang-format off */
/* The parts of a create. Every variant takes the same parameters (create_args). */
/* The caller and the arguments by name. */
#define SQL_CREATE_ARGS                                                                            \
    "WITH " SQL_ACTOR ","                                                                          \
    " args AS (SELECT $4::uuid AS id, $5::uuid AS team_id, $6::date AS occurred_on,"               \
    "   $7::text AS situation, $8::text AS task, $9::text AS action, $10::text AS result,"         \
    "   $11::text AS reflection, $12::text AS transfer, $13::text AS status,"                      \
    "   $14::text[] AS vermogens, $15::text[] AS dimensions, $16::uuid[] AS goal_ids),"
/* The checks: a team of the caller's, and goal_ids (if any) the caller's own goals,
 * sorted without repeats as the row stores them. */
#define SQL_CREATE_TEAM_OK                                                                         \
    "   EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = args.team_id"                       \
    "     AND m.user_id = $1::uuid) AS team_ok,"
#define SQL_CREATE_CHECKS                                                                          \
    " chk AS (SELECT" SQL_CREATE_TEAM_OK                                                           \
    "   (args.goal_ids IS NULL OR (SELECT count(*) FROM goals g WHERE g.id = ANY (args.goal_ids)"  \
    "     AND g.owner_id = $1::uuid AND g.deleted_at IS NULL) = cardinality(args.goal_ids))"       \
    "     AS goals_ok,"                                                                            \
    "   ARRAY(SELECT DISTINCT g FROM unnest(args.goal_ids) g ORDER BY g) AS goal_ids"              \
    "   FROM args),"
/* The row, if the checks pass; RETURNING and the ON CONFLICT arm follow. */
#define SQL_CREATE_INSERT                                                                          \
    " ins AS (INSERT INTO reflections (id, organisation_id, owner_id, team_id, occurred_on,"       \
    "     situation, task, action, result, reflection, transfer, status, vermogens, dimensions,"   \
    "     goal_ids)"                                                                               \
    "   SELECT coalesce(args.id, gen_random_uuid()), $2, $1, args.team_id, args.occurred_on,"      \
    "     args.situation, args.task, args.action, args.result, args.reflection, args.transfer,"    \
    "     args.status, args.vermogens, args.dimensions, chk.goal_ids"                              \
    "   FROM actor, args, chk WHERE chk.team_ok AND chk.goals_ok"
/* The answer of an INSERT without ON CONFLICT: 401, 422 or the new row (201). */
#define SQL_CREATE_ANSWER                                                                          \
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"                                                  \
    "     WHEN NOT chk.team_ok THEN 422 WHEN NOT chk.goals_ok THEN 422 ELSE 201 END,"              \
    "   NULL, NULL,"                                                                               \
    "   CASE WHEN " SQL_NO_ACTOR " THEN NULL"                                                      \
    "     WHEN NOT chk.team_ok THEN 'not_team_member|team_id is not a team you belong to.'"        \
    "     WHEN NOT chk.goals_ok THEN 'not_own_goal|goal_ids must name your own learning goals.'"   \
    "     END,"                                                                                    \
    "   " SQL_REFLECTION_COLS("ins")                                                               \
    " FROM chk LEFT JOIN ins ON true"

/* A create, first try. No ON CONFLICT: when the id exists (a client's
 * retry) the INSERT fails with 23505 and changes nothing, and
 * api_db_create_replay runs SQL_REFLECTION_REPLAY. The checks and the
 * authorization are in the same statement all the same. A plain INSERT is
 * markedly cheaper for PostgreSQL than one with an ON CONFLICT arm
 * (README, Benchmark). */
static const char SQL_REFLECTION_CREATE[] =
    SQL_CREATE_ARGS SQL_CREATE_CHECKS SQL_CREATE_INSERT
    "   RETURNING *),"
    " links AS (INSERT INTO reflection_goals (organisation_id, reflection_id, goal_id)"
    "   SELECT $2, ins.id, unnest(ins.goal_ids) FROM ins)"
    SQL_CREATE_ANSWER;

/* The same without goals, the common case, as one INSERT: the caller
 * (actor) joined with their team_members row in the team is the row's
 * source, so no caller, or no membership, inserts nothing, and only then
 * does the answer look again (CASE runs a branch's subquery only when it
 * is reached) to tell 401 from 422. No goal check and no INSERT into
 * reflection_goals: even an INSERT of no rows fires that table's statement
 * trigger (migration 0017). args is read once, so PostgreSQL inlines it.
 * author_reads comes from the two rows the checks read (reads_team()'s
 * predicate on them), so the trigger that would ask again is skipped
 * (migration 0018). It returns only what the server chose (id, owner and
 * team as stored, the timestamps): the rest of the answer is what the
 * request sent, stored as sent (reflection_created). $16 is '{}' (unused). */
static const char SQL_REFLECTION_CREATE_NO_GOALS[] =
    SQL_CREATE_ARGS
    " ins AS (INSERT INTO reflections (id, organisation_id, owner_id, team_id, occurred_on,"
    "     situation, task, action, result, reflection, transfer, status, vermogens, dimensions,"
    "     author_reads)"
    "   SELECT coalesce(args.id, gen_random_uuid()), $2, $1, m.team_id, args.occurred_on,"
    "     args.situation, args.task, args.action, args.result, args.reflection, args.transfer,"
    "     args.status, args.vermogens, args.dimensions,"
    "     actor.roles && ARRAY['admin', 'praktijkopleider'] OR m.role = 'teammanager'"
    "   FROM actor, args JOIN team_members m ON m.team_id = args.team_id AND m.user_id = $1::uuid"
    "   RETURNING id, owner_id, team_id, created_at, updated_at)"
    " SELECT CASE WHEN ins.id IS NOT NULL THEN 201 WHEN " SQL_NO_ACTOR " THEN 401 ELSE 422 END,"
    "   NULL, NULL,"
    "   CASE WHEN ins.id IS NOT NULL OR " SQL_NO_ACTOR " THEN NULL"
    "     ELSE 'not_team_member|team_id is not a team you belong to.' END,"
    "   ins.id, ins.owner_id, ins.team_id, ins.created_at, ins.updated_at"
    " FROM (SELECT 1) one LEFT JOIN ins ON true";

/* A retried create (the INSERT met its id) compares with what is stored.
 * ON CONFLICT takes a no-op update rather than DO NOTHING: it waits for a
 * racing insert of the same id and returns that row, which this
 * statement's snapshot could not see. For the same reason a replay is
 * recognised by the reflection's own fields, not by its goal links.
 * goal_ids is stored sorted, as the API sends it (migration 0017's trigger
 * then finds it right and writes nothing). Another user's id: the no-op
 * update's WHERE leaves ins empty, so 409 and nothing of that row. */
static const char SQL_REFLECTION_REPLAY[] =
    SQL_CREATE_ARGS SQL_CREATE_CHECKS SQL_CREATE_INSERT
    "   ON CONFLICT (id) DO UPDATE SET updated_at = reflections.updated_at"
    "     WHERE reflections.owner_id = $1 AND reflections.deleted_at IS NULL"
    "   RETURNING *, xmax = 0 AS fresh),"
    " links AS (INSERT INTO reflection_goals (organisation_id, reflection_id, goal_id)"
    "   SELECT $2, ins.id, unnest(ins.goal_ids) FROM ins WHERE ins.fresh),"
    " same AS (SELECT ins.* FROM ins, args WHERE NOT ins.fresh AND ins.team_id = args.team_id"
    "   AND ins.occurred_on = args.occurred_on AND ins.situation = args.situation"
    "   AND ins.task = args.task AND ins.action = args.action AND ins.result = args.result"
    "   AND ins.reflection = args.reflection"
    "   AND ins.transfer IS NOT DISTINCT FROM args.transfer AND ins.status = args.status"
    "   AND ins.vermogens = args.vermogens AND ins.dimensions = args.dimensions),"
    " shown AS (SELECT * FROM ins WHERE ins.fresh OR EXISTS (SELECT 1 FROM same))"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "     WHEN NOT chk.team_ok THEN 422 WHEN NOT chk.goals_ok THEN 422"
    "     WHEN EXISTS (SELECT 1 FROM ins WHERE fresh) THEN 201"
    "     WHEN EXISTS (SELECT 1 FROM same) THEN 200 ELSE 409 END,"
    "   NULL, NULL,"
    "   CASE WHEN " SQL_NO_ACTOR " THEN NULL"
    "     WHEN NOT chk.team_ok THEN 'not_team_member|team_id is not a team you belong to.'"
    "     WHEN NOT chk.goals_ok THEN 'not_own_goal|goal_ids must name your own learning goals.'"
    "     ELSE 'A different reflection with this id exists.' END,"
    "   " SQL_REFLECTION_COLS("shown")
    " FROM chk LEFT JOIN shown ON true";

/* One reflection the caller may read (policy.h); $4 is its id. Reading
 * someone else's is audited in the same statement. */
static const char SQL_REFLECTION_GET[] =
    "WITH " SQL_ACTOR ","
    " x AS (SELECT x.* FROM reflections x, actor WHERE x.id = $4 AND x.organisation_id = $2"
    "   AND x.deleted_at IS NULL AND " SQL_READS_REFLECTION("x") "),"
    " aud AS (" SQL_AUDIT("'reflection.read'", "x.owner_id", "'reflection'", "x.id")
    "   FROM x WHERE x.owner_id <> $1)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN x.id IS NULL THEN 404 ELSE 200 END,"
    "   NULL, NULL, NULL, " SQL_REFLECTION_COLS("x")
    " FROM (SELECT 1) one LEFT JOIN x ON true";

/* NULL means "leave as it is", except for transfer, which can be cleared:
 * transfer_given says whether it was sent (an explicit null clears it). */
#define PATCH_ARGS(X, P)                                                                           \
    X(P, id) X(P, if_match) X(P, team_id) X(P, occurred_on) X(P, situation) X(P, task)             \
    X(P, action) X(P, result) X(P, reflection) X(P, transfer_given) X(P, transfer) X(P, status)    \
    X(P, vermogens) X(P, dimensions) X(P, goal_ids)
enum { PATCH_FIRST = API_ARGS_FIRST - 1, PATCH_ARGS(API_ARG_INDEX, PATCH) PATCH_N };
static const char *const patch_args[] = {PATCH_ARGS(API_ARG_NAME, PATCH) NULL};

/* The If-Match is compared in the UPDATE itself, on the row it locks, so a
 * concurrent edit that commits first makes this one 412. */
static const char SQL_REFLECTION_PATCH[] =
    "WITH " SQL_ACTOR ","
    " args AS (SELECT $4::uuid AS id, $5::text AS if_match, $6::uuid AS team_id,"
    "   $7::date AS occurred_on, $8::text AS situation, $9::text AS task, $10::text AS action,"
    "   $11::text AS result, $12::text AS reflection, $13::boolean AS transfer_given,"
    "   $14::text AS transfer, $15::text AS status, $16::text[] AS vermogens,"
    "   $17::text[] AS dimensions, $18::uuid[] AS goal_ids),"
    " cur AS (SELECT x.id FROM reflections x, actor, args WHERE x.id = args.id"
    "   AND x.organisation_id = $2 AND x.owner_id = $1 AND x.deleted_at IS NULL),"
    " chk AS (SELECT"
    "   (args.team_id IS NULL OR EXISTS (SELECT 1 FROM team_members m"
    "     WHERE m.team_id = args.team_id AND m.user_id = $1::uuid)) AS team_ok,"
    "   (args.goal_ids IS NULL OR (SELECT count(*) FROM goals g WHERE g.id = ANY (args.goal_ids)"
    "     AND g.owner_id = $1::uuid AND g.deleted_at IS NULL) = cardinality(args.goal_ids))"
    "     AS goals_ok,"
    "   CASE WHEN args.goal_ids IS NOT NULL"
    "     THEN ARRAY(SELECT DISTINCT g FROM unnest(args.goal_ids) g ORDER BY g) END AS goal_ids"
    "   FROM args),"
    " upd AS (UPDATE reflections x SET"
    "     team_id = coalesce(args.team_id, x.team_id),"
    "     occurred_on = coalesce(args.occurred_on, x.occurred_on),"
    "     situation = coalesce(args.situation, x.situation), task = coalesce(args.task, x.task),"
    "     action = coalesce(args.action, x.action), result = coalesce(args.result, x.result),"
    "     reflection = coalesce(args.reflection, x.reflection),"
    "     transfer = CASE WHEN args.transfer_given THEN args.transfer ELSE x.transfer END,"
    "     status = coalesce(args.status, x.status),"
    "     vermogens = coalesce(args.vermogens, x.vermogens),"
    "     dimensions = coalesce(args.dimensions, x.dimensions),"
    "     goal_ids = coalesce(chk.goal_ids, x.goal_ids), updated_at = now()"
    "   FROM cur, chk, args WHERE x.id = cur.id AND chk.team_ok AND chk.goals_ok"
    "     AND " SQL_IF_MATCH("x.updated_at", "args.if_match")
    "   RETURNING x.*),"
    " unlink AS (DELETE FROM reflection_goals rg USING upd, chk WHERE rg.reflection_id = upd.id"
    "   AND chk.goal_ids IS NOT NULL AND rg.goal_id <> ALL (chk.goal_ids)),"
    " link AS (INSERT INTO reflection_goals (organisation_id, reflection_id, goal_id)"
    "   SELECT $2, upd.id, unnest(chk.goal_ids) FROM upd, chk WHERE chk.goal_ids IS NOT NULL"
    "   ON CONFLICT DO NOTHING)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM cur) THEN 404"
    "     WHEN NOT chk.team_ok THEN 422 WHEN NOT chk.goals_ok THEN 422"
    "     WHEN upd.id IS NULL THEN 412 ELSE 200 END,"
    "   NULL, NULL,"
    "   CASE WHEN NOT EXISTS (SELECT 1 FROM cur) THEN NULL"
    "     WHEN NOT chk.team_ok THEN 'not_team_member|team_id is not a team you belong to.'"
    "     WHEN NOT chk.goals_ok THEN 'not_own_goal|goal_ids must name your own learning goals.'"
    "     END,"
    "   " SQL_REFLECTION_COLS("upd")
    " FROM chk LEFT JOIN upd ON true";

/* Deleting wipes the content and leaves a tombstone for syncing phones;
 * $4 is the id. */
static const char SQL_REFLECTION_DELETE[] =
    "WITH " SQL_ACTOR ","
    " del AS (UPDATE reflections x SET deleted_at = now(), updated_at = now(),"
    "     situation = '', task = '', action = '', result = '', reflection = '', transfer = NULL,"
    "     vermogens = '{}', dimensions = '{}', goal_ids = '{}', shared_with = '{}'"
    "   FROM actor WHERE x.id = $4 AND x.organisation_id = $2 AND x.owner_id = $1"
    "     AND x.deleted_at IS NULL"
    "   RETURNING x.id),"
    " sh AS (DELETE FROM reflection_shares s USING del WHERE s.reflection_id = del.id),"
    " gl AS (DELETE FROM reflection_goals g USING del WHERE g.reflection_id = del.id),"
    " fb AS (DELETE FROM feedback f USING del WHERE f.reflection_id = del.id),"
    " fr AS (DELETE FROM feedback_requests q USING del WHERE q.reflection_id = del.id)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM del) THEN 404"
    "   ELSE 204 END";

/* The caller's own reflections, oldest first, in keyset pages: $4 limit,
 * $5 and $6 the cursor (api_page_params). One row per reflection, limit + 1
 * at most (the last says there is a next page); one row with a NULL id
 * when there is none, so that the status always arrives. The inner ORDER
 * BY ... LIMIT chooses the rows (the reflections_owner_created_idx scan);
 * reflection_reply_page puts them in page order, so the outer query has no
 * ORDER BY: that was a Sort of every wide row (issue 18). */
static const char SQL_REFLECTION_LIST[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN a.id IS NULL THEN 401 ELSE 200 END, " SQL_REFLECTION_COLS("x")
    " FROM (SELECT 1) one LEFT JOIN actor a ON true"
    " LEFT JOIN LATERAL (SELECT * FROM reflections x"
    "   WHERE x.owner_id = a.id AND x.deleted_at IS NULL"
    "     AND " SQL_AFTER("x.created_at", "x.id", "$5", "$6")
    "   ORDER BY x.created_at, x.id LIMIT $4::int + 1) x ON true";

/* Changes since $7 (minus the overlap of $8 seconds), tombstones included. */
static const char SQL_REFLECTION_SYNC[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN a.id IS NULL THEN 401 ELSE 200 END, " SQL_REFLECTION_COLS("x")
    " FROM (SELECT 1) one LEFT JOIN actor a ON true"
    " LEFT JOIN LATERAL (SELECT * FROM reflections x"
    "   WHERE x.owner_id = a.id"
    "     AND x.updated_at > $7::timestamptz - make_interval(secs => $8::int)"
    "     AND " SQL_AFTER("x.updated_at", "x.id", "$5", "$6")
    "   ORDER BY x.updated_at, x.id LIMIT $4::int + 1) x ON true";
/* clang-format on */

static void reflection_write_done(struct req *r, struct db_result *res)
{
    if (res->status == DB_ERROR && strcmp(res->sqlstate, "23514") == 0) {
        req_problem_code(r, 422, "starr_incomplete",
                         "A final reflection needs all five STARR parts.");
        return;
    }
    reflection_reply_one(r, res);
}

/* The columns of SQL_REFLECTION_CREATE_NO_GOALS after api_reply_row's four. */
enum { NEW_ID = 4, NEW_OWNER, NEW_TEAM, NEW_CREATED, NEW_UPDATED, NEW_NCOLS };

/* The new reflection as reflection_json writes a stored one, member for
 * member and in its order: what the server chose from the row, the rest
 * from the validated request (p, create_args), which the row holds byte
 * for byte: texts as sent (trimmed by the validator), the date as
 * YYYY-MM-DD (what DateStyle ISO writes back), the enum arrays as the
 * literals sent (plain words, in the order sent, as array_out writes
 * them); a new row has no goals (this statement's case) and no shares.
 * tests/integration/test_reflections.c compares it with a GET. */
static int reflection_created_json(struct jsonw *w, const struct db_result *res,
                                   const char *const *p, long long *updated)
{
    static const char *const cols[] = {"id", "owner_id", "team_id"};
    jsonw_obj_begin(w);
    for (int i = 0; i < 3; i++) {
        jsonw_key(w, cols[i]);
        jsonw_str(w, api_col(res, 0, NEW_ID + i), api_col_len(res, 0, NEW_ID + i));
    }
    jsonw_key(w, "occurred_on");
    jsonw_cstr(w, p[CREATE_occurred_on]);
    for (int i = 0; i < 5; i++) {
        jsonw_key(w, starr_parts[i]);
        jsonw_cstr(w, p[CREATE_situation + i]);
    }
    jsonw_key(w, "transfer");
    if (p[CREATE_transfer])
        jsonw_cstr(w, p[CREATE_transfer]);
    else
        jsonw_null(w);
    jsonw_key(w, "status");
    jsonw_cstr(w, p[CREATE_status]);
    jsonw_key(w, "vermogens");
    jsonw_pg_array(w, p[CREATE_vermogens]);
    jsonw_key(w, "dimensions");
    jsonw_pg_array(w, p[CREATE_dimensions]);
    jsonw_key(w, "goal_ids");
    jsonw_pg_array(w, "{}");
    jsonw_key(w, "shared_with");
    jsonw_pg_array(w, "{}");
    jsonw_key(w, "created_at");
    jsonw_pg_ts(w, api_col_opt(res, 0, NEW_CREATED), NULL);
    jsonw_key(w, "updated_at");
    jsonw_pg_ts(w, api_col_opt(res, 0, NEW_UPDATED), updated);
    jsonw_obj_end(w);
    return w->failed || !jsonw_finish(w) ? -1 : 0;
}

/* The answer to SQL_REFLECTION_CREATE_NO_GOALS, or to the replay that
 * follows it on 23505 (a whole stored row: reflection_write_done). */
static void reflection_created(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK || api_cols(res) != NEW_NCOLS) {
        reflection_write_done(r, res);
        return;
    }
    if (api_rows(res) != 1 || api_col_is_null(res, 0, NEW_ID)) {
        api_reply_row(r, res); /* 401 or 422: the status and detail say why */
        return;
    }
    struct jsonw w;
    long long updated = 0;
    jsonw_init(&w);
    if (reflection_created_json(&w, res, api_create_params(r), &updated) < 0) {
        reflection_render_failed(r, &w);
        return;
    }
    reflection_reply_written(r, api_col_int(res, 0, 0), &w, updated);
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
    const char *p[CREATE_N];
    api_actor_params(r, p);
    p[CREATE_id] = v_uuid(&v, "id", V_OPTIONAL);
    p[CREATE_team_id] = v_uuid(&v, "team_id", V_REQUIRED);
    char lo[16], hi[16];
    occurred_on_bounds(r, lo, hi);
    p[CREATE_occurred_on] = v_date_between(&v, "occurred_on", V_REQUIRED, lo, hi);
    const char **parts = p + CREATE_situation; /* the five STARR parts, in order */
    for (int i = 0; i < 5; i++) {
        parts[i] = v_text(&v, starr_parts[i], V_OPTIONAL, 0, STARR_MAX, 1);
        if (!parts[i]) /* absent or null: empty (invalid ones fail v anyway) */
            parts[i] = "";
    }
    p[CREATE_transfer] = v_text(&v, "transfer", V_OPTIONAL, 0, STARR_MAX, 1);
    p[CREATE_status] = v_enum(&v, "status", V_REQUIRED, statuses);
    p[CREATE_vermogens] = v_enum_array(&v, "vermogens", vermogens);
    p[CREATE_dimensions] = v_enum_array(&v, "dimensions", dimensions);
    p[CREATE_goal_ids] = v_uuid_array(&v, "goal_ids", REFLECTION_MAX_GOALS, NULL);
    reflection_check_final(&v, p[CREATE_status], parts);
    if (api_reject_invalid(r, &v))
        return;
    if (strcmp(p[CREATE_goal_ids], "{}") == 0)
        api_db_create_replay(r, SQL_REFLECTION_CREATE_NO_GOALS, SQL_REFLECTION_REPLAY, CREATE_N, p,
                             reflection_created);
    else
        api_db_create_replay(r, SQL_REFLECTION_CREATE, SQL_REFLECTION_REPLAY, CREATE_N, p,
                             reflection_write_done);
}

void h_reflection_get(struct req *r)
{
    const char *p[4];
    api_actor_params(r, p);
    if (!(p[3] = api_uuid_param(r, 0)))
        return;
    req_db(r, SQL_REFLECTION_GET, 4, p, reflection_reply_one);
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
    const char *p[PATCH_N];
    api_actor_params(r, p);
    p[PATCH_id] = id;
    p[PATCH_if_match] = if_match;
    p[PATCH_team_id] = v_uuid(&v, "team_id", V_OPTIONAL);
    char lo[16], hi[16];
    occurred_on_bounds(r, lo, hi);
    p[PATCH_occurred_on] = v_date_between(&v, "occurred_on", V_OPTIONAL, lo, hi);
    const char **parts = p + PATCH_situation; /* the five STARR parts, in order */
    for (int i = 0; i < 5; i++)
        parts[i] = v_text(&v, starr_parts[i], V_OPTIONAL, 0, STARR_MAX, 1);
    p[PATCH_transfer_given] = json_object_get(v.body, "transfer") ? "true" : "false";
    p[PATCH_transfer] = v_text(&v, "transfer", V_OPTIONAL, 0, STARR_MAX, 1);
    p[PATCH_status] = v_enum(&v, "status", V_OPTIONAL, statuses);
    p[PATCH_vermogens] = patch_enum_array(&v, "vermogens", vermogens);
    p[PATCH_dimensions] = patch_enum_array(&v, "dimensions", dimensions);
    int has_goals = 0;
    p[PATCH_goal_ids] = v_uuid_array(&v, "goal_ids", REFLECTION_MAX_GOALS, &has_goals);
    reflection_check_final(&v, p[PATCH_status], parts);
    if (api_reject_invalid(r, &v))
        return;
    req_db(r, SQL_REFLECTION_PATCH, PATCH_N, p, reflection_write_done);
}

void h_reflection_delete(struct req *r)
{
    const char *p[4];
    api_actor_params(r, p);
    if (!(p[3] = api_uuid_param(r, 0)))
        return;
    req_db(r, SQL_REFLECTION_DELETE, 4, p, api_reply_row);
}

/* A page of the list, or with ?updated_since= of the changes ($7, $8). */
void h_reflection_list(struct req *r)
{
    const char *p[8], *since = NULL;
    if (api_page_params(r, p) < 0 || api_sync_since(r, &since) < 0)
        return;
    if (!since) {
        reflection_page_query(r, SQL_REFLECTION_LIST, 6, p, 0);
        return;
    }
    p[6] = since;
    p[7] = api_sync_overlap(r);
    reflection_page_query(r, SQL_REFLECTION_SYNC, 8, p, 1);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement reflections_statements[] = {
    STATEMENT(SQL_REFLECTION_CREATE),
    STATEMENT(SQL_REFLECTION_CREATE_NO_GOALS),
    STATEMENT(SQL_REFLECTION_REPLAY),
    STATEMENT(SQL_REFLECTION_GET),
    STATEMENT(SQL_REFLECTION_PATCH),
    STATEMENT(SQL_REFLECTION_DELETE),
    STATEMENT(SQL_REFLECTION_LIST),
    STATEMENT(SQL_REFLECTION_SYNC),
    {NULL, NULL},
};

_Static_assert(CREATE_reflection == CREATE_situation + 4, "STARR parts in order");
_Static_assert(PATCH_reflection == PATCH_situation + 4, "STARR parts in order");

/* The statements with named parameters (api.h; tests/unit/test_api_args.c). */
const struct api_args reflections_args[] = {
    {"SQL_REFLECTION_CREATE", SQL_REFLECTION_CREATE, create_args},
    {"SQL_REFLECTION_CREATE_NO_GOALS", SQL_REFLECTION_CREATE_NO_GOALS, create_args},
    {"SQL_REFLECTION_REPLAY", SQL_REFLECTION_REPLAY, create_args},
    {"SQL_REFLECTION_PATCH", SQL_REFLECTION_PATCH, patch_args},
    {NULL, NULL, NULL},
};
