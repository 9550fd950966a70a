/* invitations.c - feedback invitations, the student's side:
 * POST/GET /v1/feedback-invitations, GET /v1/feedback-invitations/{id},
 * POST /v1/feedback-invitations/{id}/revoke.
 *
 * A student invites a colleague without an account (a night-shift nurse,
 * a flexpool colleague) to give feedback on one of their reflections or
 * goals, or on a moment they describe in one line. The answer is a link
 * and its QR code; the colleague's side is invite_page.c.
 *
 * The link's token is 256 random bits, returned once and stored only as
 * its SHA-256, so the service itself cannot show a link again. A create
 * carrying an id that is retried with the same content (the phone lost
 * the first answer) therefore answers 200 with a new link, which replaces
 * the old one: nobody can have the old one, it was never delivered. An
 * invitation is answered at most once, expires (default 24 hours, at most
 * 7 days) and can be revoked; only its student sees it. */
#include "http/api.h"
#include "app.h"
#include "handlers/feedback_sql.h"
#include "handlers/handlers.h"
#include "http/pagination.h"
#include "handlers/policy.h"
#include "core/qr.h"
#include "db/statements.h"
#include "auth/tokens.h"

#include <stdlib.h>
#include <string.h>

#define INVITATION_LINE_MAX      200
#define INVITATION_HOURS_DEFAULT 24
#define INVITATION_HOURS_MAX     (7 * 24)
#define QR_PNG_SCALE             8 /* pixels per module: about 300 px for a link */

/* clang-format off */
/* An invitation as its student sees it, with the feedback it brought
 * (the answer of every statement below). */
#define SQL_INVITATION_JSON(i)                                                                     \
    "json_build_object('id', " i ".id, 'reflection_id', " i ".reflection_id, 'goal_id', " i       \
    ".goal_id, 'line', " i ".line, 'share_situation', " i ".share_situation, 'share_name', " i    \
    ".share_name, 'status', CASE WHEN " i ".answered_at IS NOT NULL THEN 'answered'"               \
    " WHEN " i ".revoked_at IS NOT NULL THEN 'revoked' WHEN " i ".expires_at <= now()"            \
    " THEN 'expired' ELSE 'open' END, 'expires_at', " SQL_TS(i ".expires_at") ", 'answered_at', " SQL_TS(i ".answered_at") ","\
    " 'revoked_at', " SQL_TS(i ".revoked_at") ", 'created_at', " SQL_TS(i ".created_at") ","                \
    " 'updated_at', " SQL_TS(i ".updated_at") ", 'feedback', coalesce((SELECT json_agg("                      \
    SQL_FEEDBACK_JSON("f") " ORDER BY f.created_at, f.id) FROM feedback f"                         \
    " WHERE f.invitation_id = " i ".id), '[]'::json))"

/* A student invites a colleague to give feedback on their own reflection,
 * goal, or a moment (neither). A retry of the same create replaces the
 * link, while it can still be answered; anything else with this id is a
 * conflict.
 * $1..$3 the caller, $4 id (NULL: new), $5 reflection_id, $6 goal_id,
 * $7 line, $8 share_situation, $9 share_name, $10 the token, $11 hours to
 * expiry.
 * Returns (201 | 200 | 401 | 409 | 422, invitation JSON, NULL, detail, the
 * token: the one place it is kept is this request's parameters). */
static const char SQL_INVITATION_CREATE[] =
    "WITH " SQL_ACTOR ","
    " item AS (SELECT ($5::uuid IS NULL"
    "                  OR EXISTS (SELECT 1 FROM reflections x"
    "                             WHERE x.id = $5::uuid AND x.organisation_id = $2"
    "                               AND x.owner_id = $1 AND x.deleted_at IS NULL))"
    "             AND ($6::uuid IS NULL"
    "                  OR EXISTS (SELECT 1 FROM goals g"
    "                             WHERE g.id = $6::uuid AND g.organisation_id = $2"
    "                               AND g.owner_id = $1 AND g.deleted_at IS NULL)) AS ok),"
    " ins AS (INSERT INTO feedback_invitations AS i (id, organisation_id, student_id,"
    "                                                reflection_id, goal_id, line,"
    "                                                share_situation, share_name, token_hash,"
    "                                                expires_at)"
    "         SELECT coalesce($4::uuid, gen_random_uuid()), $2, $1, $5, $6, $7, $8, $9,"
    "                sha256(convert_to($10, 'UTF8')), now() + make_interval(hours => $11::int)"
    "         FROM actor, item WHERE item.ok"
    "         ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, updated_at = now()"
    "         WHERE i.student_id = $1 AND i.organisation_id = $2"
    "           AND i.reflection_id IS NOT DISTINCT FROM excluded.reflection_id"
    "           AND i.goal_id IS NOT DISTINCT FROM excluded.goal_id AND i.line = excluded.line"
    "           AND i.share_situation = excluded.share_situation"
    "           AND i.share_name = excluded.share_name"
    "           AND i.answered_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()"
    "         RETURNING i.*, xmax = 0 AS fresh),"
    " aud AS (" SQL_AUDIT("'feedback_invitation.create'", "$1::uuid", "'feedback_invitation'",
                          "ins.id")
    "         FROM ins)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT item.ok THEN 422"
    "             WHEN EXISTS (SELECT 1 FROM ins WHERE fresh) THEN 201"
    "             WHEN EXISTS (SELECT 1 FROM ins) THEN 200"
    "             ELSE 409 END,"
    "        (SELECT " SQL_INVITATION_JSON("ins") " FROM ins),"
    "        NULL,"
    "        CASE WHEN NOT item.ok THEN 'No such reflection or learning goal of yours.'"
    "             ELSE 'Another invitation has this id, or it can no longer be answered.' END,"
    "        $10"
    " FROM item";

/* One of the caller's invitations.
 * $1..$3 the caller, $4 invitation id.
 * Returns (200 | 401 | 404, invitation JSON, ETag). */
static const char SQL_INVITATION_GET[] =
    "WITH " SQL_ACTOR ","
    " i AS (SELECT i.* FROM feedback_invitations i, actor"
    "       WHERE i.id = $4::uuid AND i.organisation_id = $2 AND i.student_id = $1)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN i.id IS NULL THEN 404"
    "             ELSE 200 END,"
    "        CASE WHEN i.id IS NOT NULL THEN " SQL_INVITATION_JSON("i") " END,"
    "        CASE WHEN i.id IS NOT NULL THEN " SQL_ETAG("i.updated_at") " END"
    " FROM (SELECT 1) one LEFT JOIN i ON true";

/* The caller revokes one of their invitations. Revoking twice, or after
 * the answer, changes nothing and says so (the invitation as it is).
 * $1..$3 the caller, $4 invitation id.
 * Returns (200 | 401 | 404, invitation JSON, ETag). */
static const char SQL_INVITATION_REVOKE[] =
    "WITH " SQL_ACTOR ","
    " cur AS (SELECT i.* FROM feedback_invitations i, actor"
    "         WHERE i.id = $4::uuid AND i.organisation_id = $2 AND i.student_id = $1),"
    " upd AS (UPDATE feedback_invitations i SET revoked_at = now(), updated_at = now() FROM cur"
    "         WHERE i.id = cur.id AND i.revoked_at IS NULL AND i.answered_at IS NULL"
    "         RETURNING i.*),"
    " aud AS (" SQL_AUDIT("'feedback_invitation.revoke'", "$1::uuid", "'feedback_invitation'",
                          "upd.id")
    "         FROM upd),"
    " now_ AS (SELECT * FROM upd"
    "          UNION ALL"
    "          SELECT cur.* FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd))"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT EXISTS (SELECT 1 FROM cur) THEN 404"
    "             ELSE 200 END,"
    "        (SELECT " SQL_INVITATION_JSON("now_") " FROM now_),"
    "        (SELECT " SQL_ETAG("now_.updated_at") " FROM now_)";

/* One page of the caller's invitations, oldest first.
 * $1..$3 the caller, $4 limit, $5 and $6 the cursor.
 * Returns (200 | 401, page JSON). */
static const char SQL_INVITATION_LIST[] =
    "WITH " SQL_ACTOR ","
    " page AS (SELECT i.* FROM feedback_invitations i, actor"
    "          WHERE i.student_id = $1 AND i.organisation_id = $2"
    "            AND " SQL_AFTER("i.created_at", "i.id", "$5", "$6")
    "          ORDER BY i.created_at, i.id LIMIT $4::int + 1),"
    " shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT $4::int)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    "        " SQL_PAGE_BODY(SQL_INVITATION_JSON("shown"), "shown.created_at", "shown.id", "$4");
/* clang-format on */

/* Adds the link and its QR codes to the invitation's JSON. */
static int invitation_add_link(struct req *r, json_t *inv, const char *token)
{
    const char *url = arena_printf(&r->arena, "%s/f/%s", r->app->cfg.public_base_url, token);
    struct qr q;
    size_t png_len;
    unsigned char *png;
    if (qr_make(&r->arena, url, &q) < 0 || !(png = qr_png(&r->arena, &q, QR_PNG_SCALE, &png_len)))
        return -1;
    json_object_set_new(inv, "url", json_string(url));
    json_object_set_new(inv, "qr_svg", json_string(qr_svg(&r->arena, &q)));
    json_object_set_new(inv, "qr_png", json_string(qr_base64(&r->arena, png, png_len)));
    return 0;
}

static void invitation_created(struct req *r, struct db_result *res)
{
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    int status = api_col_int(res, 0, 0);
    if (status != 200 && status != 201) {
        api_reply_row(r, res);
        return;
    }
    json_t *inv = json_loads(api_col(res, 0, 1), 0, NULL);
    /* The token comes back as the row's last column (see the statement). */
    if (!inv || invitation_add_link(r, inv, api_col(res, 0, 4)) < 0) {
        json_decref(inv);
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    req_reply_json(r, status, inv);
}

/* The target: a reflection, a goal or neither (a moment), never both. */
static void invitation_target(struct validator *v, const char **reflection, const char **goal,
                              int *share_situation)
{
    *reflection = v_uuid(v, "reflection_id", V_OPTIONAL);
    *goal = v_uuid(v, "goal_id", V_OPTIONAL);
    if (*reflection && *goal)
        v_error(v, "goal_id", "give a reflection_id or a goal_id, not both");
    *share_situation = 0;
    v_bool(v, "share_situation", V_OPTIONAL, share_situation);
    if (*share_situation && !*reflection)
        v_error(v, "share_situation", "only a reflection has a situation to share");
}

void h_invitation_create(struct req *r)
{
    static const char *const fields[] = {
        "id",         "reflection_id",    "goal_id", "line", "share_situation",
        "share_name", "expires_in_hours", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    const char *reflection, *goal;
    int share_situation, share_name = 0;
    long hours = INVITATION_HOURS_DEFAULT;
    const char *id = v_uuid(&v, "id", V_OPTIONAL);
    invitation_target(&v, &reflection, &goal, &share_situation);
    const char *line = v_text(&v, "line", V_REQUIRED, 1, INVITATION_LINE_MAX, 0);
    v_bool(&v, "share_name", V_OPTIONAL, &share_name);
    v_int(&v, "expires_in_hours", V_OPTIONAL, 1, INVITATION_HOURS_MAX, &hours);
    if (api_reject_invalid(r, &v))
        return;
    char *token = arena_alloc(&r->arena, 44);
    if (tokens_new_refresh(token) < 0) {
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, id);
    api_param(&p, reflection);
    api_param(&p, goal);
    api_param(&p, line);
    api_param(&p, share_situation ? "true" : "false");
    api_param(&p, share_name ? "true" : "false");
    api_param(&p, token);
    api_param(&p, arena_printf(&r->arena, "%ld", hours));
    api_db_create(r, SQL_INVITATION_CREATE, p.n, p.v, invitation_created);
}

void h_invitation_get(struct req *r)
{
    api_by_id(r, SQL_INVITATION_GET);
}

void h_invitation_revoke(struct req *r)
{
    api_by_id(r, SQL_INVITATION_REVOKE);
}

void h_invitation_list(struct req *r)
{
    api_list(r, SQL_INVITATION_LIST);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement invitations_statements[] = {
    STATEMENT(SQL_INVITATION_CREATE),
    STATEMENT(SQL_INVITATION_GET),
    STATEMENT(SQL_INVITATION_REVOKE),
    STATEMENT(SQL_INVITATION_LIST),
    {NULL, NULL},
};
