/* teams.c - teams and team membership: /v1/teams, /v1/teams/{id}/members/{id}.
 *
 * Admins create teams and place users in them with a team role (student,
 * werkbegeleider, teammanager, member). Admins and praktijkopleiders list
 * every team of the organisation; everyone else lists the teams they are a
 * member of. */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "http/pagination.h"
#include "handlers/policy.h"

#include <string.h>

static const char *const team_roles[] = {"student", "werkbegeleider", "teammanager", "member",
                                         NULL};

/* clang-format off */
/* A team, as JSON (the answer of SQL_TEAM_CREATE and SQL_TEAM_LIST). */
#define SQL_TEAM_JSON(t)                                                                           \
    "json_build_object('id', " t ".id, 'organisation_id', " t ".organisation_id, 'name', " t      \
    ".name, 'created_at', " SQL_TS(t ".created_at") ")"

/* An admin creates a team; names are unique in the organisation.
 * $1..$3 the caller, $4 name.
 * Returns (201 | 401 | 404 | 409, team JSON, NULL, detail). */
static const char SQL_TEAM_CREATE[] =
    "WITH " SQL_ACTOR ","
    " ins AS (INSERT INTO teams (organisation_id, name)"
    "         SELECT $2, $4 WHERE " SQL_IS_ADMIN
    "         ON CONFLICT DO NOTHING"
    "         RETURNING *),"
    " aud AS (" SQL_AUDIT("'team.create'", "NULL::uuid", "'team'", "ins.id") " FROM ins)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             WHEN NOT EXISTS (SELECT 1 FROM ins) THEN 409"
    "             ELSE 201 END,"
    "        (SELECT " SQL_TEAM_JSON("ins") " FROM ins),"
    "        NULL,"
    "        CASE WHEN " SQL_IS_ADMIN " THEN 'A team with this name exists.' END";

/* One page of the teams the caller sees: every team for admins and
 * praktijkopleiders, the caller's own teams for everyone else.
 * $1..$3 the caller, $4 limit, $5 and $6 the cursor.
 * Returns (200 | 401, page JSON). */
static const char SQL_TEAM_LIST[] =
    "WITH " SQL_ACTOR ","
    " page AS (SELECT t.* FROM teams t"
    "          WHERE t.organisation_id = $2"
    "            AND (" SQL_SEES_ALL_TEAMS
    "                 OR EXISTS (SELECT 1 FROM team_members m"
    "                            WHERE m.team_id = t.id AND m.user_id = $1))"
    "            AND " SQL_AFTER("t.created_at", "t.id", "$5", "$6")
    "          ORDER BY t.created_at, t.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    "        " SQL_PAGE_BODY(SQL_TEAM_JSON("shown"), "shown.created_at", "shown.id", "$4");

/* An admin places a user of the organisation in a team, or changes their
 * team role.
 * $1..$3 the caller, $4 team id, $5 user id, $6 team role.
 * Returns (200 | 401 | 404, membership JSON). */
static const char SQL_MEMBER_PUT[] =
    "WITH " SQL_ACTOR ","
    " ok AS (SELECT " SQL_IS_ADMIN " AND " SQL_ORG_TEAM("$4::uuid")
    "               AND " SQL_ORG_USER("$5::uuid") " AS v),"
    " up AS (INSERT INTO team_members (organisation_id, team_id, user_id, role)"
    "        SELECT $2, $4, $5, $6 FROM ok WHERE ok.v"
    "        ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role, updated_at = now()"
    "        RETURNING *),"
    " aud AS (" SQL_AUDIT("'team.member.put'", "up.user_id", "'team'", "up.team_id") " FROM up)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT (SELECT v FROM ok) THEN 404"
    "             ELSE 200 END,"
    "        (SELECT json_build_object('team_id', up.team_id, 'user_id', up.user_id,"
    "                                  'role', up.role,"
    "                                  'created_at', " SQL_TS("up.created_at") ","
    "                                  'updated_at', " SQL_TS("up.updated_at") ")"
    "         FROM up)";

/* An admin takes a user out of a team.
 * $1..$3 the caller, $4 team id, $5 user id.
 * Returns (204 | 401 | 404). */
static const char SQL_MEMBER_DELETE[] =
    "WITH " SQL_ACTOR ","
    " ok AS (SELECT " SQL_IS_ADMIN " AND " SQL_ORG_TEAM("$4::uuid")
    "               AND " SQL_ORG_USER("$5::uuid") " AS v),"
    " del AS (DELETE FROM team_members m USING ok"
    "         WHERE ok.v AND m.team_id = $4 AND m.user_id = $5 AND m.organisation_id = $2"
    "         RETURNING m.*),"
    " aud AS (" SQL_AUDIT("'team.member.delete'", "del.user_id", "'team'", "del.team_id")
    "         FROM del)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT (SELECT v FROM ok) THEN 404"
    "             ELSE 204 END";
/* clang-format on */

void h_team_create(struct req *r)
{
    static const char *const fields[] = {"name", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, v_text(&v, "name", V_REQUIRED, 1, 200, 0));
    if (api_reject_invalid(r, &v))
        return;
    api_db(r, SQL_TEAM_CREATE, &p, api_reply_row);
}

void h_team_list(struct req *r)
{
    api_list(r, SQL_TEAM_LIST);
}

void h_member_put(struct req *r)
{
    static const char *const fields[] = {"role", NULL};
    const char *team = api_uuid_param(r, 0);
    const char *user = team ? api_uuid_param(r, 1) : NULL;
    struct validator v;
    if (!user || !api_body(r, &v, fields))
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, team);
    api_param(&p, user);
    api_param(&p, v_enum(&v, "role", V_REQUIRED, team_roles));
    if (api_reject_invalid(r, &v))
        return;
    api_db(r, SQL_MEMBER_PUT, &p, api_reply_row);
}

void h_member_delete(struct req *r)
{
    const char *team = api_uuid_param(r, 0);
    const char *user = team ? api_uuid_param(r, 1) : NULL;
    if (!user)
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, team);
    api_param(&p, user);
    api_db(r, SQL_MEMBER_DELETE, &p, api_reply_row);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement teams_statements[] = {
    STATEMENT(SQL_TEAM_CREATE),
    STATEMENT(SQL_TEAM_LIST),
    STATEMENT(SQL_MEMBER_PUT),
    STATEMENT(SQL_MEMBER_DELETE),
    {NULL, NULL},
};
