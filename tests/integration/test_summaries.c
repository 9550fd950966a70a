/* test_summaries.c - vermogen check-ins and the published team and
 * organisation summaries, attacked over real HTTP (issue 12: "published
 * periods").
 *
 * POST /v1/checkins, GET /v1/teams/{id}/summary, GET /v1/organisation/summary.
 * Every test builds its own organisation, so tests run in parallel against
 * one server. Past months are made the only way the product allows: the data
 * is created through the API "now", then aged with SQL (a check-in's period,
 * the created_at of feedback and goals; reflections are dated directly), and
 * only once everything is in place the organisation's created_at is moved
 * back and `reflectd publish` freezes the due months. Months are taken
 * relative to the organisation's current month (months -2 and -3 are always
 * closed and due; month -1 may or may not be due yet, so no test relies on
 * it).
 *
 * The attacks of the review each have a test: two reads around a change must
 * give byte-identical bodies, or show nothing. Every summary answer is also
 * walked by assert_anonymous(): a period is exactly {period, published:
 * false}, exactly {period, published: true, suppressed: true}, or visible
 * with at least k contributors and distributions adding up to them; a
 * suppressed block is exactly {suppressed: true}; no author, id or date field
 * appears, and no text the test knows must stay hidden occurs in the body. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* A request whose answer must be want (its body is not needed). */
static void expect_call(const char *method, const char *path, const char *token, json_t *body,
                        int want)
{
    struct http_resp r;
    call(method, path, token, body, NULL, &r);
    expect_status(&r, want);
    http_resp_free(&r);
}

/* The ETag of a resource token may read (200 asserted). */
static void etag_of(const char *token, const char *path, char etag[128])
{
    struct http_resp r;
    call("GET", path, token, NULL, NULL, &r);
    expect_status(&r, 200);
    const char *e = http_header(&r, "ETag");
    cr_assert(e && *e, "GET %s without ETag", path);
    snprintf(etag, 128, "%s", e);
    http_resp_free(&r);
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

/* The organisation's current month (its time zone, the database's clock). */
static char CUR[8];

static void load_current_month(const struct fix_org *o)
{
    test_sqlf(CUR, sizeof(CUR),
              "SELECT to_char(now() AT TIME ZONE timezone, 'YYYY-MM') FROM organisations "
              "WHERE id = '%s'",
              o->id);
    cr_assert_eq(strlen(CUR), 7, "no current month for the organisation: \"%s\"", CUR);
}

/* The month d months from the current one; returns out. */
static char *rel(int d, char out[8])
{
    month_add(CUR, d, out);
    return out;
}

/* "YYYY-MM-DD" for day of month. */
static void day_in(const char *month, int day, char out[11])
{
    snprintf(out, 11, "%.7s-%02d", month, day);
}

/* A UTC date d days from today. */
static void utc_day(int d, char out[11])
{
    time_t t = time(NULL) + (time_t)d * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
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

/* One new user of o in team with role. */
static void member(struct fix_org *o, const char *team, const char *role, struct fix_user *out)
{
    members(o, team, role, 1, out);
}

/* The admin takes u out of team. */
static void remove_member(const struct fix_org *o, const char *team, const struct fix_user *u)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/teams/%s/members/%s", team, u->id);
    expect_call("DELETE", path, o->admin.token, NULL, 204);
}

/* Sets the organisation's anonymity threshold through the admin API. */
static void set_k(struct fix_org *o, int k)
{
    char etag[128], hdr[192];
    etag_of(o->admin.token, "/v1/organisation", etag);
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", etag);
    struct http_resp r;
    call("PATCH", "/v1/organisation", o->admin.token, json_pack("{s:i}", "anonymity_threshold", k),
         hdr, &r);
    expect_status(&r, 200);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "anonymity_threshold")), k);
    http_resp_free(&r);
}

/* A new organisation with threshold k (5 is the default, left as it is). */
static void world(struct fix_org *o, int k)
{
    fix_org(o);
    if (k != 5)
        set_k(o, k);
    load_current_month(o);
}

/* Runs `reflectd publish`; asserts exit status 0. Returns the count it
 * printed (-1: none). */
static long long publish(void)
{
    char out[512];
    int rc = test_publish(out, sizeof(out));
    cr_assert_eq(rc, 0, "reflectd publish exited %d: %s", rc, out);
    return test_publish_count(out);
}

/* Ages the organisation to the first instant of month (test_age_org: its
 * creation, so month and every later due month get published, and the role
 * history of everyone in it), then publishes. Only after all data of the
 * test is in place; a test that changes roles or k between the two calls
 * does so "after the month began". */
static void age_org(const struct fix_org *o, const char *month)
{
    test_age_org(o->id, month);
}

static void publish_since(const struct fix_org *o, const char *month)
{
    age_org(o, month);
    publish();
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

/* Moves u's check-in of team from period from to month (one row). */
static void move_checkin(const struct fix_user *u, const char *team, const char *from,
                         const char *month)
{
    long long n = test_sql_int("WITH m AS (UPDATE checkins SET period = '%s-01' WHERE team_id = "
                               "'%s' AND user_id = '%s' AND period = '%s-01' RETURNING 1) "
                               "SELECT count(*) FROM m",
                               month, team, u->id, from);
    cr_assert_eq(n, 1, "moving a check-in to %s moved %lld rows", month, n);
}

/* A new check-in (201) with texts, then moved into month (when it is not
 * the current one). */
static void checkin_texts_in(const struct fix_user *u, const char *team, const int s[NV],
                             const char *goes_well, const char *could_be_better, int share,
                             const char *month)
{
    char p[8];
    checkin_texts(u, team, s, goes_well, could_be_better, share, 201, p);
    if (strcmp(p, month) != 0)
        move_checkin(u, team, p, month);
}

static void checkin_in(const struct fix_user *u, const char *team, const int s[NV],
                       const char *month)
{
    checkin_texts_in(u, team, s, NULL, NULL, -1, month);
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

/* Scores for person i of a team: varied but deterministic, never 1 (tests
 * use 1 as the mark of a contribution that must not count). */
static void person_scores(int team_no, int i, int s[NV])
{
    for (int v = 0; v < NV; v++)
        s[v] = 2 + (team_no * 3 + i * 2 + v * 5) % 9;
}

static const int ONES[NV] = {1, 1, 1, 1};

/* Adds one person's scores to the per-vermogen distribution dist. */
static void add_scores(int dist[NV][10], const int s[NV])
{
    for (int v = 0; v < NV; v++)
        dist[v][s[v] - 1]++;
}

/* A team of n new students who all check in in month; their scores are
 * added to dist when it is not NULL. */
static void team_with_checkins(struct fix_org *o, char team[40], int team_no, int n,
                               struct fix_user *people, int dist[NV][10], const char *month)
{
    fix_team(o, team);
    members(o, team, "student", n, people);
    for (int i = 0; i < n; i++) {
        int s[NV];
        person_scores(team_no, i, s);
        checkin_in(&people[i], team, s, month);
        if (dist)
            add_scores(dist, s);
    }
}

/* ---- reflections, feedback and goals -------------------------------------- */

/* POST /v1/reflections dated date, tagged with the NULL-terminated vermogens;
 * returns the status (want asserted unless want is 0) and writes the id. */
static int reflect_on(const struct fix_user *u, const char *team, const char *date,
                      const char *status, const char *const *verms, int want, char id[40])
{
    json_t *vs = json_array();
    for (int i = 0; verms && verms[i]; i++)
        json_array_append_new(vs, json_string(verms[i]));
    json_t *b =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "team_id", team, "occurred_on",
                  date, "situation", "Een drukke avonddienst.", "task", "Medicatie rondbrengen.",
                  "action", "Ik vroeg om hulp.", "result", "Het lukte op tijd.", "reflection",
                  "Eerder vragen helpt.", "status", status, "vermogens", vs);
    struct http_resp r;
    int st = call("POST", "/v1/reflections", u->token, b, NULL, &r);
    if (want)
        cr_assert_eq(st, want, "POST /v1/reflections occurred_on %s: %d, want %d: %s", date, st,
                     want, r.body);
    if (id)
        snprintf(id, 40, "%s", st == 201 ? jstr(r.json, "id") : "");
    http_resp_free(&r);
    return st;
}

/* A final reflection on day 10 of month. */
static void reflect_in(const struct fix_user *u, const char *team, const char *month,
                       const char *const *verms, char id[40])
{
    char date[11];
    day_in(month, 10, date);
    reflect_on(u, team, date, "final", verms, 201, id);
}

/* PATCH kind ("reflections", "goals") id with body as its owner; returns the
 * status. */
static int patch_own(const struct fix_user *u, const char *kind, const char *id, json_t *body,
                     struct http_resp *r)
{
    char path[128], etag[128], hdr[192];
    snprintf(path, sizeof(path), "/v1/%s/%s", kind, id);
    etag_of(u->token, path, etag);
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", etag);
    return call("PATCH", path, u->token, body, hdr, r);
}

/* The same, and the PATCH must succeed (200). */
static void patch_own_ok(const struct fix_user *u, const char *kind, const char *id, json_t *body)
{
    struct http_resp r;
    patch_own(u, kind, id, body, &r);
    expect_status(&r, 200);
    http_resp_free(&r);
}

static void delete_own(const struct fix_user *u, const char *kind, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/%s/%s", kind, id);
    expect_call("DELETE", path, u->token, NULL, 204);
}

static void share_with(const struct fix_user *owner, const char *refl, const struct fix_user *to)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", refl, to->id);
    expect_call("PUT", path, owner->token, NULL, 204);
}

/* Feedback of kind by author on a reflection, dated into month by SQL. */
static void feedback_in(const struct fix_user *author, const char *refl, const char *kind,
                        const char *month)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback", refl);
    struct http_resp r;
    call("POST", path, author->token, json_pack("{s:s, s:s}", "kind", kind, "body", "Goed gedaan."),
         NULL, &r);
    expect_status(&r, 201);
    test_sqlf(NULL, 0, "UPDATE feedback SET created_at = '%s-15 12:00+00' WHERE id = '%s'", month,
              jstr(r.json, "id"));
    http_resp_free(&r);
}

/* A goal of u with status, created (by SQL) in month; writes its id. */
static void goal_in(const struct fix_user *u, const char *status, const char *month, char id[40])
{
    json_t *b = json_pack("{s:s, s:s, s:s}", "what", "Overdracht zelfstandig doen", "why",
                          "Zelfstandiger werken", "status", status);
    struct http_resp r;
    call("POST", "/v1/goals", u->token, b, NULL, &r);
    expect_status(&r, 201);
    const char *gid = jstr(r.json, "id");
    test_sqlf(NULL, 0, "UPDATE goals SET created_at = '%s-15 12:00+00' WHERE id = '%s'", month,
              gid);
    if (id)
        snprintf(id, 40, "%s", gid);
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

/* The path of a summary read. team NULL: the organisation summary. */
static void summary_path(char path[256], const char *team, const char *from, const char *to)
{
    char base[128];
    if (team)
        snprintf(base, sizeof(base), "/v1/teams/%s/summary", team);
    else
        snprintf(base, sizeof(base), "/v1/organisation/summary");
    range_query(path, 256, base, from, to);
}

static int summary_status(const char *token, const char *team, const char *from, const char *to,
                          struct http_resp *r)
{
    char path[256];
    summary_path(path, team, from, to);
    return call("GET", path, token, NULL, NULL, r);
}

/* A summary read that must answer a problem of status. */
static void expect_summary_problem(const char *token, const char *team, const char *from,
                                   const char *to, int status)
{
    struct http_resp r;
    summary_status(token, team, from, to, &r);
    expect_problem(&r, status);
    http_resp_free(&r);
}

/* The summary as JSON (200 asserted), with its raw body in *raw when asked
 * (the caller frees it). team NULL: the organisation summary. */
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

/* Only the raw body. */
static char *summary_raw(const char *token, const char *team, const char *from, const char *to)
{
    char *raw;
    json_decref(summary(token, team, from, to, &raw));
    return raw;
}

/* The two bodies are byte for byte the same; frees the second. */
static void expect_same_body(const char *before, char *after, const char *what)
{
    cr_assert_str_eq(after, before, "%s: the two reads differ", what);
    free(after);
}

/* The ETag of a summary read (200 asserted). */
static void summary_etag(const char *token, const char *team, const char *from, const char *to,
                         char etag[128])
{
    char path[256];
    summary_path(path, team, from, to);
    etag_of(token, path, etag);
}

/* The same read with If-None-Match: etag answers 304. */
static void expect_not_modified(const char *token, const char *team, const char *from,
                                const char *to, const char *etag)
{
    char path[256], hdr[192];
    summary_path(path, team, from, to);
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
    struct http_resp r;
    call("GET", path, token, NULL, hdr, &r);
    cr_assert_eq(r.status, 304, "If-None-Match after a change: %d: %s", r.status, r.body);
    http_resp_free(&r);
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

/* The period month of a team summary. */
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

static int is_published(const json_t *p)
{
    return json_is_true(json_object_get(p, "published"));
}

/* Published and showing figures. */
static int is_visible(const json_t *p)
{
    return is_published(p) && json_is_false(json_object_get(p, "suppressed"));
}

static void expect_unpublished(const json_t *p, const char *what)
{
    char *d = dump(p);
    cr_assert(json_is_false(json_object_get(p, "published")) && json_object_size(p) == 2,
              "%s should be exactly {period, published: false}: %s", what, d);
    free(d);
}

static void expect_suppressed_period(const json_t *p, const char *what)
{
    char *d = dump(p);
    cr_assert(is_published(p) && json_is_true(json_object_get(p, "suppressed")) &&
                  json_object_size(p) == 3,
              "%s should be exactly {period, published: true, suppressed: true}: %s", what, d);
    free(d);
}

static void expect_visible(const json_t *p, const char *what)
{
    char *d = dump(p);
    cr_assert(is_visible(p), "%s should be published and visible: %s", what, d);
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
    char *d = dump(p);
    cr_assert(json_is_integer(c), "no contributors in a visible period: %s", d);
    free(d);
    return (int)json_integer_value(c);
}

static json_t *vermogen(const json_t *p, const char *v)
{
    json_t *x = json_object_get(json_object_get(p, "vermogens"), v);
    cr_assert(json_is_object(x), "no vermogen %s", v);
    return x;
}

static json_int_t bin(const json_t *p, const char *v, int score)
{
    return json_integer_value(
        json_array_get(json_object_get(vermogen(p, v), "distribution"), (size_t)(score - 1)));
}

/* An integer member of a block ("reflections" by_vermogen, "feedback",
 * "goals"); the block must be shown. */
static json_int_t block_int(const json_t *p, const char *block, const char *key)
{
    json_t *b = json_object_get(p, block);
    if (strcmp(block, "reflections") == 0)
        b = json_object_get(b, "by_vermogen");
    json_t *x = json_object_get(b, key);
    char *d = dump(p);
    cr_assert(json_is_integer(x), "%s.%s is not shown: %s", block, key, d);
    free(d);
    return json_integer_value(x);
}

/* Exact figures of one vermogen: mean, median, distribution, trend (NULL:
 * JSON null). */
static void expect_vermogen(const json_t *p, const char *v, double mean, double median,
                            const int dist[10], const char *trend)
{
    json_t *x = vermogen(p, v);
    char *d = dump(x);
    cr_assert(json_is_number(json_object_get(x, "mean")), "%s mean: %s", v, d);
    cr_assert(fabs(json_number_value(json_object_get(x, "mean")) - mean) < 1e-9,
              "%s mean: want %.2f, got %s", v, mean, d);
    cr_assert(fabs(json_number_value(json_object_get(x, "median")) - median) < 1e-9,
              "%s median: want %.2f, got %s", v, median, d);
    json_t *ds = json_object_get(x, "distribution");
    cr_assert_eq(json_array_size(ds), 10, "%s distribution: %s", v, d);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(json_integer_value(json_array_get(ds, (size_t)i)), dist[i],
                     "%s distribution[%d] (score %d): want %d, got %s", v, i, i + 1, dist[i], d);
    json_t *t = json_object_get(x, "trend");
    if (trend)
        cr_assert(json_is_string(t) && strcmp(json_string_value(t), trend) == 0,
                  "%s trend: want %s, got %s", v, trend, d);
    else
        cr_assert(t && json_is_null(t), "%s trend: want null, got %s", v, d);
    free(d);
}

/* The distribution of n scores. */
static void dist_of(int dist[10], const int *scores, int n)
{
    memset(dist, 0, sizeof(int) * 10);
    for (int i = 0; i < n; i++)
        dist[scores[i] - 1]++;
}

/* expect_vermogen() with the distribution of the n scores. */
static void expect_vermogen_of(const json_t *p, const char *v, double mean, double median,
                               const int *scores, int n, const char *trend)
{
    int dist[10];
    dist_of(dist, scores, n);
    expect_vermogen(p, v, mean, median, dist, trend);
}

/* ---- the anonymity walk ------------------------------------------------- */

static const char *const forbidden_keys[] = {"user_id",    "author",      "author_id",
                                             "owner_id",   "email",       "created_at",
                                             "updated_at", "occurred_on", NULL};

/* A visible period: only the documented fields, at least k contributors,
 * and each distribution adding up to the contributors (for a team: one
 * check-in per person; for the organisation total at least the
 * contributors, since one person in two teams is one contributor with two
 * check-ins). */
static void check_visible_period(const json_t *p, int k, int total)
{
    static const char *const allowed[] = {"period",    "published",   "suppressed", "contributors",
                                          "vermogens", "reflections", "feedback",   "goals",
                                          "texts",     NULL};
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
        if (json_object_get(x, "suppressed")) {
            /* everyone gave the same score */
            cr_assert(json_is_true(json_object_get(x, "suppressed")) && json_object_size(x) == 1,
                      "a suppressed vermogen carries figures: %s", d);
            continue;
        }
        json_t *ds = json_object_get(x, "distribution");
        cr_assert_eq(json_array_size(ds), 10, "distribution: %s", d);
        json_int_t sum = 0;
        for (size_t i = 0; i < 10; i++) {
            cr_assert_geq(json_integer_value(json_array_get(ds, i)), 0);
            sum += json_integer_value(json_array_get(ds, i));
        }
        if (total)
            cr_assert_geq(sum, n, "%s distribution sums to %lld, below the %d contributors: %s",
                          VERM[v], (long long)sum, n, d);
        else
            cr_assert_eq(sum, n, "%s distribution sums to %lld, not the %d contributors: %s",
                         VERM[v], (long long)sum, n, d);
        double mean = json_number_value(json_object_get(x, "mean"));
        double median = json_number_value(json_object_get(x, "median"));
        cr_assert(mean >= 1 && mean <= 10 && median >= 1 && median <= 10, "%s: %s", VERM[v], d);
        cr_assert(fabs(mean * 100 - (double)(long)(mean * 100 + 0.5)) < 1e-6,
                  "%s mean not rounded: %s", VERM[v], d);
        json_t *t = json_object_get(x, "trend");
        cr_assert(t, "%s without a trend member: %s", VERM[v], d);
        cr_assert(json_is_null(t) ||
                      (json_is_string(t) && (strcmp(json_string_value(t), "up") == 0 ||
                                             strcmp(json_string_value(t), "down") == 0 ||
                                             strcmp(json_string_value(t), "equal") == 0)),
                  "%s trend: %s", VERM[v], d);
        if (total)
            cr_assert(json_is_null(t), "a trend in the organisation total: %s", d);
    }
    static const char *const blocks[] = {"reflections", "feedback", "goals", NULL};
    for (int i = 0; blocks[i]; i++)
        cr_assert(json_is_object(json_object_get(p, blocks[i])), "no %s block: %s", blocks[i], d);
    json_t *texts = json_object_get(p, "texts");
    cr_assert(json_is_array(texts), "texts: %s", d);
    if (total)
        cr_assert_eq(json_array_size(texts), 0, "texts in the organisation total: %s", d);
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

static void walk(const json_t *j, int k, int total)
{
    if (json_is_array(j)) {
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x) walk(x, k, total);
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
    if (json_object_get(j, "period")) {
        char *d = dump(j);
        json_t *pub = json_object_get(j, "published");
        cr_assert(json_is_boolean(pub), "a period without published: %s", d);
        if (!json_is_true(pub))
            expect_unpublished(j, "an unpublished period");
        else if (!json_is_false(json_object_get(j, "suppressed")))
            expect_suppressed_period(j, "a suppressed period");
        else
            check_visible_period(j, k, total);
        free(d);
        return;
    }
    json_t *sup = json_object_get(j, "suppressed");
    if (sup) {
        char *d = dump(j);
        cr_assert(json_is_true(sup) && json_object_size(j) == 1,
                  "a suppressed block carries figures: %s", d);
        free(d);
    }
    cr_assert_null(json_object_get(j, "contributors"), "contributors outside a period");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)j, key, val) walk(val, k, total || strcmp(key, "total") == 0);
}

/* The whole body: the k it reports, the walk, and no hidden string. */
static void assert_anonymous(const json_t *s, const char *raw, int k, const char *const *hidden)
{
    cr_assert_eq(json_integer_value(json_object_get(s, "k")), k, "summary reports k=%lld",
                 (long long)json_integer_value(json_object_get(s, "k")));
    walk(s, k, 0);
    for (int i = 0; hidden && hidden[i]; i++)
        cr_assert_null(strstr(raw, hidden[i]), "hidden text or id \"%s\" appears in: %s", hidden[i],
                       raw);
}

/* An organisation summary by subtraction: for every month whose total is
 * shown, the total's contributors minus every shown team's are nobody or at
 * least k people (with nobody in two teams, which the callers ensure). */
static void assert_complement(const json_t *s, int k)
{
    size_t i;
    json_t *tp;
    json_array_foreach(json_object_get(json_object_get(s, "total"), "periods"), i, tp)
    {
        if (!is_visible(tp))
            continue;
        const char *month = jstr(tp, "period");
        int rest = contributors(tp);
        size_t j;
        json_t *t;
        json_array_foreach(json_object_get(s, "teams"), j, t)
        {
            json_t *p = period_of(json_object_get(t, "periods"), month);
            cr_assert(p, "team without period %s", month);
            if (is_visible(p))
                rest -= contributors(p);
        }
        char *d = dump(tp);
        cr_assert(rest == 0 || rest >= k,
                  "%s: total minus the shown teams leaves %d contributors (k=%d): %s", month, rest,
                  k, d);
        free(d);
    }
}

/* Does the period carry text of kind? */
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

/* A period object compared as canonical JSON. */
static void expect_same_period(const json_t *a, const json_t *b, const char *what)
{
    char *x = dump(a), *y = dump(b);
    cr_assert_str_eq(x, y, "%s changed", what);
    free(x);
    free(y);
}

/* ---- what the tests read and compare ------------------------------------- */

/* One summary read: its JSON and its raw body, both owned (reading_free). */
struct reading {
    json_t *json;
    char *raw;
};

/* The summary (200 asserted), walked by assert_anonymous() with k and
 * hidden. team NULL: the organisation summary. */
static struct reading read_summary(const char *token, const char *team, const char *from,
                                   const char *to, int k, const char *const *hidden)
{
    struct reading s;
    s.json = summary(token, team, from, to, &s.raw);
    assert_anonymous(s.json, s.raw, k, hidden);
    return s;
}

static void reading_free(struct reading *s)
{
    json_decref(s->json);
    free(s->raw);
}

/* A team summary read by token over from..to: anonymous, and month in it
 * exactly {period, published: true, suppressed: true}. */
static void expect_team_month_suppressed(const char *token, const char *team, const char *from,
                                         const char *to, const char *month, int k, const char *what)
{
    struct reading s = read_summary(token, team, from, to, k, NULL);
    expect_suppressed_period(team_period(s.json, month), what);
    reading_free(&s);
}

/* A team summary of month alone read by token: anonymous, and block of the
 * month exactly {suppressed: true}. */
static void expect_team_block_suppressed(const char *token, const char *team, const char *month,
                                         int k, const char *block)
{
    struct reading s = read_summary(token, team, month, month, k, NULL);
    expect_suppressed_block(team_period(s.json, month), block);
    reading_free(&s);
}

/* Every bin of every vermogen of period p is dist's. */
static void expect_distributions(const json_t *p, const int dist[NV][10], const char *what,
                                 const char *raw)
{
    for (int v = 0; v < NV; v++)
        for (int b = 0; b < 10; b++)
            cr_assert_eq(bin(p, VERM[v], b + 1), dist[v][b], "%s %s bin %d: %s", what, VERM[v],
                         b + 1, raw);
}

/* No score 1 (the mark of a contribution that must not count) in any
 * vermogen of period p. */
static void expect_no_ones(const json_t *p, const char *whose, const char *raw)
{
    for (int v = 0; v < NV; v++)
        cr_assert_eq(bin(p, VERM[v], 1), 0, "%s 1 in %s: %s", whose, VERM[v], raw);
}

/* A team summary and its organisation's over from..to, as read before an
 * attack; expect_unchanged() reads both again and wants the same bytes. */
struct before {
    const char *token, *team, *admin, *from, *to;
    char *team_raw, *org_raw;
};

/* Keeps a copy of team_raw (the team read by token) and reads the
 * organisation summary as admin. */
static struct before keep_before(const char *token, const char *team, const char *admin,
                                 const char *from, const char *to, const char *team_raw)
{
    struct before b = {token, team, admin, from, to, strdup(team_raw), NULL};
    b.org_raw = summary_raw(admin, NULL, from, to);
    return b;
}

static void expect_unchanged(struct before *b, const char *team_what, const char *org_what)
{
    expect_same_body(b->team_raw, summary_raw(b->token, b->team, b->from, b->to), team_what);
    expect_same_body(b->org_raw, summary_raw(b->admin, NULL, b->from, b->to), org_what);
    free(b->team_raw);
    free(b->org_raw);
}

/* ==== tests ================================================================ */

/* ---- attack 1: two reads around one check-in ------------------------------ */

Test(summaries, attack1_open_month_shows_nothing_around_a_checkin)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m4[8];
    struct fix_user s[4], mgr;
    fix_team(&o, t);
    members(&o, t, "student", 4, s);
    member(&o, t, "teammanager", &mgr);
    for (int i = 0; i < 3; i++)
        checkin_in(&s[i], t, (const int[]){4, 5, 6, 7}, CUR);
    publish_since(&o, rel(-4, m4));

    struct reading sm = read_summary(mgr.token, t, CUR, CUR, 3, NULL);
    expect_unpublished(team_period(sm.json, CUR), "the open month");
    struct before b = keep_before(mgr.token, t, o.admin.token, CUR, CUR, sm.raw);
    reading_free(&sm);

    checkin_in(&s[3], t, (const int[]){9, 9, 9, 9}, CUR);
    publish(); /* an operator publishing in between changes nothing either */
    expect_unchanged(&b, "the open month around a check-in",
                     "the organisation's open month around a check-in");
    json_t *os = summary(o.admin.token, NULL, CUR, CUR, NULL);
    expect_unpublished(org_team_period(os, t, CUR), "the open month of the team");
    expect_unpublished(org_total_period(os, CUR), "the open month of the total");
    json_decref(os);
}

Test(summaries, attack1_published_month_ignores_later_checkins_and_members)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8];
    struct fix_user s[5], mgr, newbie;
    fix_team(&o, t);
    members(&o, t, "student", 5, s);
    member(&o, t, "teammanager", &mgr);
    rel(-2, m2);
    for (int i = 0; i < 4; i++) {
        int sc[NV];
        person_scores(1, i, sc);
        checkin_in(&s[i], t, sc, m2);
    }
    publish_since(&o, rel(-3, m3));
    struct reading sm = read_summary(mgr.token, t, m3, m2, 3, NULL);
    expect_visible(team_period(sm.json, m2), "month -2 with 4 check-ins");
    cr_assert_eq(contributors(team_period(sm.json, m2)), 4);
    struct before b = keep_before(mgr.token, t, o.admin.token, m3, m2, sm.raw);
    reading_free(&sm);
    char etag[128], etag2[128];
    summary_etag(mgr.token, t, m3, m2, etag);

    /* A fifth check-in moved into the published month, an old one edited in
     * place, a member leaving, a newcomer checking in there too. */
    checkin_in(&s[4], t, (const int[]){1, 1, 1, 1}, m2);
    test_sqlf(NULL, 0,
              "UPDATE checkins SET absorptie = 1 WHERE team_id = '%s' AND user_id = '%s' AND "
              "period = '%s-01'",
              t, s[0].id, m2);
    remove_member(&o, t, &s[1]);
    member(&o, t, "student", &newbie);
    checkin_in(&newbie, t, (const int[]){10, 10, 10, 10}, m2);
    publish();
    expect_unchanged(&b, "a published month", "a published month in the organisation summary");
    summary_etag(mgr.token, t, m3, m2, etag2);
    cr_assert_str_eq(etag2, etag, "the ETag of a published month changed");
    expect_not_modified(mgr.token, t, m3, m2, etag);
}

/* ---- attack 2: erasure ---------------------------------------------------- */

Test(summaries, attack2_erasure_does_not_take_anyone_out_of_a_published_month)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], g[96];
    struct fix_user s[4], mgr;
    fix_team(&o, t);
    members(&o, t, "student", 4, s);
    member(&o, t, "teammanager", &mgr);
    rel(-2, m2);
    const char *ab[] = {"absorptie", NULL};
    for (int i = 0; i < 4; i++) {
        int sc[NV];
        person_scores(2, i, sc);
        test_unique(g, sizeof(g), "gedeeld");
        checkin_texts_in(&s[i], t, sc, g, NULL, 1, m2);
        reflect_in(&s[i], t, m2, ab, NULL);
        goal_in(&s[i], "active", m2, NULL);
    }
    publish_since(&o, rel(-3, m3));
    struct reading sm = read_summary(mgr.token, t, m3, m2, 3, NULL);
    json_t *p = team_period(sm.json, m2);
    cr_assert_eq(contributors(p), 4);
    cr_assert_eq(block_int(p, "reflections", "absorptie"), 4);
    cr_assert_eq(block_int(p, "goals", "active"), 4);
    cr_assert_eq(json_array_size(json_object_get(p, "texts")), 4);
    struct before b = keep_before(mgr.token, t, o.admin.token, m3, m2, sm.raw);
    reading_free(&sm);

    expect_call("DELETE", "/v1/me", s[0].token, NULL, 204);
    publish();
    expect_unchanged(&b, "a published month after an erasure",
                     "the organisation summary after an erasure");
}

/* ---- attack 3: edits, deletions and backdating ----------------------------- */

Test(summaries, attack3_edits_of_old_reflections_do_not_move_a_published_month)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], id[4][40];
    struct fix_user s[4], mgr;
    fix_team(&o, t);
    members(&o, t, "student", 4, s);
    member(&o, t, "teammanager", &mgr);
    rel(-2, m2);
    rel(-3, m3);
    const char *ab[] = {"absorptie", NULL}, *le[] = {"lerend", NULL};
    for (int i = 0; i < 4; i++) {
        int sc[NV];
        person_scores(3, i, sc);
        checkin_in(&s[i], t, sc, m2);
        if (i < 3)
            reflect_in(&s[i], t, m2, i == 0 ? ab : le, id[i]);
    }
    publish_since(&o, m3);
    struct reading sm = read_summary(mgr.token, t, m3, m2, 3, NULL);
    json_t *p = team_period(sm.json, m2);
    cr_assert_eq(block_int(p, "reflections", "absorptie"), 1);
    cr_assert_eq(block_int(p, "reflections", "lerend"), 2);
    struct before b = keep_before(mgr.token, t, o.admin.token, m3, m2, sm.raw);
    reading_free(&sm);

    patch_own_ok(&s[0], "reflections", id[0],
                 json_pack("{s:[s,s]}", "vermogens", "opleidend", "lerend"));
    delete_own(&s[1], "reflections", id[1]);
    char date[11];
    day_in(m3, 20, date);
    patch_own_ok(&s[2], "reflections", id[2], json_pack("{s:s}", "occurred_on", date));
    reflect_in(&s[3], t, m2, ab, id[3]); /* backdated into the published month */
    reflect_in(&s[3], t, m3, ab, NULL);
    publish();
    expect_unchanged(&b, "a published month after edits", "the organisation summary after edits");
}

/* The problem names occurred_on in errors[]. */
static void expect_occurred_on_422(const struct http_resp *r, const char *date)
{
    cr_assert_eq(r->status, 422, "occurred_on %s: %d: %s", date, r->status, r->body);
    expect_problem(r, 422);
    size_t i;
    json_t *e;
    int named = 0;
    json_array_foreach(json_object_get(r->json, "errors"), i, e) named |=
        jstr(e, "field") && strcmp(jstr(e, "field"), "occurred_on") == 0;
    cr_assert(named, "occurred_on %s: errors[] does not name occurred_on: %s", date, r->body);
}

Test(summaries, attack3_occurred_on_must_be_within_the_backdating_window)
{
    struct fix_org o;
    world(&o, 5);
    char t[40], id[40];
    struct fix_user s;
    fix_team(&o, t);
    member(&o, t, "student", &s);
    char d_plus2[11], d_back366[11], d_today[11], d_tomorrow[11], d_back365[11];
    utc_day(2, d_plus2);
    utc_day(-366, d_back366);
    utc_day(0, d_today);
    utc_day(1, d_tomorrow);
    utc_day(-365, d_back365);
    const char *bad[] = {"1900-01-01", "2999-12-31", d_plus2, d_back366, NULL};
    for (int i = 0; bad[i]; i++) {
        for (int draft = 0; draft < 2; draft++) {
            json_t *b = json_pack("{s:s, s:s, s:s}", "team_id", t, "occurred_on", bad[i], "status",
                                  "draft");
            struct http_resp r;
            call("POST", "/v1/reflections", s.token, b, NULL, &r);
            expect_occurred_on_422(&r, bad[i]);
            http_resp_free(&r);
        }
    }
    const char *good[] = {d_today, d_tomorrow, d_back365, NULL};
    for (int i = 0; good[i]; i++)
        reflect_on(&s, t, good[i], "final", NULL, 201, id);
    for (int i = 0; bad[i]; i++) {
        struct http_resp r;
        patch_own(&s, "reflections", id, json_pack("{s:s}", "occurred_on", bad[i]), &r);
        expect_occurred_on_422(&r, bad[i]);
        http_resp_free(&r);
    }
    /* Nothing of the refused requests was stored. */
    cr_assert_eq(test_sql_int("SELECT count(*) FROM reflections WHERE owner_id = '%s'", s.id), 3);
    cr_assert_eq(test_sql_int("SELECT count(*) FROM reflections WHERE owner_id = '%s' AND "
                              "occurred_on = '%s'",
                              s.id, d_back365),
                 1, "the PATCHes changed the reflection");
}

/* ---- attack 4: one person in several small teams -------------------------- */

Test(summaries, attack4_one_person_in_five_small_teams_is_one_person)
{
    struct fix_org o;
    world(&o, 3);
    char a[40], small[5][40], m2[8], m3[8];
    struct fix_user pa[3], x;
    rel(-2, m2);
    team_with_checkins(&o, a, 1, 3, pa, NULL, m2);
    fix_user(&o, NULL, &x);
    for (int i = 0; i < 5; i++) {
        fix_team(&o, small[i]);
        fix_member(&o, small[i], &x, "student");
        checkin_in(&x, small[i], (const int[]){1, 1, 1, 1}, m2);
    }
    publish_since(&o, rel(-3, m3));
    struct reading s = read_summary(o.admin.token, NULL, m3, m2, 3, NULL);
    cr_assert_eq(contributors(org_team_period(s.json, a, m2)), 3);
    for (int i = 0; i < 5; i++)
        expect_suppressed_period(org_team_period(s.json, small[i], m2), "a team of one");
    /* Hidden: five teams, but one person; total minus team a would be x. */
    expect_suppressed_period(org_total_period(s.json, m2),
                             "the total over 3 + one person in 5 teams");
    assert_complement(s.json, 3);
    reading_free(&s);
}

Test(summaries, org_total_counts_distinct_people_when_hidden_teams_hold_k)
{
    /* The control of attack 4: the small teams hold 4 distinct people (one
     * of team a's students is in one of them too), so the total shows; it
     * counts that student once, their two check-ins twice. */
    struct fix_org o;
    world(&o, 3);
    char a[40], small[3][40], m2[8], m3[8];
    struct fix_user pa[3], ps[3];
    int dist[NV][10] = {{0}};
    rel(-2, m2);
    team_with_checkins(&o, a, 1, 3, pa, dist, m2);
    for (int i = 0; i < 3; i++) {
        int sc[NV];
        team_with_checkins(&o, small[i], 2 + i, 1, &ps[i], dist, m2);
        if (i == 0) {
            fix_member(&o, small[0], &pa[0], "student");
            person_scores(9, 0, sc);
            checkin_in(&pa[0], small[0], sc, m2);
            add_scores(dist, sc);
        }
    }
    publish_since(&o, rel(-3, m3));
    struct reading s = read_summary(o.admin.token, NULL, m3, m2, 3, NULL);
    expect_suppressed_period(org_team_period(s.json, small[0], m2), "a team of two");
    json_t *tot = org_total_period(s.json, m2);
    expect_visible(tot, "the total with 4 hidden people");
    cr_assert_eq(contributors(tot), 6, "the total counts people: %s", s.raw);
    expect_distributions(tot, dist, "total", s.raw);
    reading_free(&s);
}

/* ---- attack 5: the reader completes k -------------------------------------- */

Test(summaries, attack5_teammanager_contributions_never_count)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], u[40], m2[8], m3[8];
    struct fix_user ps[2], pu[3], mt, mu;
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 2, ps, NULL, m2);
    team_with_checkins(&o, u, 2, 3, pu, NULL, m2);
    member(&o, t, "teammanager", &mt);
    member(&o, u, "teammanager", &mu);
    /* The managers check in and reflect in their own teams (when the server
     * lets them at all). */
    struct http_resp r;
    const struct fix_user *mgrs[] = {&mt, &mu};
    const char *teams[] = {t, u};
    int took[2];
    const char *ab[] = {"absorptie", NULL};
    for (int i = 0; i < 2; i++) {
        call("POST", "/v1/checkins", mgrs[i]->token, checkin_body(teams[i], ONES), NULL, &r);
        took[i] = r.status == 201;
        cr_assert(r.status == 201 || r.status == 422, "manager check-in: %d", r.status);
        const char *p = jstr(r.json, "period");
        char from[8];
        snprintf(from, sizeof(from), "%s", p ? p : "");
        http_resp_free(&r);
        if (took[i])
            move_checkin(mgrs[i], teams[i], from, m2);
        char date[11];
        day_in(m2, 10, date);
        reflect_on(mgrs[i], teams[i], date, "final", ab, 0, NULL);
    }
    cr_log_info("manager check-ins accepted: %d %d", took[0], took[1]);
    for (int i = 0; i < 2; i++)
        reflect_in(&pu[i], u, m2, ab, NULL); /* two students + the manager */
    publish_since(&o, rel(-3, m3));

    const char *readers[] = {mt.token, o.admin.token};
    for (int i = 0; i < 2; i++)
        expect_team_month_suppressed(readers[i], t, m3, m2, m2, 3, "2 students + their manager");
    /* The admin, who contributed nothing: the three students only. */
    struct reading sj = read_summary(o.admin.token, u, m3, m2, 3, NULL);
    json_t *p = team_period(sj.json, m2);
    cr_assert_eq(contributors(p), 3, "the manager counted: %s", sj.raw);
    expect_no_ones(p, "the manager's score", sj.raw);
    expect_suppressed_block(p, "reflections");
    /* The manager, manager since before the month: their own check-in and
     * reflection were left out when they were written, so subtracting them
     * leaves the three students, and they need no one more. */
    struct reading sm = read_summary(mu.token, u, m3, m2, 3, NULL);
    expect_visible(team_period(sm.json, m2), "3 students read by their manager");
    expect_same_period(team_period(sm.json, m2), p, "the month read by its manager");
    reading_free(&sm);
    reading_free(&sj);
    /* Their rows are marked as never counting. */
    cr_assert_eq(test_sql_int("SELECT count(*) FROM reflections WHERE owner_id IN ('%s', '%s') "
                              "AND NOT author_reads",
                              mt.id, mu.id),
                 0, "a manager's reflection may count");
}

Test(summaries, attack5_contributor_made_teammanager_needs_one_more)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8];
    struct fix_user s[3], mgr;
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 3, s, NULL, m2);
    member(&o, t, "teammanager", &mgr);
    publish_since(&o, rel(-3, m3));
    struct reading sm = read_summary(mgr.token, t, m3, m2, 3, NULL);
    cr_assert_eq(contributors(team_period(sm.json, m2)), 3);

    /* s[0], one of the three, becomes teammanager: subtracting their own
     * scores would leave two people. */
    fix_member(&o, t, &s[0], "teammanager");
    expect_team_month_suppressed(s[0].token, t, m3, m2, m2, 3,
                                 "the month the new manager contributed to");
    expect_same_body(sm.raw, summary_raw(mgr.token, t, m3, m2), "the other manager's read");
    reading_free(&sm);
}

Test(summaries, attack5_student_promoted_before_publication_still_counts)
{
    /* s[0] checks in and reflects as a student, and is made teammanager
     * after the month began but before it is published: their rows were
     * written as a student, so they count (3 people); reading, s[0] took up
     * the role after the month began and needs one more. In team u, su[3]
     * only reflected and becomes manager after publication: they need one
     * more too, and u's month has 3 people. */
    struct fix_org o;
    world(&o, 3);
    char t[40], u[40], m2[8], m3[8];
    struct fix_user s[3], su[4], mgr;
    rel(-2, m2);
    const char *ab[] = {"absorptie", NULL};
    int dist[NV][10] = {{0}};
    team_with_checkins(&o, t, 1, 3, s, dist, m2);
    team_with_checkins(&o, u, 2, 3, su, NULL, m2);
    member(&o, u, "student", &su[3]);
    for (int i = 0; i < 3; i++)
        reflect_in(&s[i], t, m2, ab, NULL);
    reflect_in(&su[0], u, m2, ab, NULL);
    reflect_in(&su[1], u, m2, ab, NULL);
    reflect_in(&su[3], u, m2, ab, NULL);
    member(&o, t, "teammanager", &mgr);
    fix_member(&o, u, &mgr, "teammanager");
    age_org(&o, rel(-3, m3));
    fix_member(&o, t, &s[0], "teammanager");
    cr_assert_eq(test_sql_int("SELECT count(*) FROM team_members WHERE team_id = '%s' AND "
                              "user_id = '%s' AND role = 'teammanager' AND role_since > "
                              "'%s-01'::date",
                              t, s[0].id, m2),
                 1, "the promotion is not dated after the month began");
    publish();
    struct reading sm = read_summary(mgr.token, t, m2, m2, 3, NULL);
    json_t *p = team_period(sm.json, m2);
    expect_visible(p, "3 students, one a manager at publication");
    cr_assert_eq(contributors(p), 3, "the promoted student's check-in was left out: %s", sm.raw);
    expect_distributions(p, dist, "team t", sm.raw);
    cr_assert_eq(block_int(p, "reflections", "absorptie"), 3, "%s", sm.raw);
    reading_free(&sm);
    /* The promoted student reads their own team: 3 - themselves < k. */
    expect_team_month_suppressed(s[0].token, t, m2, m2, m2, 3,
                                 "the month read by the promoted student");

    sm = read_summary(mgr.token, u, m2, m2, 3, NULL);
    cr_assert_eq(contributors(team_period(sm.json, m2)), 3, "%s", sm.raw);
    cr_assert_eq(block_int(team_period(sm.json, m2), "reflections", "absorptie"), 3, "%s", sm.raw);
    reading_free(&sm);
    fix_member(&o, u, &su[3], "teammanager");
    expect_team_month_suppressed(su[3].token, u, m2, m2, m2, 3,
                                 "3 people read by a manager since publication");
}

Test(summaries, attack5_making_everyone_teammanager_before_publication_changes_nothing)
{
    /* An admin makes every student of t a teammanager just before the month
     * is published, hoping to empty it (or to make it someone's own). Who
     * counts was fixed when the check-ins were written: the month shows the
     * same 3 people as the control team w, whose students stay students;
     * each new manager reading needs one more than the 3. */
    struct fix_org o;
    world(&o, 3);
    char t[40], w[40], m2[8], m3[8];
    struct fix_user s[3], sw[3];
    int dt[NV][10] = {{0}}, dw[NV][10] = {{0}};
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 3, s, dt, m2);
    team_with_checkins(&o, w, 1, 3, sw, dw, m2); /* the same scores */
    age_org(&o, rel(-3, m3));
    for (int i = 0; i < 3; i++)
        fix_member(&o, t, &s[i], "teammanager");
    publish();
    struct reading sm = read_summary(o.admin.token, NULL, m2, m2, 3, NULL);
    json_t *pt = org_team_period(sm.json, t, m2), *pw = org_team_period(sm.json, w, m2);
    cr_assert_eq(contributors(pt), 3, "%s", sm.raw);
    cr_assert_eq(contributors(pw), 3, "%s", sm.raw);
    expect_distributions(pt, dt, "team t", sm.raw);
    expect_same_period(pt, pw, "a team of new managers and a team of students");
    cr_assert_eq(contributors(org_total_period(sm.json, m2)), 6, "%s", sm.raw);
    reading_free(&sm);
    for (int i = 0; i < 3; i++)
        expect_team_month_suppressed(s[i].token, t, m2, m2, m2, 3,
                                     "3 people read by a new manager");
}

/* ---- attack 6: activity blocks ------------------------------------------- */

Test(summaries, attack6_one_student_writing_many_reflections_counts_once)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], w[40], m2[8], m3[8];
    struct fix_user s[3], sw[3];
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 3, s, NULL, m2);
    team_with_checkins(&o, w, 2, 3, sw, NULL, m2);
    const char *le[] = {"lerend", NULL}, *la[] = {"lerend", "absorptie", NULL},
               *ab[] = {"absorptie", NULL};
    for (int i = 0; i < 15; i++) {
        reflect_in(&s[0], t, m2, le, NULL);
        reflect_in(&sw[0], w, m2, le, NULL);
    }
    reflect_in(&s[1], t, m2, la, NULL);
    reflect_in(&s[2], t, m2, ab, NULL);
    reflect_in(&sw[1], w, m2, la, NULL); /* team w: 16 reflections, 2 people */
    publish_since(&o, rel(-3, m3));
    struct reading sm = read_summary(o.admin.token, t, m2, m2, 3, NULL);
    json_t *p = team_period(sm.json, m2);
    cr_assert_eq(block_int(p, "reflections", "lerend"), 2, "people, not reflections: %s", sm.raw);
    cr_assert_eq(block_int(p, "reflections", "absorptie"), 2, "%s", sm.raw);
    cr_assert_eq(block_int(p, "reflections", "verbindend"), 0, "%s", sm.raw);
    cr_assert_eq(block_int(p, "reflections", "opleidend"), 0, "%s", sm.raw);
    reading_free(&sm);
    expect_team_block_suppressed(o.admin.token, w, m2, 3, "reflections");
}

/* A team of 3 students who check in in month, their final reflections in
 * month shared with coach (a werkbegeleider of the team who supervises
 * them); writes the reflection ids. */
static void coached_team(struct fix_org *o, char t[40], int team_no, struct fix_user s[3],
                         struct fix_user *coach, const char *month, char refl[3][40])
{
    const char *ab[] = {"absorptie", NULL};
    team_with_checkins(o, t, team_no, 3, s, NULL, month);
    fix_member(o, t, coach, "werkbegeleider");
    for (int i = 0; i < 3; i++) {
        fix_supervise(o, &s[i], coach);
        reflect_in(&s[i], t, month, ab, refl[i]);
        share_with(&s[i], refl[i], coach);
    }
}

Test(summaries, attack6_feedback_dominated_by_one_recipient_is_suppressed)
{
    struct fix_org o;
    world(&o, 3);
    char d[40], b[40], m2[8], m3[8], rd[3][40], rb[3][40];
    struct fix_user sd[3], sb[3], coach;
    rel(-2, m2);
    fix_user(&o, NULL, &coach);
    coached_team(&o, d, 1, sd, &coach, m2, rd);
    coached_team(&o, b, 2, sb, &coach, m2, rb);
    /* Team d: sd[0] receives 4 of the 6 tops and tips. */
    for (int i = 0; i < 3; i++)
        feedback_in(&coach, rd[0], "top", m2);
    feedback_in(&coach, rd[0], "tip", m2);
    feedback_in(&coach, rd[1], "top", m2);
    feedback_in(&coach, rd[2], "tip", m2);
    /* Team b: 2 of 5 at most; the owner's own tip and a question do not count. */
    feedback_in(&coach, rb[0], "top", m2);
    feedback_in(&coach, rb[0], "top", m2);
    feedback_in(&coach, rb[1], "top", m2);
    feedback_in(&coach, rb[1], "tip", m2);
    feedback_in(&coach, rb[2], "tip", m2);
    feedback_in(&coach, rb[2], "question", m2);
    feedback_in(&sb[1], rb[1], "tip", m2);
    feedback_in(&sb[1], rb[1], "tip", m2);
    publish_since(&o, rel(-3, m3));
    expect_team_block_suppressed(o.admin.token, d, m2, 3, "feedback");
    struct reading s = read_summary(o.admin.token, b, m2, m2, 3, NULL);
    json_t *p = team_period(s.json, m2);
    cr_assert_eq(block_int(p, "feedback", "tops"), 3, "%s", s.raw);
    cr_assert_eq(block_int(p, "feedback", "tips"), 2, "%s", s.raw);
    reading_free(&s);
}

Test(summaries, attack6_activity_blocks_do_not_move_between_reads)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], refl[3][40], goals[3][40];
    struct fix_user s[3], coach, late;
    rel(-2, m2);
    fix_user(&o, NULL, &coach);
    coached_team(&o, t, 1, s, &coach, m2, refl);
    for (int i = 0; i < 3; i++) {
        feedback_in(&coach, refl[i], i ? "top" : "tip", m2);
        goal_in(&s[i], "active", m2, goals[i]);
    }
    member(&o, t, "student", &late);
    publish_since(&o, rel(-3, m3));
    struct reading sm = read_summary(o.admin.token, t, m3, m2, 3, NULL);
    json_t *p = team_period(sm.json, m2);
    cr_assert_eq(block_int(p, "reflections", "absorptie"), 3);
    cr_assert_eq(block_int(p, "feedback", "tops"), 2);
    cr_assert_eq(block_int(p, "goals", "active"), 3);
    struct before b = keep_before(o.admin.token, t, o.admin.token, m3, m2, sm.raw);
    reading_free(&sm);

    const char *op[] = {"opleidend", NULL};
    reflect_in(&late, t, m2, op, NULL);
    reflect_in(&s[0], t, m2, op, NULL);
    patch_own_ok(&s[1], "goals", goals[1], json_pack("{s:s}", "status", "dropped"));
    delete_own(&s[2], "goals", goals[2]);
    goal_in(&late, "achieved", m2, NULL);
    feedback_in(&coach, refl[1], "tip", m2);
    feedback_in(&coach, refl[2], "top", m2);
    publish();
    expect_unchanged(&b, "activity of a published month",
                     "the organisation's activity of a published month");
}

/* ---- attack 8: the admin's own contributions -------------------------------- */

Test(summaries, attack8_admin_and_praktijkopleider_contributions_never_count)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], u[40], m2[8], m3[8];
    struct fix_user pt[2], pu[3], po, admin2;
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 2, pt, NULL, m2);
    team_with_checkins(&o, u, 2, 3, pu, NULL, m2);
    fix_user(&o, "praktijkopleider", &po);
    fix_user(&o, "admin", &admin2); /* reads; contributes nothing */
    const struct fix_user *contributors_[] = {&o.admin, &po};
    const char *teams[] = {t, u};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            fix_member(&o, teams[j], contributors_[i], "member");
            checkin_in(contributors_[i], teams[j], ONES, m2);
        }
    publish_since(&o, rel(-3, m3));
    struct reading s = read_summary(admin2.token, NULL, m3, m2, 3, NULL);
    expect_suppressed_period(org_team_period(s.json, t, m2), "2 students + admin + po");
    json_t *p = org_team_period(s.json, u, m2);
    cr_assert_eq(contributors(p), 3, "admin or po counted: %s", s.raw);
    expect_no_ones(p, "the admin's or po's", s.raw);
    /* The total: 5 students, but team t hides 2 of them. */
    expect_suppressed_period(org_total_period(s.json, m2), "a total next to a hidden team of 2");
    reading_free(&s);
    /* The admin and the po who checked in held their roles since before
     * the month: their check-ins were left out when written, so they read
     * the same 3 students and need no one more. */
    json_t *ref = summary(admin2.token, NULL, m3, m2, NULL);
    for (int i = 0; i < 2; i++) {
        s = read_summary(contributors_[i]->token, NULL, m3, m2, 3, NULL);
        expect_visible(org_team_period(s.json, u, m2), "3 students read by an admin or po");
        expect_same_period(org_team_period(s.json, u, m2), org_team_period(ref, u, m2),
                           "team u read by a reader whose check-in never counted");
        reading_free(&s);
    }
    json_decref(ref);
    cr_assert_eq(test_sql_int("SELECT count(*) FROM checkins WHERE user_id IN ('%s', '%s') AND "
                              "author_reads",
                              o.admin.id, po.id),
                 4, "the admin's and po's check-ins are not marked as never counting");
}

/* ---- figures on hand-computed data ----------------------------------------- */

/* Scores of six students per month (-3, -2), per vermogen. */
static const int FIG[2][NV][6] = {
    {{3, 4, 4, 5, 5, 6}, {5, 6, 6, 7, 7, 8}, {2, 4, 6, 6, 8, 10}, {8, 8, 9, 9, 10, 10}},
    {{7, 8, 8, 9, 9, 10}, {5, 6, 6, 7, 7, 9}, {3, 5, 5, 7, 9, 10}, {4, 5, 5, 6, 6, 7}}};

Test(summaries, figures_of_two_published_months_exactly)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], m4[8], m6[8];
    rel(-2, m2);
    rel(-3, m3);
    rel(-4, m4);
    rel(-6, m6);
    struct fix_user s[6], mgr, coach;
    fix_team(&o, t);
    members(&o, t, "student", 6, s);
    member(&o, t, "teammanager", &mgr);
    member(&o, t, "werkbegeleider", &coach);
    char txt[7][96];
    static const char *const tag[7] = {"oud-goed-0", "oud-beter-1", "goed-0", "beter-1",
                                       "prive-3",    "prive-b-3",   "goed-4"};
    for (int i = 0; i < 7; i++)
        test_unique(txt[i], sizeof(txt[i]), tag[i]);
    /* Month -3: two people share text (and one shares an empty one): too few. */
    for (int i = 0; i < 6; i++) {
        int sc[NV];
        for (int v = 0; v < NV; v++)
            sc[v] = FIG[0][v][i];
        checkin_texts_in(&s[i], t, sc, i == 0 ? txt[0] : NULL, i == 1 ? txt[1] : NULL,
                         i <= 2 ? 1 : -1, m3);
    }
    /* Month -2: s0, s1, s4 share non-empty text; s2 shares nothing written;
     * s3 writes but does not share. */
    const char *gw[6] = {txt[2], NULL, NULL, txt[4], txt[6], NULL};
    const char *cb[6] = {NULL, txt[3], NULL, txt[5], NULL, NULL};
    static const int share[6] = {1, 1, 1, 0, 1, -1};
    for (int i = 0; i < 6; i++) {
        int sc[NV];
        for (int v = 0; v < NV; v++)
            sc[v] = FIG[1][v][i];
        checkin_texts_in(&s[i], t, sc, gw[i], cb[i], share[i], m2);
    }
    /* Reflections -2: s0 twice on absorptie+lerend, s1 absorptie, s2
     * verbindend, s3 untagged; s4 only a draft, s5's deleted. -3: s1 alone. */
    const char *al[] = {"absorptie", "lerend", NULL}, *ab[] = {"absorptie", NULL},
               *ve[] = {"verbindend", NULL}, *op[] = {"opleidend", NULL}, *le[] = {"lerend", NULL};
    char refl[4][40], gone[40], date[11];
    reflect_in(&s[0], t, m2, al, refl[0]);
    reflect_in(&s[0], t, m2, al, NULL);
    reflect_in(&s[1], t, m2, ab, refl[1]);
    reflect_in(&s[2], t, m2, ve, refl[2]);
    reflect_in(&s[3], t, m2, NULL, refl[3]);
    day_in(m2, 11, date);
    reflect_on(&s[4], t, date, "draft", op, 201, NULL);
    reflect_in(&s[5], t, m2, op, gone);
    delete_own(&s[5], "reflections", gone);
    reflect_in(&s[1], t, m3, le, NULL);
    /* Feedback -2 from the coach: tops 3, tips 1 (s0 2 of 4: not more than
     * half); a question and s0's own tip do not count. */
    for (int i = 0; i < 3; i++) {
        fix_supervise(&o, &s[i], &coach);
        share_with(&s[i], refl[i], &coach);
    }
    feedback_in(&coach, refl[0], "top", m2);
    feedback_in(&coach, refl[0], "tip", m2);
    feedback_in(&coach, refl[1], "top", m2);
    feedback_in(&coach, refl[2], "top", m2);
    feedback_in(&coach, refl[2], "question", m2);
    feedback_in(&s[0], refl[0], "tip", m2);
    /* Goals -2 as people per status: open 1, active 2, achieved 1, dropped 1;
     * s4's is deleted. -3: s5's open goal alone. */
    char g4[40];
    goal_in(&s[0], "active", m2, NULL);
    goal_in(&s[0], "open", m2, NULL);
    goal_in(&s[1], "active", m2, NULL);
    goal_in(&s[2], "achieved", m2, NULL);
    goal_in(&s[3], "dropped", m2, NULL);
    goal_in(&s[4], "active", m2, g4);
    delete_own(&s[4], "goals", g4);
    goal_in(&s[5], "open", m3, NULL);
    publish_since(&o, m4);

    const char *hidden[] = {txt[0],  txt[1],     txt[4],     txt[5],   s[0].id,
                            s[3].id, s[0].email, s[3].email, coach.id, NULL};
    struct reading r = read_summary(mgr.token, t, m6, m2, 3, hidden);
    cr_assert_str_eq(jstr(r.json, "team_id"), t);
    json_t *periods = json_object_get(r.json, "periods");
    cr_assert_eq(json_array_size(periods), 5, "%s", r.raw);
    expect_unpublished(team_period(r.json, m6), "a month before the organisation existed");
    char m5[8];
    expect_unpublished(team_period(r.json, rel(-5, m5)), "a month before the organisation existed");
    expect_suppressed_period(team_period(r.json, m4), "the empty first month");

    static const double mean[2][NV] = {{4.5, 6.5, 6, 9}, {8.5, 6.67, 6.5, 5.5}};
    static const double median[2][NV] = {{4.5, 6.5, 6, 9}, {8.5, 6.5, 6, 5.5}};
    static const char *const trend[NV] = {"up", "equal", "equal", "down"};
    const char *months[2] = {m3, m2};
    for (int m = 0; m < 2; m++) {
        json_t *p = team_period(r.json, months[m]);
        expect_visible(p, months[m]);
        cr_assert_eq(contributors(p), 6, "%s", r.raw);
        for (int v = 0; v < NV; v++)
            expect_vermogen_of(p, VERM[v], mean[m][v], median[m][v], FIG[m][v], 6,
                               m ? trend[v] : NULL);
    }
    json_t *p3 = team_period(r.json, m3), *p2 = team_period(r.json, m2);
    expect_suppressed_block(p3, "reflections");
    expect_suppressed_block(p3, "feedback");
    expect_suppressed_block(p3, "goals");
    cr_assert_eq(json_array_size(json_object_get(p3, "texts")), 0, "%s", r.raw);
    static const int by[NV] = {2, 1, 0, 1};
    for (int v = 0; v < NV; v++)
        cr_assert_eq(block_int(p2, "reflections", VERM[v]), by[v], "by_vermogen %s: %s", VERM[v],
                     r.raw);
    cr_assert_eq(
        json_object_size(json_object_get(json_object_get(p2, "reflections"), "by_vermogen")), NV);
    cr_assert_eq(block_int(p2, "feedback", "tops"), 3, "%s", r.raw);
    cr_assert_eq(block_int(p2, "feedback", "tips"), 1, "%s", r.raw);
    static const char *const st[] = {"open", "active", "achieved", "dropped"};
    static const int gs[] = {1, 2, 1, 1};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(block_int(p2, "goals", st[i]), gs[i], "goals %s: %s", st[i], r.raw);
    cr_assert_eq(json_array_size(json_object_get(p2, "texts")), 3, "texts: %s", r.raw);
    cr_assert(has_text(p2, "goes_well", txt[2]), "%s", r.raw);
    cr_assert(has_text(p2, "could_be_better", txt[3]), "%s", r.raw);
    cr_assert(has_text(p2, "goes_well", txt[6]), "%s", r.raw);
    reading_free(&r);

    /* The organisation view: the same team figures; the total of one team
     * is that team's figures without texts or trends. */
    r = read_summary(o.admin.token, NULL, m3, m2, 3, hidden);
    json_t *tp = org_team_period(r.json, t, m2);
    json_t *ts = summary(mgr.token, t, m3, m2, NULL);
    expect_same_period(tp, team_period(ts, m2), "the team in the organisation view");
    json_decref(ts);
    json_t *tot = org_total_period(r.json, m2);
    cr_assert_eq(contributors(tot), 6);
    for (int v = 0; v < NV; v++)
        expect_vermogen_of(tot, VERM[v], mean[1][v], median[1][v], FIG[1][v], 6, NULL);
    reading_free(&r);
}

Test(summaries, second_checkin_in_a_month_replaces_the_first)
{
    struct fix_org o;
    world(&o, 3);
    char team[40], m2[8], m3[8], p[8];
    fix_team(&o, team);
    struct fix_user m[4];
    members(&o, team, "student", 4, m);
    static const int first[4][NV] = {{4, 5, 6, 7}, {6, 5, 4, 3}, {8, 8, 8, 8}, {1, 1, 1, 1}};
    for (int i = 0; i < 4; i++)
        checkin(&m[i], team, first[i], 201, p);
    /* The same person again in the month: 200, replaced, not added; twice. */
    checkin(&m[3], team, (const int[]){10, 9, 8, 7}, 200, NULL);
    checkin(&m[3], team, (const int[]){10, 9, 8, 7}, 200, NULL);
    rel(-2, m2);
    for (int i = 0; i < 4; i++)
        move_checkin(&m[i], team, p, m2);
    publish_since(&o, rel(-3, m3));
    struct reading sm = read_summary(o.admin.token, team, m2, m2, 3, NULL);
    json_t *pp = team_period(sm.json, m2);
    cr_assert_eq(contributors(pp), 4, "a replacement counted as a new person");
    expect_vermogen_of(pp, "absorptie", 7.0, 7.0, (const int[]){4, 6, 8, 10}, 4, NULL);
    expect_vermogen_of(pp, "verbindend", 6.75, 6.5, (const int[]){5, 5, 8, 9}, 4, NULL);
    expect_vermogen_of(pp, "opleidend", 6.5, 7.0, (const int[]){6, 4, 8, 8}, 4, NULL);
    expect_vermogen_of(pp, "lerend", 6.25, 7.0, (const int[]){7, 3, 8, 7}, 4, NULL);
    reading_free(&sm);
}

/* ---- k rules -------------------------------------------------------------- */

Test(summaries, k_raised_hides_lowered_restores_and_never_reveals)
{
    struct fix_org o;
    world(&o, 5);
    char a[40], b[40], m2[8], m3[8];
    struct fix_user pa[5], pb[4];
    rel(-2, m2);
    team_with_checkins(&o, a, 1, 5, pa, NULL, m2);
    team_with_checkins(&o, b, 2, 4, pb, NULL, m2);
    publish_since(&o, rel(-3, m3));
    struct reading sa = read_summary(o.admin.token, a, m2, m2, 5, NULL);
    cr_assert_eq(contributors(team_period(sa.json, m2)), 5);
    json_t *sb = summary(o.admin.token, b, m2, m2, NULL);
    expect_suppressed_period(team_period(sb, m2), "a team of 4 at k=5");
    json_decref(sb);

    set_k(&o, 7);
    expect_team_month_suppressed(o.admin.token, a, m2, m2, m2, 7, "a team of 5 at k=7");
    struct reading s = read_summary(o.admin.token, NULL, m2, m2, 7, NULL);
    expect_suppressed_period(org_team_period(s.json, a, m2), "a team of 5 at k=7 (organisation)");
    expect_suppressed_period(org_total_period(s.json, m2), "the total at k=7");
    reading_free(&s);

    set_k(&o, 5);
    expect_same_body(sa.raw, summary_raw(o.admin.token, a, m2, m2), "k back to 5");

    set_k(&o, 3);
    expect_team_month_suppressed(o.admin.token, b, m2, m2, m2, 3,
                                 "a team of 4 published under k=5, read at k=3");
    s = read_summary(o.admin.token, NULL, m2, m2, 3, NULL);
    expect_same_period(org_team_period(s.json, a, m2), team_period(sa.json, m2), "team a at k=3");
    expect_suppressed_period(org_team_period(s.json, b, m2), "team b at k=3 (organisation)");
    expect_suppressed_period(org_total_period(s.json, m2), "a total published suppressed, at k=3");
    reading_free(&s);
    reading_free(&sa);
}

Test(summaries, k_raised_after_the_month_began_stays_locked_for_it)
{
    /* k is 3 when months -3 and -2 begin; the admin raises it to 5 and
     * lowers it back to 3 before they are published. Both are published
     * with 5 (the highest in force since they began): team a of 4 stays
     * hidden although k is 3 again, team b of 5 shows. */
    struct fix_org o;
    world(&o, 3);
    char a[40], b[40], m2[8], m3[8];
    struct fix_user pa[4], pb[5];
    rel(-2, m2);
    team_with_checkins(&o, a, 1, 4, pa, NULL, m2);
    team_with_checkins(&o, b, 2, 5, pb, NULL, m2);
    age_org(&o, rel(-3, m3));
    set_k(&o, 5);
    set_k(&o, 3);
    publish();
    cr_assert_eq(test_sql_int("SELECT k FROM published_periods WHERE organisation_id = '%s' AND "
                              "period = '%s-01'",
                              o.id, m2),
                 5, "month -2 was not published with the raised k");
    struct reading s = read_summary(o.admin.token, NULL, m2, m2, 3, NULL);
    expect_suppressed_period(org_team_period(s.json, a, m2), "4 people, published under k=5");
    cr_assert_eq(contributors(org_team_period(s.json, b, m2)), 5, "%s", s.raw);
    expect_suppressed_period(org_total_period(s.json, m2), "a total next to a hidden team of 4");
    reading_free(&s);
    expect_team_month_suppressed(o.admin.token, a, m3, m2, m2, 3, "team a, read alone");
    /* A control: without the raise, the same team of 4 shows at k=3. */
    struct fix_org c;
    world(&c, 3);
    char ca[40];
    struct fix_user pc[4];
    team_with_checkins(&c, ca, 1, 4, pc, NULL, m2);
    publish_since(&c, m3);
    s = read_summary(c.admin.token, ca, m2, m2, 3, NULL);
    cr_assert_eq(contributors(team_period(s.json, m2)), 4, "%s", s.raw);
    reading_free(&s);
}

/* The reviewer's attack on goals, in organisation o (k = 3): team S shown
 * (s[0..5] check in), small team H with target and s[0..3] as students,
 * nobody checks in to H; goals s[0..3] active, s[4] achieved, target
 * dropped. With extra, two more hidden teams of two who check in make the
 * total's check-ins rest on 4 hidden people, so the total itself shows. */
static void goals_attack(struct fix_org *o, int extra, char S[40], char H[40], const char *m2)
{
    struct fix_user s[6], target, q[4];
    team_with_checkins(o, S, 1, 6, s, NULL, m2);
    fix_team(o, H);
    member(o, H, "student", &target);
    for (int i = 0; i < 4; i++)
        fix_member(o, H, &s[i], "student");
    if (extra) {
        char Q[2][40];
        for (int j = 0; j < 2; j++)
            team_with_checkins(o, Q[j], 5 + j, 2, &q[2 * j], NULL, m2);
    }
    for (int i = 0; i < 4; i++)
        goal_in(&s[i], "active", m2, NULL);
    goal_in(&s[4], "achieved", m2, NULL);
    goal_in(&target, "dropped", m2, NULL);
}

Test(summaries, org_total_goals_minus_a_shown_team_is_never_one_person)
{
    static const char *const gk[] = {"open", "active", "achieved", "dropped", NULL};
    static const int s_goals[] = {0, 4, 1, 0};
    for (int extra = 0; extra < 2; extra++) {
        struct fix_org o;
        world(&o, 3);
        char S[40], H[40], m2[8], m3[8];
        rel(-2, m2);
        goals_attack(&o, extra, S, H, m2);
        publish_since(&o, rel(-3, m3));
        struct reading s = read_summary(o.admin.token, NULL, m2, m2, 3, NULL);
        json_t *ps = org_team_period(s.json, S, m2);
        cr_assert_eq(contributors(ps), 6, "%s", s.raw);
        for (int i = 0; gk[i]; i++)
            cr_assert_eq(block_int(ps, "goals", gk[i]), s_goals[i], "S goals.%s: %s", gk[i], s.raw);
        expect_suppressed_period(org_team_period(s.json, H, m2), "H, where nobody checked in");
        json_t *tot = org_total_period(s.json, m2);
        if (!extra) {
            /* H has members who could have checked in: it counts as at
             * least one hidden person, so the whole total is hidden. */
            expect_suppressed_period(tot, "the total next to H");
        } else {
            /* The total shows (10 people, 4 hidden); its goals are the sum
             * of S's and H's, so total - S is H: s[0..3] and target, five
             * people, never the target alone. */
            expect_visible(tot, "the total over S, H and two teams of two");
            cr_assert_eq(contributors(tot), 10, "%s", s.raw);
            static const int tot_goals[] = {0, 8, 1, 1};
            int rest = 0;
            for (int i = 0; gk[i]; i++) {
                json_int_t g = block_int(tot, "goals", gk[i]);
                cr_assert_eq(g, tot_goals[i], "total goals.%s: %s", gk[i], s.raw);
                rest += (int)(g - s_goals[i]);
            }
            cr_assert_geq(rest, 3, "total - S is a group of %d: %s", rest, s.raw);
        }
        reading_free(&s);
    }
}

Test(summaries, total_shape_is_the_same_whether_a_lone_student_checked_in_or_not)
{
    /* Team A of 3 shows; team H has one student. Whether that student
     * checked in or not, the total looks the same (suppressed): otherwise
     * its shape would tell whether they checked in. */
    char *tot_raw[2];
    for (int checked = 0; checked < 2; checked++) {
        struct fix_org o;
        world(&o, 3);
        char A[40], H[40], m2[8], m3[8];
        struct fix_user pa[3], h;
        rel(-2, m2);
        team_with_checkins(&o, A, 1, 3, pa, NULL, m2);
        fix_team(&o, H);
        member(&o, H, "student", &h);
        if (checked)
            checkin_in(&h, H, (const int[]){3, 4, 5, 6}, m2);
        publish_since(&o, rel(-3, m3));
        cr_assert_eq(test_sql_int("SELECT count(*) FROM checkins WHERE team_id = '%s'", H),
                     checked);
        struct reading s = read_summary(o.admin.token, NULL, m2, m2, 3, NULL);
        cr_assert_eq(contributors(org_team_period(s.json, A, m2)), 3, "%s", s.raw);
        expect_suppressed_period(org_team_period(s.json, H, m2), "a team of one");
        json_t *tot = org_total_period(s.json, m2);
        expect_suppressed_period(tot, checked ? "the total, H's student checked in"
                                              : "the total, H's student did not check in");
        tot_raw[checked] = dump(tot);
        reading_free(&s);
    }
    cr_assert_str_eq(tot_raw[0], tot_raw[1], "the two totals differ");
    free(tot_raw[0]);
    free(tot_raw[1]);
}

Test(summaries, a_unanimous_vermogen_is_suppressed)
{
    /* Month -3: all four give 7 on verbindend (suppressed, the other
     * vermogens shown). Month -2: one of them gives 8: verbindend shows,
     * with a null trend (its previous month was suppressed). */
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], m4[8];
    struct fix_user s[4];
    rel(-2, m2);
    rel(-3, m3);
    fix_team(&o, t);
    members(&o, t, "student", 4, s);
    static const int sc3[4][NV] = {{3, 7, 5, 6}, {4, 7, 6, 6}, {5, 7, 7, 8}, {6, 7, 8, 8}};
    static const int sc2[4][NV] = {{3, 7, 5, 6}, {4, 7, 6, 6}, {5, 7, 7, 8}, {6, 8, 8, 8}};
    for (int i = 0; i < 4; i++) {
        checkin_in(&s[i], t, sc3[i], m3);
        checkin_in(&s[i], t, sc2[i], m2);
    }
    publish_since(&o, rel(-4, m4));
    struct reading sm = read_summary(o.admin.token, t, m3, m2, 3, NULL);
    json_t *p3 = team_period(sm.json, m3), *p2 = team_period(sm.json, m2);
    cr_assert_eq(contributors(p3), 4, "%s", sm.raw);
    cr_assert_eq(contributors(p2), 4, "%s", sm.raw);
    json_t *v3 = vermogen(p3, "verbindend");
    cr_assert(json_is_true(json_object_get(v3, "suppressed")) && json_object_size(v3) == 1,
              "everyone's 7 on verbindend is shown: %s", sm.raw);
    expect_vermogen_of(p3, "absorptie", 4.5, 4.5, (const int[]){3, 4, 5, 6}, 4, NULL);
    expect_vermogen_of(p3, "opleidend", 6.5, 6.5, (const int[]){5, 6, 7, 8}, 4, NULL);
    expect_vermogen_of(p3, "lerend", 7.0, 7.0, (const int[]){6, 6, 8, 8}, 4, NULL);
    expect_vermogen_of(p2, "verbindend", 7.25, 7.0, (const int[]){7, 7, 7, 8}, 4, NULL);
    expect_vermogen_of(p2, "absorptie", 4.5, 4.5, (const int[]){3, 4, 5, 6}, 4, "equal");
    cr_assert_null(strstr(sm.raw, "\"distribution\":[0,0,0,0,0,0,4,0,0,0]"), "%s", sm.raw);
    reading_free(&sm);
}

/* ---- publication ---------------------------------------------------------- */

/* n `reflectd publish` at the same time; each must exit 0. */
static void publish_parallel(int n)
{
    pid_t pids[8];
    cr_assert(n <= 8);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        cr_assert(pids[i] >= 0, "fork failed");
        if (pids[i] == 0) {
            if (!freopen("/dev/null", "w", stdout))
                _exit(126);
            execl(test_bin(), test_bin(), "publish", (char *)NULL);
            _exit(127);
        }
    }
    for (int i = 0; i < n; i++) {
        int st = 0;
        cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a parallel publish ended with %d", st);
    }
}

/* A fingerprint of the organisation's published figures (rows and md5). */
static void published_fingerprint(const struct fix_org *o, char fp[64])
{
    test_sqlf(fp, 64,
              "SELECT count(*) || ':' || md5(coalesce(string_agg(f::text, ',' ORDER BY f::text), "
              "'')) FROM published_figures f WHERE organisation_id = '%s'",
              o->id);
}

Test(summaries, publication_happens_once_per_period, .timeout = 60)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m4[8];
    struct fix_user s[3];
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 3, s, NULL, m2);
    age_org(&o, rel(-4, m4));
    publish_parallel(4);
    long long rows = test_sql_int("SELECT count(*) FROM published_periods WHERE organisation_id = "
                                  "'%s'",
                                  o.id);
    long long distinct = test_sql_int("SELECT count(DISTINCT period) FROM published_periods WHERE "
                                      "organisation_id = '%s'",
                                      o.id);
    cr_assert_eq(rows, distinct, "a period published twice (%lld rows, %lld periods)", rows,
                 distinct);
    cr_assert_geq(rows, 3, "months -4, -3 and -2 are due");
    cr_assert_eq(test_sql_int("SELECT count(*) FROM published_periods WHERE organisation_id = '%s' "
                              "AND period = '%s-01'",
                              o.id, m2),
                 1);
    char *raw = summary_raw(o.admin.token, NULL, m4, m2);
    char fp[64];
    published_fingerprint(&o, fp);
    /* Again, alone and in parallel: nothing of this organisation moves. */
    publish();
    publish_parallel(2);
    cr_assert_eq(
        test_sql_int("SELECT count(*) FROM published_periods WHERE organisation_id = '%s'", o.id),
        rows);
    char fp2[64];
    published_fingerprint(&o, fp2);
    cr_assert_str_eq(fp2, fp, "published_figures changed on a second publication");
    expect_same_body(raw, summary_raw(o.admin.token, NULL, m4, m2), "a second publication");
    free(raw);
}

Test(summaries, publication_bounds_created_at_and_the_open_month)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], late_team[40], m2[8], m3[8], m6[8];
    struct fix_user s[3], sl[3];
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 3, s, NULL, m2);
    publish_since(&o, rel(-3, m3));
    publish();
    struct reading sm = read_summary(o.admin.token, t, rel(-6, m6), CUR, 3, NULL);
    cr_assert_eq(json_array_size(json_object_get(sm.json, "periods")), 7);
    for (int d = -6; d <= -4; d++) {
        char m[8];
        expect_unpublished(team_period(sm.json, rel(d, m)), "a month before the organisation");
    }
    expect_suppressed_period(team_period(sm.json, m3), "the organisation's first month, empty");
    expect_visible(team_period(sm.json, m2), "month -2");
    expect_unpublished(team_period(sm.json, CUR), "the open month after reflectd publish");
    reading_free(&sm);
    cr_assert_eq(test_sql_int("SELECT count(*) FROM published_periods WHERE organisation_id = '%s' "
                              "AND period < '%s-01'",
                              o.id, m3),
                 0, "months before created_at were published");
    char *org_before = summary_raw(o.admin.token, NULL, m3, m2);

    /* A team created after month -2 was published, with three check-ins
     * moved into it: it must not get figures for -2 (whatever shape). */
    team_with_checkins(&o, late_team, 2, 3, sl, NULL, m2);
    publish();
    sm = read_summary(o.admin.token, late_team, m3, m2, 3, NULL);
    json_t *p = team_period(sm.json, m2);
    cr_log_info("a team created after publication shows month -2 as: %s", sm.raw);
    cr_assert(!is_visible(p), "a team created after publication got figures: %s", sm.raw);
    reading_free(&sm);
    /* The organisation total of -2 stays what it was. */
    json_t *before = json_loads(org_before, 0, NULL),
           *after = summary(o.admin.token, NULL, m3, m2, NULL);
    expect_same_period(org_total_period(after, m2), org_total_period(before, m2),
                       "the total after a new team");
    expect_same_period(org_team_period(after, t, m2), org_team_period(before, t, m2),
                       "the old team after a new team");
    json_decref(before);
    json_decref(after);
    free(org_before);
}

/* ---- who reads --------------------------------------------------------------- */

/* One organisation with team t (manager, student, werkbegeleider, member)
 * and team u (its own manager), three check-ins in t in month -2, k = 3,
 * published. */
struct readers {
    struct fix_org o;
    char t[40], u[40], m2[8];
    struct fix_user mgr, mgr_u, student, wb, member, po;
};

static void readers_setup(struct readers *x)
{
    world(&x->o, 3);
    fix_team(&x->o, x->t);
    fix_team(&x->o, x->u);
    member(&x->o, x->t, "teammanager", &x->mgr);
    member(&x->o, x->u, "teammanager", &x->mgr_u);
    member(&x->o, x->t, "student", &x->student);
    member(&x->o, x->t, "werkbegeleider", &x->wb);
    member(&x->o, x->t, "member", &x->member);
    fix_user(&x->o, "praktijkopleider", &x->po);
    rel(-2, x->m2);
    checkin_in(&x->student, x->t, (const int[]){7, 7, 7, 7}, x->m2);
    checkin_in(&x->wb, x->t, (const int[]){8, 8, 8, 8}, x->m2);
    checkin_in(&x->member, x->t, (const int[]){9, 9, 9, 9}, x->m2);
    char m3[8];
    publish_since(&x->o, rel(-3, m3));
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

    struct reading ref = read_summary(x.mgr.token, x.t, NULL, NULL, 3, NULL);
    json_t *periods = json_object_get(ref.json, "periods");
    cr_assert_eq(json_array_size(periods), 12, "the default range is twelve months");
    cr_assert_str_eq(jstr(json_array_get(periods, 11), "period"), CUR,
                     "the default range ends with the current month");
    cr_assert_eq(contributors(team_period(ref.json, x.m2)), 3);
    /* praktijkopleider and admin see the same figures. */
    const char *all[] = {x.po.token, x.o.admin.token, NULL};
    for (int i = 0; all[i]; i++) {
        json_t *s = summary(all[i], x.t, NULL, NULL, NULL);
        expect_same_period(team_period(s, x.m2), team_period(ref.json, x.m2),
                           "the figures by reader");
        json_decref(s);
    }
    reading_free(&ref);
    expect_404_like_nothing(x.mgr_u.token, x.t, "the manager of another team");
    expect_404_like_nothing(x.student.token, x.t, "a student of the team");
    expect_404_like_nothing(x.wb.token, x.t, "a werkbegeleider of the team");
    expect_404_like_nothing(x.member.token, x.t, "a member of the team");
    expect_404_like_nothing(other.admin.token, x.t, "another organisation's admin");
    /* The other team's manager does read their own (empty) team. */
    expect_team_month_suppressed(x.mgr_u.token, x.u, x.m2, x.m2, x.m2, 3,
                                 "an empty published month");

    expect_summary_problem(NULL, x.t, NULL, NULL, 401);
    struct http_resp r;
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
        struct reading s = read_summary(ok[i], NULL, NULL, NULL, 3, NULL);
        cr_assert_str_eq(jstr(s.json, "organisation_id"), x.o.id);
        cr_assert_eq(json_array_size(json_object_get(s.json, "teams")), 2);
        cr_assert_eq(contributors(org_team_period(s.json, x.t, x.m2)), 3);
        expect_suppressed_period(org_team_period(s.json, x.u, x.m2), "the empty team");
        cr_assert_eq(contributors(org_total_period(s.json, x.m2)), 3);
        assert_complement(s.json, 3);
        reading_free(&s);
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

/* ---- complementary suppression -------------------------------------------- */

Test(summaries, org_total_suppressed_when_a_small_team_could_be_subtracted)
{
    struct fix_org o;
    world(&o, 3);
    char a[40], b[40], c[40], m2[8], m3[8];
    struct fix_user pa[4], pb[3], pc[2];
    rel(-2, m2);
    team_with_checkins(&o, a, 1, 4, pa, NULL, m2);
    team_with_checkins(&o, b, 2, 3, pb, NULL, m2);
    team_with_checkins(&o, c, 3, 2, pc, NULL, m2);
    publish_since(&o, rel(-3, m3));
    struct reading s = read_summary(o.admin.token, NULL, m2, m2, 3, NULL);
    cr_assert_eq(contributors(org_team_period(s.json, a, m2)), 4);
    cr_assert_eq(contributors(org_team_period(s.json, b, m2)), 3);
    expect_suppressed_period(org_team_period(s.json, c, m2), "the team of 2");
    expect_suppressed_period(org_total_period(s.json, m2), "the total next to a team of 2");
    assert_complement(s.json, 3);
    reading_free(&s);
}

Test(summaries, org_total_shown_when_hidden_teams_hold_nobody_or_k)
{
    struct fix_org o;
    world(&o, 3);
    char a[40], b[40], c[40], d[40], e[40], m2[8], m3[8];
    struct fix_user pa[4], pb[3], pc[1], pd[2], pe[1], po;
    rel(-2, m2);
    rel(-3, m3);
    team_with_checkins(&o, a, 1, 4, pa, NULL, m2);
    team_with_checkins(&o, b, 2, 3, pb, NULL, m2);
    /* Team c: only its teammanager, who cannot contribute (a team with a
     * student who could have checked in counts as at least one person:
     * total_shape_is_the_same_whether_a_lone_student_checked_in_or_not). */
    fix_team(&o, c);
    members(&o, c, "teammanager", 1, pc);
    team_with_checkins(&o, d, 3, 2, pd, NULL, m3);
    team_with_checkins(&o, e, 4, 1, pe, NULL, m3); /* -3: 2 + 1 hidden = k */
    /* d's and e's students leave before publication: in -2 those teams
     * have nobody who could have contributed. */
    for (int i = 0; i < 2; i++)
        remove_member(&o, d, &pd[i]);
    remove_member(&o, e, &pe[0]);
    fix_user(&o, "praktijkopleider", &po);
    publish_since(&o, m3);
    struct reading s = read_summary(po.token, NULL, m3, m2, 3, NULL);
    expect_suppressed_period(org_team_period(s.json, c, m2), "the team without check-ins");
    expect_suppressed_period(org_team_period(s.json, d, m2), "a team without members");
    json_t *tot = org_total_period(s.json, m2);
    expect_visible(tot, "a total that reveals nobody");
    cr_assert_eq(contributors(tot), 7);
    /* The total's bins are the two teams' and its mean is their pooled mean. */
    int d2[NV][10] = {{0}};
    for (int i = 0; i < 4; i++) {
        int sc[NV];
        person_scores(1, i, sc);
        add_scores(d2, sc);
        if (i < 3) {
            person_scores(2, i, sc);
            add_scores(d2, sc);
        }
    }
    expect_distributions(tot, d2, "total", s.raw);
    for (int v = 0; v < NV; v++) {
        double sum = 0;
        for (int b2 = 0; b2 < 10; b2++)
            sum += (b2 + 1) * d2[v][b2];
        double got = json_number_value(json_object_get(vermogen(tot, VERM[v]), "mean"));
        cr_assert(fabs(got - sum / 7.0) < 0.0051, "%s pooled mean %f, got %f", VERM[v], sum / 7.0,
                  got);
    }
    /* -3: a team of 2 and a team of 1 hidden, 3 = k people: shown. */
    tot = org_total_period(s.json, m3);
    expect_visible(tot, "the total over two small teams holding k people");
    cr_assert_eq(contributors(tot), 3);
    assert_complement(s.json, 3);
    reading_free(&s);
}

/* The organisation total's block counts, minus every team whose block is
 * shown, must leave nothing here (the remainder is one student's). */
static void expect_no_block_remainder(const json_t *s, const char *month, const char *block,
                                      const char *const *keys, const char *why)
{
    json_t *tot = org_total_period(s, month);
    if (!is_visible(tot) || json_object_get(json_object_get(tot, block), "suppressed"))
        return;
    char *d = dump(tot);
    for (int i = 0; keys[i]; i++) {
        json_int_t rest = block_int(tot, block, keys[i]);
        size_t j;
        json_t *t;
        json_array_foreach(json_object_get(s, "teams"), j, t)
        {
            json_t *p = period_of(json_object_get(t, "periods"), month);
            if (is_visible(p) && !json_object_get(json_object_get(p, block), "suppressed"))
                rest -= block_int(p, block, keys[i]);
        }
        cr_assert_eq(rest, 0, "%s: the total's %s.%s minus the shown teams leaves %lld: %s", why,
                     block, keys[i], (long long)rest, d);
    }
    free(d);
}

Test(summaries, org_total_activity_does_not_reveal_a_suppressed_block)
{
    struct fix_org o;
    world(&o, 3);
    char a[40], b[40], c[40], m2[8], m3[8];
    struct fix_user pa[3], pb[3], pc[1];
    rel(-2, m2);
    team_with_checkins(&o, a, 1, 3, pa, NULL, m2);
    team_with_checkins(&o, b, 2, 3, pb, NULL, m2);
    const char *abs[] = {"absorptie", NULL}, *ler[] = {"lerend", NULL};
    for (int i = 0; i < 3; i++) {
        reflect_in(&pa[i], a, m2, abs, NULL);
        goal_in(&pa[i], "active", m2, NULL);
    }
    reflect_in(&pb[0], b, m2, ler, NULL); /* one student of b reflects */
    goal_in(&pb[0], "dropped", m2, NULL); /* and has a goal */
    fix_team(&o, c);
    members(&o, c, "student", 1, pc);
    reflect_in(&pc[0], c, m2, ler, NULL); /* team c: no check-ins, one reflection */
    publish_since(&o, rel(-3, m3));
    struct reading s = read_summary(o.admin.token, NULL, m2, m2, 3, NULL);
    json_t *pA = org_team_period(s.json, a, m2);
    cr_assert_eq(block_int(pA, "reflections", "absorptie"), 3, "%s", s.raw);
    cr_assert_eq(block_int(pA, "goals", "active"), 3, "%s", s.raw);
    expect_suppressed_block(org_team_period(s.json, b, m2), "reflections");
    expect_suppressed_block(org_team_period(s.json, b, m2), "goals");
    expect_suppressed_period(org_team_period(s.json, c, m2), "team c");
    assert_complement(s.json, 3);
    static const char *const vk[] = {"absorptie", "verbindend", "opleidend", "lerend", NULL};
    static const char *const gk[] = {"open", "active", "achieved", "dropped", NULL};
    expect_no_block_remainder(s.json, m2, "reflections", vk, "one student's reflections");
    expect_no_block_remainder(s.json, m2, "goals", gk, "one student's goal");
    reading_free(&s);
}

Test(summaries, org_total_feedback_does_not_reveal_a_suppressed_feedback_block)
{
    struct fix_org o;
    world(&o, 3);
    char a[40], b[40], m2[8], m3[8], ra[3][40], rb[3][40];
    struct fix_user pa[3], pb[3], coach;
    rel(-2, m2);
    fix_user(&o, NULL, &coach);
    coached_team(&o, a, 1, pa, &coach, m2, ra);
    coached_team(&o, b, 2, pb, &coach, m2, rb);
    for (int i = 0; i < 3; i++)
        feedback_in(&coach, ra[i], "top", m2);
    feedback_in(&coach, rb[0], "tip", m2); /* one student of b */
    publish_since(&o, rel(-3, m3));
    struct reading s = read_summary(o.admin.token, NULL, m2, m2, 3, NULL);
    cr_assert_eq(block_int(org_team_period(s.json, a, m2), "feedback", "tops"), 3, "%s", s.raw);
    expect_suppressed_block(org_team_period(s.json, b, m2), "feedback");
    static const char *const fk[] = {"tops", "tips", NULL};
    expect_no_block_remainder(s.json, m2, "feedback", fk, "one student's tip");
    reading_free(&s);
}

Test(summaries, shifted_ranges_give_the_same_month)
{
    struct fix_org o;
    world(&o, 3);
    char v[40], sm_team[40], m2[8], m3[8];
    struct fix_user pv[3], ps[2];
    rel(-2, m2);
    team_with_checkins(&o, v, 1, 3, pv, NULL, m2);
    team_with_checkins(&o, sm_team, 2, 2, ps, NULL, m2);
    publish_since(&o, rel(-3, m3));
    json_t *ref_s = summary(o.admin.token, v, m2, m2, NULL);
    json_t *ref = json_incref(team_period(ref_s, m2));
    json_decref(ref_s);
    cr_assert_eq(contributors(ref), 3);

    /* {from, to} relative to month -2. */
    static const int ranges[][2] = {{0, 0}, {-1, 0}, {-2, 2}, {0, 1}, {-11, 0}, {-35, 0}, {-5, 2}};
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        char from[8], to[8];
        month_add(m2, ranges[i][0], from);
        month_add(m2, ranges[i][1], to);
        struct reading s = read_summary(o.admin.token, v, from, to, 3, NULL);
        json_t *periods = json_object_get(s.json, "periods");
        cr_assert_eq(json_array_size(periods), (size_t)(ranges[i][1] - ranges[i][0] + 1),
                     "range %zu: %s", i, s.raw);
        for (size_t j = 0; j < json_array_size(periods); j++) {
            char want[8];
            month_add(from, (int)j, want);
            cr_assert_str_eq(jstr(json_array_get(periods, j), "period"), want,
                             "range %zu: periods out of order", i);
        }
        expect_same_period(team_period(s.json, m2), ref, "month -2 under a shifted range");
        reading_free(&s);
        s = read_summary(o.admin.token, NULL, from, to, 3, NULL);
        assert_complement(s.json, 3);
        expect_same_period(org_team_period(s.json, v, m2), ref,
                           "the organisation view of month -2");
        expect_suppressed_period(org_team_period(s.json, sm_team, m2), "the small team");
        expect_suppressed_period(org_total_period(s.json, m2), "the total over 3 + 2");
        reading_free(&s);
    }
    json_decref(ref);
}

Test(summaries, org_total_hidden_from_a_reader_who_cannot_see_a_shown_team)
{
    /* Teams a (3), b (4) and c (4), a total of 11, all shown at
     * publication. po joined as praktijkopleider after the month began (so
     * may have checked in to it as a student elsewhere before): they need
     * k + 1 = 4, so a is hidden from them while b and c are not, and the
     * total must be hidden too, or total - b - c gives them a. po2, a
     * praktijkopleider since before the month, sees it all. */
    struct fix_org o;
    world(&o, 3);
    char a[40], b[40], c[40], m2[8], m3[8];
    struct fix_user pa[3], pb[4], pc[4], po, po2;
    rel(-2, m2);
    team_with_checkins(&o, a, 1, 3, pa, NULL, m2);
    team_with_checkins(&o, b, 2, 4, pb, NULL, m2);
    team_with_checkins(&o, c, 3, 4, pc, NULL, m2);
    fix_user(&o, "praktijkopleider", &po2);
    age_org(&o, rel(-3, m3));
    fix_user(&o, "praktijkopleider", &po);
    publish();
    struct reading ref = read_summary(po2.token, NULL, m2, m2, 3, NULL);
    cr_assert_eq(contributors(org_team_period(ref.json, a, m2)), 3, "%s", ref.raw);
    cr_assert_eq(contributors(org_total_period(ref.json, m2)), 11, "%s", ref.raw);
    json_t *pb_ref = org_team_period(ref.json, b, m2);
    struct reading s = read_summary(po.token, NULL, m2, m2, 3, NULL);
    expect_suppressed_period(org_team_period(s.json, a, m2), "a team of 3, read by a newcomer");
    expect_visible(org_team_period(s.json, b, m2), "team b");
    expect_same_period(org_team_period(s.json, b, m2), pb_ref, "team b read by the newcomer");
    expect_visible(org_team_period(s.json, c, m2), "team c");
    expect_suppressed_period(org_total_period(s.json, m2),
                             "the total, to a reader who cannot see a");
    reading_free(&s);
    reading_free(&ref);
}

Test(summaries, goals_count_only_student_members)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], u[40], m2[8], m3[8];
    struct fix_user st[3], su[2], wb[2], mb[2];
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 3, st, NULL, m2);
    team_with_checkins(&o, u, 2, 2, su, NULL, m2);
    const char *teams[] = {t, u};
    for (int j = 0; j < 2; j++) {
        member(&o, teams[j], "werkbegeleider", &wb[j]);
        checkin_in(&wb[j], teams[j], (const int[]){5, 5, 5, 5}, m2);
        goal_in(&wb[j], "achieved", m2, NULL);
        member(&o, teams[j], "member", &mb[j]);
        goal_in(&mb[j], "achieved", m2, NULL);
    }
    for (int i = 0; i < 3; i++)
        goal_in(&st[i], "active", m2, NULL);
    for (int i = 0; i < 2; i++)
        goal_in(&su[i], "active", m2, NULL);
    publish_since(&o, rel(-3, m3));
    struct reading s = read_summary(o.admin.token, t, m2, m2, 3, NULL);
    json_t *p = team_period(s.json, m2);
    cr_assert_eq(contributors(p), 4, "%s", s.raw);
    cr_assert_eq(block_int(p, "goals", "active"), 3, "%s", s.raw);
    cr_assert_eq(block_int(p, "goals", "achieved"), 0, "goals of non-students: %s", s.raw);
    reading_free(&s);
    expect_team_block_suppressed(o.admin.token, u, m2, 3, "goals");
}

/* ---- kept from before: validation ------------------------------------------ */

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

Test(summaries, range_validation)
{
    struct fix_org o;
    world(&o, 5);
    char t[40], month[8], m[8], n[8];
    fix_team(&o, t);
    snprintf(month, sizeof(month), "%s", CUR);
    struct http_resp r;
    const char *targets[] = {t, NULL};
    for (int ti = 0; ti < 2; ti++) {
        const char *team = targets[ti];
        /* from after to */
        month_add(month, 1, m);
        expect_summary_problem(o.admin.token, team, m, month, 422);
        /* 37 months, and 36 months (allowed) */
        month_add(month, -36, m);
        expect_summary_problem(o.admin.token, team, m, month, 422);
        month_add(month, -35, m);
        summary_status(o.admin.token, team, m, month, &r);
        expect_status(&r, 200);
        cr_assert_eq(json_array_size(json_object_get(
                         team ? r.json : json_object_get(r.json, "total"), "periods")),
                     36);
        http_resp_free(&r);
        /* from alone, too far back for the default to (now) */
        month_add(month, -40, m);
        expect_summary_problem(o.admin.token, team, m, NULL, 422);
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

/* ---- answers rendered once (issue 18) ------------------------------------- */

/* A team summary is rendered once per process and then served as it was
 * (service/handlers/summaries.c). The organisation summary renders its
 * teams afresh on every read with the same code, so a team's periods there
 * are a fresh rendering to compare the kept answer with. */
Test(summaries, a_kept_answer_equals_a_fresh_rendering_and_repeats_byte_for_byte)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], g[96];
    struct fix_user s[4];
    fix_team(&o, t);
    members(&o, t, "student", 4, s);
    rel(-2, m2);
    for (int i = 0; i < 4; i++) {
        int sc[NV];
        person_scores(3, i, sc);
        test_unique(g, sizeof(g), "vast");
        checkin_texts_in(&s[i], t, sc, g, NULL, 1, m2);
        checkin_in(&s[i], t, sc, rel(-3, m3));
    }
    publish_since(&o, m3);
    char *first = summary_raw(o.admin.token, t, m3, m2);
    for (int i = 0; i < 3; i++)
        expect_same_body(first, summary_raw(o.admin.token, t, m3, m2), "a repeated read");
    json_t *kept = json_loads(first, 0, NULL), *fresh = summary(o.admin.token, NULL, m3, m2, NULL);
    cr_assert(kept, "the kept answer is no JSON: %s", first);
    char *a = dump(json_object_get(kept, "periods"));
    char *b = dump(json_object_get(org_team(fresh, t), "periods"));
    cr_assert_str_eq(a, b, "the kept answer differs from a fresh rendering");
    cr_assert(strstr(first, "\"trend\":\""), "month -2 has no trend against -3: %s", first);
    free(a);
    free(b);
    json_decref(kept);
    json_decref(fresh);
    free(first);
}

/* The ETag: strong, 304 when named (alone or in a list), 200 with the same
 * bytes when another is named, different for another range. */
Test(summaries, etag_answers_304_when_named_and_200_otherwise)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], etag[128], other[128], path[256], hdr[384];
    struct fix_user s[3];
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 3, s, NULL, m2);
    publish_since(&o, rel(-3, m3));
    char *raw = summary_raw(o.admin.token, t, m3, m2);
    summary_etag(o.admin.token, t, m3, m2, etag);
    cr_assert(etag[0] == '"', "not a strong ETag: %s", etag);
    expect_not_modified(o.admin.token, t, m3, m2, etag);
    snprintf(hdr, sizeof(hdr), "\"x\", %s", etag);
    expect_not_modified(o.admin.token, t, m3, m2, hdr);

    summary_path(path, t, m3, m2);
    snprintf(hdr, sizeof(hdr), "If-None-Match: \"s0123456789abcdef\"\r\n");
    struct http_resp r;
    call("GET", path, o.admin.token, NULL, hdr, &r);
    expect_status(&r, 200);
    cr_assert_str_eq(r.body, raw, "the answer to another ETag differs");
    cr_assert_str_eq(http_header(&r, "ETag"), etag);
    http_resp_free(&r);

    summary_etag(o.admin.token, t, m2, m2, other);
    cr_assert_str_neq(other, etag, "two ranges with one ETag");
    free(raw);
}

/* A month published between two reads changes the answer and its ETag. */
Test(summaries, etag_changes_when_a_month_gets_published)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], before[128], after[128];
    struct fix_user s[3];
    rel(-2, m2);
    rel(-3, m3);
    team_with_checkins(&o, t, 1, 3, s, NULL, m2);
    publish_since(&o, m2); /* month -3 is before the organisation began */
    struct reading sm = read_summary(o.admin.token, t, m3, m2, 3, NULL);
    expect_unpublished(team_period(sm.json, m3), "month -3 before its publication");
    summary_etag(o.admin.token, t, m3, m2, before);

    publish_since(&o, m3);
    json_t *now = summary(o.admin.token, t, m3, m2, NULL);
    cr_assert(is_published(team_period(now, m3)), "month -3 was not published");
    expect_same_period(team_period(now, m2), team_period(sm.json, m2), "month -2");
    summary_etag(o.admin.token, t, m3, m2, after);
    cr_assert_str_neq(after, before, "the ETag stayed when month -3 was published");
    char path[256], hdr[192];
    summary_path(path, t, m3, m2);
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", before);
    struct http_resp r;
    call("GET", path, o.admin.token, NULL, hdr, &r);
    expect_status(&r, 200);
    http_resp_free(&r);
    json_decref(now);
    reading_free(&sm);
}

/* Two readers of one team, one of whom contributed to the month: each
 * keeps getting their own answer, whoever read first, and a k change
 * never serves an answer kept from before it. */
Test(summaries, kept_answers_follow_the_reader_and_k)
{
    struct fix_org o;
    world(&o, 3);
    char t[40], m2[8], m3[8], e_mgr[128], e_new[128];
    struct fix_user s[3], mgr;
    rel(-2, m2);
    team_with_checkins(&o, t, 1, 3, s, NULL, m2);
    member(&o, t, "teammanager", &mgr);
    publish_since(&o, rel(-3, m3));
    fix_member(&o, t, &s[0], "teammanager");
    char *mine = summary_raw(mgr.token, t, m3, m2);
    summary_etag(mgr.token, t, m3, m2, e_mgr);
    for (int i = 0; i < 2; i++) {
        expect_team_month_suppressed(s[0].token, t, m3, m2, m2, 3, "the new manager's month");
        expect_same_body(mine, summary_raw(mgr.token, t, m3, m2), "the other manager's read");
    }
    summary_etag(s[0].token, t, m3, m2, e_new);
    cr_assert_str_neq(e_new, e_mgr, "two different answers with one ETag");

    set_k(&o, 4);
    expect_team_month_suppressed(mgr.token, t, m3, m2, m2, 4, "3 people at k=4");
    set_k(&o, 3);
    expect_same_body(mine, summary_raw(mgr.token, t, m3, m2), "k back to 3");
    free(mine);
}
