/* organisation.c - the caller's organisation: GET/PATCH /v1/organisation.
 *
 * The only setting is the anonymity threshold k (>= 3): the number of
 * distinct people a summary figure must stand on. Changing it is an admin's
 * decision, guarded by If-Match so two admins cannot overwrite each other
 * unknowingly, and its audit row says what k was and what it became. */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "handlers/policy.h"

/* clang-format off */
/* The organisation, as JSON (the answer of both statements). */
#define SQL_ORG_JSON(o)                                                                            \
    "json_build_object('id', " o ".id, 'name', " o ".name, 'anonymity_threshold', " o              \
    ".anonymity_threshold, 'created_at', " SQL_TS(o ".created_at") ", 'updated_at', " SQL_TS(o ".updated_at") ")"

/* The caller's organisation.
 * $1..$3 the caller.
 * Returns (200 | 401, organisation JSON, ETag). */
static const char SQL_ORG_GET[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    "        " SQL_ORG_JSON("o") ","
    "        " SQL_ETAG("o.updated_at")
    " FROM organisations o"
    " WHERE o.id = $2";

/* An admin changes the anonymity threshold k, if the organisation is still
 * the version the caller read; the audit row keeps the old and new k.
 * FOR UPDATE: the old k is read from the row version the update replaces,
 * even when another PATCH committed in between.
 * $1..$3 the caller, $4 If-Match, $5 the new k.
 * Returns (200 | 401 | 404 | 412, organisation JSON, ETag). */
static const char SQL_ORG_PATCH[] =
    "WITH " SQL_ACTOR ","
    " cur AS (SELECT o.anonymity_threshold AS old_k FROM organisations o"
    "         WHERE o.id = $2"
    "         FOR UPDATE),"
    " upd AS (UPDATE organisations o SET anonymity_threshold = $5::int, updated_at = now()"
    "         FROM cur"
    "         WHERE o.id = $2 AND " SQL_IS_ADMIN " AND " SQL_IF_MATCH("o.updated_at", "$4")
    "         RETURNING o.*, cur.old_k),"
    " aud AS (INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id,"
    "                                object_type, object_id, details)"
    "         SELECT $2::uuid, $1::uuid, 'organisation.update', NULL, 'organisation', upd.id,"
    "                jsonb_build_object('anonymity_threshold',"
    "                                   jsonb_build_object('old', upd.old_k,"
    "                                                      'new', upd.anonymity_threshold))"
    "         FROM upd)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             WHEN NOT EXISTS (SELECT 1 FROM upd) THEN 412"
    "             ELSE 200 END,"
    "        (SELECT " SQL_ORG_JSON("upd") " FROM upd),"
    "        (SELECT " SQL_ETAG("upd.updated_at") " FROM upd)";
/* clang-format on */

void h_org_get(struct req *r)
{
    struct api_params p;
    api_params_actor(&p, r);
    api_db(r, SQL_ORG_GET, &p, api_reply_row);
}

void h_org_patch(struct req *r)
{
    static const char *const fields[] = {"anonymity_threshold", NULL};
    const char *if_match = api_if_match(r);
    struct validator v;
    if (!if_match || !api_body(r, &v, fields))
        return;
    long k = 0;
    v_int(&v, "anonymity_threshold", V_REQUIRED, 3, 100, &k);
    if (api_reject_invalid(r, &v))
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, if_match);
    api_param(&p, arena_printf(&r->arena, "%ld", k));
    api_db(r, SQL_ORG_PATCH, &p, api_reply_row);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement organisation_statements[] = {
    STATEMENT(SQL_ORG_GET),
    STATEMENT(SQL_ORG_PATCH),
    {NULL, NULL},
};
