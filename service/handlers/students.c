/* students.c - a supervisor's view of their students:
 * GET /v1/students, GET /v1/students/{student_id}/reflections.
 *
 * A werkbegeleider or praktijkopleider sees the students assigned to them,
 * and of each student only the reflections that student shared with them.
 * Listing a student's reflections is a read of their data: it is audited. */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "http/pagination.h"
#include "handlers/policy.h"
#include "handlers/reflections_sql.h"

/* clang-format off */
#define SQL_STUDENT_JSON(s)                                                                        \
    "json_build_object('id', " s ".id, 'name', " s ".name, 'email', " s ".email, 'teams',"        \
    " coalesce((SELECT json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name,"   \
    " t.id) FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = " s ".id"       \
    " AND m.role = 'student'), '[]'::json), 'assigned_at', " SQL_TS(s ".created_at") ")"

static const char SQL_STUDENTS[] =
    "WITH " SQL_ACTOR ", page AS (SELECT u.id, u.name, u.email, sv.created_at"
    " FROM supervisions sv JOIN users u ON u.id = sv.student_id AND u.deleted_at IS NULL, actor"
    " WHERE sv.supervisor_id = $1 AND sv.organisation_id = $2"
    " AND " SQL_AFTER("sv.created_at", "u.id", "$5", "$6")
    " ORDER BY sv.created_at, u.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END, " SQL_PAGE_BODY(
        SQL_STUDENT_JSON("shown"), "shown.created_at", "shown.id", "$4");

/* $7 is the student. One row per reflection, as SQL_REFLECTION_LIST's
 * (reflections.c): only those shared with the caller. */
static const char SQL_STUDENT_REFLECTIONS[] =
    "WITH " SQL_ACTOR ","
    " st AS (SELECT EXISTS (SELECT 1 FROM actor) AND " SQL_SUPERVISES("$7::uuid") " AS v),"
    " aud AS (" SQL_AUDIT("'reflection.list'", "$7::uuid", "'user'", "$7::uuid")
    "   FROM st WHERE st.v)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT st.v THEN 404 ELSE 200 END, "
    SQL_REFLECTION_COLS("x")
    " FROM st LEFT JOIN LATERAL (SELECT x.* FROM reflections x"
    "   JOIN reflection_shares sh ON sh.reflection_id = x.id AND sh.user_id = $1"
    "   WHERE st.v AND x.owner_id = $7 AND x.organisation_id = $2 AND x.deleted_at IS NULL"
    "     AND " SQL_AFTER("x.created_at", "x.id", "$5", "$6")
    "   ORDER BY x.created_at, x.id LIMIT $4::int + 1) x ON true";
/* clang-format on */

void h_students(struct req *r)
{
    api_list(r, SQL_STUDENTS);
}

/* The page parameters at $4..$6, the student at $7. */
void h_student_reflections(struct req *r)
{
    const char *p[7];
    if (!(p[6] = api_uuid_param(r, 0)) || api_page_params(r, p) < 0)
        return;
    reflection_page_query(r, SQL_STUDENT_REFLECTIONS, 7, p, 0);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement students_statements[] = {
    STATEMENT(SQL_STUDENTS),
    STATEMENT(SQL_STUDENT_REFLECTIONS),
    {NULL, NULL},
};
