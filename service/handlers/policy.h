/* policy.h - who may do what: the authorization rules, as SQL.
 *
 * Return convention: none (SQL text only). Each fragment is a boolean
 * condition or a CTE; the parameters it names ($1..$3, the caller) are the
 * ones every authenticated statement starts with, so no fragment hides a
 * statement-specific $n.
 *
 * Authorization is decided inside the statement that does the work, so a
 * request costs one round trip and the rule is checked against the same
 * snapshot the work sees (no window between "may I?" and "do it"). These
 * fragments are the only place the rules are written; handlers compose them.
 *
 * Every authenticated statement takes the caller as its first three
 * parameters ($1 user id, $2 organisation id, $3 session id, filled by
 * api_params_actor in http/api.h) and starts with WITH SQL_ACTOR. The actor row exists
 * only while the user exists, is not erased, belongs to that organisation
 * and the login session is open: logout and erasure therefore take effect
 * on the next request, not when the access token expires.
 *
 * Tenant isolation: every lookup of a tenant-owned row also matches
 * organisation_id = $2, so another organisation's ids behave exactly like
 * ids that do not exist (404). */
#ifndef REFLECTD_POLICY_H
#define REFLECTD_POLICY_H

/* clang-format off */
#define SQL_ACTOR                                                                                  \
    "actor AS (SELECT u.id, u.organisation_id, u.roles FROM users u"                               \
    " JOIN sessions s ON s.id = $3::uuid AND s.user_id = u.id AND s.revoked_at IS NULL"            \
    " AND s.expires_at > now()"                                                                     \
    " WHERE u.id = $1::uuid AND u.organisation_id = $2::uuid AND u.deleted_at IS NULL)"

/* The session is gone (logout, reuse detected, erased user): 401. */
#define SQL_NO_ACTOR "NOT EXISTS (SELECT 1 FROM actor)"
/* Organisation roles. */
#define SQL_IS_ADMIN "EXISTS (SELECT 1 FROM actor WHERE 'admin' = ANY (actor.roles))"
#define SQL_IS_PRAKTIJKOPLEIDER                                                                    \
    "EXISTS (SELECT 1 FROM actor WHERE 'praktijkopleider' = ANY (actor.roles))"
/* Sees every team of the organisation (admin, praktijkopleider). */
#define SQL_SEES_ALL_TEAMS                                                                         \
    "EXISTS (SELECT 1 FROM actor WHERE actor.roles && ARRAY['admin','praktijkopleider'])"
/* A user of the caller's organisation, not erased. */
#define SQL_ORG_USER(id)                                                                           \
    "EXISTS (SELECT 1 FROM users ou WHERE ou.id = " id " AND ou.organisation_id = $2::uuid"       \
    " AND ou.deleted_at IS NULL)"
/* A team of the caller's organisation. */
#define SQL_ORG_TEAM(id)                                                                           \
    "EXISTS (SELECT 1 FROM teams ot WHERE ot.id = " id " AND ot.organisation_id = $2::uuid)"

/* The caller supervises student (an assignment by an admin). */
#define SQL_SUPERVISES(student)                                                                    \
    "EXISTS (SELECT 1 FROM supervisions sv WHERE sv.student_id = " student                         \
    " AND sv.supervisor_id = $1::uuid)"
/* May the caller read reflection row x? Its owner may; anyone else only
 * while it is shared with them AND they still supervise the owner, so that
 * ending a supervision ends access to everything shared before. Nobody
 * else, whatever their role: a teammanager sees no reflection. */
#define SQL_READS_REFLECTION(x)                                                                    \
    "(" x ".owner_id = $1::uuid OR (EXISTS (SELECT 1 FROM reflection_shares sh"                    \
    " WHERE sh.reflection_id = " x ".id AND sh.user_id = $1::uuid) AND " SQL_SUPERVISES(           \
        x ".owner_id") "))"
/* The same rule for learning goals. */
#define SQL_READS_GOAL(g)                                                                          \
    "(" g ".owner_id = $1::uuid OR (EXISTS (SELECT 1 FROM goal_shares gs"                          \
    " WHERE gs.goal_id = " g ".id AND gs.user_id = $1::uuid) AND " SQL_SUPERVISES(                 \
        g ".owner_id") "))"

/* A row for the audit log: the caller did action to subject's object. */
#define SQL_AUDIT(action, subject, type, object)                                                   \
    "INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id, object_type,"       \
    " object_id) SELECT $2::uuid, $1::uuid, " action ", " subject ", " type ", " object
/* clang-format on */

#endif
