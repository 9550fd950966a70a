/* supervisions.c - assigning coaches to students:
 * PUT/DELETE /v1/students/{student_id}/supervisors/{user_id}.
 *
 * A supervision is what later lets a werkbegeleider see the reflections a
 * student shares, so the rule for creating one is strict: the student must
 * be a student in some team, and the supervisor a werkbegeleider in one of
 * the student's teams, or a praktijkopleider of the organisation. */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "handlers/policy.h"

/* clang-format off */
/* An admin assigns a supervisor to a student. Both must be users of the
 * organisation; the student a student in some team; the supervisor a
 * werkbegeleider in one of the student's teams, or a praktijkopleider (st:
 * the same checks as SQL_SUPERVISION_DELETE's).
 * $1..$3 the caller, $4 student id, $5 supervisor id.
 * Returns (204 | 401 | 404 | 422, NULL, NULL, detail). */
static const char SQL_SUPERVISION_PUT[] =
    "WITH " SQL_ACTOR ","
    " st AS (SELECT " SQL_IS_ADMIN " AND " SQL_ORG_USER("$4::uuid")
    "               AND " SQL_ORG_USER("$5::uuid") " AS visible,"
    "               EXISTS (SELECT 1 FROM team_members m"
    "                       WHERE m.user_id = $4 AND m.role = 'student') AS is_student,"
    "               $4::uuid <> $5::uuid"
    "               AND (EXISTS (SELECT 1 FROM team_members s"
    "                            JOIN team_members w ON w.team_id = s.team_id"
    "                            WHERE s.user_id = $4 AND s.role = 'student'"
    "                              AND w.user_id = $5 AND w.role = 'werkbegeleider')"
    "                    OR EXISTS (SELECT 1 FROM users p"
    "                               WHERE p.id = $5 AND p.organisation_id = $2"
    "                                 AND 'praktijkopleider' = ANY (p.roles))) AS can_supervise),"
    " ins AS (INSERT INTO supervisions (organisation_id, student_id, supervisor_id)"
    "         SELECT $2, $4, $5 FROM st WHERE visible AND is_student AND can_supervise"
    "         ON CONFLICT DO NOTHING"
    "         RETURNING *),"
    " aud AS (" SQL_AUDIT("'supervision.put'", "ins.student_id", "'user'", "ins.supervisor_id")
    "         FROM ins)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT visible THEN 404"
    "             WHEN NOT is_student OR NOT can_supervise THEN 422"
    "             ELSE 204 END,"
    "        NULL, NULL,"
    "        CASE WHEN NOT visible THEN NULL"
    "             WHEN NOT is_student THEN 'not_a_student|The user is not a student in any team.'"
    "             WHEN NOT can_supervise THEN 'not_eligible_supervisor|A supervisor must be a"
    " werkbegeleider in one of the student''s teams, or a praktijkopleider.' END"
    " FROM st";

/* An admin ends a supervision (st as in SQL_SUPERVISION_PUT; only
 * visible is used).
 * $1..$3 the caller, $4 student id, $5 supervisor id.
 * Returns (204 | 401 | 404). */
static const char SQL_SUPERVISION_DELETE[] =
    "WITH " SQL_ACTOR ","
    " st AS (SELECT " SQL_IS_ADMIN " AND " SQL_ORG_USER("$4::uuid")
    "               AND " SQL_ORG_USER("$5::uuid") " AS visible,"
    "               EXISTS (SELECT 1 FROM team_members m"
    "                       WHERE m.user_id = $4 AND m.role = 'student') AS is_student,"
    "               $4::uuid <> $5::uuid"
    "               AND (EXISTS (SELECT 1 FROM team_members s"
    "                            JOIN team_members w ON w.team_id = s.team_id"
    "                            WHERE s.user_id = $4 AND s.role = 'student'"
    "                              AND w.user_id = $5 AND w.role = 'werkbegeleider')"
    "                    OR EXISTS (SELECT 1 FROM users p"
    "                               WHERE p.id = $5 AND p.organisation_id = $2"
    "                                 AND 'praktijkopleider' = ANY (p.roles))) AS can_supervise),"
    " del AS (DELETE FROM supervisions v USING st"
    "         WHERE st.visible AND v.student_id = $4 AND v.supervisor_id = $5"
    "           AND v.organisation_id = $2"
    "         RETURNING v.*),"
    " aud AS (" SQL_AUDIT("'supervision.delete'", "del.student_id", "'user'", "del.supervisor_id")
    "         FROM del)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT visible THEN 404"
    "             ELSE 204 END"
    " FROM st";
/* clang-format on */

static void supervision_run(struct req *r, const char *sql)
{
    const char *student = api_uuid_param(r, 0);
    const char *user = student ? api_uuid_param(r, 1) : NULL;
    if (!user)
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, student);
    api_param(&p, user);
    api_db(r, sql, &p, api_reply_row);
}

void h_supervision_put(struct req *r)
{
    supervision_run(r, SQL_SUPERVISION_PUT);
}

void h_supervision_delete(struct req *r)
{
    supervision_run(r, SQL_SUPERVISION_DELETE);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement supervisions_statements[] = {
    STATEMENT(SQL_SUPERVISION_PUT),
    STATEMENT(SQL_SUPERVISION_DELETE),
    {NULL, NULL},
};
