/* checkins.c - monthly vermogen check-ins: POST /v1/checkins.
 *
 * A team member scores the team's four vermogens 1-10, optionally with
 * "goes well" / "could be better" text and the choice to share that text
 * anonymously. One check-in per person, team and calendar month (in the
 * organisation's time zone): a second one that month replaces the first
 * (200 instead of 201). Nobody sees a check-in but its author: managers
 * get the month's figures only once it has closed and been published
 * (migrations/0009, summaries.c). */
#include "core/vermogens.h"
#include "db/statements.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "handlers/policy.h"

#define CHECKIN_TEXT_MAX 1000

/* clang-format off */
/* A check-in, as JSON (the answer of SQL_CHECKIN_PUT; the export renders
 * its own rows). */
#define SQL_CHECKIN_JSON(c)                                                                        \
    "json_build_object('team_id', " c ".team_id, 'period', to_char(" c ".period, 'YYYY-MM'),"     \
    " 'scores', json_build_object('absorptie', " c ".absorptie, 'verbindend', " c ".verbindend,"  \
    " 'opleidend', " c ".opleidend, 'lerend', " c ".lerend), 'goes_well', " c ".goes_well,"       \
    " 'could_be_better', " c ".could_be_better, 'share_text', " c ".share_text,"                  \
    " 'created_at', " SQL_TS(c ".created_at") ", 'updated_at', " SQL_TS(c ".updated_at") ")"

/* A team member's check-in for this month, or a new version of it. The
 * month is the current one in the organisation's time zone (month): the
 * month in which the check-in will be published (migrations/0009).
 * $1..$3 the caller, $4 team id, $5..$8 the scores (absorptie, verbindend,
 * opleidend, lerend), $9 goes_well, $10 could_be_better, $11 share_text.
 * Returns (201 | 200 | 401 | 422, check-in JSON, NULL, detail). */
static const char SQL_CHECKIN_PUT[] =
    "WITH " SQL_ACTOR ","
    " month AS (SELECT date_trunc('month', now() AT TIME ZONE o.timezone)::date AS period"
    "           FROM organisations o"
    "           WHERE o.id = $2),"
    " ok AS (SELECT EXISTS (SELECT 1 FROM team_members m, actor"
    "                       WHERE m.team_id = $4 AND m.user_id = $1 AND m.organisation_id = $2)"
    "        AS v),"
    " prev AS (SELECT 1 FROM checkins"
    "          WHERE team_id = $4 AND user_id = $1 AND period = (SELECT period FROM month)),"
    " up AS (INSERT INTO checkins (organisation_id, team_id, user_id, period,"
    "                              absorptie, verbindend, opleidend, lerend,"
    "                              goes_well, could_be_better, share_text)"
    "        SELECT $2, $4, $1, (SELECT period FROM month), $5, $6, $7, $8, $9, $10, $11"
    "        FROM ok WHERE ok.v"
    "        ON CONFLICT (team_id, period, user_id) DO UPDATE"
    "        SET absorptie = excluded.absorptie, verbindend = excluded.verbindend,"
    "            opleidend = excluded.opleidend, lerend = excluded.lerend,"
    "            goes_well = excluded.goes_well, could_be_better = excluded.could_be_better,"
    "            share_text = excluded.share_text, updated_at = now()"
    "        RETURNING *)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT ok.v THEN 422"
    "             WHEN EXISTS (SELECT 1 FROM prev) THEN 200"
    "             ELSE 201 END,"
    "        (SELECT " SQL_CHECKIN_JSON("up") " FROM up),"
    "        NULL,"
    "        CASE WHEN NOT ok.v THEN 'not_team_member|team_id is not a team you belong to.' END"
    " FROM ok";
/* clang-format on */

/* Reads {absorptie, verbindend, opleidend, lerend} as the next four
 * parameters of p (NULL where a score is invalid: v then has the error). */
static void checkin_scores(struct validator *v, struct arena *a, struct api_params *p)
{
    const char *const *names = vermogens;
    json_t *scores = json_object_get(v->body, "scores");
    if (!json_is_object(scores)) {
        v_error(v, "scores", "must be an object with the four vermogens");
        for (int i = 0; i < NVERMOGENS; i++)
            api_param(p, NULL); /* keeps $9.. where they belong */
        return;
    }
    struct validator inner;
    v_init(&inner, scores, a);
    v_known_fields(&inner, names);
    for (int i = 0; i < NVERMOGENS; i++) {
        long n = 0;
        int ok = v_int(&inner, names[i], V_REQUIRED, 1, 10, &n);
        api_param(p, ok ? arena_printf(a, "%ld", n) : NULL);
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
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, v_uuid(&v, "team_id", V_REQUIRED));
    checkin_scores(&v, &r->arena, &p);
    api_param(&p, v_text(&v, "goes_well", V_OPTIONAL, 0, CHECKIN_TEXT_MAX, 1));
    api_param(&p, v_text(&v, "could_be_better", V_OPTIONAL, 0, CHECKIN_TEXT_MAX, 1));
    int share = 0;
    v_bool(&v, "share_text", V_OPTIONAL, &share);
    api_param(&p, share ? "true" : "false");
    if (api_reject_invalid(r, &v))
        return;
    api_db(r, SQL_CHECKIN_PUT, &p, api_reply_row);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement checkins_statements[] = {
    STATEMENT(SQL_CHECKIN_PUT),
    {NULL, NULL},
};
