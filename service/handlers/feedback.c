/* feedback.c - feedback threads and feedback requests:
 * POST/GET /v1/reflections/{id}/feedback, POST/GET /v1/goals/{id}/feedback,
 * POST /v1/reflections/{id}/feedback-requests, GET /v1/feedback-requests,
 * PUT /v1/feedback/{id}/seen (a supervisor has seen external feedback).
 *
 * Feedback is typed top (what went well), tip (what to improve) or
 * question. It is written by a supervisor the item is shared with, or by
 * its owner as a reply: feedback runs both ways. Whoever may read the item
 * may read and write its thread (SQL_READS_REFLECTION / SQL_READS_GOAL);
 * everyone else gets 404, so a thread leaks not even its length.
 *
 * A student asks a supervisor for feedback with a feedback request, which
 * shares the reflection too. The request is answered by that supervisor's
 * next feedback on the reflection, in the same statement. */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/feedback_sql.h"
#include "handlers/handlers.h"
#include "http/pagination.h"
#include "handlers/policy.h"

#include <string.h>

#define FEEDBACK_MAX 2000

static const char *const kinds[] = {"top", "tip", "question", NULL};

/* clang-format off */
/* Feedback on a reflection the caller may read, by its owner or a
 * supervisor it is shared with. It answers an open feedback request the
 * caller had for that reflection, and tells who should hear of it: the
 * owner when someone else wrote it, otherwise the supervisors it is shared
 * with (who still supervise the owner).
 * $1..$3 the caller, $4 reflection id, $5 kind, $6 body.
 * Returns (201 and the feedback | 401 | 404, feedback JSON, NULL, NULL,
 * events emitted). */
static const char SQL_REFLECTION_FEEDBACK_POST[] =
    "WITH " SQL_ACTOR ","
    " x AS (SELECT x.id, x.owner_id FROM reflections x, actor"
    "       WHERE x.id = $4 AND x.organisation_id = $2 AND x.deleted_at IS NULL"
    "         AND " SQL_READS_REFLECTION("x") "),"
    " ins AS (INSERT INTO feedback (organisation_id, reflection_id, author_id, by_owner, kind, body)"
    "         SELECT $2, x.id, $1, x.owner_id = $1, $5, $6 FROM x"
    "         RETURNING *),"
    " ans AS (UPDATE feedback_requests q SET status = 'answered', answered_at = now()"
    "         FROM ins"
    "         WHERE q.reflection_id = ins.reflection_id AND q.to_user_id = $1 AND q.status = 'open'),"
    " aud AS (" SQL_AUDIT("'feedback.create'", "x.owner_id", "'reflection'", "x.id") " FROM x),"
    " ev AS (SELECT emit_event(rc.id, $2::uuid, 'feedback.created',"
    "                          jsonb_build_object('feedback_id', ins.id, 'reflection_id', x.id,"
    "                                             'kind', ins.kind, 'from_user_id', $1::uuid))"
    "        FROM ins, x,"
    "        LATERAL (SELECT x.owner_id AS id WHERE x.owner_id <> $1::uuid"
    "                 UNION"
    "                 SELECT sh.user_id FROM reflection_shares sh"
    "                 WHERE sh.reflection_id = x.id AND x.owner_id = $1::uuid"
    "                   AND EXISTS (SELECT 1 FROM supervisions s2"
    "                               WHERE s2.student_id = x.owner_id"
    "                                 AND s2.supervisor_id = sh.user_id)) rc)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT EXISTS (SELECT 1 FROM ins) THEN 404"
    "             ELSE 201 END,"
    "        (SELECT " SQL_FEEDBACK_JSON("ins") " FROM ins),"
    "        NULL, NULL,"
    "        (SELECT count(*) FROM ev)";

/* The same on a learning goal (feedback requests are about reflections
 * only, so none is answered).
 * $1..$3 the caller, $4 goal id, $5 kind, $6 body.
 * Returns (201 | 401 | 404, feedback JSON, NULL, NULL, events emitted). */
static const char SQL_GOAL_FEEDBACK_POST[] =
    "WITH " SQL_ACTOR ","
    " x AS (SELECT x.id, x.owner_id FROM goals x, actor"
    "       WHERE x.id = $4 AND x.organisation_id = $2 AND x.deleted_at IS NULL"
    "         AND " SQL_READS_GOAL("x") "),"
    " ins AS (INSERT INTO feedback (organisation_id, goal_id, author_id, by_owner, kind, body)"
    "         SELECT $2, x.id, $1, x.owner_id = $1, $5, $6 FROM x"
    "         RETURNING *),"
    " aud AS (" SQL_AUDIT("'feedback.create'", "x.owner_id", "'goal'", "x.id") " FROM x),"
    " ev AS (SELECT emit_event(rc.id, $2::uuid, 'feedback.created',"
    "                          jsonb_build_object('feedback_id', ins.id, 'goal_id', x.id,"
    "                                             'kind', ins.kind, 'from_user_id', $1::uuid))"
    "        FROM ins, x,"
    "        LATERAL (SELECT x.owner_id AS id WHERE x.owner_id <> $1::uuid"
    "                 UNION"
    "                 SELECT sh.user_id FROM goal_shares sh"
    "                 WHERE sh.goal_id = x.id AND x.owner_id = $1::uuid"
    "                   AND EXISTS (SELECT 1 FROM supervisions s2"
    "                               WHERE s2.student_id = x.owner_id"
    "                                 AND s2.supervisor_id = sh.user_id)) rc)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT EXISTS (SELECT 1 FROM ins) THEN 404"
    "             ELSE 201 END,"
    "        (SELECT " SQL_FEEDBACK_JSON("ins") " FROM ins),"
    "        NULL, NULL,"
    "        (SELECT count(*) FROM ev)";

/* One page of the thread of a reflection the caller may read, oldest
 * first; reading someone else's thread is audited.
 * $1..$3 the caller, $4 reflection id, $5 limit, $6 and $7 the cursor.
 * Returns (200 | 401 | 404, page JSON). */
static const char SQL_REFLECTION_THREAD[] =
    "WITH " SQL_ACTOR ","
    " x AS (SELECT x.id, x.owner_id FROM reflections x, actor"
    "       WHERE x.id = $4 AND x.organisation_id = $2 AND x.deleted_at IS NULL"
    "         AND " SQL_READS_REFLECTION("x") "),"
    " aud AS (" SQL_AUDIT("'feedback.read'", "x.owner_id", "'reflection'", "x.id")
    "         FROM x WHERE x.owner_id <> $1),"
    " page AS (SELECT f.* FROM feedback f, x"
    "          WHERE f.reflection_id = x.id AND " SQL_AFTER("f.created_at", "f.id", "$6", "$7")
    "          ORDER BY f.created_at, f.id LIMIT $5::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $5::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT EXISTS (SELECT 1 FROM x) THEN 404"
    "             ELSE 200 END,"
    "        " SQL_PAGE_BODY(SQL_FEEDBACK_JSON("shown"), "shown.created_at", "shown.id", "$5");

/* The same for a learning goal's thread.
 * $1..$3 the caller, $4 goal id, $5 limit, $6 and $7 the cursor.
 * Returns (200 | 401 | 404, page JSON). */
static const char SQL_GOAL_THREAD[] =
    "WITH " SQL_ACTOR ","
    " x AS (SELECT x.id, x.owner_id FROM goals x, actor"
    "       WHERE x.id = $4 AND x.organisation_id = $2 AND x.deleted_at IS NULL"
    "         AND " SQL_READS_GOAL("x") "),"
    " aud AS (" SQL_AUDIT("'feedback.read'", "x.owner_id", "'goal'", "x.id")
    "         FROM x WHERE x.owner_id <> $1),"
    " page AS (SELECT f.* FROM feedback f, x"
    "          WHERE f.goal_id = x.id AND " SQL_AFTER("f.created_at", "f.id", "$6", "$7")
    "          ORDER BY f.created_at, f.id LIMIT $5::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $5::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT EXISTS (SELECT 1 FROM x) THEN 404"
    "             ELSE 200 END,"
    "        " SQL_PAGE_BODY(SQL_FEEDBACK_JSON("shown"), "shown.created_at", "shown.id", "$5");

/* A feedback request, as JSON (the answer of both statements below). */
#define SQL_REQUEST_JSON(q)                                                                        \
    "json_build_object('id', " q ".id, 'reflection_id', " q ".reflection_id, 'student_id', " q    \
    ".student_id, 'student_name', (SELECT su.name FROM users su WHERE su.id = " q ".student_id"    \
    " AND su.deleted_at IS NULL), 'to_user_id', " q ".to_user_id, 'status', " q ".status,"         \
    " 'created_at', " SQL_TS(q ".created_at") ", 'answered_at', " SQL_TS(q ".answered_at") ")"

/* A student asks a supervisor assigned to them for feedback on their own
 * reflection. Asking shares the reflection with the supervisor too. One
 * open request per reflection and supervisor: asking again returns the
 * open one (200 instead of 201, nothing audited or emitted again).
 * $1..$3 the caller, $4 reflection id, $5 the supervisor's user id.
 * Returns (201 | 200 | 401 | 404 | 422, request JSON, NULL, detail,
 * events emitted). */
static const char SQL_REQUEST_POST[] =
    "WITH " SQL_ACTOR ","
    " x AS (SELECT x.id FROM reflections x, actor"
    "       WHERE x.id = $4 AND x.organisation_id = $2 AND x.owner_id = $1"
    "         AND x.deleted_at IS NULL),"
    " ok AS (SELECT EXISTS (SELECT 1 FROM supervisions sv"
    "                       WHERE sv.student_id = $1 AND sv.supervisor_id = $5::uuid) AS v),"
    " sh AS (INSERT INTO reflection_shares (organisation_id, reflection_id, user_id)"
    "        SELECT $2, x.id, $5 FROM x, ok WHERE ok.v"
    "        ON CONFLICT DO NOTHING"
    "        RETURNING reflection_id),"
    " touch AS (UPDATE reflections t SET updated_at = now() FROM sh"
    "           WHERE t.id = sh.reflection_id),"
    " ins AS (INSERT INTO feedback_requests (organisation_id, reflection_id, student_id, to_user_id)"
    "         SELECT $2, x.id, $1, $5 FROM x, ok WHERE ok.v"
    "         ON CONFLICT (reflection_id, to_user_id) WHERE status = 'open'"
    "         DO UPDATE SET status = feedback_requests.status"
    "         RETURNING *, xmax = 0 AS fresh),"
    " aud AS (" SQL_AUDIT("'feedback_request.create'", "$5::uuid", "'reflection'",
                          "ins.reflection_id")
    "         FROM ins WHERE ins.fresh),"
    " ev AS (SELECT emit_event($5::uuid, $2::uuid, 'feedback_request.created',"
    "                          jsonb_build_object('feedback_request_id', ins.id,"
    "                                             'reflection_id', ins.reflection_id,"
    "                                             'from_user_id', $1::uuid))"
    "        FROM ins WHERE ins.fresh"
    "        UNION ALL"
    "        SELECT emit_event($5::uuid, $2::uuid, 'reflection.shared',"
    "                          jsonb_build_object('reflection_id', sh.reflection_id,"
    "                                             'from_user_id', $1::uuid))"
    "        FROM sh)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT EXISTS (SELECT 1 FROM x) THEN 404"
    "             WHEN NOT ok.v THEN 422"
    "             WHEN EXISTS (SELECT 1 FROM ins WHERE fresh) THEN 201"
    "             ELSE 200 END,"
    "        (SELECT " SQL_REQUEST_JSON("ins") " FROM ins),"
    "        NULL,"
    "        CASE WHEN EXISTS (SELECT 1 FROM x)"
    "             THEN 'not_assigned_supervisor|You can ask only a supervisor assigned to you.' END,"
    "        (SELECT count(*) FROM ev)"
    " FROM ok";

/* The caller's inbox: only requests about reflections the caller may still
 * read (shared with them, by a student they still supervise), oldest first.
 * $1..$3 the caller, $4 limit, $5 and $6 the cursor, $7 status or NULL.
 * Returns (200 | 401, page JSON). */
static const char SQL_REQUEST_INBOX[] =
    "WITH " SQL_ACTOR ","
    " page AS (SELECT q.* FROM feedback_requests q, actor"
    "          WHERE q.to_user_id = $1 AND q.organisation_id = $2"
    "            AND ($7::text IS NULL OR q.status = $7)"
    "            AND EXISTS (SELECT 1 FROM reflections x"
    "                        WHERE x.id = q.reflection_id AND x.deleted_at IS NULL"
    "                          AND " SQL_READS_REFLECTION("x") ")"
    "            AND " SQL_AFTER("q.created_at", "q.id", "$5", "$6")
    "          ORDER BY q.created_at, q.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    "        " SQL_PAGE_BODY(SQL_REQUEST_JSON("shown"), "shown.created_at", "shown.id", "$4");

/* A supervisor who reads the item marks external feedback on it seen
 * (feedback from an invitation, invitations.c); the first mark stays.
 * $1..$3 the caller, $4 feedback id.
 * Returns (204 | 401 | 404 | 422, NULL, NULL, detail). */
static const char SQL_FEEDBACK_SEEN[] =
    "WITH " SQL_ACTOR ","
    " f AS (SELECT f.id, f.invitation_id, coalesce(x.owner_id, g.owner_id) AS owner_id"
    "       FROM feedback f"
    "       JOIN actor ON true"
    "       LEFT JOIN reflections x ON x.id = f.reflection_id AND x.deleted_at IS NULL"
    "                              AND " SQL_READS_REFLECTION("x")
    "       LEFT JOIN goals g ON g.id = f.goal_id AND g.deleted_at IS NULL"
    "                        AND " SQL_READS_GOAL("g")
    "       WHERE f.id = $4::uuid AND f.organisation_id = $2"
    "         AND (x.id IS NOT NULL OR g.id IS NOT NULL)),"
    " upd AS (UPDATE feedback t SET seen_at = now() FROM f"
    "         WHERE t.id = f.id AND f.invitation_id IS NOT NULL AND f.owner_id <> $1"
    "           AND t.seen_at IS NULL"
    "         RETURNING t.id),"
    " aud AS (" SQL_AUDIT("'feedback.seen'", "f.owner_id", "'feedback'", "f.id") " FROM f, upd)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN f.id IS NULL THEN 404"
    "             WHEN f.invitation_id IS NULL OR f.owner_id = $1 THEN 422"
    "             ELSE 204 END,"
    "        NULL, NULL,"
    "        CASE WHEN f.invitation_id IS NULL"
    "             THEN 'Only feedback from an external author is marked seen.'"
    "             ELSE 'A supervisor marks feedback seen, not the student.' END"
    " FROM (SELECT 1) one LEFT JOIN f ON true";
/* clang-format on */

static void feedback_post(struct req *r, const char *sql)
{
    static const char *const fields[] = {"kind", "body", NULL};
    const char *id = api_uuid_param(r, 0);
    struct validator v;
    if (!id || !api_body(r, &v, fields))
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, id);
    api_param(&p, v_enum(&v, "kind", V_REQUIRED, kinds));
    api_param(&p, v_text(&v, "body", V_REQUIRED, 1, FEEDBACK_MAX, 1));
    if (api_reject_invalid(r, &v))
        return;
    api_db(r, sql, &p, api_reply_row);
}

static void feedback_thread(struct req *r, const char *sql)
{
    const char *id = api_uuid_param(r, 0);
    if (!id)
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, id);
    if (api_params_page(&p, r) == 0)
        api_db(r, sql, &p, api_reply_row);
}

void h_reflection_feedback_post(struct req *r)
{
    feedback_post(r, SQL_REFLECTION_FEEDBACK_POST);
}

void h_reflection_feedback_list(struct req *r)
{
    feedback_thread(r, SQL_REFLECTION_THREAD);
}

void h_goal_feedback_post(struct req *r)
{
    feedback_post(r, SQL_GOAL_FEEDBACK_POST);
}

void h_goal_feedback_list(struct req *r)
{
    feedback_thread(r, SQL_GOAL_THREAD);
}

void h_feedback_request_post(struct req *r)
{
    static const char *const fields[] = {"to_user_id", NULL};
    const char *id = api_uuid_param(r, 0);
    struct validator v;
    if (!id || !api_body(r, &v, fields))
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, id);
    api_param(&p, v_uuid(&v, "to_user_id", V_REQUIRED));
    if (api_reject_invalid(r, &v))
        return;
    api_db(r, SQL_REQUEST_POST, &p, api_reply_row);
}

void h_feedback_request_inbox(struct req *r)
{
    static const char *const statuses[] = {"open", "answered", NULL};
    const char *status = req_query(r, "status");
    if (status && !(status = api_enum_query(r, "status", status, statuses)))
        return;
    struct api_params p;
    api_params_actor(&p, r);
    if (api_params_page(&p, r) != 0)
        return;
    api_param(&p, status);
    api_db(r, SQL_REQUEST_INBOX, &p, api_reply_row);
}

void h_feedback_seen(struct req *r)
{
    api_by_id(r, SQL_FEEDBACK_SEEN);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement feedback_statements[] = {
    STATEMENT(SQL_REFLECTION_FEEDBACK_POST),
    STATEMENT(SQL_GOAL_FEEDBACK_POST),
    STATEMENT(SQL_REFLECTION_THREAD),
    STATEMENT(SQL_GOAL_THREAD),
    STATEMENT(SQL_REQUEST_POST),
    STATEMENT(SQL_REQUEST_INBOX),
    STATEMENT(SQL_FEEDBACK_SEEN),
    {NULL, NULL},
};
