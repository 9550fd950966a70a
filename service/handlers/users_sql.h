/* users_sql.h - JSON shapes of a user, shared by the statements that return one.
 *
 * Return convention: none (SQL text only). */
#ifndef REFLECTD_USERS_SQL_H
#define REFLECTD_USERS_SQL_H

/* The caller's own profile (GET /v1/me, login, refresh). */
/* clang-format off */
#define SQL_ME_JSON(uid)                                                                           \
    "(SELECT json_build_object('id', u.id, 'email', u.email, 'name', u.name,"                      \
    " 'organisation_id', u.organisation_id, 'roles', to_json(u.roles),"                             \
    " 'teams', coalesce((SELECT json_agg(json_build_object('id', t.id, 'name', t.name,"            \
    " 'role', m.role) ORDER BY t.name, t.id) FROM team_members m JOIN teams t ON t.id = m.team_id" \
    " WHERE m.user_id = u.id), '[]'::json)) FROM users u WHERE u.id = " uid ")"

/* A user as an admin sees it; alias is the users row. */
#define SQL_USER_JSON(u)                                                                           \
    "json_build_object('id', " u ".id, 'email', " u ".email, 'name', " u ".name,"                  \
    " 'organisation_id', " u ".organisation_id, 'roles', to_json(" u ".roles),"                     \
    " 'created_at', " SQL_TS(u ".created_at") ")"
/* clang-format on */

#endif
