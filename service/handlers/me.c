/* me.c - the caller's own data: GET /v1/me, GET /v1/me/export, DELETE /v1/me. */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "handlers/policy.h"
#include "handlers/users_sql.h"

/* clang-format off */
/* The caller's profile.
 * $1..$3 the caller.
 * Returns (200 | 401, profile JSON). */
static const char SQL_ME[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    "        (SELECT " SQL_ME_JSON("actor.id") " FROM actor)";

/* Everything the caller owns or is the subject of, as one document (AVG
 * art. 15 and 20). Reading it is audited like any other read. Table rows
 * go out as they are, without the organisation id (SQL_TS_ROW).
 * $1..$3 the caller.
 * Returns (200 | 401, export JSON). */
static const char SQL_EXPORT[] =
    "WITH " SQL_ACTOR ","
    " aud AS (" SQL_AUDIT("'user.export'", "$1::uuid", "'user'", "$1::uuid") " FROM actor)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    " (SELECT json_build_object("
    "   'exported_at', " SQL_TS("now()") ","
    "   'profile', " SQL_ME_JSON("actor.id") ","
    "   'supervisors', (SELECT coalesce(json_agg(json_build_object("
    "                     'user_id', sv.supervisor_id, 'since', " SQL_TS("sv.created_at") ")), '[]')"
    "                   FROM supervisions sv WHERE sv.student_id = $1),"
    "   'students', (SELECT coalesce(json_agg(json_build_object("
    "                  'user_id', sv.student_id, 'since', " SQL_TS("sv.created_at") ")), '[]')"
    "                FROM supervisions sv WHERE sv.supervisor_id = $1),"
    "   'reflections', (SELECT coalesce(json_agg(" SQL_TS_ROW("to_jsonb(x) - 'organisation_id'")
    "                                           ORDER BY x.created_at), '[]')"
    "                   FROM reflections x WHERE x.owner_id = $1 AND x.deleted_at IS NULL),"
    "   'goals', (SELECT coalesce(json_agg(" SQL_TS_ROW("to_jsonb(g) - 'organisation_id'")
    "                                     ORDER BY g.created_at), '[]')"
    "             FROM goals g WHERE g.owner_id = $1 AND g.deleted_at IS NULL),"
    "   'feedback_written', (SELECT coalesce(json_agg(" SQL_TS_ROW("to_jsonb(f) - 'organisation_id'")
    "                                                ORDER BY f.created_at), '[]')"
    "                        FROM feedback f WHERE f.author_id = $1),"
    "   'feedback_received', (SELECT coalesce(json_agg(" SQL_TS_ROW("to_jsonb(f) - 'organisation_id'")
    "                                                 ORDER BY f.created_at), '[]')"
    "                         FROM feedback f"
    "                         LEFT JOIN reflections x ON x.id = f.reflection_id"
    "                         LEFT JOIN goals g ON g.id = f.goal_id"
    "                         LEFT JOIN feedback_invitations fi ON fi.id = f.invitation_id"
    "                         WHERE (x.owner_id = $1 OR g.owner_id = $1 OR fi.student_id = $1)"
    "                           AND f.author_id IS DISTINCT FROM $1),"
    /* Invitations without the token's hash: it opens nothing, but is no
     * data about the person either. */
    "   'feedback_invitations', (SELECT coalesce(json_agg("
    "                              " SQL_TS_ROW("to_jsonb(fi) - 'organisation_id' - 'token_hash'")
    "                              ORDER BY fi.created_at), '[]')"
    "                            FROM feedback_invitations fi WHERE fi.student_id = $1),"
    "   'checkins', (SELECT coalesce(json_agg("
    "                  " SQL_TS_ROW("to_jsonb(c) - 'organisation_id' - 'user_id'")
    "                  ORDER BY c.period), '[]')"
    "                FROM checkins c WHERE c.user_id = $1),"
    "   'feedback_requests', (SELECT coalesce(json_agg(" SQL_TS_ROW("to_jsonb(q) - 'organisation_id'")
    "                                                 ORDER BY q.created_at), '[]')"
    "                         FROM feedback_requests q"
    "                         WHERE q.student_id = $1 OR q.to_user_id = $1),"
    /* Sign-in accounts at identity providers, and the organisation's own id (issue 17). */
    "   'external_id', (SELECT u.external_id FROM users u WHERE u.id = $1),"
    "   'identity_links', (SELECT coalesce(json_agg(json_build_object("
    "                        'issuer', i.issuer, 'subject', i.subject,"
    "                        'linked_at', " SQL_TS("i.created_at") ","
    "                        'last_login_at', " SQL_TS("i.last_login_at") ")"
    "                        ORDER BY i.created_at), '[]')"
    "                      FROM user_identities i WHERE i.user_id = $1),"
    "   'sessions', (SELECT coalesce(json_agg(json_build_object("
    "                  'id', s.id, 'created_at', " SQL_TS("s.created_at") ","
    "                  'expires_at', " SQL_TS("s.expires_at") ","
    "                  'revoked_at', " SQL_TS("s.revoked_at") ")"
    "                  ORDER BY s.created_at), '[]')"
    "                FROM sessions s WHERE s.user_id = $1),"
    "   'reads_of_my_data', (SELECT coalesce(json_agg(json_build_object("
    "                          'at', " SQL_TS("a.at") ", 'actor_id', a.actor_id,"
    "                          'action', a.action, 'object_type', a.object_type,"
    "                          'object_id', a.object_id)"
    "                          ORDER BY a.at), '[]')"
    "                        FROM audit_log a"
    "                        WHERE a.subject_user_id = $1 AND a.actor_id IS DISTINCT FROM $1))"
    "  FROM actor)";

/* The caller erases their account (erase_user, migrations): the audit row
 * is written first, in the same statement.
 * $1..$3 the caller.
 * Returns (204 | 401 | 500). */
static const char SQL_ERASE[] =
    "WITH " SQL_ACTOR ","
    " aud AS (" SQL_AUDIT("'user.erase'", "$1::uuid", "'user'", "$1::uuid") " FROM actor),"
    " gone AS (SELECT erase_user($1::uuid) FROM actor)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN (SELECT count(*) FROM gone) = 1 THEN 204"
    "             ELSE 500 END";
/* clang-format on */

/* The three answer with one row for the caller and take nothing else. */
static void me_run(struct req *r, const char *sql)
{
    struct api_params p;
    api_params_actor(&p, r);
    api_db(r, sql, &p, api_reply_row);
}

void h_me(struct req *r)
{
    me_run(r, SQL_ME);
}

void h_me_export(struct req *r)
{
    me_run(r, SQL_EXPORT);
}

void h_me_erase(struct req *r)
{
    me_run(r, SQL_ERASE);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement me_statements[] = {
    STATEMENT(SQL_ME),
    STATEMENT(SQL_EXPORT),
    STATEMENT(SQL_ERASE),
    {NULL, NULL},
};
