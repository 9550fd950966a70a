/* imports_sql.h - the statement behind POST /v1/users/import (imports.c).
 *
 * One statement plans and (unless it is a dry run, or any row is wrong)
 * applies the whole file, so an import is all or nothing without a
 * transaction spanning round trips, and the plan it reports is computed
 * from the same snapshot the changes are made against.
 *
 * $1..$3 the caller; $4 the rows, as imports.c validated them:
 *   [{row, email, name, external_id, roles: [...], teams: [{team, role}],
 *     supervisors: [e-mail, ...]}]
 * $5 apply (true) or dry run (false); $6 hours a set-password link lasts.
 *
 * Rows match a user of the organisation by external id, else by e-mail
 * address. An import adds and updates; it never removes a user, a
 * membership or a supervision (that stays a deliberate DELETE), so running
 * the same file twice changes nothing the second time. New users get no
 * password: a one-time set-password link is queued for them
 * (password_tokens, password_emails), or they sign in with the provider.
 *
 * Returns (401 | 404 (not an admin) | 422 with body
 * {"errors": [{row, field, message}]} | 200 with the plan, body). */
#ifndef REFLECTD_IMPORTS_SQL_H
#define REFLECTD_IMPORTS_SQL_H

#include "handlers/policy.h"

/* clang-format off */
static const char SQL_USER_IMPORT[] =
    "WITH " SQL_ACTOR ","
    /* The file's rows, each matched to a user of the organisation by
     * external id, else by e-mail address (m); cur: that user as is. */
    " r AS (SELECT * FROM jsonb_to_recordset($4::jsonb)"
    "       AS x(\"row\" int, email text, name text, external_id text, roles text[], teams jsonb,"
    "            supervisors text[])),"
    " by_ext AS (SELECT r.\"row\", u.id FROM r"
    "            JOIN users u ON u.organisation_id = $2 AND u.deleted_at IS NULL"
    "                        AND u.external_id = r.external_id),"
    " by_email AS (SELECT r.\"row\", u.id, u.organisation_id, u.external_id FROM r"
    "              JOIN users u ON u.email = r.email AND u.deleted_at IS NULL),"
    " m AS (SELECT r.*, coalesce(be.id, bm.id) AS uid, bm.organisation_id AS email_org,"
    "              bm.id AS email_uid, be.id AS ext_uid, bm.external_id AS email_ext"
    "       FROM r"
    "       LEFT JOIN by_ext be ON be.\"row\" = r.\"row\""
    "       LEFT JOIN by_email bm ON bm.\"row\" = r.\"row\"),"
    " cur AS (SELECT m.\"row\", u.* FROM m"
    "         JOIN users u ON u.id = m.uid AND u.organisation_id = $2),"
    /* Memberships as they will be: the file's, and the existing ones the
     * file does not mention (keyed by e-mail and lower-cased team name). */
    " fm AS (SELECT r.\"row\", r.email, t->>'team' AS team, lower(t->>'team') AS tkey,"
    "               t->>'role' AS role"
    "        FROM r, jsonb_array_elements(r.teams) t),"
    " org_teams AS (SELECT t.id, lower(t.name) AS tkey FROM teams t WHERE t.organisation_id = $2),"
    " old_mem AS (SELECT u.email, ot.tkey, tm.role FROM team_members tm"
    "             JOIN users u ON u.id = tm.user_id"
    "             JOIN org_teams ot ON ot.id = tm.team_id"
    "             WHERE tm.organisation_id = $2),"
    " eff_mem AS (SELECT email, tkey, role FROM fm"
    "             UNION ALL"
    "             SELECT o.email, o.tkey, o.role FROM old_mem o"
    "             WHERE NOT EXISTS (SELECT 1 FROM fm WHERE fm.email = o.email AND fm.tkey = o.tkey)),"
    " eff_roles AS (SELECT email, roles FROM r"
    "               UNION ALL"
    "               SELECT u.email, u.roles FROM users u"
    "               WHERE u.organisation_id = $2 AND u.deleted_at IS NULL"
    "                 AND NOT EXISTS (SELECT 1 FROM r WHERE r.email = u.email)),"
    " fs AS (SELECT r.\"row\", r.email AS student, s AS supervisor"
    "        FROM r, unnest(r.supervisors) s),"
    " sup_user AS (SELECT fs.*,"
    "                     (SELECT u.id FROM users u"
    "                      WHERE u.email = fs.supervisor AND u.organisation_id = $2"
    "                        AND u.deleted_at IS NULL) AS old_id,"
    "                     EXISTS (SELECT 1 FROM r WHERE r.email = fs.supervisor) AS in_file"
    "              FROM fs),"
    " sup_ok AS (SELECT s.\"row\", s.supervisor FROM sup_user s"
    "            JOIN eff_mem st ON st.email = s.student AND st.role = 'student'"
    "            JOIN eff_mem w ON w.tkey = st.tkey AND w.email = s.supervisor"
    "                          AND w.role = 'werkbegeleider'"
    "            UNION"
    "            SELECT s.\"row\", s.supervisor FROM sup_user s"
    "            JOIN eff_roles er ON er.email = s.supervisor"
    "                             AND 'praktijkopleider' = ANY (er.roles)),"
    /* Every reason a row cannot be applied (imports.c checked each cell). */
    " errs AS (SELECT \"row\", 'email' AS field,"
    "                 'This e-mail address belongs to an account of another organisation.'"
    "                 AS message"
    "          FROM m WHERE email_org <> $2"
    "          UNION ALL"
    "          SELECT \"row\", 'external_id',"
    "                 'The external id and the e-mail address belong to two different users.'"
    "          FROM m WHERE ext_uid <> email_uid"
    "          UNION ALL"
    "          SELECT \"row\", 'external_id',"
    "                 'The user with this e-mail address has another external id.'"
    "          FROM m WHERE ext_uid IS NULL AND email_org = $2 AND email_ext IS NOT NULL"
    "                   AND external_id IS NOT NULL AND email_ext <> external_id"
    "          UNION ALL"
    "          SELECT m.\"row\", 'email', 'This row and row ' || min(o.\"row\") || ' are the same user.'"
    "          FROM m JOIN m o ON o.uid = m.uid AND o.\"row\" < m.\"row\""
    "          GROUP BY m.\"row\""
    "          UNION ALL"
    "          SELECT \"row\", 'supervisors',"
    "                 'No user ' || supervisor || ' in the organisation or the file.'"
    "          FROM sup_user WHERE old_id IS NULL AND NOT in_file"
    "          UNION ALL"
    "          SELECT \"row\", 'supervisors',"
    "                 'The user is not a student in any team, so has no supervisor.'"
    "          FROM fs"
    "          WHERE NOT EXISTS (SELECT 1 FROM eff_mem e"
    "                            WHERE e.email = fs.student AND e.role = 'student')"
    "          GROUP BY \"row\""
    "          UNION ALL"
    "          SELECT \"row\", 'supervisors', supervisor || ' is neither a werkbegeleider in one'"
    "                 || ' of the student''s teams nor a praktijkopleider.'"
    "          FROM sup_user s"
    "          WHERE (s.old_id IS NOT NULL OR s.in_file)"
    "            AND NOT EXISTS (SELECT 1 FROM sup_ok k"
    "                            WHERE k.\"row\" = s.\"row\" AND k.supervisor = s.supervisor)),"
    /* What each row changes (set-wise: 10,000 rows must not mean 10,000
     * subqueries). */
    " team_changes AS (SELECT fm.\"row\","
    "                         array_agg('team ' || fm.team || ': ' || fm.role ORDER BY fm.tkey)"
    "                         AS changes"
    "                  FROM fm"
    "                  JOIN m ON m.\"row\" = fm.\"row\""
    "                  LEFT JOIN cur c ON c.\"row\" = fm.\"row\""
    "                  LEFT JOIN old_mem o ON o.email = coalesce(c.email, m.email)"
    "                                     AND o.tkey = fm.tkey AND o.role = fm.role"
    "                  WHERE o.email IS NULL"
    "                  GROUP BY fm.\"row\"),"
    " sup_changes AS (SELECT s.\"row\","
    "                        array_agg('supervisor ' || s.supervisor ORDER BY s.supervisor)"
    "                        AS changes"
    "                 FROM sup_user s"
    "                 JOIN m ON m.\"row\" = s.\"row\""
    "                 LEFT JOIN supervisions sv ON sv.student_id = m.uid"
    "                                          AND sv.supervisor_id = s.old_id"
    "                 WHERE sv.student_id IS NULL"
    "                 GROUP BY s.\"row\"),"
    " plan AS (SELECT m.\"row\", m.email, CASE WHEN m.uid IS NULL THEN 'create' END AS action,"
    "                 array_remove(ARRAY["
    "                   CASE WHEN c.id IS NOT NULL AND c.name <> m.name THEN 'name' END,"
    "                   CASE WHEN c.id IS NOT NULL AND c.email <> m.email THEN 'email' END,"
    "                   CASE WHEN c.id IS NOT NULL"
    "                         AND ARRAY(SELECT unnest(c.roles) ORDER BY 1)"
    "                             <> ARRAY(SELECT unnest(m.roles) ORDER BY 1) THEN 'roles' END,"
    "                   CASE WHEN c.id IS NOT NULL AND m.external_id IS NOT NULL"
    "                         AND c.external_id IS DISTINCT FROM m.external_id"
    "                        THEN 'external_id' END], NULL)"
    "                 || coalesce(tc.changes, '{}') || coalesce(sc.changes, '{}') AS changes"
    "          FROM m"
    "          LEFT JOIN cur c ON c.\"row\" = m.\"row\""
    "          LEFT JOIN team_changes tc ON tc.\"row\" = m.\"row\""
    "          LEFT JOIN sup_changes sc ON sc.\"row\" = m.\"row\"),"
    " go AS (SELECT $5::boolean AND " SQL_IS_ADMIN " AND NOT EXISTS (SELECT 1 FROM errs) AS yes),"
    /* The changes, when go.yes. Sibling CTEs see the snapshot, not each
     * other's rows, so new ids flow through RETURNING; foreign keys are
     * checked at the end of the statement, when all rows are there. */
    " new_teams AS (INSERT INTO teams (organisation_id, name)"
    "               SELECT DISTINCT ON (fm.tkey) $2, fm.team FROM fm, go"
    "               WHERE go.yes"
    "                 AND NOT EXISTS (SELECT 1 FROM org_teams ot WHERE ot.tkey = fm.tkey)"
    "               ORDER BY fm.tkey, fm.\"row\""
    "               RETURNING id, lower(name) AS tkey),"
    " all_teams AS (SELECT id, tkey FROM org_teams UNION ALL SELECT id, tkey FROM new_teams),"
    " ins_users AS (INSERT INTO users (organisation_id, email, name, roles, external_id)"
    "               SELECT $2, m.email, m.name, m.roles, m.external_id FROM m, go"
    "               WHERE go.yes AND m.uid IS NULL"
    "               RETURNING id, email),"
    " upd_users AS (UPDATE users u SET name = m.name, email = m.email, roles = m.roles,"
    "                                  external_id = coalesce(m.external_id, u.external_id),"
    "                                  updated_at = now()"
    "               FROM m, plan p, go"
    "               WHERE go.yes AND u.id = m.uid AND p.\"row\" = m.\"row\""
    "                 AND (p.changes && ARRAY['name', 'email', 'roles', 'external_id'])"
    "               RETURNING u.id),"
    " all_users AS (SELECT m.email, m.uid AS id FROM m WHERE m.uid IS NOT NULL"
    "               UNION ALL"
    "               SELECT email, id FROM ins_users),"
    " mem AS (INSERT INTO team_members (organisation_id, team_id, user_id, role)"
    "         SELECT $2, t.id, au.id, fm.role FROM fm"
    "         JOIN all_teams t ON t.tkey = fm.tkey"
    "         JOIN all_users au ON au.email = fm.email, go"
    "         WHERE go.yes"
    "         ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()"
    "         WHERE team_members.role IS DISTINCT FROM EXCLUDED.role"
    "         RETURNING 1),"
    " sup AS (INSERT INTO supervisions (organisation_id, student_id, supervisor_id)"
    "         SELECT $2, st.id, coalesce(fu.id, s.old_id) FROM sup_user s"
    "         JOIN all_users st ON st.email = s.student"
    "         LEFT JOIN all_users fu ON fu.email = s.supervisor, go"
    "         WHERE go.yes"
    "         ON CONFLICT DO NOTHING"
    "         RETURNING 1),"
    " inv AS (SELECT id, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')"
    "                AS token"
    "         FROM ins_users),"
    " tok AS (INSERT INTO password_tokens (token_hash, organisation_id, user_id, expires_at)"
    "         SELECT sha256(convert_to(inv.token, 'UTF8')), $2, inv.id,"
    "                now() + make_interval(hours => $6::int)"
    "         FROM inv),"
    " mail AS (INSERT INTO password_emails (organisation_id, user_id, token, expires_at)"
    "          SELECT $2, inv.id, inv.token, now() + make_interval(hours => $6::int) FROM inv),"
    " aud AS (INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id,"
    "                                object_type, object_id)"
    "         SELECT $2, $1, 'user.import_create', id, 'user', id FROM ins_users"
    "         UNION ALL"
    "         SELECT $2, $1, 'user.import_update', id, 'user', id FROM upd_users)"
    /* The answer: the errors (at most 500), or the plan. */
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             WHEN EXISTS (SELECT 1 FROM errs) THEN 422"
    "             ELSE 200 END,"
    "        CASE WHEN EXISTS (SELECT 1 FROM errs)"
    "        THEN (SELECT json_build_object('errors',"
    "                       json_agg(json_build_object('row', \"row\", 'field', field,"
    "                                                  'message', message)"
    "                                ORDER BY \"row\", field))"
    "              FROM (SELECT * FROM errs LIMIT 500) e)"
    "        ELSE (SELECT json_build_object("
    "                'dry_run', NOT $5::boolean,"
    "                'applied', (SELECT yes FROM go),"
    "                'summary', json_build_object("
    "                  'rows', count(*),"
    "                  'created', count(*) FILTER (WHERE action = 'create'),"
    "                  'updated', count(*) FILTER (WHERE action IS NULL AND cardinality(changes) > 0),"
    "                  'unchanged', count(*) FILTER (WHERE action IS NULL"
    "                                                AND cardinality(changes) = 0),"
    "                  'invitations', count(*) FILTER (WHERE action = 'create')),"
    "                'rows', coalesce(json_agg(json_build_object("
    "                          'row', \"row\", 'email', email,"
    "                          'action', coalesce(action, CASE WHEN cardinality(changes) > 0"
    "                                                          THEN 'update' ELSE 'unchanged' END),"
    "                          'changes', to_json(changes)) ORDER BY \"row\"), '[]'::json))"
    "              FROM plan) END";

/* Everyone of the organisation as the import reads them: one array per
 * user (email, name, external id, roles, teams, supervisors; lists joined
 * with '|'), for an admin.
 * $1..$3 the caller.
 * Returns (200 | 401 | 404, JSON array of arrays). */
static const char SQL_USER_EXPORT[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             ELSE 200 END,"
    "        CASE WHEN " SQL_IS_ADMIN
    "        THEN (SELECT coalesce(json_agg(json_build_array("
    "                       u.email, u.name, coalesce(u.external_id, ''),"
    "                       array_to_string(u.roles, '|'),"
    "                       coalesce((SELECT string_agg(t.name || ':' || tm.role, '|'"
    "                                                   ORDER BY lower(t.name))"
    "                                 FROM team_members tm JOIN teams t ON t.id = tm.team_id"
    "                                 WHERE tm.user_id = u.id), ''),"
    "                       coalesce((SELECT string_agg(s.email, '|' ORDER BY s.email)"
    "                                 FROM supervisions sv JOIN users s ON s.id = sv.supervisor_id"
    "                                 WHERE sv.student_id = u.id), ''))"
    "                     ORDER BY u.email), '[]'::json)"
    "              FROM users u"
    "              WHERE u.organisation_id = $2 AND u.deleted_at IS NULL) END";
/* clang-format on */

#endif
