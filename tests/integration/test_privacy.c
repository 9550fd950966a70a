/* test_privacy.c - every way to reach someone else's reflection must fail
 * with a 404 that looks exactly like the answer for an id that does not
 * exist, and leak nothing: not through lists, counts, feedback threads,
 * the feedback-request inbox or error details.
 *
 * Each test builds one organisation with a team, a student (the owner), the
 * werkbegeleider assigned to them, and one final reflection carrying a
 * unique secret phrase (usually shared with that werkbegeleider and with a
 * feedback thread). Then an intruder tries everything (expect_hidden):
 * GET, PATCH (with the owner's real ETag), DELETE, the thread (GET and
 * POST), shares (PUT, DELETE), feedback requests, and their own lists and
 * sync; each 404 body must equal, byte for byte, the body of the same
 * request for a random UUID. Afterwards the owner's reflection must be
 * untouched (same ETag, shares and thread). Intruders: another student of
 * the team, an unassigned werkbegeleider, the assigned one before sharing,
 * after unsharing and after the supervision ended, the teammanager, the
 * admin, an unassigned praktijkopleider, and another organisation's users.
 * Positive controls (the same request succeeding for whoever may) keep the
 * 404s from passing for the wrong reason. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- requests and assertions ----------------------------------------------- */

/* How many items of a list answer have key == value. */
static int count(const json_t *list, const char *key, const char *value)
{
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        const char *v = jstr(it, key);
        n += v && strcmp(v, value) == 0;
    }
    return n;
}

static const char RANDOM_ID[] = "3f6b1d2e-9c4a-4e8b-a7d5-0c1e2f3a4b5c";

/* ---- the scene ---------------------------------------------------------------- */

struct scene {
    struct fix_org o;
    char team[40];
    struct fix_user owner, coach;
    char id[40];     /* the owner's reflection */
    char etag[80];   /* its current ETag */
    char secret[96]; /* a phrase only the reflection and its thread contain */
    size_t shares, thread;
};

static json_t *fetch(const struct fix_user *u, const char *id, char etag[80])
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);
    struct http_resp r;
    http_send("GET", path, u->token, NULL, NULL, &r);
    expect_status(&r, 200);
    if (etag)
        snprintf(etag, 80, "%s", http_header(&r, "ETag") ? http_header(&r, "ETag") : "");
    json_t *rep = json_incref(r.json);
    http_resp_free(&r);
    return rep;
}

/* PUT/DELETE a share as the owner; returns the status. */
static int share(const struct scene *s, const char *method, const char *user)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", s->id, user);
    struct http_resp r;
    http_send(method, path, s->owner.token, NULL, NULL, &r);
    int st = r.status;
    if (st != 204)
        expect_problem(&r, st);
    http_resp_free(&r);
    return st;
}

/* Asks user for feedback as the owner; returns the status. */
static int ask(const struct scene *s, const char *user, char req_id[40])
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback-requests", s->id);
    struct http_resp r;
    http_send("POST", path, s->owner.token, json_pack("{s:s}", "to_user_id", user), NULL, &r);
    int st = r.status;
    if (req_id && (st == 201 || st == 200))
        snprintf(req_id, 40, "%s", jstr(r.json, "id"));
    if (st >= 400)
        expect_problem(&r, st);
    http_resp_free(&r);
    return st;
}

static void post_feedback(const struct fix_user *u, const char *id, const char *body)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback", id);
    struct http_resp r;
    http_send("POST", path, u->token, json_pack("{s:s, s:s}", "kind", "tip", "body", body), NULL,
              &r);
    expect_status(&r, 201);
    http_resp_free(&r);
}

/* Re-reads the owner's ETag after a change the scene made itself. */
static void scene_settle(struct scene *s)
{
    json_decref(fetch(&s->owner, s->id, s->etag));
}

/* An organisation, a team, the owner, their assigned werkbegeleider and a
 * final reflection; shared (with one piece of feedback) when asked. */
static void scene(struct scene *s, int shared)
{
    memset(s, 0, sizeof(*s));
    fix_org(&s->o);
    fix_team(&s->o, s->team);
    fix_user(&s->o, NULL, &s->owner);
    fix_member(&s->o, s->team, &s->owner, "student");
    fix_user(&s->o, NULL, &s->coach);
    fix_member(&s->o, s->team, &s->coach, "werkbegeleider");
    fix_supervise(&s->o, &s->owner, &s->coach);
    test_unique(s->secret, sizeof(s->secret), "Geheim-clientdetail");
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "team_id", s->team, "occurred_on",
                  "2026-04-02", "situation", s->secret, "task", "Wondzorg bij mevrouw in kamer 12.",
                  "action", "Ik twijfelde en heb het toch alleen gedaan.", "result",
                  "Het ging goed, maar ik voelde me onzeker.", "reflection",
                  "Ik vraag voortaan eerder om hulp.", "status", "final");
    struct http_resp r;
    http_send("POST", "/v1/reflections", s->owner.token, body, NULL, &r);
    expect_status(&r, 201);
    snprintf(s->id, sizeof(s->id), "%s", jstr(r.json, "id"));
    http_resp_free(&r);
    if (shared) {
        cr_assert_eq(share(s, "PUT", s->coach.id), 204);
        s->shares = 1;
        char fb[256];
        snprintf(fb, sizeof(fb), "Over %s: goed dat je dit opschrijft.", s->secret);
        post_feedback(&s->coach, s->id, fb);
        s->thread = 1;
    }
    scene_settle(s);
}

/* The owner still sees the reflection exactly as the scene left it. */
static void expect_intact(const struct scene *s)
{
    char etag[80];
    json_t *rep = fetch(&s->owner, s->id, etag);
    cr_expect_str_eq(etag, s->etag, "the reflection changed under an intruder: %s", jdump(rep));
    cr_expect_str_eq(jstr(rep, "situation"), s->secret);
    cr_expect_eq(json_array_size(json_object_get(rep, "shared_with")), s->shares,
                 "shares changed: %s", jdump(rep));
    json_decref(rep);
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback", s->id);
    json_t *t = fix_list(&s->owner, path);
    cr_expect_eq(json_array_size(json_object_get(t, "items")), s->thread,
                 "the thread changed under an intruder: %s", jdump(t));
    json_decref(t);
}

/* The same request for the scene's reflection and for a random UUID: both
 * 404 problems with identical bodies, without the secret. fmt takes the
 * reflection id and then arg. */
static void probe(const struct scene *s, const struct fix_user *u, const char *method,
                  const char *fmt, const char *arg, const char *body, const char *headers)
{
    char real[200], fake[200];
    snprintf(real, sizeof(real), fmt, s->id, arg);
    snprintf(fake, sizeof(fake), fmt, RANDOM_ID, arg);
    struct http_resp a, b;
    cr_assert_eq(http_call(test_addr(), method, real, u->token, body, headers, &a), 0);
    cr_assert_eq(http_call(test_addr(), method, fake, u->token, body, headers, &b), 0);
    cr_expect_eq(a.status, 404, "%s %s by an intruder: %d %s", method, real, a.status, a.body);
    expect_problem(&b, 404);
    cr_expect_str_eq(a.body, b.body, "%s %s answers differently from a random id", method, fmt);
    cr_expect_str_eq(http_header(&a, "Content-Type"), http_header(&b, "Content-Type"));
    cr_expect_null(strstr(a.body, s->secret), "the secret leaked: %s", a.body);
    http_resp_free(&a);
    http_resp_free(&b);
}

/* u's own lists (reflections, sync, inbox) do not show the reflection. */
static void expect_not_listed(const struct scene *s, const struct fix_user *u)
{
    static const char *const paths[] = {
        "/v1/reflections?limit=100", "/v1/reflections?limit=100&updated_since=2000-01-01T00:00:00Z",
        "/v1/feedback-requests?limit=100", "/v1/feedback-requests?limit=100&status=open"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        json_t *l = fix_list(u, paths[i]);
        cr_expect_eq(count(l, "id", s->id) + count(l, "reflection_id", s->id), 0,
                     "%s shows the reflection: %s", paths[i], jdump(l));
        char *text = json_dumps(l, 0);
        cr_expect_null(strstr(text, s->secret), "%s leaks the secret", paths[i]);
        free(text);
        json_decref(l);
    }
}

/* Everything u might try on the scene's reflection. */
static void expect_hidden(const struct scene *s, const struct fix_user *u)
{
    char if_match[128], fb[160];
    snprintf(if_match, sizeof(if_match), "If-Match: %s\r\n", s->etag);
    snprintf(fb, sizeof(fb), "{\"to_user_id\":\"%s\"}", s->coach.id);
    probe(s, u, "GET", "/v1/reflections/%s", NULL, NULL, NULL);
    probe(s, u, "GET", "/v1/reflections/%s", NULL, NULL, "If-None-Match: *\r\n");
    probe(s, u, "PATCH", "/v1/reflections/%s", NULL, "{\"task\":\"Overschreven\"}", if_match);
    probe(s, u, "PATCH", "/v1/reflections/%s", NULL, "{\"task\":\"Overschreven\"}",
          "If-Match: *\r\n");
    probe(s, u, "DELETE", "/v1/reflections/%s", NULL, NULL, NULL);
    probe(s, u, "GET", "/v1/reflections/%s/feedback", NULL, NULL, NULL);
    probe(s, u, "POST", "/v1/reflections/%s/feedback", NULL,
          "{\"kind\":\"tip\",\"body\":\"Ongevraagd advies\"}", NULL);
    probe(s, u, "PUT", "/v1/reflections/%s/shares/%s", u->id, NULL, NULL);
    probe(s, u, "PUT", "/v1/reflections/%s/shares/%s", s->coach.id, NULL, NULL);
    probe(s, u, "DELETE", "/v1/reflections/%s/shares/%s", s->coach.id, NULL, NULL);
    probe(s, u, "POST", "/v1/reflections/%s/feedback-requests", NULL, fb, NULL);
    expect_not_listed(s, u);
    expect_intact(s);
}

/* GET /v1/students/{owner}/reflections as u: the same 404 as for a random
 * UUID and for something that is not a UUID at all. */
static void expect_no_student_view(const struct scene *s, const struct fix_user *u)
{
    char real[128];
    snprintf(real, sizeof(real), "/v1/students/%s/reflections", s->owner.id);
    struct http_resp a, b, c;
    http_send("GET", real, u->token, NULL, NULL, &a);
    http_send("GET", "/v1/students/3f6b1d2e-9c4a-4e8b-a7d5-0c1e2f3a4b5c/reflections", u->token,
              NULL, NULL, &b);
    http_send("GET", "/v1/students/not-a-student/reflections", u->token, NULL, NULL, &c);
    expect_problem(&a, 404);
    expect_problem(&b, 404);
    cr_expect_str_eq(jstr(a.json, "detail"), jstr(b.json, "detail"));
    cr_expect_str_eq(a.body, b.body, "differs from a random UUID");
    cr_expect_str_eq(a.body, c.body, "differs from a malformed id");
    http_resp_free(&a);
    http_resp_free(&b);
    http_resp_free(&c);
    json_t *l = fix_list(u, "/v1/students?limit=100");
    cr_expect_eq(count(l, "id", s->owner.id), 0, "/v1/students lists the owner: %s", jdump(l));
    json_decref(l);
}

/* The reflection as u sees it in /v1/students/{owner}/reflections: 1 or 0. */
static int in_student_view(const struct scene *s, const struct fix_user *u)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/students/%s/reflections?limit=100", s->owner.id);
    json_t *l = fix_list(u, path);
    int n = count(l, "id", s->id);
    char *text = json_dumps(l, 0);
    if (!n)
        cr_expect_null(strstr(text, s->secret), "the student view leaks the secret");
    free(text);
    json_decref(l);
    return n;
}

/* GET /v1/reflections/{id} as u: the status. */
static int read_status(const struct scene *s, const struct fix_user *u)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s", s->id);
    struct http_resp r;
    http_send("GET", path, u->token, NULL, NULL, &r);
    int st = r.status;
    http_resp_free(&r);
    return st;
}

/* The reflection's shares as the owner sees them: does it list user? */
static int shared_with(const struct scene *s, const char *user)
{
    json_t *rep = fetch(&s->owner, s->id, NULL);
    json_t *sw = json_object_get(rep, "shared_with");
    int n = 0;
    for (size_t i = 0; i < json_array_size(sw); i++)
        n += strcmp(json_string_value(json_array_get(sw, i)), user) == 0;
    json_decref(rep);
    return n;
}

/* ---- inside the team ---------------------------------------------------------- */

Test(privacy, another_student_of_the_team_sees_nothing)
{
    struct scene s;
    scene(&s, 1);
    struct fix_user peer;
    fix_user(&s.o, NULL, &peer);
    fix_member(&s.o, s.team, &peer, "student");
    fix_supervise(&s.o, &peer, &s.coach); /* even with the same coach */
    /* The peer has reflections of their own: the lists are not just empty. */
    struct http_resp r;
    http_send("POST", "/v1/reflections", peer.token,
              json_pack("{s:s, s:s, s:s}", "team_id", s.team, "occurred_on", "2026-04-02", "status",
                        "draft"),
              NULL, &r);
    expect_status(&r, 201);
    char own[40];
    snprintf(own, sizeof(own), "%s", jstr(r.json, "id"));
    http_resp_free(&r);

    expect_hidden(&s, &peer);
    expect_no_student_view(&s, &peer);
    json_t *l = fix_list(&peer, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 1, "%s", jdump(l));
    cr_expect_eq(count(l, "id", own), 1);
    json_decref(l);

    /* Nothing the peer tried was logged as a read. */
    json_t *audit = fix_list(&s.o.admin, "/v1/audit?limit=100");
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(audit, "items"), i, it)
    {
        const char *actor = jstr(it, "actor_id"), *action = jstr(it, "action");
        const char *object = jstr(it, "object_id");
        cr_expect(!(actor && strcmp(actor, peer.id) == 0 && object && strcmp(object, s.id) == 0),
                  "the peer's attempt left an audit row %s", action);
    }
    json_decref(audit);
}

Test(privacy, unassigned_werkbegeleider_of_the_team_sees_nothing)
{
    struct scene s;
    scene(&s, 1);
    struct fix_user other;
    fix_user(&s.o, NULL, &other);
    fix_member(&s.o, s.team, &other, "werkbegeleider");
    expect_hidden(&s, &other);
    expect_no_student_view(&s, &other);
    /* The owner cannot widen the circle to them either. */
    cr_expect_eq(share(&s, "PUT", other.id), 422);
    cr_expect_eq(ask(&s, other.id, NULL), 422);
    cr_expect_eq(shared_with(&s, other.id), 0);
    expect_hidden(&s, &other);
    /* Control: the assigned coach reads it. */
    cr_expect_eq(read_status(&s, &s.coach), 200);
}

Test(privacy, assigned_werkbegeleider_sees_nothing_before_sharing)
{
    struct scene s;
    scene(&s, 0);
    expect_hidden(&s, &s.coach);
    cr_expect_eq(in_student_view(&s, &s.coach), 0);
    char path[128];
    snprintf(path, sizeof(path), "/v1/students/%s/reflections", s.owner.id);
    json_t *l = fix_list(&s.coach, path);
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 0, "nothing shared yet: %s",
                 jdump(l));
    json_decref(l);
    /* Control: sharing opens it. */
    cr_assert_eq(share(&s, "PUT", s.coach.id), 204);
    cr_expect_eq(read_status(&s, &s.coach), 200);
    cr_expect_eq(in_student_view(&s, &s.coach), 1);
}

Test(privacy, unsharing_ends_access_at_once)
{
    struct scene s;
    scene(&s, 1);
    cr_assert_eq(read_status(&s, &s.coach), 200);
    cr_assert_eq(in_student_view(&s, &s.coach), 1);
    cr_assert_eq(share(&s, "DELETE", s.coach.id), 204);
    cr_expect_eq(share(&s, "DELETE", s.coach.id), 204, "unsharing twice is fine");
    s.shares = 0;
    scene_settle(&s);
    cr_expect_eq(shared_with(&s, s.coach.id), 0);
    expect_hidden(&s, &s.coach);
    cr_expect_eq(in_student_view(&s, &s.coach), 0);
}

/* An open feedback request names the reflection and its owner. Once the
 * owner unshares, the supervisor can neither read nor answer it, so it
 * must not stay in their inbox (forever open, pointing at a private item). */
Test(privacy, unsharing_withdraws_the_open_feedback_request)
{
    struct scene s;
    scene(&s, 0);
    char req[40];
    cr_assert_eq(ask(&s, s.coach.id, req), 201);
    json_t *l = fix_list(&s.coach, "/v1/feedback-requests?status=open");
    cr_assert_eq(count(l, "id", req), 1, "control: the request reached the inbox");
    json_decref(l);
    cr_assert_eq(share(&s, "DELETE", s.coach.id), 204);
    scene_settle(&s);
    cr_expect_eq(read_status(&s, &s.coach), 404);
    l = fix_list(&s.coach, "/v1/feedback-requests?status=open");
    cr_expect_eq(count(l, "reflection_id", s.id), 0,
                 "the inbox still offers a request for a reflection no longer shared: %s",
                 jdump(l));
    json_decref(l);
    l = fix_list(&s.coach, "/v1/feedback-requests");
    cr_expect_eq(count(l, "reflection_id", s.id), 0, "unfiltered inbox: %s", jdump(l));
    json_decref(l);
}

Test(privacy, ending_the_supervision_ends_access_while_still_shared)
{
    struct scene s;
    scene(&s, 1);
    char req[40];
    cr_assert_eq(ask(&s, s.coach.id, req), 201);
    scene_settle(&s);
    json_t *l = fix_list(&s.coach, "/v1/feedback-requests?status=open");
    cr_assert_eq(count(l, "id", req), 1, "control: the request reached the inbox");
    json_decref(l);
    cr_assert_eq(read_status(&s, &s.coach), 200);

    char path[160];
    snprintf(path, sizeof(path), "/v1/students/%s/supervisors/%s", s.owner.id, s.coach.id);
    struct http_resp r;
    http_send("DELETE", path, s.o.admin.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    cr_expect_eq(shared_with(&s, s.coach.id), 1, "the share row stays; it grants nothing");

    expect_hidden(&s, &s.coach);
    expect_no_student_view(&s, &s.coach);
    /* The share alone grants nothing; sharing again is refused. */
    cr_expect_eq(share(&s, "PUT", s.coach.id), 422);
    cr_expect_eq(ask(&s, s.coach.id, NULL), 422);
    expect_hidden(&s, &s.coach);
}

Test(privacy, teammanager_never_sees_an_individual_reflection)
{
    struct scene s;
    scene(&s, 1);
    struct fix_user tm;
    fix_user(&s.o, NULL, &tm);
    fix_member(&s.o, s.team, &tm, "teammanager");
    cr_expect_eq(share(&s, "PUT", tm.id), 422);
    cr_expect_eq(ask(&s, tm.id, NULL), 422);
    cr_expect_eq(shared_with(&s, tm.id), 0, "a share with the teammanager was stored");
    /* Nor can an admin make them the student's supervisor. */
    char path[160];
    snprintf(path, sizeof(path), "/v1/students/%s/supervisors/%s", s.owner.id, tm.id);
    struct http_resp r;
    http_send("PUT", path, s.o.admin.token, NULL, NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    expect_hidden(&s, &tm);
    expect_no_student_view(&s, &tm);
    json_t *l = fix_list(&tm, "/v1/students");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 0, "%s", jdump(l));
    json_decref(l);
}

Test(privacy, admin_and_unassigned_praktijkopleider_see_nothing)
{
    struct scene s;
    scene(&s, 1);
    struct fix_user po;
    fix_user(&s.o, "praktijkopleider", &po);
    expect_hidden(&s, &s.o.admin);
    expect_no_student_view(&s, &s.o.admin);
    expect_hidden(&s, &po);
    expect_no_student_view(&s, &po);
    /* Assigned but not shared with: still nothing. */
    fix_supervise(&s.o, &s.owner, &po);
    expect_hidden(&s, &po);
    cr_expect_eq(in_student_view(&s, &po), 0);
    /* Control: shared with the assigned praktijkopleider, it opens. */
    cr_assert_eq(share(&s, "PUT", po.id), 204);
    cr_expect_eq(read_status(&s, &po), 200);
    cr_expect_eq(in_student_view(&s, &po), 1);
}

/* ---- across organisations ---------------------------------------------------- */

struct other_org {
    struct fix_org o;
    char team[40];
    struct fix_user student, coach, po;
};

static void other_org(struct other_org *b)
{
    fix_org(&b->o);
    fix_team(&b->o, b->team);
    fix_user(&b->o, NULL, &b->student);
    fix_member(&b->o, b->team, &b->student, "student");
    fix_user(&b->o, NULL, &b->coach);
    fix_member(&b->o, b->team, &b->coach, "werkbegeleider");
    fix_supervise(&b->o, &b->student, &b->coach);
    fix_user(&b->o, "praktijkopleider", &b->po);
}

Test(privacy, other_organisations_users_see_nothing)
{
    struct scene s;
    scene(&s, 1);
    struct other_org b;
    other_org(&b);
    const struct fix_user *intruders[] = {&b.o.admin, &b.student, &b.coach, &b.po};
    for (size_t i = 0; i < 4; i++) {
        expect_hidden(&s, intruders[i]);
        expect_no_student_view(&s, intruders[i]);
    }
    /* Sharing across the border: never 204, and no trace of whether the
     * user exists (the same answer as for a random id). */
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", s.id, b.coach.id);
    struct http_resp x, y;
    http_send("PUT", path, s.owner.token, NULL, NULL, &x);
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", s.id, RANDOM_ID);
    http_send("PUT", path, s.owner.token, NULL, NULL, &y);
    cr_expect(x.status == 422 || x.status == 404, "sharing to another organisation: %d %s",
              x.status, x.body);
    cr_expect_str_eq(x.body, y.body, "another organisation's user differs from a random id");
    http_resp_free(&x);
    http_resp_free(&y);
    int st = ask(&s, b.coach.id, NULL);
    cr_expect(st == 422 || st == 404, "asking another organisation: %d", st);
    cr_expect_eq(shared_with(&s, b.coach.id), 0);
    /* Neither admin can build a supervision across the border. */
    snprintf(path, sizeof(path), "/v1/students/%s/supervisors/%s", s.owner.id, b.coach.id);
    http_send("PUT", path, s.o.admin.token, NULL, NULL, &x);
    expect_problem(&x, 404);
    http_resp_free(&x);
    http_send("PUT", path, b.o.admin.token, NULL, NULL, &x);
    expect_problem(&x, 404);
    http_resp_free(&x);
    expect_hidden(&s, &b.coach);
}

/* Creates a reflection as u with one field changed; the 422 body. */
static char *refused_create(const struct scene *s, const char *team, json_t *goals)
{
    json_t *body = json_pack("{s:s, s:s, s:s}", "team_id", team, "occurred_on", "2026-04-02",
                             "status", "draft");
    if (goals)
        json_object_set_new(body, "goal_ids", goals);
    struct http_resp r;
    http_send("POST", "/v1/reflections", s->owner.token, body, NULL, &r);
    expect_problem(&r, 422);
    char *text = strdup(r.body);
    http_resp_free(&r);
    return text;
}

Test(privacy, a_student_cannot_write_into_another_organisations_team)
{
    struct scene s;
    scene(&s, 0);
    struct other_org b;
    other_org(&b);
    char *theirs = refused_create(&s, b.team, NULL);
    char *nowhere = refused_create(&s, RANDOM_ID, NULL);
    cr_expect_str_eq(theirs, nowhere, "another organisation's team differs from a random id");
    free(theirs);
    free(nowhere);
    /* Nor move a reflection there. */
    char path[128], hdr[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s", s.id);
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", s.etag);
    struct http_resp r;
    http_send("PATCH", path, s.owner.token, json_pack("{s:s}", "team_id", b.team), hdr, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    expect_intact(&s);
    json_t *l = fix_list(&s.owner, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 1, "%s", jdump(l));
    json_decref(l);
}

/* A new learning goal of owner (POST /v1/goals); writes its id. */
static void goal_of(const struct fix_user *owner, char id[40])
{
    struct http_resp r;
    http_send("POST", "/v1/goals", owner->token,
              json_pack("{s:s, s:s, s:s, s:s}", "what", "Medicatie delen", "why",
                        "Zelfstandig werken", "due_on", "2026-12-31", "status", "active"),
              NULL, &r);
    expect_status(&r, 201);
    cr_assert(jstr(r.json, "id"), "goal without id: %s", r.body);
    snprintf(id, 40, "%s", jstr(r.json, "id"));
    http_resp_free(&r);
}

Test(privacy, a_student_cannot_link_another_students_goal)
{
    struct scene s;
    scene(&s, 0);
    struct fix_user peer;
    fix_user(&s.o, NULL, &peer);
    fix_member(&s.o, s.team, &peer, "student");
    struct other_org b;
    other_org(&b);
    char peers[40], foreign[40], mine[40];
    goal_of(&peer, peers);
    goal_of(&b.student, foreign);
    goal_of(&s.owner, mine);
    char *t1 = refused_create(&s, s.team, json_pack("[s]", peers));
    char *t2 = refused_create(&s, s.team, json_pack("[s]", foreign));
    char *t3 = refused_create(&s, s.team, json_pack("[s]", RANDOM_ID));
    char *t4 = refused_create(&s, s.team, json_pack("[s, s]", mine, peers));
    cr_expect_str_eq(t1, t3, "a peer's goal differs from a random id");
    cr_expect_str_eq(t2, t3, "another organisation's goal differs from a random id");
    cr_expect_str_eq(t4, t3);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    char path[128], hdr[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s", s.id);
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", s.etag);
    struct http_resp r;
    http_send("PATCH", path, s.owner.token, json_pack("{s:[s]}", "goal_ids", peers), hdr, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    expect_intact(&s);
    json_t *rep = fetch(&s.owner, s.id, NULL);
    cr_expect_eq(json_array_size(json_object_get(rep, "goal_ids")), 0);
    json_decref(rep);
    json_t *l = fix_list(&s.owner, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 1, "a refused create was stored");
    json_decref(l);
    /* Control: the student's own goal links. */
    http_send("PATCH", path, s.owner.token, json_pack("{s:[s]}", "goal_ids", mine), hdr, &r);
    expect_status(&r, 200);
    http_resp_free(&r);
}

Test(privacy, student_reflections_of_a_non_supervised_student_look_like_nothing)
{
    struct scene s;
    scene(&s, 1);
    struct fix_user peer, tm, other_coach;
    fix_user(&s.o, NULL, &peer);
    fix_member(&s.o, s.team, &peer, "student");
    fix_user(&s.o, NULL, &tm);
    fix_member(&s.o, s.team, &tm, "teammanager");
    fix_user(&s.o, NULL, &other_coach);
    fix_member(&s.o, s.team, &other_coach, "werkbegeleider");
    fix_supervise(&s.o, &peer, &other_coach); /* a supervisor, just not of the owner */
    const struct fix_user *who[] = {&peer, &tm, &other_coach, &s.o.admin, &s.owner};
    for (size_t i = 0; i < 5; i++)
        expect_no_student_view(&s, who[i]);
    /* Control: the owner's supervisor gets the list. */
    cr_expect_eq(in_student_view(&s, &s.coach), 1);
}

/* ---- the admin's audit list ------------------------------------------------- */

/* Every audit entry the admin can list (all pages). */
static json_t *admin_audit(const struct fix_org *o)
{
    json_t *all = json_array();
    char cursor[256] = "";
    for (int page = 0; page < 100; page++) {
        char url[512];
        snprintf(url, sizeof(url), "/v1/audit?limit=100%s%s", *cursor ? "&cursor=" : "", cursor);
        json_t *l = fix_list(&o->admin, url);
        json_array_extend(all, json_object_get(l, "items"));
        const char *next = jstr(l, "next_cursor");
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        json_decref(l);
        if (!*cursor)
            return all;
    }
    cr_assert_fail("/v1/audit: the cursors never end");
    return all;
}

/* How many entries of an array have action and object_id. */
static int entries(const json_t *items, const char *action, const char *object_id)
{
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        n += jstr(it, "action") && strcmp(jstr(it, "action"), action) == 0 &&
             (!object_id ||
              (jstr(it, "object_id") && strcmp(jstr(it, "object_id"), object_id) == 0));
    }
    return n;
}

Test(privacy, the_admins_audit_list_leaves_out_personal_activity)
{
    /* The student shares a reflection and a goal with their werkbegeleider
     * and asks for feedback; the werkbegeleider reads and gives feedback.
     * Per person and month, those rows would be the very activity the
     * summaries show only for k people at once: the admin's list has none
     * of them, while the read is listed. They are still written (the
     * database has them), and the student's own export shows the feedback
     * given on their reflection. */
    struct scene s;
    scene(&s, 1); /* share + one piece of feedback */
    char req[40] = "";
    int st = ask(&s, s.coach.id, req);
    cr_assert(st == 201 || st == 200, "feedback request: %d", st);
    json_decref(fetch(&s.coach, s.id, NULL)); /* reflection.read */
    struct http_resp r;
    http_send("POST", "/v1/goals", s.owner.token,
              json_pack("{s:s, s:s, s:s}", "what", "Overdracht zelfstandig doen", "why",
                        "Zelfstandiger werken", "status", "active"),
              NULL, &r);
    expect_status(&r, 201);
    char goal[40], path[160];
    snprintf(goal, sizeof(goal), "%s", jstr(r.json, "id"));
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/goals/%s/shares/%s", goal, s.coach.id);
    http_send("PUT", path, s.owner.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    http_send("DELETE", path, s.owner.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    cr_assert_eq(share(&s, "DELETE", s.coach.id), 204);

    /* Written, all of them. */
    static const char *const personal[] = {"feedback.create",
                                           "feedback_request.create",
                                           "reflection.share",
                                           "reflection.unshare",
                                           "goal.share",
                                           "goal.unshare",
                                           NULL};
    for (int i = 0; personal[i]; i++)
        cr_assert_geq(test_sql_int("SELECT count(*) FROM audit_log WHERE organisation_id = '%s' "
                                   "AND action = '%s'",
                                   s.o.id, personal[i]),
                      1, "no %s row was written", personal[i]);

    json_t *items = admin_audit(&s.o);
    cr_assert_gt(json_array_size(items), 0, "the admin's audit list is empty");
    for (int i = 0; personal[i]; i++)
        cr_assert_eq(entries(items, personal[i], NULL), 0, "%s listed to the admin: %s",
                     personal[i], jdump(items));
    cr_assert_geq(entries(items, "reflection.read", s.id), 1,
                  "the werkbegeleider's read is not listed: %s", jdump(items));
    /* Administration stays listed too: the scene's users, memberships and
     * supervision. */
    cr_assert_eq(entries(items, "user.create", NULL), 2, "%s", jdump(items));
    cr_assert_eq(entries(items, "team.member.put", NULL), 2, "%s", jdump(items));
    cr_assert_eq(entries(items, "supervision.put", NULL), 1, "%s", jdump(items));
    json_decref(items);

    /* The student's export: the feedback given on their reflection, by the
     * werkbegeleider, among the reads and acts on their data. */
    http_send("GET", "/v1/me/export", s.owner.token, NULL, NULL, &r);
    expect_status(&r, 200);
    json_t *mine = json_object_get(r.json, "reads_of_my_data");
    cr_assert(json_is_array(mine), "export without reads_of_my_data: %s", r.body);
    cr_assert_geq(entries(mine, "feedback.create", NULL), 1,
                  "the feedback on the student's reflection is not in their export: %s", r.body);
    cr_assert_geq(entries(mine, "reflection.read", s.id), 1, "%s", r.body);
    size_t i;
    json_t *it;
    json_array_foreach(mine, i, it)
    {
        cr_assert_str_neq(jstr(it, "actor_id") ? jstr(it, "actor_id") : "", s.owner.id,
                          "the student's own acts in reads_of_my_data: %s", r.body);
        if (strcmp(jstr(it, "action"), "feedback.create") == 0)
            cr_assert_str_eq(jstr(it, "actor_id"), s.coach.id, "%s", r.body);
    }
    http_resp_free(&r);
}
