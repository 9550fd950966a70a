/* test_summaries.c - vermogen check-ins and the anonymous team and
 * organisation summaries, attacked over real HTTP.
 *
 * POST /v1/checkins, GET /v1/teams/{id}/summary, GET /v1/organisation/summary.
 * Every test builds its own organisation, so tests run in parallel against
 * one server. Check-ins always land in the current UTC month; the tests take
 * that month from the check-in's own answer, so a run that straddles midnight
 * at a month's end still compares like with like.
 *
 * Every summary answer is walked by assert_anonymous(): a suppressed period
 * is exactly {period, suppressed: true}, a suppressed block exactly
 * {suppressed: true}, a visible period rests on at least k contributors and
 * its distributions add up to them, no author, id or date field appears, and
 * none of the texts the test knows must stay hidden occurs anywhere in the
 * body. Organisation summaries are also checked by subtraction: the total
 * minus every shown team must be nobody or at least k people. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NV 4
static const char *const VERM[NV] = {"absorptie", "verbindend", "opleidend", "lerend"};

/* ---- small helpers ------------------------------------------------------- */

static int call(const char *method, const char *path, const char *token, json_t *body,
                const char *headers, struct http_resp *r)
{
    cr_assert(http_call_json(test_addr(), method, path, token, body, headers, r) == 0,
              "%s %s: no HTTP answer", method, path);
    json_decref(body);
    return r->status;
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Month arithmetic on "YYYY-MM". */
static int month_num(const char *m)
{
    return atoi(m) * 12 + atoi(m + 5) - 1;
}

static void month_fmt(int n, char out[8])
{
    snprintf(out, 8, "%04u-%02u", (unsigned)(n / 12) % 10000u, (unsigned)(n % 12 + 1) % 100u);
}

static void month_add(const char *m, int d, char out[8])
{
    month_fmt(month_num(m) + d, out);
}

static void this_month(char out[8])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    month_fmt((tm.tm_year + 1900) * 12 + tm.tm_mon, out);
}

static void today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* n new users of o, each put in team with role. */
static void members(struct fix_org *o, const char *team, const char *role, int n,
                    struct fix_user *out)
{
    for (int i = 0; i < n; i++) {
        fix_user(o, NULL, &out[i]);
        fix_member(o, team, &out[i], role);
    }
}

/* Sets the organisation's anonymity threshold through the admin API. */
static void set_k(struct fix_org *o, int k)
{
    struct http_resp r;
    call("GET", "/v1/organisation", o->admin.token, NULL, NULL, &r);
    expect_status(&r, 200);
    const char *etag = http_header(&r, "ETag");
    cr_assert(etag && *etag, "GET /v1/organisation without ETag");
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", etag);
    http_resp_free(&r);
    call("PATCH", "/v1/organisation", o->admin.token, json_pack("{s:i}", "anonymity_threshold", k),
         hdr, &r);
    expect_status(&r, 200);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "anonymity_threshold")), k);
    http_resp_free(&r);
}

/* ---- check-ins ------------------------------------------------------------ */

static json_t *checkin_body(const char *team, const int s[NV])
{
    return json_pack("{s:s, s:{s:i, s:i, s:i, s:i}}", "team_id", team, "scores", VERM[0], s[0],
                     VERM[1], s[1], VERM[2], s[2], VERM[3], s[3]);
}

/* POST /v1/checkins with optional texts (NULL: absent) and share (-1:
 * absent). Asserts the status is want and, on success, that the answer
 * echoes the scores; writes the check-in's period when period is not NULL. */
static void checkin_texts(const struct fix_user *u, const char *team, const int s[NV],
                          const char *goes_well, const char *could_be_better, int share, int want,
                          char period[8])
{
    json_t *b = checkin_body(team, s);
    if (goes_well)
        json_object_set_new(b, "goes_well", json_string(goes_well));
    if (could_be_better)
        json_object_set_new(b, "could_be_better", json_string(could_be_better));
    if (share >= 0)
        json_object_set_new(b, "share_text", json_boolean(share));
    struct http_resp r;
    call("POST", "/v1/checkins", u->token, b, NULL, &r);
    expect_status(&r, want);
    if (want == 200 || want == 201) {
        json_t *sc = json_object_get(r.json, "scores");
        for (int v = 0; v < NV; v++)
            cr_assert_eq(json_integer_value(json_object_get(sc, VERM[v])), s[v],
                         "check-in answer does not echo %s: %s", VERM[v], r.body);
        cr_assert_str_eq(jstr(r.json, "team_id"), team);
        const char *p = jstr(r.json, "period");
        cr_assert(p && strlen(p) == 7, "check-in without a YYYY-MM period: %s", r.body);
        if (period)
            snprintf(period, 8, "%s", p);
    }
    http_resp_free(&r);
}

static void checkin(const struct fix_user *u, const char *team, const int s[NV], int want,
                    char period[8])
{
    checkin_texts(u, team, s, NULL, NULL, -1, want, period);
}

/* A raw check-in body ("%s" stands for the team id); returns the status. */
static int checkin_raw(const struct fix_user *u, const char *fmt, const char *team,
                       struct http_resp *r)
{
    char body[4096];
    snprintf(body, sizeof(body), fmt, team);
    cr_assert(http_call(test_addr(), "POST", "/v1/checkins", u->token, body, NULL, r) == 0);
    return r->status;
}

/* ---- reflections and goals ----------------------------------------------- */

/* POST /v1/reflections dated today, tagged with the NULL-terminated vermogens. */
static void reflect(const struct fix_user *u, const char *team, const char *status,
                    const char *const *verms)
{
    char date[11];
    today(date);
    json_t *vs = json_array();
    for (int i = 0; verms && verms[i]; i++)
        json_array_append_new(vs, json_string(verms[i]));
    json_t *b =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "team_id", team, "occurred_on",
                  date, "situation", "Een drukke avonddienst.", "task", "Medicatie rondbrengen.",
                  "action", "Ik vroeg om hulp.", "result", "Het lukte op tijd.", "reflection",
                  "Eerder vragen helpt.", "status", status, "vermogens", vs);
    struct http_resp r;
    call("POST", "/v1/reflections", u->token, b, NULL, &r);
    expect_status(&r, 201);
    http_resp_free(&r);
}

static void goal(const struct fix_user *u, const char *status)
{
    json_t *b = json_pack("{s:s, s:s, s:s}", "what", "Overdracht zelfstandig doen", "why",
                          "Zelfstandiger werken", "status", status);
    struct http_resp r;
    call("POST", "/v1/goals", u->token, b, NULL, &r);
    expect_status(&r, 201);
    http_resp_free(&r);
}

/* ---- reading summaries --------------------------------------------------- */

static void range_query(char *out, size_t n, const char *base, const char *from, const char *to)
{
    if (from && to)
        snprintf(out, n, "%s?from=%s&to=%s", base, from, to);
    else if (from)
        snprintf(out, n, "%s?from=%s", base, from);
    else if (to)
        snprintf(out, n, "%s?to=%s", base, to);
    else
        snprintf(out, n, "%s", base);
}

static int summary_status(const char *token, const char *team, const char *from, const char *to,
                          struct http_resp *r)
{
    char base[128], path[256];
    if (team)
        snprintf(base, sizeof(base), "/v1/teams/%s/summary", team);
    else
        snprintf(base, sizeof(base), "/v1/organisation/summary");
    range_query(path, sizeof(path), base, from, to);
    return call("GET", path, token, NULL, NULL, r);
}

/* The summary as JSON (200 asserted), with its raw body in *raw when asked
 * (the caller frees it). */
static json_t *summary(const char *token, const char *team, const char *from, const char *to,
                       char **raw)
{
    struct http_resp r;
    summary_status(token, team, from, to, &r);
    expect_status(&r, 200);
    cr_assert(json_is_object(r.json), "summary is not a JSON object: %s", r.body);
    json_t *j = json_incref(r.json);
    if (raw)
        *raw = strdup(r.body);
    http_resp_free(&r);
    return j;
}

static json_t *period_of(const json_t *periods, const char *month)
{
    size_t i;
    json_t *p;
    json_array_foreach(periods, i, p)
    {
        if (jstr(p, "period") && strcmp(jstr(p, "period"), month) == 0)
            return p;
    }
    return NULL;
}

/* The team's period month in a team summary. */
static json_t *team_period(const json_t *s, const char *month)
{
    json_t *p = period_of(json_object_get(s, "periods"), month);
    cr_assert(p, "no period %s in the summary", month);
    return p;
}

/* The team's block in an organisation summary. */
static json_t *org_team(const json_t *s, const char *team)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(s, "teams"), i, t)
    {
        if (strcmp(jstr(t, "team_id"), team) == 0)
            return t;
    }
    return NULL;
}

static json_t *org_team_period(const json_t *s, const char *team, const char *month)
{
    json_t *t = org_team(s, team);
    cr_assert(t, "team %s missing from the organisation summary", team);
    json_t *p = period_of(json_object_get(t, "periods"), month);
    cr_assert(p, "no period %s for team %s", month, team);
    return p;
}

static json_t *org_total_period(const json_t *s, const char *month)
{
    json_t *p = period_of(json_object_get(json_object_get(s, "total"), "periods"), month);
    cr_assert(p, "no total period %s", month);
    return p;
}

static int is_suppressed(const json_t *p)
{
    return json_is_true(json_object_get(p, "suppressed"));
}

static void expect_suppressed_period(const json_t *p, const char *what)
{
    char *d = dump(p);
    cr_assert(is_suppressed(p), "%s should be suppressed: %s", what, d);
    cr_assert_eq(json_object_size(p), 2, "%s carries more than {period, suppressed}: %s", what, d);
    free(d);
}

static void expect_suppressed_block(const json_t *p, const char *block)
{
    json_t *b = json_object_get(p, block);
    char *d = dump(p);
    cr_assert(json_is_object(b) && json_is_true(json_object_get(b, "suppressed")) &&
                  json_object_size(b) == 1,
              "%s should be exactly {suppressed: true}: %s", block, d);
    free(d);
}

static int contributors(const json_t *p)
{
    json_t *c = json_object_get(p, "contributors");
    cr_assert(json_is_integer(c), "no contributors in a visible period");
    return (int)json_integer_value(c);
}

static json_t *vermogen(const json_t *p, const char *v)
{
    json_t *x = json_object_get(json_object_get(p, "vermogens"), v);
    cr_assert(json_is_object(x), "no vermogen %s", v);
    return x;
}

/* Exact figures of one vermogen: mean, median, distribution. */
static void expect_vermogen(const json_t *p, const char *v, double mean, double median,
                            const int dist[10])
{
    json_t *x = vermogen(p, v);
    char *d = dump(x);
    cr_assert(json_is_number(json_object_get(x, "mean")), "%s mean: %s", v, d);
    cr_assert(fabs(json_number_value(json_object_get(x, "mean")) - mean) < 1e-9,
              "%s mean: want %.4f, got %s", v, mean, d);
    cr_assert(fabs(json_number_value(json_object_get(x, "median")) - median) < 1e-9,
              "%s median: want %.2f, got %s", v, median, d);
    json_t *ds = json_object_get(x, "distribution");
    cr_assert_eq(json_array_size(ds), 10, "%s distribution: %s", v, d);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(json_integer_value(json_array_get(ds, (size_t)i)), dist[i],
                     "%s distribution[%d] (score %d): want %d, got %s", v, i, i + 1, dist[i], d);
    free(d);
}

/* The distribution of scores given as a list. */
static void dist_of(int dist[10], const int *scores, int n)
{
    memset(dist, 0, sizeof(int) * 10);
    for (int i = 0; i < n; i++)
        dist[scores[i] - 1]++;
}

/* ---- the anonymity walk ------------------------------------------------- */

static const char *const forbidden_keys[] = {"user_id",    "author",      "author_id",
                                             "owner_id",   "email",       "created_at",
                                             "updated_at", "occurred_on", NULL};

/* A visible period: only the documented fields, at least k contributors,
 * and each distribution adding up to the contributors (one check-in per
 * person and team; no test here puts one person in two teams, where an
 * organisation total would count that person's two check-ins once). */
static void check_visible_period(const json_t *p, int k)
{
    static const char *const allowed[] = {"period",    "suppressed",  "contributors",
                                          "vermogens", "reflections", "feedback",
                                          "goals",     "texts",       NULL};
    char *d = dump(p);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)p, key, val)
    {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= strcmp(key, allowed[i]) == 0;
        cr_assert(ok, "unexpected field %s in a period: %s", key, d);
    }
    int n = contributors(p);
    cr_assert_geq(n, k, "a period is shown on %d contributors (k=%d): %s", n, k, d);
    json_t *vs = json_object_get(p, "vermogens");
    cr_assert(json_is_object(vs) && json_object_size(vs) == NV, "vermogens: %s", d);
    for (int v = 0; v < NV; v++) {
        json_t *x = vermogen(p, VERM[v]);
        json_t *ds = json_object_get(x, "distribution");
        cr_assert_eq(json_array_size(ds), 10, "distribution: %s", d);
        json_int_t sum = 0;
        for (size_t i = 0; i < 10; i++) {
            cr_assert_geq(json_integer_value(json_array_get(ds, i)), 0);
            sum += json_integer_value(json_array_get(ds, i));
        }
        cr_assert_eq(sum, n, "%s distribution sums to %lld, not the %d contributors: %s", VERM[v],
                     (long long)sum, n, d);
        double mean = json_number_value(json_object_get(x, "mean"));
        double median = json_number_value(json_object_get(x, "median"));
        cr_assert(mean >= 1 && mean <= 10 && median >= 1 && median <= 10, "%s: %s", VERM[v], d);
        json_t *t = json_object_get(x, "trend");
        cr_assert(json_is_null(t) ||
                      (json_is_string(t) && (strcmp(json_string_value(t), "up") == 0 ||
                                             strcmp(json_string_value(t), "down") == 0 ||
                                             strcmp(json_string_value(t), "equal") == 0)),
                  "%s trend: %s", VERM[v], d);
        cr_assert(json_object_get(x, "trend"), "%s without a trend member: %s", VERM[v], d);
    }
    json_t *texts = json_object_get(p, "texts");
    cr_assert(json_is_array(texts), "texts: %s", d);
    size_t i;
    json_t *t;
    json_array_foreach(texts, i, t)
    {
        cr_assert(json_is_object(t) && json_object_size(t) == 2 && jstr(t, "text") &&
                      jstr(t, "kind") &&
                      (strcmp(jstr(t, "kind"), "goes_well") == 0 ||
                       strcmp(jstr(t, "kind"), "could_be_better") == 0),
                  "a text item is not exactly {kind, text}: %s", d);
    }
    free(d);
}

static void walk(const json_t *j, int k)
{
    if (json_is_array(j)) {
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x) walk(x, k);
        return;
    }
    if (!json_is_object(j))
        return;
    for (int i = 0; forbidden_keys[i]; i++) {
        if (json_object_get(j, forbidden_keys[i])) {
            char *d = dump(j);
            cr_assert_fail("field %s in a summary: %s", forbidden_keys[i], d);
        }
    }
    json_t *sup = json_object_get(j, "suppressed");
    if (json_object_get(j, "period")) {
        char *d = dump(j);
        cr_assert(json_is_boolean(sup), "a period without suppressed: %s", d);
        if (json_is_true(sup))
            cr_assert_eq(json_object_size(j), 2, "a suppressed period carries figures: %s", d);
        else
            check_visible_period(j, k);
        free(d);
    } else if (sup) {
        char *d = dump(j);
        cr_assert(json_is_true(sup) && json_object_size(j) == 1,
                  "a suppressed block carries figures: %s", d);
        free(d);
    } else {
        cr_assert_null(json_object_get(j, "contributors"), "contributors outside a period");
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)j, key, val) walk(val, k);
}

/* The whole body: the k it reports, the walk, and no hidden string. */
static void assert_anonymous(const json_t *s, const char *raw, int k, const char *const *hidden)
{
    cr_assert_eq(json_integer_value(json_object_get(s, "k")), k, "summary reports k=%lld",
                 (long long)json_integer_value(json_object_get(s, "k")));
    walk(s, k);
    for (int i = 0; hidden && hidden[i]; i++)
        cr_assert_null(strstr(raw, hidden[i]), "hidden text or id \"%s\" appears in: %s", hidden[i],
                       raw);
}

/* An organisation summary by subtraction: for every month whose total is
 * shown, the total minus every shown team is nobody or at least k people,
 * in contributors and in each vermogen's distribution (bin by bin it must
 * not go negative, which would mean the numbers do not add up). */
static void assert_complement(const json_t *s, int k)
{
    size_t i;
    json_t *tp;
    json_array_foreach(json_object_get(json_object_get(s, "total"), "periods"), i, tp)
    {
        if (is_suppressed(tp))
            continue;
        const char *month = jstr(tp, "period");
        char *d = dump(s);
        int rest = contributors(tp);
        int dist[NV][10];
        for (int v = 0; v < NV; v++)
            for (int b = 0; b < 10; b++)
                dist[v][b] = (int)json_integer_value(
                    json_array_get(json_object_get(vermogen(tp, VERM[v]), "distribution"), b));
        size_t j;
        json_t *t;
        json_array_foreach(json_object_get(s, "teams"), j, t)
        {
            json_t *p = period_of(json_object_get(t, "periods"), month);
            cr_assert(p, "team without period %s: %s", month, d);
            if (is_suppressed(p))
                continue;
            rest -= contributors(p);
            for (int v = 0; v < NV; v++)
                for (int b = 0; b < 10; b++)
                    dist[v][b] -= (int)json_integer_value(
                        json_array_get(json_object_get(vermogen(p, VERM[v]), "distribution"), b));
        }
        cr_assert(rest == 0 || rest >= k,
                  "%s: total minus the shown teams leaves %d contributors (k=%d): %s", month, rest,
                  k, d);
        for (int v = 0; v < NV; v++) {
            int n = 0;
            for (int b = 0; b < 10; b++) {
                cr_assert_geq(dist[v][b], 0, "%s %s bin %d does not add up: %s", month, VERM[v],
                              b + 1, d);
                n += dist[v][b];
            }
            cr_assert(n == 0 || n >= k,
                      "%s: total minus the shown teams leaves %d %s scores (k=%d): %s", month, n,
                      VERM[v], k, d);
        }
        free(d);
    }
}

/* Period objects compared as JSON (texts compared as a multiset, since
 * their order is deliberately random). */
static int text_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *canonical_period(const json_t *p)
{
    json_t *c = json_deep_copy(p);
    json_t *texts = json_object_get(c, "texts");
    if (json_is_array(texts) && json_array_size(texts) > 1) {
        size_t n = json_array_size(texts);
        char **s = calloc(n, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            s[i] = dump(json_array_get(texts, i));
        qsort(s, n, sizeof(char *), text_cmp);
        json_t *sorted = json_array();
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(sorted, json_loads(s[i], 0, NULL));
            free(s[i]);
        }
        free(s);
        json_object_set_new(c, "texts", sorted);
    }
    char *d = dump(c);
    json_decref(c);
    return d;
}

static void expect_same_period(const json_t *a, const json_t *b, const char *what)
{
    char *x = canonical_period(a), *y = canonical_period(b);
    cr_assert_str_eq(x, y, "%s changed", what);
    free(x);
    free(y);
}

/* The texts of a period as a set of "kind:text" strings. */
static int has_text(const json_t *p, const char *kind, const char *text)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(p, "texts"), i, t)
    {
        if (strcmp(jstr(t, "kind"), kind) == 0 && strcmp(jstr(t, "text"), text) == 0)
            return 1;
    }
    return 0;
}

/* ==== tests ================================================================ */

Test(summaries, month_is_suppressed_until_k_people_then_exact)
{
    struct fix_org o;
    fix_org(&o);
    char team[40];
    fix_team(&o, team);
    struct fix_user mgr, m[5];
    fix_user(&o, NULL, &mgr);
    fix_member(&o, team, &mgr, "teammanager");
    members(&o, team, "student", 3, m);
    members(&o, team, "werkbegeleider", 1, m + 3);
    members(&o, team, "member", 1, m + 4);
    /* Scores per person: absorptie, verbindend, opleidend, lerend. */
    static const int s[5][NV] = {
        {3, 1, 5, 4}, {7, 2, 5, 6}, {7, 2, 5, 8}, {8, 9, 5, 9}, {10, 10, 6, 9}};
    char month[8], prev[8];
    for (int i = 0; i < 4; i++)
        checkin(&m[i], team, s[i], 201, month);
    month_add(month, -1, prev);
    const char *hidden[] = {m[0].id, m[1].id, m[2].id, m[3].id, m[4].id, m[0].email, NULL};

    /* k-1 people: the month is {period, suppressed: true} in every reading. */
    char *raw;
    json_t *sm = summary(mgr.token, team, NULL, NULL, &raw);
    assert_anonymous(sm, raw, 5, hidden);
    cr_assert_str_eq(jstr(sm, "team_id"), team);
    json_t *periods = json_object_get(sm, "periods");
    cr_assert_eq(json_array_size(periods), 12, "the default range is twelve months");
    cr_assert_str_eq(jstr(json_array_get(periods, 11), "period"), month,
                     "the default range ends with the current month");
    for (size_t i = 0; i < 12; i++)
        expect_suppressed_period(json_array_get(periods, i), "a month below k");
    cr_assert_null(strstr(raw, "contributors"), "figures in a suppressed summary: %s", raw);
    cr_assert_null(strstr(raw, "distribution"), "figures in a suppressed summary: %s", raw);
    json_decref(sm);
    free(raw);
    sm = summary(mgr.token, team, month, month, &raw);
    assert_anonymous(sm, raw, 5, hidden);
    cr_assert_eq(json_array_size(json_object_get(sm, "periods")), 1);
    expect_suppressed_period(team_period(sm, month), "the month with 4 of 5");
    json_decref(sm);
    free(raw);

    /* The k-th person: every figure, exactly. */
    checkin(&m[4], team, s[4], 201, NULL);
    sm = summary(mgr.token, team, prev, month, &raw);
    assert_anonymous(sm, raw, 5, hidden);
    expect_suppressed_period(team_period(sm, prev), "the empty previous month");
    json_t *p = team_period(sm, month);
    cr_assert_not(is_suppressed(p));
    cr_assert_eq(contributors(p), 5);
    /* absorptie 3 7 7 8 10: mean 7, median 7 */
    int d[10];
    dist_of(d, (const int[]){3, 7, 7, 8, 10}, 5);
    expect_vermogen(p, "absorptie", 7.0, 7.0, d);
    /* verbindend 1 2 2 9 10: mean 4.8, median 2 */
    dist_of(d, (const int[]){1, 2, 2, 9, 10}, 5);
    expect_vermogen(p, "verbindend", 4.8, 2.0, d);
    /* opleidend 5 5 5 5 6: mean 5.2, median 5 */
    dist_of(d, (const int[]){5, 5, 5, 5, 6}, 5);
    expect_vermogen(p, "opleidend", 5.2, 5.0, d);
    /* lerend 4 6 8 9 9: mean 7.2, median 8 */
    dist_of(d, (const int[]){4, 6, 8, 9, 9}, 5);
    expect_vermogen(p, "lerend", 7.2, 8.0, d);
    for (int v = 0; v < NV; v++)
        cr_assert(json_is_null(json_object_get(vermogen(p, VERM[v]), "trend")),
                  "a trend against an empty month");
    /* No reflections, feedback or goals: those blocks rest on nobody. */
    expect_suppressed_block(p, "reflections");
    expect_suppressed_block(p, "feedback");
    expect_suppressed_block(p, "goals");
    cr_assert_eq(json_array_size(json_object_get(p, "texts")), 0);
    json_decref(sm);
    free(raw);
}

Test(summaries, second_checkin_in_a_month_replaces_the_first)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char team[40], month[8];
    fix_team(&o, team);
    struct fix_user mgr, m[4];
    fix_user(&o, NULL, &mgr);
    fix_member(&o, team, &mgr, "teammanager");
    members(&o, team, "student", 4, m);
    checkin(&m[0], team, (const int[]){4, 5, 6, 7}, 201, month);
    checkin(&m[1], team, (const int[]){6, 5, 4, 3}, 201, NULL);
    checkin(&m[2], team, (const int[]){8, 8, 8, 8}, 201, NULL);
    checkin(&m[3], team, (const int[]){1, 1, 1, 1}, 201, NULL);
    char *raw;
    json_t *sm = summary(mgr.token, team, month, month, &raw);
    assert_anonymous(sm, raw, 3, NULL);
    json_t *p = team_period(sm, month);
    cr_assert_eq(contributors(p), 4);
    for (int v = 0; v < NV; v++)
        cr_assert_eq(json_integer_value(
                         json_array_get(json_object_get(vermogen(p, VERM[v]), "distribution"), 0)),
                     1, "the first scores of 1 are counted");
    json_decref(sm);
    free(raw);

    /* The same person again this month: 200, replaced, not added. */
    checkin(&m[3], team, (const int[]){10, 9, 8, 7}, 200, NULL);
    sm = summary(mgr.token, team, month, month, &raw);
    assert_anonymous(sm, raw, 3, NULL);
    p = team_period(sm, month);
    cr_assert_eq(contributors(p), 4, "a replacement counted as a new person");
    int d[10];
    /* absorptie 4 6 8 10: mean 7, median 7 (between 6 and 8) */
    dist_of(d, (const int[]){4, 6, 8, 10}, 4);
    expect_vermogen(p, "absorptie", 7.0, 7.0, d);
    /* verbindend 5 5 8 9: mean 6.75, median 6.5 */
    dist_of(d, (const int[]){5, 5, 8, 9}, 4);
    expect_vermogen(p, "verbindend", 6.75, 6.5, d);
    /* opleidend 4 6 8 8: mean 6.5, median 7 */
    dist_of(d, (const int[]){6, 4, 8, 8}, 4);
    expect_vermogen(p, "opleidend", 6.5, 7.0, d);
    /* lerend 3 7 7 8: mean 6.25, median 7 */
    dist_of(d, (const int[]){7, 3, 8, 7}, 4);
    expect_vermogen(p, "lerend", 6.25, 7.0, d);
    json_decref(sm);
    free(raw);

    /* And a third time, identical: still one check-in. */
    checkin(&m[3], team, (const int[]){10, 9, 8, 7}, 200, NULL);
    sm = summary(mgr.token, team, month, month, NULL);
    cr_assert_eq(contributors(team_period(sm, month)), 4);
    dist_of(d, (const int[]){4, 6, 8, 10}, 4);
    expect_vermogen(team_period(sm, month), "absorptie", 7.0, 7.0, d);
    json_decref(sm);
}

Test(summaries, checkin_validation)
{
    struct fix_org o, other;
    fix_org(&o);
    fix_org(&other);
    char team[40], not_mine[40], foreign[40];
    fix_team(&o, team);
    fix_team(&o, not_mine);
    fix_team(&other, foreign);
    struct fix_user u, v;
    fix_user(&o, NULL, &u);
    fix_user(&o, NULL, &v);
    fix_member(&o, team, &u, "student");
    fix_member(&o, not_mine, &v, "student");

    static const char *const bad[] = {
        /* out of range, wrong types */
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":0,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":11,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5.5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":\"7\",\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":-1,\"opleidend\":5,"
        "\"lerend\":5}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5.0,"
        "\"lerend\":5}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":true}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":null}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":100000000000}}",
        /* missing or extra vermogens, scores not an object */
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5}}",
        "{\"team_id\":\"%s\",\"scores\":{}}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5,\"empathie\":5}}",
        "{\"team_id\":\"%s\",\"scores\":[5,5,5,5]}", "{\"team_id\":\"%s\"}",
        /* unknown fields: nobody checks in for someone else or another month */
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5},\"period\":\"2020-01\"}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5},\"user_id\":\"00000000-0000-4000-8000-000000000000\"}",
        /* share_text must be a boolean */
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5},\"share_text\":\"true\"}",
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5},\"share_text\":1}",
        /* texts must be strings */
        "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":5,\"verbindend\":5,\"opleidend\":5,"
        "\"lerend\":5},\"goes_well\":42}",
        NULL};
    for (int i = 0; bad[i]; i++) {
        struct http_resp r;
        checkin_raw(&u, bad[i], team, &r);
        cr_assert_eq(r.status, 422, "case %d accepted (%d): %s\n%s", i, r.status, bad[i], r.body);
        expect_problem(&r, 422);
        cr_assert(json_array_size(json_object_get(r.json, "errors")) >= 1,
                  "case %d: 422 without errors[]: %s", i, r.body);
        http_resp_free(&r);
    }
    /* The error names the vermogen. */
    struct http_resp r;
    checkin_raw(&u, bad[1], team, &r);
    cr_assert(strstr(r.body, "scores.absorptie"), "error does not name scores.absorptie: %s",
              r.body);
    http_resp_free(&r);

    /* A text longer than 1000 characters. */
    char longtext[1102];
    memset(longtext, 'x', 1101);
    longtext[1101] = '\0';
    json_t *b = checkin_body(team, (const int[]){5, 5, 5, 5});
    json_object_set_new(b, "could_be_better", json_string(longtext));
    call("POST", "/v1/checkins", u.token, b, NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);

    /* Teams the caller is not in: of this organisation, of another, none. */
    const char *teams[] = {not_mine, foreign, "7b0e5c1a-3f4e-4b8a-9a55-0d1e2f3a4b5c", NULL};
    for (int i = 0; teams[i]; i++) {
        call("POST", "/v1/checkins", u.token, checkin_body(teams[i], (const int[]){5, 5, 5, 5}),
             NULL, &r);
        expect_problem(&r, 422);
        http_resp_free(&r);
    }
    checkin_raw(&u,
                "{\"team_id\":\"not-a-uuid-%s\",\"scores\":{\"absorptie\":5,"
                "\"verbindend\":5,\"opleidend\":5,\"lerend\":5}}",
                "", &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    /* The organisation's admin is in no team either. */
    call("POST", "/v1/checkins", o.admin.token, checkin_body(team, (const int[]){5, 5, 5, 5}), NULL,
         &r);
    expect_problem(&r, 422);
    http_resp_free(&r);

    /* Not JSON, no token. */
    checkin_raw(&u, "{\"team_id\":\"%s\",", team, &r);
    expect_problem(&r, 400);
    http_resp_free(&r);
    cr_assert(http_call(test_addr(), "POST", "/v1/checkins", NULL,
                        "{\"team_id\":\"x\",\"scores\":{}}", NULL, &r) == 0);
    expect_problem(&r, 401);
    http_resp_free(&r);

    /* Nothing above was stored: the first valid check-in is new (201). */
    checkin(&u, team, (const int[]){5, 5, 5, 5}, 201, NULL);
    checkin(&v, not_mine, (const int[]){5, 5, 5, 5}, 201, NULL);
    /* And share_text as a real boolean, with texts, is accepted (replace). */
    checkin_texts(&u, team, (const int[]){6, 6, 6, 6}, "goed", "beter", 1, 200, NULL);
    checkin_texts(&u, team, (const int[]){6, 6, 6, 6}, "goed", "beter", 0, 200, NULL);
}

Test(summaries, shared_texts_only_when_shared_and_above_k)
{
    struct fix_org o;
    fix_org(&o);
    char team[40], month[8];
    fix_team(&o, team);
    struct fix_user mgr, m[5];
    fix_user(&o, NULL, &mgr);
    fix_member(&o, team, &mgr, "teammanager");
    members(&o, team, "student", 5, m);
    char g0[96], c0[96], p1[96], p1b[96], g2[96], p4[96], g0new[96], g2new[96];
    test_unique(g0, sizeof(g0), "gedeeld-goed-0");
    test_unique(c0, sizeof(c0), "gedeeld-beter-0");
    test_unique(p1, sizeof(p1), "prive-goed-1");
    test_unique(p1b, sizeof(p1b), "prive-beter-1");
    test_unique(g2, sizeof(g2), "gedeeld-goed-2");
    test_unique(p4, sizeof(p4), "prive-goed-4");
    test_unique(g0new, sizeof(g0new), "prive-nieuw-0");
    test_unique(g2new, sizeof(g2new), "gedeeld-nieuw-2");
    const int s[NV] = {6, 6, 6, 6};
    checkin_texts(&m[0], team, s, g0, c0, 1, 201, month);
    checkin_texts(&m[1], team, s, p1, p1b, 0, 201, NULL);
    checkin_texts(&m[2], team, s, g2, NULL, 1, 201, NULL);
    checkin_texts(&m[3], team, s, NULL, NULL, 1, 201, NULL); /* shares, but wrote nothing */

    /* Four of five: no text at all, shared or not. */
    const char *all_hidden[] = {g0, c0, p1, p1b, g2, p4, m[0].id, m[0].email, m[1].id, NULL};
    char *raw;
    json_t *sm = summary(mgr.token, team, month, month, &raw);
    assert_anonymous(sm, raw, 5, all_hidden);
    expect_suppressed_period(team_period(sm, month), "four of five");
    json_decref(sm);
    free(raw);
    sm = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(sm, raw, 5, all_hidden);
    json_decref(sm);
    free(raw);

    /* The fifth (not sharing): shared texts appear, the others never. */
    checkin_texts(&m[4], team, s, p4, NULL, 0, 201, NULL);
    const char *private_texts[] = {p1,      p1b,        p4,         m[0].id, m[1].id,
                                   m[2].id, m[0].email, m[2].email, NULL};
    sm = summary(mgr.token, team, month, month, &raw);
    assert_anonymous(sm, raw, 5, private_texts);
    json_t *p = team_period(sm, month);
    cr_assert_eq(contributors(p), 5);
    cr_assert_eq(json_array_size(json_object_get(p, "texts")), 3, "texts: %s", raw);
    cr_assert(has_text(p, "goes_well", g0), "shared goes_well missing: %s", raw);
    cr_assert(has_text(p, "could_be_better", c0), "shared could_be_better missing: %s", raw);
    cr_assert(has_text(p, "goes_well", g2), "shared goes_well missing: %s", raw);
    json_decref(sm);
    free(raw);
    /* The organisation view of the same team says no more. */
    sm = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(sm, raw, 5, private_texts);
    cr_assert_eq(json_array_size(json_object_get(org_team_period(sm, team, month), "texts")), 3);
    json_decref(sm);
    free(raw);

    /* Unsharing by replacement removes the text; a new shared text replaces
     * the old one. */
    checkin_texts(&m[0], team, s, g0new, NULL, 0, 200, NULL);
    checkin_texts(&m[2], team, s, g2new, NULL, 1, 200, NULL);
    const char *gone[] = {g0, c0, g2, g0new, p1, p1b, p4, NULL};
    sm = summary(mgr.token, team, month, month, &raw);
    assert_anonymous(sm, raw, 5, gone);
    p = team_period(sm, month);
    cr_assert_eq(json_array_size(json_object_get(p, "texts")), 1, "texts: %s", raw);
    cr_assert(has_text(p, "goes_well", g2new), "the new shared text is missing: %s", raw);
    json_decref(sm);
    free(raw);
}

/* One organisation with team t (manager, student, werkbegeleider, member)
 * and team u (its own manager), three check-ins in t, k = 3. */
struct readers {
    struct fix_org o;
    char t[40], u[40], month[8];
    struct fix_user mgr, mgr_u, student, wb, member, po;
};

static void readers_setup(struct readers *x)
{
    fix_org(&x->o);
    set_k(&x->o, 3);
    fix_team(&x->o, x->t);
    fix_team(&x->o, x->u);
    fix_user(&x->o, NULL, &x->mgr);
    fix_member(&x->o, x->t, &x->mgr, "teammanager");
    fix_user(&x->o, NULL, &x->mgr_u);
    fix_member(&x->o, x->u, &x->mgr_u, "teammanager");
    fix_user(&x->o, NULL, &x->student);
    fix_member(&x->o, x->t, &x->student, "student");
    fix_user(&x->o, NULL, &x->wb);
    fix_member(&x->o, x->t, &x->wb, "werkbegeleider");
    fix_user(&x->o, NULL, &x->member);
    fix_member(&x->o, x->t, &x->member, "member");
    fix_user(&x->o, "praktijkopleider", &x->po);
    checkin(&x->student, x->t, (const int[]){7, 7, 7, 7}, 201, x->month);
    checkin(&x->wb, x->t, (const int[]){8, 8, 8, 8}, 201, NULL);
    checkin(&x->member, x->t, (const int[]){9, 9, 9, 9}, 201, NULL);
}

static void expect_404_like_nothing(const char *token, const char *team, const char *who)
{
    struct http_resp r, none;
    summary_status(token, team, NULL, NULL, &r);
    cr_assert_eq(r.status, 404, "%s reads the team summary (%d): %s", who, r.status, r.body);
    expect_problem(&r, 404);
    cr_assert_null(strstr(r.body, "contributors"), "%s: %s", who, r.body);
    summary_status(token, "0b6c7a0e-1d2f-4e3a-8b4c-5d6e7f809102", NULL, NULL, &none);
    expect_problem(&none, 404);
    cr_assert_str_eq(jstr(r.json, "detail") ? jstr(r.json, "detail") : "",
                     jstr(none.json, "detail") ? jstr(none.json, "detail") : "",
                     "%s: a forbidden team answers differently from a missing one", who);
    http_resp_free(&r);
    http_resp_free(&none);
}

Test(summaries, who_may_read_a_team_summary)
{
    struct readers x;
    readers_setup(&x);
    struct fix_org other;
    fix_org(&other);

    char *raw;
    json_t *ref = summary(x.mgr.token, x.t, NULL, NULL, &raw);
    assert_anonymous(ref, raw, 3, NULL);
    cr_assert_eq(contributors(team_period(ref, x.month)), 3);
    free(raw);
    /* praktijkopleider and admin see the same figures. */
    const char *all[] = {x.po.token, x.o.admin.token, NULL};
    for (int i = 0; all[i]; i++) {
        json_t *s = summary(all[i], x.t, NULL, NULL, NULL);
        expect_same_period(team_period(s, x.month), team_period(ref, x.month),
                           "the figures by reader");
        json_decref(s);
    }
    json_decref(ref);
    expect_404_like_nothing(x.mgr_u.token, x.t, "the manager of another team");
    expect_404_like_nothing(x.student.token, x.t, "a student of the team");
    expect_404_like_nothing(x.wb.token, x.t, "a werkbegeleider of the team");
    expect_404_like_nothing(x.member.token, x.t, "a member of the team");
    expect_404_like_nothing(other.admin.token, x.t, "another organisation's admin");
    /* The other team's manager does read their own (empty) team. */
    json_t *s = summary(x.mgr_u.token, x.u, NULL, NULL, NULL);
    json_decref(s);

    struct http_resp r;
    summary_status(NULL, x.t, NULL, NULL, &r);
    expect_problem(&r, 401);
    http_resp_free(&r);
    summary_status(x.o.admin.token, "not-a-uuid", NULL, NULL, &r);
    cr_assert(r.status == 404 || r.status == 400, "malformed team id: %d", r.status);
    http_resp_free(&r);
}

Test(summaries, who_may_read_the_organisation_summary)
{
    struct readers x;
    readers_setup(&x);
    struct fix_org other;
    fix_org(&other);
    const char *ok[] = {x.o.admin.token, x.po.token, NULL};
    for (int i = 0; ok[i]; i++) {
        char *raw;
        json_t *s = summary(ok[i], NULL, NULL, NULL, &raw);
        assert_anonymous(s, raw, 3, NULL);
        cr_assert_str_eq(jstr(s, "organisation_id"), x.o.id);
        cr_assert_eq(json_array_size(json_object_get(s, "teams")), 2);
        cr_assert_eq(contributors(org_team_period(s, x.t, x.month)), 3);
        expect_suppressed_period(org_team_period(s, x.u, x.month), "the empty team");
        assert_complement(s, 3);
        json_decref(s);
        free(raw);
    }
    const struct fix_user *no[] = {&x.mgr, &x.mgr_u, &x.student, &x.wb, &x.member, NULL};
    for (int i = 0; no[i]; i++) {
        struct http_resp r;
        summary_status(no[i]->token, NULL, NULL, NULL, &r);
        cr_assert_eq(r.status, 404, "user %d reads the organisation summary (%d): %s", i, r.status,
                     r.body);
        expect_problem(&r, 404);
        http_resp_free(&r);
    }
    /* Another organisation's admin sees only their own organisation. */
    char *raw;
    json_t *s = summary(other.admin.token, NULL, NULL, NULL, &raw);
    cr_assert_str_eq(jstr(s, "organisation_id"), other.id);
    cr_assert_null(strstr(raw, x.t), "another organisation's team is listed");
    cr_assert_null(strstr(raw, x.u), "another organisation's team is listed");
    cr_assert_eq(json_array_size(json_object_get(s, "teams")), 0);
    json_decref(s);
    free(raw);
}

/* Scores for person i of a team: varied but deterministic. */
static void person_scores(int team_no, int i, int s[NV])
{
    for (int v = 0; v < NV; v++)
        s[v] = 1 + (team_no * 3 + i * 2 + v * 5) % 10;
}

/* A team of n people who all check in; their scores summed into dist. */
static void team_with_checkins(struct fix_org *o, char team[40], int team_no, int n,
                               struct fix_user *people, int dist[NV][10], char month[8])
{
    fix_team(o, team);
    members(o, team, "student", n, people);
    for (int i = 0; i < n; i++) {
        int s[NV];
        person_scores(team_no, i, s);
        checkin(&people[i], team, s, 201, month);
        if (dist)
            for (int v = 0; v < NV; v++)
                dist[v][s[v] - 1]++;
    }
}

static void expect_dist(const json_t *p, const int dist[NV][10], const char *what)
{
    for (int v = 0; v < NV; v++) {
        json_t *ds = json_object_get(vermogen(p, VERM[v]), "distribution");
        for (int b = 0; b < 10; b++)
            cr_assert_eq(json_integer_value(json_array_get(ds, (size_t)b)), dist[v][b],
                         "%s: %s bin %d", what, VERM[v], b + 1);
    }
}

Test(summaries, org_total_suppressed_when_a_small_team_could_be_subtracted)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char a[40], b[40], c[40], month[8];
    struct fix_user pa[4], pb[3], pc[3];
    int dist[NV][10] = {{0}};
    team_with_checkins(&o, a, 1, 4, pa, dist, month);
    team_with_checkins(&o, b, 2, 3, pb, dist, NULL);
    team_with_checkins(&o, c, 3, 2, pc, dist, NULL); /* 2 of 3 check in */
    fix_user(&o, NULL, &pc[2]);
    fix_member(&o, c, &pc[2], "student");

    char *raw;
    json_t *s = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(s, raw, 3, NULL);
    cr_assert_eq(contributors(org_team_period(s, a, month)), 4);
    cr_assert_eq(contributors(org_team_period(s, b, month)), 3);
    expect_suppressed_period(org_team_period(s, c, month), "the team of 2");
    /* 9 - 4 - 3 = 2 people: the total would give the small team away. */
    expect_suppressed_period(org_total_period(s, month), "the total next to a team of 2");
    assert_complement(s, 3);
    json_decref(s);
    free(raw);

    /* The small team reaches k: everything is shown and adds up. */
    int s3[NV];
    person_scores(3, 2, s3);
    checkin(&pc[2], c, s3, 201, NULL);
    for (int v = 0; v < NV; v++)
        dist[v][s3[v] - 1]++;
    s = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(s, raw, 3, NULL);
    cr_assert_eq(contributors(org_team_period(s, c, month)), 3);
    json_t *tot = org_total_period(s, month);
    cr_assert_not(is_suppressed(tot));
    cr_assert_eq(contributors(tot), 10);
    expect_dist(tot, dist, "the total");
    assert_complement(s, 3);
    json_decref(s);
    free(raw);
}

Test(summaries, org_total_shown_when_the_small_team_has_no_checkins)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char a[40], b[40], c[40], month[8];
    struct fix_user pa[4], pb[3], pc[2];
    int dist[NV][10] = {{0}};
    team_with_checkins(&o, a, 1, 4, pa, dist, month);
    team_with_checkins(&o, b, 2, 3, pb, dist, NULL);
    fix_team(&o, c);
    members(&o, c, "student", 2, pc); /* members, but nobody checks in */
    struct fix_user po;
    fix_user(&o, "praktijkopleider", &po);

    char *raw;
    json_t *s = summary(po.token, NULL, month, month, &raw);
    assert_anonymous(s, raw, 3, NULL);
    expect_suppressed_period(org_team_period(s, c, month), "the team without check-ins");
    json_t *tot = org_total_period(s, month);
    cr_assert_not(is_suppressed(tot), "a total that reveals nobody is suppressed: %s", raw);
    cr_assert_eq(contributors(tot), 7);
    expect_dist(tot, dist, "the total of the two visible teams");
    assert_complement(s, 3);
    /* The total's mean is the pooled mean of the two teams. */
    for (int v = 0; v < NV; v++) {
        double sum = 0;
        for (int b2 = 0; b2 < 10; b2++)
            sum += (b2 + 1) * dist[v][b2];
        double got = json_number_value(json_object_get(vermogen(tot, VERM[v]), "mean"));
        cr_assert(fabs(got - sum / 7.0) < 0.0051, "%s pooled mean %f, got %f", VERM[v], sum / 7.0,
                  got);
        cr_assert(json_is_null(json_object_get(vermogen(tot, VERM[v]), "trend")));
    }
    json_decref(s);
    free(raw);
}

Test(summaries, org_total_with_two_small_teams)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char a[40], c[40], d[40], month[8];
    struct fix_user pa[4], pc[2], pd[2];
    team_with_checkins(&o, a, 1, 4, pa, NULL, month);
    team_with_checkins(&o, c, 2, 2, pc, NULL, NULL);
    team_with_checkins(&o, d, 3, 1, pd, NULL, NULL);
    char *raw;
    json_t *s = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(s, raw, 3, NULL);
    expect_suppressed_period(org_team_period(s, c, month), "the team of 2");
    expect_suppressed_period(org_team_period(s, d, month), "the team of 1");
    /* 2 + 1 hidden = 3 = k: the remainder is a group of k, allowed. */
    assert_complement(s, 3);
    json_decref(s);
    free(raw);
    /* With k = 4 the same hidden 3 must not be derivable. */
    set_k(&o, 4);
    s = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(s, raw, 4, NULL);
    cr_assert_eq(contributors(org_team_period(s, a, month)), 4);
    expect_suppressed_period(org_total_period(s, month), "the total over 4 + hidden 3 at k=4");
    assert_complement(s, 4);
    json_decref(s);
    free(raw);
}

/* A short account of one month of an organisation summary (criterion cuts
 * messages at about 1 KiB): per team and for the total, the contributors
 * and the reflections and goals blocks. */
static char *org_brief(const json_t *s, const char *month)
{
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(s, "teams"), i, t)
    {
        json_t *p = period_of(json_object_get(t, "periods"), month);
        json_array_append_new(out, json_pack("{s:s, s:O?, s:O?, s:O?}", "team",
                                             is_suppressed(p) ? "suppressed" : "shown",
                                             "contributors", json_object_get(p, "contributors"),
                                             "reflections", json_object_get(p, "reflections"),
                                             "goals", json_object_get(p, "goals")));
    }
    json_t *p = org_total_period(s, month);
    json_array_append_new(out, json_pack("{s:s, s:O?, s:O?, s:O?}", "total",
                                         is_suppressed(p) ? "suppressed" : "shown", "contributors",
                                         json_object_get(p, "contributors"), "reflections",
                                         json_object_get(p, "reflections"), "goals",
                                         json_object_get(p, "goals")));
    char *d = dump(out);
    json_decref(out);
    return d;
}

/* The organisation total's reflection counts, minus every team whose
 * reflections are shown, must not leave the reflections of fewer than k
 * people. Here the remainder is one student's, so it must be zero (or the
 * total's block suppressed). */
static void expect_no_reflection_remainder(const json_t *s, const char *month, const char *why)
{
    json_t *tot = org_total_period(s, month);
    if (is_suppressed(tot))
        return;
    json_t *by = json_object_get(json_object_get(tot, "reflections"), "by_vermogen");
    if (!by)
        return; /* suppressed block */
    char *d = org_brief(s, month);
    for (int v = 0; v < NV; v++) {
        json_int_t rest = json_integer_value(json_object_get(by, VERM[v]));
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(s, "teams"), i, t)
        {
            json_t *p = period_of(json_object_get(t, "periods"), month);
            json_t *tb = json_object_get(json_object_get(p, "reflections"), "by_vermogen");
            if (!is_suppressed(p) && tb)
                rest -= json_integer_value(json_object_get(tb, VERM[v]));
        }
        cr_assert_eq(rest, 0,
                     "%s: the total's %s reflections minus the shown teams leave %lld "
                     "reflections of fewer than k people: %s",
                     why, VERM[v], (long long)rest, d);
    }
    free(d);
}

Test(summaries, org_total_reflections_do_not_reveal_a_suppressed_reflections_block)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char a[40], b[40], month[8];
    struct fix_user pa[3], pb[3];
    team_with_checkins(&o, a, 1, 3, pa, NULL, month);
    team_with_checkins(&o, b, 2, 3, pb, NULL, NULL);
    const char *abs[] = {"absorptie", NULL}, *ler[] = {"lerend", NULL};
    for (int i = 0; i < 3; i++)
        reflect(&pa[i], a, "final", abs);
    reflect(&pb[0], b, "final", ler); /* one student of b reflects */

    char *raw;
    json_t *s = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(s, raw, 3, NULL);
    json_t *pA = org_team_period(s, a, month), *pB = org_team_period(s, b, month);
    cr_assert_eq(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(pA, "reflections"), "by_vermogen"), "absorptie")),
        3, "team a's reflections: %s", raw);
    expect_suppressed_block(pB, "reflections");
    assert_complement(s, 3);
    expect_no_reflection_remainder(s, month, "one student's reflection in team b");
    json_decref(s);
    free(raw);
}

Test(summaries, org_total_reflections_do_not_reveal_a_team_without_checkins)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char a[40], c[40], month[8];
    struct fix_user pa[3], pc[1];
    team_with_checkins(&o, a, 1, 3, pa, NULL, month);
    const char *abs[] = {"absorptie", NULL}, *opl[] = {"opleidend", NULL};
    for (int i = 0; i < 3; i++)
        reflect(&pa[i], a, "final", abs);
    fix_team(&o, c);
    members(&o, c, "student", 1, pc);
    reflect(&pc[0], c, "final", opl); /* team c: no check-ins, one reflection */

    char *raw;
    json_t *s = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(s, raw, 3, NULL);
    expect_suppressed_period(org_team_period(s, c, month), "team c");
    assert_complement(s, 3);
    expect_no_reflection_remainder(s, month, "one student's reflection in team c");
    json_decref(s);
    free(raw);
}

Test(summaries, org_total_goals_do_not_reveal_a_suppressed_goals_block)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char a[40], b[40], month[8];
    struct fix_user pa[3], pb[3];
    team_with_checkins(&o, a, 1, 3, pa, NULL, month);
    team_with_checkins(&o, b, 2, 3, pb, NULL, NULL);
    for (int i = 0; i < 3; i++)
        goal(&pa[i], "active");
    goal(&pb[0], "dropped"); /* one student of b: a dropped goal */

    char *raw;
    json_t *s = summary(o.admin.token, NULL, month, month, &raw);
    assert_anonymous(s, raw, 3, NULL);
    json_t *pA = org_team_period(s, a, month);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(pA, "goals"), "active")), 3,
                 "team a's goals: %s", raw);
    expect_suppressed_block(org_team_period(s, b, month), "goals");
    json_t *tot = org_total_period(s, month);
    json_t *tg = json_object_get(tot, "goals");
    if (!is_suppressed(tot) && tg && !json_object_get(tg, "suppressed")) {
        static const char *const st[] = {"open", "active", "achieved", "dropped"};
        json_t *ag = json_object_get(pA, "goals");
        for (int i = 0; i < 4; i++)
            cr_assert_eq(json_integer_value(json_object_get(tg, st[i])),
                         json_integer_value(json_object_get(ag, st[i])),
                         "the total's %s goals minus team a's leave the goals of team b's one "
                         "student with goals (k=3): %s",
                         st[i], org_brief(s, month));
    }
    json_decref(s);
    free(raw);
}

Test(summaries, shifted_ranges_give_the_same_month)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char v[40], sm_team[40], month[8];
    struct fix_user pv[3], ps[2];
    team_with_checkins(&o, v, 1, 3, pv, NULL, month);
    team_with_checkins(&o, sm_team, 2, 2, ps, NULL, NULL);
    struct fix_user mgr_v, mgr_s;
    fix_user(&o, NULL, &mgr_v);
    fix_member(&o, v, &mgr_v, "teammanager");
    fix_user(&o, NULL, &mgr_s);
    fix_member(&o, sm_team, &mgr_s, "teammanager");

    json_t *ref_s = summary(mgr_v.token, v, month, month, NULL);
    json_t *ref = json_incref(team_period(ref_s, month));
    json_decref(ref_s);
    cr_assert_eq(contributors(ref), 3);

    /* {from offset, to offset} relative to the current month; 99: absent. */
    static const int ranges[][2] = {{0, 0},   {-1, 0},  {-2, 0}, {-1, 1},   {0, 2},
                                    {-11, 0}, {-35, 0}, {-5, 3}, {-3, -1},  {1, 2},
                                    {99, 99}, {99, 0},  {99, 1}, {-12, 99}, {-1, -1}};
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        char from[8], to[8];
        month_add(month, ranges[i][0] == 99 ? 0 : ranges[i][0], from);
        month_add(month, ranges[i][1] == 99 ? 0 : ranges[i][1], to);
        const char *f = ranges[i][0] == 99 ? NULL : from, *t = ranges[i][1] == 99 ? NULL : to;
        int first = f ? month_num(from) : (t ? month_num(to) : month_num(month)) - 11;
        int last = t ? month_num(to) : month_num(month);
        int includes = month_num(month) >= first && month_num(month) <= last;
        const char *readers[][2] = {{mgr_v.token, v}, {mgr_s.token, sm_team}};
        for (int r = 0; r < 2; r++) {
            char *raw;
            json_t *s = summary(readers[r][0], readers[r][1], f, t, &raw);
            assert_anonymous(s, raw, 3, NULL);
            json_t *periods = json_object_get(s, "periods");
            cr_assert_eq(json_array_size(periods), (size_t)(last - first + 1), "range %zu: %s", i,
                         raw);
            for (int m = first; m <= last; m++) {
                char want[8];
                month_fmt(m, want);
                json_t *p = json_array_get(periods, (size_t)(m - first));
                cr_assert_str_eq(jstr(p, "period"), want, "range %zu: periods out of order", i);
                if (m == month_num(month) && r == 0)
                    expect_same_period(p, ref, "the current month under a shifted range");
                else
                    expect_suppressed_period(p, "a month below k under a shifted range");
            }
            if (!includes)
                cr_assert_null(period_of(periods, month), "range %zu shows the month", i);
            json_decref(s);
            free(raw);
        }
        /* The organisation view agrees, team by team. */
        char *raw;
        json_t *s = summary(o.admin.token, NULL, f, t, &raw);
        assert_anonymous(s, raw, 3, NULL);
        assert_complement(s, 3);
        if (includes) {
            expect_same_period(org_team_period(s, v, month), ref, "the org view of the month");
            expect_suppressed_period(org_team_period(s, sm_team, month), "the small team");
            expect_suppressed_period(org_total_period(s, month), "the total over 3 + 2");
        }
        json_decref(s);
        free(raw);
    }
    json_decref(ref);
}

Test(summaries, leaving_and_joining_members_do_not_rewrite_the_month)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char t[40], month[8], from[8];
    struct fix_user p[3], mgr, newbie;
    team_with_checkins(&o, t, 1, 3, p, NULL, month);
    fix_user(&o, NULL, &mgr);
    fix_member(&o, t, &mgr, "teammanager");
    month_add(month, -11, from);
    json_t *before = summary(mgr.token, t, from, month, NULL);
    cr_assert_eq(contributors(team_period(before, month)), 3);

    /* One of the three leaves: the month still rests on the three check-ins
     * made while they were members. */
    char path[160];
    snprintf(path, sizeof(path), "/v1/teams/%s/members/%s", t, p[0].id);
    struct http_resp r;
    call("DELETE", path, o.admin.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    char *raw;
    json_t *after = summary(mgr.token, t, from, month, &raw);
    assert_anonymous(after, raw, 3, NULL);
    free(raw);
    json_t *pb = json_object_get(before, "periods"), *pa = json_object_get(after, "periods");
    cr_assert_eq(json_array_size(pa), json_array_size(pb));
    for (size_t i = 0; i < json_array_size(pb); i++)
        expect_same_period(json_array_get(pa, i), json_array_get(pb, i),
                           "a month after a member left");
    json_decref(after);
    /* The one who left can no longer check in for the team. */
    call("POST", "/v1/checkins", p[0].token, checkin_body(t, (const int[]){1, 1, 1, 1}), NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);

    /* A newcomer joins: nothing changes until they check in. */
    fix_user(&o, NULL, &newbie);
    fix_member(&o, t, &newbie, "student");
    after = summary(mgr.token, t, from, month, NULL);
    pa = json_object_get(after, "periods");
    for (size_t i = 0; i < json_array_size(pb); i++)
        expect_same_period(json_array_get(pa, i), json_array_get(pb, i),
                           "a month after a member joined");
    json_decref(after);
    /* Their check-in counts for this month only; every earlier month stays. */
    checkin(&newbie, t, (const int[]){2, 2, 2, 2}, 201, NULL);
    after = summary(mgr.token, t, from, month, NULL);
    pa = json_object_get(after, "periods");
    for (size_t i = 0; i + 1 < json_array_size(pb); i++)
        expect_same_period(json_array_get(pa, i), json_array_get(pb, i),
                           "an earlier month after a newcomer checked in");
    cr_assert_eq(contributors(team_period(after, month)), 4);
    json_decref(after);
    json_decref(before);
}

Test(summaries, range_validation)
{
    struct fix_org o;
    fix_org(&o);
    char t[40], month[8], m[8], n[8];
    fix_team(&o, t);
    this_month(month);
    struct http_resp r;
    const char *targets[] = {t, NULL};
    for (int ti = 0; ti < 2; ti++) {
        const char *team = targets[ti];
        /* from after to */
        month_add(month, 1, m);
        summary_status(o.admin.token, team, m, month, &r);
        expect_problem(&r, 422);
        http_resp_free(&r);
        /* 37 months, and 36 months (allowed) */
        month_add(month, -36, m);
        summary_status(o.admin.token, team, m, month, &r);
        expect_problem(&r, 422);
        http_resp_free(&r);
        month_add(month, -35, m);
        summary_status(o.admin.token, team, m, month, &r);
        expect_status(&r, 200);
        cr_assert_eq(json_array_size(json_object_get(
                         team ? r.json : json_object_get(r.json, "total"), "periods")),
                     36);
        http_resp_free(&r);
        /* from alone, too far back for the default to (now) */
        month_add(month, -40, m);
        summary_status(o.admin.token, team, m, NULL, &r);
        expect_problem(&r, 422);
        http_resp_free(&r);
        /* to alone far ahead and from alone are fine when the span is */
        month_add(month, 24, n);
        summary_status(o.admin.token, team, NULL, n, &r);
        expect_status(&r, 200);
        http_resp_free(&r);
        static const char *const bad[] = {"2026-13", "26-01",      "2026-1",  "2026-00",  "2026/01",
                                          "2026-1a", "2026-01-01", "",        "abcd-ef",  "1899-12",
                                          "+026-01", "2026-01x",   "20260-1", " 2026-01", NULL};
        for (int i = 0; bad[i]; i++) {
            char path[256], enc[64];
            /* percent-encode the space and plus so they reach the parser */
            size_t o2 = 0;
            for (const char *c = bad[i]; *c && o2 < sizeof(enc) - 4; c++) {
                if (*c == ' ' || *c == '+' || *c == '/')
                    o2 += (size_t)snprintf(enc + o2, sizeof(enc) - o2, "%%%02X", (unsigned char)*c);
                else
                    enc[o2++] = *c;
            }
            enc[o2] = '\0';
            const char *base = team ? "/v1/teams/" : "/v1/organisation/summary";
            for (int which = 0; which < 2; which++) {
                if (team)
                    snprintf(path, sizeof(path), "%s%s/summary?%s=%s", base, team,
                             which ? "to" : "from", enc);
                else
                    snprintf(path, sizeof(path), "%s?%s=%s", base, which ? "to" : "from", enc);
                call("GET", path, o.admin.token, NULL, NULL, &r);
                cr_assert_eq(r.status, 422, "%s accepted (%d): %s", path, r.status, r.body);
                expect_problem(&r, 422);
                cr_assert(strstr(r.body, which ? "\"to\"" : "\"from\""),
                          "the error does not name the parameter: %s", r.body);
                http_resp_free(&r);
            }
        }
    }
}

Test(summaries, trend_is_null_next_to_an_empty_month)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char t[40], month[8], prev[8], from[8];
    struct fix_user p[3], mgr;
    team_with_checkins(&o, t, 1, 3, p, NULL, month);
    fix_user(&o, NULL, &mgr);
    fix_member(&o, t, &mgr, "teammanager");
    month_add(month, -1, prev);
    month_add(month, -5, from);
    const char *froms[] = {month, prev, from, NULL};
    for (int i = 0; froms[i]; i++) {
        char *raw;
        json_t *s = summary(mgr.token, t, froms[i], month, &raw);
        assert_anonymous(s, raw, 3, NULL);
        json_t *pm = team_period(s, month);
        cr_assert_not(is_suppressed(pm));
        for (int v = 0; v < NV; v++) {
            json_t *x = vermogen(pm, VERM[v]);
            cr_assert(json_object_get(x, "trend"), "no trend member: %s", raw);
            cr_assert(json_is_null(json_object_get(x, "trend")),
                      "%s trend against a month without data: %s", VERM[v], raw);
        }
        json_decref(s);
        free(raw);
    }
}

Test(summaries, reflections_block_needs_k_distinct_students)
{
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char team[40], other[40], month[8];
    struct fix_user s[3], outsider[1], mgr;
    team_with_checkins(&o, team, 1, 3, s, NULL, month);
    team_with_checkins(&o, other, 2, 1, outsider, NULL, NULL);
    fix_user(&o, NULL, &mgr);
    fix_member(&o, team, &mgr, "teammanager");
    const char *al[] = {"absorptie", "lerend", NULL}, *ab[] = {"absorptie", NULL},
               *ve[] = {"verbindend", NULL}, *ao[] = {"absorptie", "opleidend", NULL},
               *all[] = {"absorptie", "verbindend", "opleidend", "lerend", NULL};
    /* Two students, three final reflections; a draft and another team's. */
    reflect(&s[0], team, "final", al);
    reflect(&s[0], team, "final", ab);
    reflect(&s[1], team, "final", ve);
    reflect(&s[2], team, "draft", all);
    reflect(&outsider[0], other, "final", all);

    char *raw;
    json_t *sm = summary(mgr.token, team, month, month, &raw);
    assert_anonymous(sm, raw, 3, NULL);
    json_t *p = team_period(sm, month);
    cr_assert_eq(contributors(p), 3);
    expect_suppressed_block(p, "reflections");
    json_decref(sm);
    free(raw);

    /* The third student: by_vermogen counts the final reflections. */
    reflect(&s[2], team, "final", ao);
    sm = summary(mgr.token, team, month, month, &raw);
    assert_anonymous(sm, raw, 3, NULL);
    p = team_period(sm, month);
    json_t *by = json_object_get(json_object_get(p, "reflections"), "by_vermogen");
    cr_assert(json_is_object(by), "reflections of 3 students not shown: %s", raw);
    cr_assert_eq(json_object_size(by), NV, "%s", raw);
    cr_assert_eq(json_integer_value(json_object_get(by, "absorptie")), 3, "%s", raw);
    cr_assert_eq(json_integer_value(json_object_get(by, "verbindend")), 1, "%s", raw);
    cr_assert_eq(json_integer_value(json_object_get(by, "opleidend")), 1, "%s", raw);
    cr_assert_eq(json_integer_value(json_object_get(by, "lerend")), 1, "%s", raw);
    cr_assert_eq(contributors(p), 3, "reflections changed the check-in count");
    json_decref(sm);
    free(raw);
}

Test(summaries, teammanager_cannot_complete_k_with_an_own_checkin)
{
    /* A manager who is counted in their own team's figures needs only k-1
     * others to see them, and can subtract their own scores: what is left
     * is a group of k-1 people. Either the manager's check-in is refused or
     * it does not lift the month over k for them. */
    struct fix_org o;
    fix_org(&o);
    set_k(&o, 3);
    char t[40], month[8];
    struct fix_user p[2], mgr;
    team_with_checkins(&o, t, 1, 2, p, NULL, month);
    fix_user(&o, NULL, &mgr);
    fix_member(&o, t, &mgr, "teammanager");
    json_t *b = checkin_body(t, (const int[]){1, 1, 1, 1});
    struct http_resp r;
    call("POST", "/v1/checkins", mgr.token, b, NULL, &r);
    int st = r.status;
    http_resp_free(&r);
    char *raw;
    json_t *s = summary(mgr.token, t, month, month, &raw);
    json_t *pm = team_period(s, month);
    cr_assert(st == 422 || is_suppressed(pm),
              "the manager's own check-in (%d) made a month of 2 other people visible to them: "
              "%s",
              st, raw);
    json_decref(s);
    free(raw);
}
