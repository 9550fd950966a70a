/* checkins.c - monthly vermogen check-ins: POST /v1/checkins.
 *
 * A team member scores the team's four vermogens 1-10, optionally with
 * "goes well" / "could be better" text and the choice to share that text
 * anonymously. One check-in per person, team and calendar month (in the
 * organisation's time zone): a second one that month replaces the first
 * (200 instead of 201). Nobody sees a check-in but its author: managers
 * get the month's figures only once it has closed and been published
 * (migrations/0009, summaries.c). */
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "handlers/policy.h"

#define CHECKIN_TEXT_MAX 1000

/* clang-format off */
/* The current month in the organisation's time zone: the month in which
 * the check-in will be published (migrations/0009). */
#define SQL_THIS_MONTH                                                                             \
    "(SELECT date_trunc('month', now() AT TIME ZONE o.timezone)::date FROM organisations o"       \
    " WHERE o.id = $2)"
#define SQL_CHECKIN_JSON(c)                                                                        \
    "json_build_object('team_id', " c ".team_id, 'period', to_char(" c ".period, 'YYYY-MM'),"     \
    " 'scores', json_build_object('absorptie', " c ".absorptie, 'verbindend', " c ".verbindend,"  \
    " 'opleidend', " c ".opleidend, 'lerend', " c ".lerend), 'goes_well', " c ".goes_well,"       \
    " 'could_be_better', " c ".could_be_better, 'share_text', " c ".share_text,"                  \
    " 'created_at', " SQL_TS(c ".created_at") ", 'updated_at', " SQL_TS(c ".updated_at") ")"

static const char SQL_CHECKIN_PUT[] =
    "WITH " SQL_ACTOR ", ok AS (SELECT EXISTS (SELECT 1 FROM team_members m, actor"
    " WHERE m.team_id = $4 AND m.user_id = $1 AND m.organisation_id = $2) AS v),"
    " prev AS (SELECT 1 FROM checkins WHERE team_id = $4 AND user_id = $1"
    " AND period = " SQL_THIS_MONTH "),"
    " up AS (INSERT INTO checkins (organisation_id, team_id, user_id, period, absorptie,"
    " verbindend, opleidend, lerend, goes_well, could_be_better, share_text)"
    " SELECT $2, $4, $1, " SQL_THIS_MONTH ", $5, $6, $7, $8, $9, $10, $11 FROM ok WHERE ok.v"
    " ON CONFLICT (team_id, period, user_id) DO UPDATE SET absorptie = excluded.absorptie,"
    " verbindend = excluded.verbindend, opleidend = excluded.opleidend,"
    " lerend = excluded.lerend, goes_well = excluded.goes_well,"
    " could_be_better = excluded.could_be_better, share_text = excluded.share_text,"
    " updated_at = now() RETURNING *)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT ok.v THEN 422"
    " WHEN EXISTS (SELECT 1 FROM prev) THEN 200 ELSE 201 END,"
    " (SELECT " SQL_CHECKIN_JSON("up") " FROM up), NULL,"
    " CASE WHEN NOT ok.v THEN 'not_team_member|team_id is not a team you belong to.' END FROM ok";
/* clang-format on */

/* Reads {absorptie, verbindend, opleidend, lerend} into p[0..3]. */
static void checkin_scores(struct validator *v, struct arena *a, const char **p)
{
    static const char *const names[] = {"absorptie", "verbindend", "opleidend", "lerend", NULL};
    json_t *scores = json_object_get(v->body, "scores");
    if (!json_is_object(scores)) {
        v_error(v, "scores", "must be an object with the four vermogens");
        return;
    }
    struct validator inner;
    v_init(&inner, scores, a);
    v_known_fields(&inner, names);
    for (int i = 0; i < 4; i++) {
        long n = 0;
        if (v_int(&inner, names[i], V_REQUIRED, 1, 10, &n))
            p[i] = arena_printf(a, "%ld", n);
    }
    if (!v_ok(&inner)) {
        json_t *errors = json_object_get(inner.problem, "errors");
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            const char *field = json_string_value(json_object_get(e, "field"));
            v_error(v, arena_printf(a, "scores.%s", field),
                    json_string_value(json_object_get(e, "message")));
        }
        json_decref(inner.problem);
    }
}

void h_checkin_put(struct req *r)
{
    static const char *const fields[] = {"team_id",         "scores",     "goes_well",
                                         "could_be_better", "share_text", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    const char *p[11] = {0};
    api_actor_params(r, p);
    p[3] = v_uuid(&v, "team_id", V_REQUIRED);
    checkin_scores(&v, &r->arena, p + 4);
    p[8] = v_text(&v, "goes_well", V_OPTIONAL, 0, CHECKIN_TEXT_MAX, 1);
    p[9] = v_text(&v, "could_be_better", V_OPTIONAL, 0, CHECKIN_TEXT_MAX, 1);
    int share = 0;
    v_bool(&v, "share_text", V_OPTIONAL, &share);
    p[10] = share ? "true" : "false";
    if (api_reject_invalid(r, &v))
        return;
    req_db(r, SQL_CHECKIN_PUT, 11, p, api_reply_row);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement checkins_statements[] = {
    STATEMENT(SQL_CHECKIN_PUT),
    {NULL, NULL},
};
