/* summaries.c - anonymous vermogen summaries for managers:
 * GET /v1/teams/{team_id}/summary, GET /v1/organisation/summary.
 *
 * One statement authorizes the caller and fetches the per-month aggregates
 * (team_month_stats, kept current by triggers) for the months asked plus
 * the month before the first (for its trend), and the texts people chose to
 * share. The cost follows the number of months, never the amount of data
 * stored. Every figure then passes through anonymity.c before it is
 * rendered here; this file decides nothing about who may see what number.
 *
 * Who: a teammanager for the teams they manage; a praktijkopleider or admin
 * for every team of the organisation and for the organisation summary. */
#include "anonymity.h"
#include "api.h"
#include "handlers.h"
#include "policy.h"
#include "splice.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUMMARY_MAX_MONTHS 36

/* clang-format off */
#define SQL_STATS_JSON(s)                                                                          \
    "json_build_object('team_id', " s ".team_id, 'period', to_char(" s ".period, 'YYYY-MM'),"     \
    " 'checkins', " s ".checkins, 'hist', json_build_array(" s ".absorptie, " s ".verbindend, "   \
    s ".opleidend, " s ".lerend), 'reflection_people', " s ".reflection_people,"                  \
    " 'reflections', json_build_array(" s ".refl_absorptie, " s ".refl_verbindend, " s            \
    ".refl_opleidend, " s ".refl_lerend), 'feedback_people', " s ".feedback_people,"              \
    " 'tops', " s ".tops, 'tips', " s ".tips, 'goal_people', " s ".goal_people,"                  \
    " 'goals', json_build_array(" s ".goals_open, " s ".goals_active, " s ".goals_achieved, " s   \
    ".goals_dropped))"

/* Shared texts of the months asked, without authors or dates beyond the
 * month: per month "<key>\t<bytes>\t<the month's [{kind, text}] array as
 * the response carries it>", the key "YYYY-MM" or "<team id> YYYY-MM", the
 * length in UTF-8 bytes (the connections' client_encoding, db.c) so that
 * nothing inside the JSON can be taken for a separator. The service splices these arrays into its response unparsed
 * (splice.c). Each text is shuffled on its own, so a person's two answers are not side
 * by side. The service drops the texts of suppressed months. */
#define SQL_TEXTS(key, team_filter)                                                                \
    "(SELECT string_agg(k || E'\\t' || octet_length(convert_to(v::text, 'UTF8')) || E'\\t' || v::text, '')"          \
    " FROM (SELECT " key " AS k,"                                                                 \
    " json_agg(json_build_object("                                                                \
    "'kind', x.kind, 'text', x.text) ORDER BY random()) AS v FROM checkins c CROSS JOIN LATERAL"  \
    " (VALUES ('goes_well', nullif(c.goes_well, '')), ('could_be_better',"                        \
    " nullif(c.could_be_better, ''))) x(kind, text) WHERE " team_filter " AND c.share_text"       \
    " AND x.text IS NOT NULL AND c.period BETWEEN $4::date + interval '1 month' AND $5::date"     \
    " GROUP BY 1) g)"
#define SQL_TEXT_KEY_MONTH "to_char(c.period, 'YYYY-MM')"
#define SQL_TEXT_KEY_TEAM_MONTH "c.team_id::text || ' ' || to_char(c.period, 'YYYY-MM')"

/* The caller's own check-ins in the range: a figure must rest on k people
 * other than the one reading it, or a manager who checks in could make up
 * the k themselves and subtract their own scores. */
#define SQL_OWN_CHECKINS(filter)                                                                   \
    "(SELECT json_agg(json_build_object('team_id', c.team_id, 'period', to_char(c.period,"        \
    " 'YYYY-MM'))) FROM checkins c WHERE " filter " AND c.user_id = $1"                            \
    " AND c.period BETWEEN $4::date AND $5::date)"

static const char SQL_TEAM_SUMMARY[] =
    "WITH " SQL_ACTOR ", t AS (SELECT t.id FROM teams t, actor WHERE t.id = $6"
    " AND t.organisation_id = $2 AND (" SQL_SEES_ALL_TEAMS " OR EXISTS (SELECT 1"
    " FROM team_members m WHERE m.team_id = t.id AND m.user_id = $1 AND m.role = 'teammanager')))"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM t) THEN 404"
    " ELSE 200 END, NULL, NULL, NULL,"
    " (SELECT anonymity_threshold FROM organisations WHERE id = $2),"
    " (SELECT json_agg(" SQL_STATS_JSON("s") " ORDER BY s.period) FROM team_month_stats s, t"
    " WHERE s.team_id = t.id AND s.period BETWEEN $4::date AND $5::date),"
    " " SQL_TEXTS(SQL_TEXT_KEY_MONTH, "c.team_id = (SELECT id FROM t)") ","
    " " SQL_OWN_CHECKINS("c.team_id = (SELECT id FROM t)");

static const char SQL_ORG_SUMMARY[] =
    "WITH " SQL_ACTOR ", ok AS (SELECT " SQL_SEES_ALL_TEAMS " AS v)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT ok.v THEN 404 ELSE 200 END,"
    " NULL, NULL, NULL, (SELECT anonymity_threshold FROM organisations WHERE id = $2),"
    " (SELECT json_agg(" SQL_STATS_JSON("s") " ORDER BY s.period) FROM team_month_stats s"
    " WHERE ok.v AND s.organisation_id = $2 AND s.period BETWEEN $4::date AND $5::date),"
    " (SELECT json_agg(json_build_object('period', p, 'people', n)) FROM (SELECT"
    " to_char(period, 'YYYY-MM') AS p, count(DISTINCT user_id) AS n FROM checkins"
    " WHERE ok.v AND organisation_id = $2 AND period BETWEEN $4::date AND $5::date"
    " GROUP BY period) d),"
    " (SELECT json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name, t.id)"
    " FROM teams t WHERE ok.v AND t.organisation_id = $2),"
    " " SQL_TEXTS(SQL_TEXT_KEY_TEAM_MONTH, "ok.v AND c.organisation_id = $2") ","
    " " SQL_OWN_CHECKINS("ok.v AND c.organisation_id = $2") " FROM ok";
/* clang-format on */

/* ---- the months asked -------------------------------------------------- */

struct range {
    int first, last; /* month numbers (year * 12 + month - 1) */
};

static int month_parse(const char *s, int *out)
{
    if (strlen(s) != 7 || s[4] != '-')
        return -1;
    char buf[11];
    snprintf(buf, sizeof(buf), "%s-01", s);
    if (!valid_date(buf))
        return -1;
    *out = atoi(s) * 12 + atoi(s + 5) - 1;
    return 0;
}

/* Months are always 1900..2999 here (valid_date and the clock), so the
 * unsigned casts only tell the compiler the field widths. */
static void month_format(int m, char *buf, size_t n)
{
    snprintf(buf, n, "%04u-%02u", (unsigned)(m / 12) % 10000u, (unsigned)(m % 12 + 1) % 100u);
}

/* Reads ?from=&to= (YYYY-MM); defaults to the twelve months up to now. */
static int summary_range(struct req *r, struct range *rg)
{
    const char *from = req_query(r, "from"), *to = req_query(r, "to");
    struct validator v;
    v_init(&v, NULL, &r->arena);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    rg->last = (tm.tm_year + 1900) * 12 + tm.tm_mon;
    if (to && month_parse(to, &rg->last) < 0)
        v_error(&v, "to", "must be a month (YYYY-MM)");
    rg->first = rg->last - 11;
    if (from && month_parse(from, &rg->first) < 0)
        v_error(&v, "from", "must be a month (YYYY-MM)");
    if (v_ok(&v) && (rg->first > rg->last || rg->last - rg->first >= SUMMARY_MAX_MONTHS))
        v_error(&v, "from", "must be at most 36 months before to, and not after it");
    return !api_reject_invalid(r, &v);
}

/* ---- reading the aggregates ------------------------------------------- */

static void ints_from(json_t *arr, int *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = (int)json_integer_value(json_array_get(arr, (size_t)i));
}

static void stats_from_json(json_t *row, struct month_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->present = 1;
    s->checkins = (int)json_integer_value(json_object_get(row, "checkins"));
    json_t *hist = json_object_get(row, "hist");
    for (int v = 0; v < NVERMOGENS; v++)
        ints_from(json_array_get(hist, (size_t)v), s->hist[v], NSCORES);
    s->reflection_people = (int)json_integer_value(json_object_get(row, "reflection_people"));
    ints_from(json_object_get(row, "reflections"), s->refl_by_vermogen, NVERMOGENS);
    s->feedback_people = (int)json_integer_value(json_object_get(row, "feedback_people"));
    s->tops = (int)json_integer_value(json_object_get(row, "tops"));
    s->tips = (int)json_integer_value(json_object_get(row, "tips"));
    s->goal_people = (int)json_integer_value(json_object_get(row, "goal_people"));
    ints_from(json_object_get(row, "goals"), s->goals, 4);
}

/* Adds b's counts to a (for organisation totals). */
static void stats_add(struct month_stats *a, const struct month_stats *b)
{
    a->present |= b->present;
    a->checkins += b->checkins;
    for (int v = 0; v < NVERMOGENS; v++) {
        for (int i = 0; i < NSCORES; i++)
            a->hist[v][i] += b->hist[v][i];
        a->refl_by_vermogen[v] += b->refl_by_vermogen[v];
    }
    a->reflection_people += b->reflection_people;
    a->feedback_people += b->feedback_people;
    a->tops += b->tops;
    a->tips += b->tips;
    a->goal_people += b->goal_people;
    for (int i = 0; i < 4; i++)
        a->goals[i] += b->goals[i];
}

/* ---- rendering ---------------------------------------------------------- */

static json_t *round1(double x)
{
    return json_real(round(x * 100.0) / 100.0);
}

static json_t *render_vermogen(const struct month_stats *cur, const struct month_stats *prev,
                               int prev_visible, int v)
{
    json_t *dist = json_array();
    for (int i = 0; i < NSCORES; i++)
        json_array_append_new(dist, json_integer(cur->hist[v][i]));
    const char *trend = prev_visible ? trend_name(anon_trend(cur->hist[v], prev->hist[v])) : NULL;
    return json_pack("{s:o, s:o, s:o, s:o}", "mean", round1(hist_mean(cur->hist[v])), "median",
                     round1(hist_median(cur->hist[v])), "distribution", dist, "trend",
                     trend ? json_string(trend) : json_null());
}

static json_t *suppressed_block(void)
{
    return json_pack("{s:b}", "suppressed", 1);
}

/* vis[b]: may block b be shown (decided by the caller). */
static json_t *render_activity(const struct month_stats *s, const int vis[NBLOCKS])
{
    json_t *out = json_object();
    json_t *refl = suppressed_block();
    if (vis[BLOCK_REFLECTIONS]) {
        json_t *by = json_object();
        for (int v = 0; v < NVERMOGENS; v++)
            json_object_set_new(by, vermogen_names[v], json_integer(s->refl_by_vermogen[v]));
        json_decref(refl);
        refl = json_pack("{s:o}", "by_vermogen", by);
    }
    json_object_set_new(out, "reflections", refl);
    json_object_set_new(out, "feedback",
                        vis[BLOCK_FEEDBACK]
                            ? json_pack("{s:i, s:i}", "tops", s->tops, "tips", s->tips)
                            : suppressed_block());
    json_object_set_new(out, "goals",
                        vis[BLOCK_GOALS] ? json_pack("{s:i, s:i, s:i, s:i}", "open", s->goals[0],
                                                     "active", s->goals[1], "achieved", s->goals[2],
                                                     "dropped", s->goals[3])
                                         : suppressed_block());
    return out;
}

/* What one month shows. people: distinct contributors other than the
 * reader; a block is shown when its own people reach k too. */
struct period_view {
    int people, prev_people; /* for visibility (reader excluded) */
    int contributors;        /* as printed */
    int blocks[NBLOCKS];
};

static void view_blocks(struct period_view *pv, const struct month_stats *s, int k)
{
    int people[NBLOCKS];
    stats_block_people(s, people);
    for (int b = 0; b < NBLOCKS; b++)
        pv->blocks[b] = anon_visible(pv->people, k) && anon_visible(people[b], k);
}

/* One month: {period, suppressed: true} below k, else every figure. */
static json_t *render_period(const char *period, const struct month_stats *cur,
                             const struct month_stats *prev, const struct period_view *pv, int k,
                             json_t *texts)
{
    if (!anon_visible(pv->people, k))
        return json_pack("{s:s, s:b}", "period", period, "suppressed", 1);
    int prev_visible = anon_visible(pv->prev_people, k);
    json_t *verm = json_object();
    for (int v = 0; v < NVERMOGENS; v++)
        json_object_set_new(verm, vermogen_names[v], render_vermogen(cur, prev, prev_visible, v));
    json_t *out = render_activity(cur, pv->blocks);
    json_object_set_new(out, "period", json_string(period));
    json_object_set_new(out, "suppressed", json_false());
    json_object_set_new(out, "contributors", json_integer(pv->contributors));
    json_object_set_new(out, "vermogens", verm);
    json_object_set_new(out, "texts", texts ? json_incref(texts) : json_array());
    return out;
}

/* Did the reader check in to team (NULL: any team) in period? */
static int own_checkin(json_t *own, const char *period, const char *team)
{
    size_t i;
    json_t *o;
    json_array_foreach(own, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "period")), period) == 0 &&
            (!team || strcmp(json_string_value(json_object_get(o, "team_id")), team) == 0))
            return 1;
    }
    return 0;
}

/* The key of a month in the texts and rows indexes: "YYYY-MM", or
 * "<team id> YYYY-MM" when team is not NULL. Returns buf. */
static const char *month_key(char *buf, size_t n, const char *team, const char *period)
{
    if (!team)
        return period;
    snprintf(buf, n, "%s %s", team, period);
    return buf;
}

/* The statement's texts column (see SQL_TEXTS) as an object from month
 * key to a placeholder for that month's array. The arrays stay in the
 * PGresult, which outlives the reply. A new object. */
static json_t *texts_index(struct splice *sp, const char *raw)
{
    json_t *ix = json_object();
    while (raw && *raw) {
        const char *tab = strchr(raw, '\t');
        char *end = NULL;
        unsigned long len = tab ? strtoul(tab + 1, &end, 10) : 0;
        const char *v = end ? end + 1 : NULL;
        /* Anything but what SQL_TEXTS makes: no texts at all rather than
         * one month's texts under another's key. */
        if (!v || tab - raw >= 80 || *end != '\t' || len < 2 || strnlen(v, len) < len ||
            v[0] != '[' || v[len - 1] != ']') {
            json_object_clear(ix);
            break;
        }
        char key[80];
        memcpy(key, raw, (size_t)(tab - raw));
        key[tab - raw] = '\0';
        json_t *ph = splice_placeholder(sp, v, len);
        if (!ph) {
            json_object_clear(ix);
            break;
        }
        json_object_set_new(ix, key, ph);
        raw = v + len;
    }
    return ix;
}

/* The shared texts of one period (and team, when team is not NULL): a
 * placeholder for the array the statement made, or an empty array. A new
 * reference. */
static json_t *texts_of(json_t *all, const char *period, const char *team)
{
    char key[80];
    json_t *t = json_object_get(all, month_key(key, sizeof(key), team, period));
    return t ? json_incref(t) : json_array();
}

/* The aggregate rows keyed as month_key() does (by_team or not), so each
 * month of each team is one lookup: the organisation summary asks for
 * every team's every month, and a scan per lookup made that quadratic in
 * the number of teams. A new object. */
static json_t *rows_index(json_t *rows, int by_team)
{
    json_t *ix = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *period = json_string_value(json_object_get(row, "period"));
        const char *team = json_string_value(json_object_get(row, "team_id"));
        if (!period || !team)
            continue;
        char key[80];
        json_object_set(ix, month_key(key, sizeof(key), by_team ? team : NULL, period), row);
    }
    return ix;
}

/* The month numbered m of team (NULL: the only team) from a rows index. */
static void stats_of(json_t *ix, int m, const char *team, struct month_stats *out)
{
    char period[16], key[80];
    month_format(m, period, sizeof(period));
    memset(out, 0, sizeof(*out));
    json_t *row = json_object_get(ix, month_key(key, sizeof(key), team, period));
    if (row)
        stats_from_json(row, out);
}

/* The month of one team as this reader may see it. */
static void team_view(struct period_view *pv, const struct month_stats *cur,
                      const struct month_stats *prev, json_t *own, const char *team, int m, int k)
{
    char period[16], before[16];
    month_format(m, period, sizeof(period));
    month_format(m - 1, before, sizeof(before));
    pv->contributors = cur->checkins;
    pv->people = cur->checkins - own_checkin(own, period, team);
    pv->prev_people = prev->checkins - own_checkin(own, before, team);
    view_blocks(pv, cur, k);
}

/* Every period of one team. */
static json_t *team_periods(json_t *ix, json_t *texts, json_t *own, const char *team,
                            const struct range *rg, int k)
{
    json_t *periods = json_array();
    struct month_stats prev, cur;
    stats_of(ix, rg->first - 1, team, &prev);
    for (int m = rg->first; m <= rg->last; m++) {
        char period[16];
        month_format(m, period, sizeof(period));
        stats_of(ix, m, team, &cur);
        struct period_view pv;
        team_view(&pv, &cur, &prev, own, team, m, k);
        json_t *t = texts_of(texts, period, team);
        json_array_append_new(periods, render_period(period, &cur, &prev, &pv, k, t));
        json_decref(t);
        prev = cur;
    }
    return periods;
}

/* The statement's JSON column c, parsed (an empty array when NULL). */
static json_t *column_json(PGresult *res, int c)
{
    json_t *j = PQgetisnull(res, 0, c) ? NULL : json_loads(PQgetvalue(res, 0, c), 0, NULL);
    return j ? j : json_array();
}

/* The statement's raw text column c, or NULL. */
static const char *column_text(PGresult *res, int c)
{
    return PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);
}

/* Sends out with the texts spliced in; frees out and sp. */
static void summary_reply(struct req *r, json_t *out, struct splice *sp)
{
    char *body = splice_dump(sp, out);
    json_decref(out);
    splice_free(sp);
    if (!body)
        abort(); /* out of memory, as everywhere else */
    req_reply_text(r, 200, "application/json", body);
    free(body);
}

static int summary_status(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK || PQntuples(res->res) != 1) {
        req_db_failed(r, res);
        return 0;
    }
    if (atoi(PQgetvalue(res->res, 0, 0)) != 200) {
        api_reply_row(r, res);
        return 0;
    }
    return 1;
}

static void team_summary_done(struct req *r, struct db_result *res)
{
    if (!summary_status(r, res))
        return;
    const struct range *rg = r->state;
    int k = anon_k(atoi(PQgetvalue(res->res, 0, 4)));
    struct splice *sp = splice_new();
    if (!sp)
        abort();
    json_t *rows = column_json(res->res, 5), *texts = texts_index(sp, column_text(res->res, 6));
    json_t *own = column_json(res->res, 7), *ix = rows_index(rows, 0);
    const char *team = req_param(r, 0);
    json_t *out = json_pack("{s:s, s:i, s:o}", "team_id", team, "k", k, "periods",
                            team_periods(ix, texts, own, NULL, rg, k));
    json_decref(ix);
    json_decref(rows);
    json_decref(texts);
    json_decref(own);
    summary_reply(r, out, sp);
}

/* Organisation totals per month, under complementary suppression: for the
 * check-ins and for each activity block, the total is shown only when the
 * teams whose figure is hidden hold 0 or at least k people together. */
static json_t *org_total_period(json_t *ix, json_t *teams, json_t *people, json_t *own, int m,
                                int k)
{
    char period[16];
    month_format(m, period, sizeof(period));
    int n = (int)json_array_size(teams);
    int *counts = calloc((size_t)n + 1, sizeof(int)), *shown = calloc((size_t)n + 1, sizeof(int));
    int *bpeople[NBLOCKS], *bshown[NBLOCKS];
    for (int b = 0; b < NBLOCKS; b++) {
        bpeople[b] = calloc((size_t)n + 1, sizeof(int));
        bshown[b] = calloc((size_t)n + 1, sizeof(int));
    }
    struct month_stats total, one, none;
    memset(&total, 0, sizeof(total));
    memset(&none, 0, sizeof(none));
    for (int i = 0; i < n; i++) {
        const char *team =
            json_string_value(json_object_get(json_array_get(teams, (size_t)i), "id"));
        stats_of(ix, m, team, &one);
        struct period_view tv;
        team_view(&tv, &one, &none, own, team, m, k);
        counts[i] = tv.people;
        shown[i] = anon_visible(tv.people, k);
        int bp[NBLOCKS];
        stats_block_people(&one, bp);
        for (int b = 0; b < NBLOCKS; b++) {
            bpeople[b][i] = bp[b];
            bshown[b][i] = tv.blocks[b];
        }
        stats_add(&total, &one);
    }
    struct period_view pv = {0};
    size_t i;
    json_t *t;
    json_array_foreach(people, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "period")), period) == 0)
            pv.contributors = (int)json_integer_value(json_object_get(t, "people"));
    }
    pv.people = pv.contributors - own_checkin(own, period, NULL);
    if (!anon_total_visible(counts, shown, n, k))
        pv.people = 0; /* hides the whole month */
    for (int b = 0; b < NBLOCKS; b++) {
        pv.blocks[b] = anon_total_visible(bpeople[b], bshown[b], n, k);
        free(bpeople[b]);
        free(bshown[b]);
    }
    free(counts);
    free(shown);
    /* Trends of totals would need the previous month's complement too;
     * the organisation view leaves them to the team views. */
    return render_period(period, &total, &none, &pv, k, NULL);
}

static void org_summary_done(struct req *r, struct db_result *res)
{
    if (!summary_status(r, res))
        return;
    const struct range *rg = r->state;
    int k = anon_k(atoi(PQgetvalue(res->res, 0, 4)));
    json_t *rows = column_json(res->res, 5), *people = column_json(res->res, 6);
    struct splice *sp = splice_new();
    if (!sp)
        abort();
    json_t *teams = column_json(res->res, 7), *texts = texts_index(sp, column_text(res->res, 8));
    json_t *own = column_json(res->res, 9), *ix = rows_index(rows, 1);
    json_t *out_teams = json_array(), *totals = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(teams, i, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        json_array_append_new(out_teams, json_pack("{s:s, s:O, s:o}", "team_id", id, "name",
                                                   json_object_get(t, "name"), "periods",
                                                   team_periods(ix, texts, own, id, rg, k)));
    }
    for (int m = rg->first; m <= rg->last; m++)
        json_array_append_new(totals, org_total_period(ix, teams, people, own, m, k));
    json_t *out = json_pack("{s:s, s:i, s:o, s:{s:o}}", "organisation_id", r->actor.org_id, "k", k,
                            "teams", out_teams, "total", "periods", totals);
    json_decref(ix);
    json_decref(rows);
    json_decref(people);
    json_decref(teams);
    json_decref(texts);
    json_decref(own);
    summary_reply(r, out, sp);
}

/* Runs sql for the range asked: $4 is the month before the first (for its
 * trend), $5 the last, $6 the team (team summaries only). */
static void summary_run(struct req *r, const char *sql, const char *team, req_db_continue next)
{
    struct range *rg = arena_alloc(&r->arena, sizeof(*rg));
    if (!summary_range(r, rg))
        return;
    r->state = rg;
    char first[16], last[16];
    month_format(rg->first - 1, first, sizeof(first));
    month_format(rg->last, last, sizeof(last));
    const char *p[6];
    api_actor_params(r, p);
    p[3] = arena_printf(&r->arena, "%s-01", first);
    p[4] = arena_printf(&r->arena, "%s-01", last);
    p[5] = team;
    req_db(r, sql, team ? 6 : 5, p, next);
}

void h_team_summary(struct req *r)
{
    const char *team = api_uuid_param(r, 0);
    if (team)
        summary_run(r, SQL_TEAM_SUMMARY, team, team_summary_done);
}

void h_org_summary(struct req *r)
{
    summary_run(r, SQL_ORG_SUMMARY, NULL, org_summary_done);
}
