/* summaries.c - anonymous vermogen summaries for managers:
 * GET /v1/teams/{team_id}/summary, GET /v1/organisation/summary.
 *
 * Managers read published months only: frozen snapshots written once,
 * after a month closed (publish.c, migrations/0009). A summary never
 * reads live check-ins or reflections for its figures, so no write,
 * edit, erasure or setting change can move a number between two reads.
 * One statement authorizes the caller and fetches, for the months asked
 * plus the month before the first (for its trend): which months are
 * published, their figures rows, the organisation's k now, and the
 * reader's role history (could they have contributed to a month?,
 * which only ever hides more). Every block then passes through anonymity.c;
 * this file decides nothing about who may see what number.
 *
 * A team summary is asked for often (phones poll it) and changes rarely,
 * so it is read in two steps: a key statement, the same without the
 * figures, returns everything that decides the answer's bytes (see
 * summary_key); its ETag answers If-None-Match with 304 at once, and an
 * answer this process rendered before under the same key is sent as it
 * was. Only for a new key does the full statement read the figures and
 * the answer get rendered (and kept).
 *
 * A month is one of three shapes: {period, published: false} (open, or
 * not yet due); {period, published: true, suppressed: true}; or every
 * figure. Who: a teammanager for the teams they manage; a praktijkopleider
 * or admin for every team and for the organisation summary. */
#include "db/statements.h"
#include "domain/anonymity.h"
#include "http/api.h"
#include "handlers/handlers.h"
#include "handlers/policy.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUMMARY_MAX_MONTHS 36

/* clang-format off */
#define SQL_FIGURES_JSON(f)                                                                        \
    "json_build_object('team_id', " f ".team_id, 'period', to_char(" f ".period, 'YYYY-MM'),"      \
    " 'people', json_build_array(" f ".people, " f ".reflection_people, " f ".feedback_people, "   \
    f ".goal_people, " f ".text_people), 'hidden', " f ".hidden_people, 'hist', " f ".hist,"       \
    " 'by_vermogen', " f ".by_vermogen, 'tops', " f ".tops, 'tips', " f ".tips,"                  \
    " 'goals', " f ".goals, 'texts', " f ".texts)"

/* Epoch microseconds of a timestamp, exact. */
#define SQL_EPOCH_US(t) "(extract(epoch FROM " t ") * 1000000)::int8"

/* The published months of the range, one {month, k, at, start} each (plain
 * integers: this runs on every read): the month number (year * 12 + month
 * - 1), the k it was published at, when, and when the month began in the
 * organisation's time zone (for the reader rule below). */
#define SQL_PUBLISHED_MONTHS                                                                       \
    "(SELECT array_agg(ARRAY[extract(year FROM pp.period)::int8 * 12"                              \
    " + extract(month FROM pp.period)::int8 - 1, pp.k, " SQL_EPOCH_US("pp.published_at") ","      \
    " " SQL_EPOCH_US("pp.period::timestamp AT TIME ZONE o.timezone") "] ORDER BY pp.period)"      \
    " FROM published_periods pp JOIN organisations o ON o.id = pp.organisation_id"                 \
    " WHERE pp.organisation_id = $2 AND pp.period BETWEEN $4::date AND $5::date)"

/* The reader: when their account was made, and since when they have held
 * the role that lets them read these figures (`since`: an admin's or
 * praktijkopleider's organisation roles, or team's teammanager role).
 * Neither is something the reader can change themselves. */
#define SQL_READER(team_role_since)                                                                \
    "(SELECT ARRAY[" SQL_EPOCH_US("u.created_at") ", " SQL_EPOCH_US(                             \
    "least(CASE WHEN u.roles && ARRAY['admin','praktijkopleider']"                                \
    " THEN u.roles_since END, " team_role_since ")") "] FROM users u WHERE u.id = $1)"
#define SQL_TEAMMANAGER_SINCE                                                                      \
    "(SELECT m.role_since FROM team_members m WHERE m.team_id = $6 AND m.user_id = $1"            \
    " AND m.role = 'teammanager')"

/* A team summary: status, k now, published months, figures (the column
 * figures), the reader. */
#define SQL_TEAM_SUMMARY_OF(figures)                                                               \
    "WITH " SQL_ACTOR ", t AS (SELECT t.id FROM teams t, actor WHERE t.id = $6"                    \
    " AND t.organisation_id = $2 AND (" SQL_SEES_ALL_TEAMS " OR EXISTS (SELECT 1"                 \
    " FROM team_members m WHERE m.team_id = t.id AND m.user_id = $1 AND m.role = 'teammanager')))" \
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT EXISTS (SELECT 1 FROM t) THEN 404"       \
    " ELSE 200 END, NULL, NULL, NULL,"                                                            \
    " (SELECT anonymity_threshold FROM organisations WHERE id = $2),"                              \
    " " SQL_PUBLISHED_MONTHS ", " figures ", " SQL_READER(SQL_TEAMMANAGER_SINCE)

static const char SQL_TEAM_SUMMARY[] = SQL_TEAM_SUMMARY_OF(
    "(SELECT json_agg(" SQL_FIGURES_JSON("f") ") FROM published_figures f, t"
    " WHERE f.organisation_id = $2 AND f.team_id = t.id AND f.period BETWEEN $4::date AND $5::date)");

/* The same without the figures: everything that decides which bytes the
 * answer has (summary_key), so a known answer needs no figures read. */
static const char SQL_TEAM_SUMMARY_KEY[] = SQL_TEAM_SUMMARY_OF("NULL");

static const char SQL_ORG_SUMMARY[] =
    "WITH " SQL_ACTOR ", ok AS (SELECT " SQL_SEES_ALL_TEAMS " AS v)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 WHEN NOT ok.v THEN 404 ELSE 200 END,"
    " NULL, NULL, NULL, (SELECT anonymity_threshold FROM organisations WHERE id = $2),"
    " " SQL_PUBLISHED_MONTHS ","
    " (SELECT json_agg(" SQL_FIGURES_JSON("f") ") FROM published_figures f"
    " WHERE ok.v AND f.organisation_id = $2 AND f.period BETWEEN $4::date AND $5::date),"
    " " SQL_READER("NULL") ","
    " (SELECT json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name, t.id)"
    " FROM teams t WHERE ok.v AND t.organisation_id = $2)"
    " FROM ok";
/* clang-format on */

/* The columns both statements share. */
enum { COL_K = 4, COL_PUBLISHED, COL_FIGURES, COL_READER, COL_TEAMS };

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

/* ---- what the statement returned ---------------------------------------- */

/* A month of the range as published_periods has it. */
struct month_pub {
    int published, k;
    long long at, start; /* epoch microseconds */
};

/* Everything one summary reads. Figures are indexed by "<team id>
 * YYYY-MM" (the total's under "- YYYY-MM"). */
struct summary_data {
    int k;                                           /* the organisation's k now */
    int first;                                       /* the month of months[0] */
    struct month_pub months[SUMMARY_MAX_MONTHS + 1]; /* first .. first + 36 */
    json_t *figures;                                 /* key -> figures row */
    long long reader_created;                        /* epoch microseconds */
    long long reader_since; /* since when the reader holds a reading role */
    json_t *teams;          /* [{id, name}] (organisation summary) */
};

/* The one place that reads the statement's row (through the api_col accessors). */
struct summary_row {
    int status;
    const char *k;                  /* the organisation's k now */
    const char *published, *reader; /* int8 arrays, or NULL */
    const char *figures;            /* JSON, or NULL */
    const char *teams;              /* JSON, or NULL */
    int has_teams;                  /* the organisation summary's column */
};

static int summary_row_read(struct db_result *res, struct summary_row *row)
{
    if (res->status != DB_OK || api_rows(res) != 1 || api_cols(res) <= COL_READER)
        return -1;
    int ncols = api_cols(res);
    const char *col[COL_TEAMS + 1] = {NULL};
    for (int c = 0; c <= COL_TEAMS && c < ncols; c++)
        col[c] = api_col_opt(res, 0, c);
    row->status = col[0] ? atoi(col[0]) : 0;
    row->k = col[COL_K];
    row->published = col[COL_PUBLISHED];
    row->figures = col[COL_FIGURES];
    row->reader = col[COL_READER];
    row->teams = col[COL_TEAMS];
    row->has_teams = ncols > COL_TEAMS;
    return 0;
}

/* A JSON column, parsed (an empty array when NULL). */
static json_t *column_json(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? j : json_array();
}

static void figures_index(struct summary_data *d, json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *team = json_string_value(json_object_get(row, "team_id"));
        const char *period = json_string_value(json_object_get(row, "period"));
        if (!period)
            continue;
        char key[80];
        snprintf(key, sizeof(key), "%s %s", team ? team : "-", period);
        json_object_set(d->figures, key, row);
    }
}

/* The integers of a PostgreSQL int8 array's text ("{{1,2},{3,NULL}}"), in
 * order, at most max; a NULL reads as null_as. Returns how many. */
static int int8s_read(const char *s, long long *out, int max, long long null_as)
{
    int n = 0;
    while (s && *s && n < max) {
        if (*s == '-' || (*s >= '0' && *s <= '9')) {
            char *end;
            out[n++] = strtoll(s, &end, 10);
            s = end;
        } else if (strncmp(s, "NULL", 4) == 0) {
            out[n++] = null_as;
            s += 4;
        } else {
            s++;
        }
    }
    return n;
}

/* The published months, each {month, k, at, start}, into d->months. */
static void published_read(struct summary_data *d, const char *text)
{
    long long v[4 * (SUMMARY_MAX_MONTHS + 1)];
    int n = int8s_read(text, v, (int)(sizeof(v) / sizeof(v[0])), 0);
    for (int i = 0; i + 3 < n; i += 4) {
        long long m = v[i] - d->first;
        if (m < 0 || m > SUMMARY_MAX_MONTHS)
            continue;
        d->months[m] = (struct month_pub){1, (int)v[i + 1], v[i + 2], v[i + 3]};
    }
}

/* first: the first month the statement asked for (the one before the range). */
static void summary_data_load(struct summary_data *d, const struct summary_row *row, int first)
{
    memset(d, 0, sizeof(*d));
    d->k = anon_k(row->k ? atoi(row->k) : 0);
    d->first = first;
    published_read(d, row->published);
    d->figures = json_object();
    json_t *figures = column_json(row->figures);
    figures_index(d, figures);
    json_decref(figures);
    /* No reading role at all cannot happen once the statement let the
     * reader in; treat it as "just now", the cautious end. */
    long long reader[2] = {0, LLONG_MAX};
    int8s_read(row->reader, reader, 2, LLONG_MAX);
    d->reader_created = reader[0];
    d->reader_since = reader[1];
    d->teams = row->has_teams ? column_json(row->teams) : NULL;
}

/* Month m as published, or NULL when it is not (or outside the range). */
static const struct month_pub *month_of(const struct summary_data *d, int m)
{
    int i = m - d->first;
    if (i < 0 || i > SUMMARY_MAX_MONTHS || !d->months[i].published)
        return NULL;
    return &d->months[i];
}

static void summary_data_free(struct summary_data *d)
{
    json_decref(d->figures);
    json_decref(d->teams);
}

/* ---- one figures row -------------------------------------------------- */

/* Reads the n integers of arr into out; returns whether arr held them. */
static int ints_from(json_t *arr, int *out, int n)
{
    if (!json_is_array(arr) || json_array_size(arr) != (size_t)n)
        return 0;
    for (int i = 0; i < n; i++)
        out[i] = (int)json_integer_value(json_array_get(arr, (size_t)i));
    return 1;
}

static void published_from_json(json_t *row, int k, struct published *p)
{
    memset(p, 0, sizeof(*p));
    p->k = k;
    if (!row)
        return;
    p->present = ints_from(json_object_get(row, "people"), p->people, NBLOCKS);
    ints_from(json_object_get(row, "hidden"), p->hidden, NBLOCKS - 1);
    p->stored[BLOCK_CHECKINS] =
        ints_from(json_object_get(row, "hist"), &p->hist[0][0], NVERMOGENS * NSCORES);
    p->stored[BLOCK_REFLECTIONS] =
        ints_from(json_object_get(row, "by_vermogen"), p->by_vermogen, NVERMOGENS);
    json_t *tops = json_object_get(row, "tops"), *tips = json_object_get(row, "tips");
    p->stored[BLOCK_FEEDBACK] = json_is_integer(tops) && json_is_integer(tips);
    p->tops = (int)json_integer_value(tops);
    p->tips = (int)json_integer_value(tips);
    p->stored[BLOCK_GOALS] = ints_from(json_object_get(row, "goals"), p->goals, NSTATUSES);
    p->stored[BLOCK_TEXTS] = json_is_array(json_object_get(row, "texts"));
}

/* The month m of team (NULL: the organisation total) as published, and
 * whether the month is published at all. */
static int published_of(const struct summary_data *d, const char *team, int m,
                        struct published *out, json_t **row)
{
    char period[16], key[80];
    month_format(m, period, sizeof(period));
    const struct month_pub *pub = month_of(d, m);
    snprintf(key, sizeof(key), "%s %s", team ? team : "-", period);
    *row = json_object_get(d->figures, key);
    published_from_json(pub ? *row : NULL, pub ? pub->k : 0, out);
    return pub != NULL;
}

/* The reader of month m. They may have a counted contribution in it when
 * they did not yet hold their reading role when the month began (rows
 * written while holding it never count) and their account existed before
 * it was published. Only the reader's role history decides, never data
 * the reader could change, so no edit of theirs moves what they see. */
static void reader_of(const struct summary_data *d, int m, struct reader *rd)
{
    const struct month_pub *pub = month_of(d, m);
    rd->k = d->k;
    rd->contributed = pub && pub->start < d->reader_since && d->reader_created < pub->at;
}

/* ---- rendering ---------------------------------------------------------- */

static json_t *round2(double x)
{
    return json_real(round(x * 100.0) / 100.0);
}

static json_t *render_vermogen(const struct published *cur, const struct published *prev,
                               int prev_shown, int v)
{
    if (!anon_distribution_shown(cur->hist[v]))
        return json_pack("{s:b}", "suppressed", 1);
    prev_shown = prev_shown && anon_distribution_shown(prev->hist[v]);
    json_t *dist = json_array();
    for (int i = 0; i < NSCORES; i++)
        json_array_append_new(dist, json_integer(cur->hist[v][i]));
    const char *trend = prev_shown ? trend_name(anon_trend(cur->hist[v], prev->hist[v])) : NULL;
    return json_pack("{s:o, s:o, s:o, s:o}", "mean", round2(hist_mean(cur->hist[v])), "median",
                     round2(hist_median(cur->hist[v])), "distribution", dist, "trend",
                     trend ? json_string(trend) : json_null());
}

static json_t *suppressed_block(void)
{
    return json_pack("{s:b}", "suppressed", 1);
}

static json_t *render_reflections(const struct published *p)
{
    json_t *by = json_object();
    for (int v = 0; v < NVERMOGENS; v++)
        json_object_set_new(by, vermogens[v], json_integer(p->by_vermogen[v]));
    return json_pack("{s:o}", "by_vermogen", by);
}

/* The activity blocks of p; shown[b] says which this reader may see. */
static void render_activity(json_t *out, const struct published *p, const int shown[NBLOCKS])
{
    json_object_set_new(out, "reflections",
                        shown[BLOCK_REFLECTIONS] ? render_reflections(p) : suppressed_block());
    json_object_set_new(out, "feedback",
                        shown[BLOCK_FEEDBACK]
                            ? json_pack("{s:i, s:i}", "tops", p->tops, "tips", p->tips)
                            : suppressed_block());
    json_object_set_new(out, "goals",
                        shown[BLOCK_GOALS] ? json_pack("{s:i, s:i, s:i, s:i}", "open", p->goals[0],
                                                       "active", p->goals[1], "achieved",
                                                       p->goals[2], "dropped", p->goals[3])
                                           : suppressed_block());
}

/* One month in one of its three shapes. prev_shown: may the previous
 * month's check-ins be compared with (for the trends). texts: the row's
 * texts, shown when shown[BLOCK_TEXTS]. */
static json_t *render_period(int m, int published, const struct published *cur,
                             const struct published *prev, int prev_shown, const int shown[NBLOCKS],
                             json_t *texts)
{
    char period[16];
    month_format(m, period, sizeof(period));
    if (!published)
        return json_pack("{s:s, s:b}", "period", period, "published", 0);
    if (!shown[BLOCK_CHECKINS])
        return json_pack("{s:s, s:b, s:b}", "period", period, "published", 1, "suppressed", 1);
    json_t *verm = json_object();
    for (int v = 0; v < NVERMOGENS; v++)
        json_object_set_new(verm, vermogens[v], render_vermogen(cur, prev, prev_shown, v));
    json_t *out =
        json_pack("{s:s, s:b, s:b, s:i, s:o}", "period", period, "published", 1, "suppressed", 0,
                  "contributors", cur->people[BLOCK_CHECKINS], "vermogens", verm);
    render_activity(out, cur, shown);
    json_object_set_new(out, "texts",
                        shown[BLOCK_TEXTS] && json_is_array(texts) ? json_incref(texts)
                                                                   : json_array());
    return out;
}

/* Every month of one team, as this reader may see it. */
static json_t *team_periods(const struct summary_data *d, const char *team, const struct range *rg)
{
    json_t *periods = json_array(), *row;
    struct published prev, cur;
    struct reader rd;
    published_of(d, team, rg->first - 1, &prev, &row);
    reader_of(d, rg->first - 1, &rd);
    int prev_shown = anon_block_shown(&prev, BLOCK_CHECKINS, &rd);
    for (int m = rg->first; m <= rg->last; m++) {
        int published = published_of(d, team, m, &cur, &row);
        reader_of(d, m, &rd);
        int shown[NBLOCKS];
        for (int b = 0; b < NBLOCKS; b++)
            shown[b] = anon_block_shown(&cur, b, &rd);
        json_array_append_new(periods, render_period(m, published, &cur, &prev, prev_shown, shown,
                                                     json_object_get(row, "texts")));
        prev = cur;
        prev_shown = shown[BLOCK_CHECKINS];
    }
    return periods;
}

/* The organisation total of month m, next to every team's. */
static json_t *total_period(const struct summary_data *d, int m)
{
    size_t n = json_array_size(d->teams);
    struct published total, *teams = calloc(n + 1, sizeof(*teams));
    struct reader rd, *readers = calloc(n + 1, sizeof(*readers));
    if (!teams || !readers)
        abort(); /* out of memory, as everywhere else */
    json_t *row;
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(d->teams, i), "id"));
        published_of(d, id, m, &teams[i], &row);
        reader_of(d, m, &readers[i]);
    }
    int published = published_of(d, NULL, m, &total, &row);
    reader_of(d, m, &rd);
    int shown[NBLOCKS];
    for (int b = 0; b < NBLOCKS; b++)
        shown[b] = b != BLOCK_TEXTS &&
                   anon_total_block_shown(&total, teams, readers, (int)n, (enum block)b, &rd);
    free(teams);
    free(readers);
    /* Trends of totals would need the previous month's complement too;
     * the organisation view leaves them to the team views. */
    return render_period(m, published, &total, &total, 0, shown, NULL);
}

/* ---- what identifies a team summary's bytes ---------------------------- */

/* Bumped whenever the rendering below changes its output, so no cached
 * answer or ETag outlives the code that made it. */
#define SUMMARY_RENDERING "r1"

/* A team summary's bytes are a function of: the team as asked, the range,
 * the k now, and for every month from the one before the first (its
 * trend) to the last whether it is published, which publication it is
 * (its k and time: published figures never change, so these name them),
 * and whether this reader may have contributed to it. That is everything
 * render_period and anonymity.c read, and each of it comes from the
 * statement's snapshot on every request. The key writes them all out;
 * NULL when it would not fit (the caller then renders without caching). */
static char *summary_key(struct req *r, const struct summary_data *d, const char *team,
                         const struct range *rg)
{
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), SUMMARY_RENDERING " %s %d..%d k%d", team,
                                rg->first, rg->last, d->k);
    for (int m = rg->first - 1; m <= rg->last && n < sizeof(buf); m++) {
        const struct month_pub *pub = month_of(d, m);
        struct reader rd;
        reader_of(d, m, &rd);
        if (pub)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %d@%lld/%d", pub->k, pub->at,
                                  rd.contributed);
        else
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, " -");
    }
    return n < sizeof(buf) ? arena_strdup(&r->arena, buf) : NULL;
}

/* FNV-1a, 64 bits, of a key. */
static unsigned long long key_hash(const char *s)
{
    unsigned long long h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* The ETag names the key, not the bytes: the same key always renders the
 * same bytes (rendering is deterministic and reads only what the key
 * names), so it is a strong ETag, and known without rendering. */
static const char *summary_etag(struct req *r, const char *key)
{
    return arena_printf(&r->arena, "\"s%016llx\"", key_hash(key));
}

/* ---- answers already rendered ---------------------------------------- */

/* Team summaries rendered in this process, by key, shared by the
 * workers. Nothing here can go stale: a key names every input of the
 * bytes, so a change of k, of a reader's roles or a new publication
 * makes a new key, and another instance renders the same bytes for the
 * same key from the same frozen rows. Set-associative (CACHE_WAYS per
 * set, the least recently used replaced) and bounded in bytes: the kept
 * answers total at most CACHE_BYTES (a 24-month answer with its texts is
 * a few hundred kB; one over CACHE_BODY_MAX is rendered on every read, as
 * before). Entries live until replaced; the process's exit releases the
 * rest. */
#define CACHE_SETS     64
#define CACHE_WAYS     4
#define CACHE_BYTES    (24u << 20)
#define CACHE_BODY_MAX (CACHE_BYTES / 16)

struct cached {
    unsigned long long hash, used;
    char *key, *body;
    size_t size;
};

static struct cached cache[CACHE_SETS][CACHE_WAYS];
static unsigned long long cache_clock;
static size_t cache_bytes; /* sum of the kept answers' sizes */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* The answer under key, copied into r's arena; NULL when not cached. */
static const char *cache_get(struct req *r, const char *key, unsigned long long h)
{
    const char *found = NULL;
    if (pthread_mutex_lock(&cache_lock) != 0)
        return NULL;
    struct cached *set = cache[h % CACHE_SETS];
    for (int i = 0; i < CACHE_WAYS && !found; i++)
        if (set[i].key && set[i].hash == h && strcmp(set[i].key, key) == 0) {
            set[i].used = ++cache_clock;
            found = arena_strdup(&r->arena, set[i].body);
        }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

static void cache_drop(struct cached *c)
{
    cache_bytes -= c->size;
    free(c->key);
    free(c->body);
    *c = (struct cached){0};
}

/* Drops the least recently used answers until size more bytes fit. */
static void cache_make_room(size_t size)
{
    while (cache_bytes + size > CACHE_BYTES) {
        struct cached *lru = NULL;
        for (int s = 0; s < CACHE_SETS; s++)
            for (int i = 0; i < CACHE_WAYS; i++)
                if (cache[s][i].key && (!lru || cache[s][i].used < lru->used))
                    lru = &cache[s][i];
        if (!lru)
            return;
        cache_drop(lru);
    }
}

/* The slot for key in its set: its own, an empty one, or the least
 * recently used. */
static struct cached *cache_slot(const char *key, unsigned long long h)
{
    struct cached *set = cache[h % CACHE_SETS], *victim = &set[0];
    for (int i = 0; i < CACHE_WAYS; i++) {
        if (set[i].key && set[i].hash == h && strcmp(set[i].key, key) == 0)
            return &set[i]; /* rendered twice at once: same bytes */
        if (set[i].used < victim->used)
            victim = &set[i];
    }
    return victim;
}

static void cache_put(const char *key, unsigned long long h, const char *body)
{
    size_t size = strlen(key) + strlen(body) + 2;
    if (size > CACHE_BODY_MAX)
        return;
    char *k = strdup(key), *b = strdup(body);
    if (!k || !b)
        abort(); /* out of memory, as everywhere else */
    if (pthread_mutex_lock(&cache_lock) != 0) {
        free(k);
        free(b);
        return;
    }
    struct cached *slot = cache_slot(key, h);
    if (slot->key)
        cache_drop(slot);
    cache_make_room(size);
    *slot = (struct cached){.hash = h, .used = ++cache_clock, .key = k, .body = b, .size = size};
    cache_bytes += size;
    pthread_mutex_unlock(&cache_lock);
}

/* ---- the handlers ------------------------------------------------------ */

/* Sends out with an ETag (a phone polling its summary gets 304 until a
 * month is published or the reader's view changes); frees out. */
static void summary_reply(struct req *r, json_t *out)
{
    char *body = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!body)
        abort(); /* out of memory, as everywhere else */
    api_reply_json_etagged(r, body);
    free(body);
}

/* Reads the row; 1 when it says 200, else 0 with the answer sent. */
static int summary_status(struct req *r, struct db_result *res, struct summary_row *row)
{
    if (summary_row_read(res, row) < 0) {
        req_db_failed(r, res);
        return 0;
    }
    if (row->status != 200) {
        api_reply_row(r, res);
        return 0;
    }
    return 1;
}

/* One summary request: the range and the statement's parameters ($4 the
 * month before the first, for its trend; $5 the last; $6 the team). */
struct summary_req {
    struct range rg;
    const char *p[6];
};

/* The full statement's answer: rendered from the figures, then kept under
 * the key of this statement's own snapshot (which a change between the two
 * statements may have moved). */
static void team_summary_done(struct req *r, struct db_result *res)
{
    struct summary_row row;
    if (!summary_status(r, res, &row))
        return;
    const struct summary_req *s = req_state_get(r, summary);
    struct summary_data d;
    const char *team = req_param(r, 0);
    summary_data_load(&d, &row, s->rg.first - 1);
    const char *key = summary_key(r, &d, team, &s->rg);
    json_t *out = json_pack("{s:s, s:i, s:o}", "team_id", team, "k", d.k, "periods",
                            team_periods(&d, team, &s->rg));
    summary_data_free(&d);
    if (!key) {
        summary_reply(r, out);
        return;
    }
    char *body = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!body)
        abort(); /* out of memory, as everywhere else */
    cache_put(key, key_hash(key), body);
    if (!api_not_modified(r, summary_etag(r, key)))
        api_reply_json_text(r, 200, body);
    free(body);
}

/* The key statement's answer: 304 when the caller has these bytes, the
 * bytes when this process rendered them before, else the full statement. */
static void team_key_done(struct req *r, struct db_result *res)
{
    struct summary_row row;
    if (!summary_status(r, res, &row))
        return;
    const struct summary_req *s = req_state_get(r, summary);
    struct summary_data d;
    summary_data_load(&d, &row, s->rg.first - 1);
    const char *key = summary_key(r, &d, req_param(r, 0), &s->rg);
    summary_data_free(&d);
    if (key && api_not_modified(r, summary_etag(r, key)))
        return;
    const char *body = key ? cache_get(r, key, key_hash(key)) : NULL;
    if (body)
        api_reply_json_text(r, 200, body);
    else
        req_db(r, SQL_TEAM_SUMMARY, 6, s->p, team_summary_done);
}

static void org_summary_done(struct req *r, struct db_result *res)
{
    struct summary_row row;
    if (!summary_status(r, res, &row))
        return;
    const struct range *rg = &req_state_get(r, summary)->rg;
    struct summary_data d;
    summary_data_load(&d, &row, rg->first - 1);
    json_t *teams = json_array(), *totals = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(d.teams, i, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        json_array_append_new(teams, json_pack("{s:s, s:O, s:o}", "team_id", id, "name",
                                               json_object_get(t, "name"), "periods",
                                               team_periods(&d, id, rg)));
    }
    for (int m = rg->first; m <= rg->last; m++)
        json_array_append_new(totals, total_period(&d, m));
    json_t *out = json_pack("{s:s, s:i, s:o, s:{s:o}}", "organisation_id", r->actor.org_id, "k",
                            d.k, "teams", teams, "total", "periods", totals);
    summary_data_free(&d);
    summary_reply(r, out);
}

/* Runs sql for the range asked, with the parameters of struct
 * summary_req (5 of them without a team). */
static void summary_run(struct req *r, const char *sql, const char *team, req_db_continue next)
{
    struct summary_req *s = arena_alloc(&r->arena, sizeof(*s));
    if (!summary_range(r, &s->rg))
        return;
    req_state_set(r, summary, s);
    char first[16], last[16];
    month_format(s->rg.first - 1, first, sizeof(first));
    month_format(s->rg.last, last, sizeof(last));
    api_actor_params(r, s->p);
    s->p[3] = arena_printf(&r->arena, "%s-01", first);
    s->p[4] = arena_printf(&r->arena, "%s-01", last);
    s->p[5] = team;
    req_db(r, sql, team ? 6 : 5, s->p, next);
}

void h_team_summary(struct req *r)
{
    const char *team = api_uuid_param(r, 0);
    if (team)
        summary_run(r, SQL_TEAM_SUMMARY_KEY, team, team_key_done);
}

void h_org_summary(struct req *r)
{
    summary_run(r, SQL_ORG_SUMMARY, NULL, org_summary_done);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement summaries_statements[] = {
    STATEMENT(SQL_TEAM_SUMMARY),
    STATEMENT(SQL_TEAM_SUMMARY_KEY),
    STATEMENT(SQL_ORG_SUMMARY),
    {NULL, NULL},
};
