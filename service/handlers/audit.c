/* audit.c - the audit log for admins: GET /v1/audit.
 *
 * Rows are written by the statements that read or change someone's data
 * (see SQL_AUDIT in policy.h), in the same transaction as the change. Here
 * they are only listed, newest first, for the caller's organisation.
 * details (migrations/0010) is what a change was where the ids do not say
 * it, such as a setting's old and new value; null otherwise.
 *
 * An admin sees who read or exported whose data and what was administered,
 * but not the students' and supervisors' own activity (feedback given,
 * requests, shares): counted per person and month, those rows would be the
 * very activity figures the summaries only show for k people at once. They
 * stay in the log, and each person finds theirs in their own export. */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "http/pagination.h"
#include "handlers/policy.h"

/* clang-format off */
/* One page of the organisation's audit log for an admin, newest first (so
 * the keyset runs backwards: rows before the cursor), without the
 * students' and supervisors' own activity (see above).
 * $1..$3 the caller, $4 limit, $5 and $6 the cursor.
 * Returns (200 | 401 | 404, page JSON). */
static const char SQL_AUDIT_LIST[] =
    "WITH " SQL_ACTOR ","
    " page AS (SELECT a.* FROM audit_log a"
    "          WHERE a.organisation_id = $2"
    "            AND a.action NOT IN ('feedback.create', 'feedback_request.create',"
    "                                 'reflection.share', 'reflection.unshare',"
    "                                 'goal.share', 'goal.unshare')"
    "            AND " SQL_IS_ADMIN
    "            AND ($5::bigint IS NULL"
    "                 OR (a.at, a.id) < ('epoch'::timestamptz + $5::bigint * interval '1 microsecond',"
    "                                    $6::uuid))"
    "          ORDER BY a.at DESC, a.id DESC LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY at DESC, id DESC LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             ELSE 200 END,"
    "        json_build_object("
    "          'items', coalesce((SELECT json_agg(json_build_object("
    "                                 'id', shown.id, 'at', " SQL_TS("shown.at") ","
    "                                 'actor_id', shown.actor_id, 'action', shown.action,"
    "                                 'subject_user_id', shown.subject_user_id,"
    "                                 'object_type', shown.object_type,"
    "                                 'object_id', shown.object_id, 'details', shown.details)"
    "                               ORDER BY shown.at DESC, shown.id DESC)"
    "                             FROM shown), '[]'::json),"
    "          'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $4::int"
    "                              THEN (SELECT " SQL_CURSOR("shown.at", "shown.id")
    "                                    FROM shown ORDER BY shown.at, shown.id LIMIT 1) END)";
/* clang-format on */

void h_audit_list(struct req *r)
{
    api_list(r, SQL_AUDIT_LIST);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement audit_statements[] = {
    STATEMENT(SQL_AUDIT_LIST),
    {NULL, NULL},
};
