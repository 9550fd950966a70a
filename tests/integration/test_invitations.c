/* test_invitations.c - feedback invitations and the colleague's form, over
 * real HTTP: POST/GET /v1/feedback-invitations, GET .../{id}, POST
 * .../{id}/revoke, GET/POST /f/{token}, PUT /v1/feedback/{id}/seen.
 *
 * Every rule of issue #16: the link and QR codes, expiry and its bounds,
 * what the colleague sees (only what the student chose, escaped), one
 * answer per link, revocation, the same neutral page for every dead link,
 * strict form parsing and validation, throttling per link and per address,
 * the answer as unverified external feedback in the student's thread and
 * the supervisor's, marking it seen, the event for the student, the audit
 * rows, tokens stored only hashed and never logged, erasure, and the
 * published figures counting the answer like any other feedback. The limit
 * per address and the access log are in tests/faults/test_feedback_form.c
 * (every test here posts from the same address); the browser test
 * (tests/browser/) fills the same form in Chromium. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FORM_TYPE "Content-Type: application/x-www-form-urlencoded\r\n"

struct world {
    struct fix_org o;
    char team[40];
    struct fix_user student, coach, other;
};

static void world(struct world *w)
{
    fix_org(&w->o);
    fix_student_and_coach(&w->o, w->team, &w->student, &w->coach);
    fix_user(&w->o, NULL, &w->other);
    fix_member(&w->o, w->team, &w->other, "student");
}

/* A final reflection of the student's, shared with the coach. */
static void reflection(struct world *w, char id[40])
{
    struct http_resp r;
    http_send("POST", "/v1/reflections", w->student.token,
              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "team_id", w->team,
                        "occurred_on", test_day(-1), "situation", "SITUATIE-Nachtdienst op de gang",
                        "task", "Ik was alleen.", "action", "Ik belde de arts.", "result",
                        "Het ging goed.", "reflection", "Eerder bellen.", "status", "final"),
              NULL, &r);
    expect_status(&r, 201);
    snprintf(id, 40, "%s", jstr(r.json, "id"));
    http_resp_free(&r);
    char path[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", id, w->coach.id);
    http_send("PUT", path, w->student.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
}

/* An invitation by u with body; expects status and returns the answer. */
static json_t *invite(const struct fix_user *u, json_t *body, int status)
{
    struct http_resp r;
    http_send("POST", "/v1/feedback-invitations", u->token, body, NULL, &r);
    expect_status(&r, status);
    json_t *j = json_incref(r.json);
    http_resp_free(&r);
    return j;
}

/* The path of an invitation's link ("/f/<token>"). */
static const char *link_path(const json_t *inv)
{
    const char *url = jstr(inv, "url");
    cr_assert(url, "no url: %s", jdump(inv));
    const char *p = strstr(url, "/f/");
    cr_assert(p, "url %s", url);
    return p;
}

static void page(const char *path, const char *headers, struct http_resp *r)
{
    cr_assert_eq(http_call(test_addr(), "GET", path, NULL, NULL, headers, r), 0);
}

static void post_form(const char *path, const char *form, struct http_resp *r)
{
    cr_assert_eq(http_call(test_addr(), "POST", path, NULL, form, FORM_TYPE, r), 0);
}

/* The page without its per-response nonce, for comparing two pages. */
static char *without_nonce(const char *body)
{
    char *s = strdup(body);
    char *n = strstr(s, "nonce=\"");
    cr_assert(n, "no nonce in %s", body);
    n += 7;
    char *end = strchr(n, '"');
    memmove(n, end, strlen(end) + 1);
    return s;
}

static void expect_html(const struct http_resp *r, int status)
{
    expect_status(r, status);
    const char *ct = http_header(r, "Content-Type");
    cr_assert(ct && strcmp(ct, "text/html; charset=utf-8") == 0, "Content-Type %s", ct);
    const char *csp = http_header(r, "Content-Security-Policy");
    cr_assert(csp && strstr(csp, "default-src 'none'") && strstr(csp, "style-src 'nonce-") &&
                  strstr(csp, "form-action 'self'") && strstr(csp, "frame-ancestors 'none'"),
              "CSP %s", csp ? csp : "(none)");
    cr_assert_null(http_header(r, "Set-Cookie"));
    cr_assert_str_eq(http_header(r, "Cache-Control"), "no-store");
    cr_assert_str_eq(http_header(r, "Referrer-Policy"), "no-referrer");
    cr_assert_null(strstr(r->body, "<script"), "a page with a script: %s", r->body);
}

/* Posts form to path; expects an HTML page with status. */
static void expect_form_answer(const char *path, const char *form, int status)
{
    struct http_resp r;
    post_form(path, form, &r);
    expect_html(&r, status);
    http_resp_free(&r);
}

/* GETs path (no extra headers); expects an HTML page with status. */
static void expect_page(const char *path, int status)
{
    struct http_resp r;
    page(path, NULL, &r);
    expect_html(&r, status);
    http_resp_free(&r);
}

static char *neutral_page(void)
{
    struct http_resp r;
    page("/f/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, &r);
    expect_html(&r, 404);
    char *s = without_nonce(r.body);
    http_resp_free(&r);
    return s;
}

/* path answers the neutral page, to GET and to a valid POST. */
static void expect_dead(const char *path)
{
    char *neutral = neutral_page();
    struct http_resp r;
    page(path, NULL, &r);
    expect_html(&r, 404);
    char *got = without_nonce(r.body);
    cr_assert_str_eq(got, neutral);
    free(got);
    http_resp_free(&r);
    post_form(path, "name=Ria&role=verpleegkundige&top=Goed&tip=&question=", &r);
    expect_html(&r, 404);
    got = without_nonce(r.body);
    cr_assert_str_eq(got, neutral);
    free(got);
    http_resp_free(&r);
    free(neutral);
}

Test(invitations, create_returns_a_link_and_qr_codes)
{
    struct world w;
    world(&w);
    json_t *inv = invite(&w.student, json_pack("{s:s}", "line", "Tillift bij mevrouw"), 201);
    cr_assert_str_eq(jstr(inv, "status"), "open");
    cr_assert_str_eq(jstr(inv, "line"), "Tillift bij mevrouw");
    char want[96];
    snprintf(want, sizeof(want), "http://%s/f/", test_addr());
    cr_assert_eq(strncmp(jstr(inv, "url"), want, strlen(want)), 0, "url %s", jstr(inv, "url"));
    const char *token = link_path(inv) + 3;
    cr_assert_eq(strlen(token), 43);
    cr_assert_eq(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                 43);
    cr_assert_eq(strncmp(jstr(inv, "qr_svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39), 0);
    cr_assert_eq(strncmp(jstr(inv, "qr_png"), "iVBORw0KGgo", 11), 0); /* \x89PNG\r\n\x1a\n */
    cr_assert(json_is_array(json_object_get(inv, "feedback")));
    char out[64];
    test_sqlf(out, sizeof(out),
              "SELECT expires_at - created_at = interval '24 hours' FROM feedback_invitations"
              " WHERE id = '%s'",
              jstr(inv, "id"));
    cr_assert_str_eq(out, "t", "the default expiry is 24 hours");
    /* Stored only hashed: the token is in no column. */
    test_sqlf(out, sizeof(out),
              "SELECT count(*) FROM feedback_invitations i WHERE i::text LIKE '%%%s%%'"
              " OR token_hash = convert_to('%s', 'UTF8')",
              token, token);
    cr_assert_str_eq(out, "0");
    /* GET and the list show it, without the link. */
    char path[96];
    snprintf(path, sizeof(path), "/v1/feedback-invitations/%s", jstr(inv, "id"));
    struct http_resp r;
    http_send("GET", path, w.student.token, NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_null(json_object_get(r.json, "url"));
    cr_assert(http_header(&r, "ETag"));
    http_resp_free(&r);
    http_send("GET", "/v1/feedback-invitations?limit=5", w.student.token, NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_eq(json_array_size(json_object_get(r.json, "items")), 1);
    http_resp_free(&r);
    /* Nobody else sees it. */
    http_send("GET", path, w.coach.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    json_decref(inv);
}

Test(invitations, expiry_is_at_most_seven_days)
{
    struct world w;
    world(&w);
    json_decref(
        invite(&w.student, json_pack("{s:s, s:i}", "line", "x", "expires_in_hours", 168), 201));
    json_decref(
        invite(&w.student, json_pack("{s:s, s:i}", "line", "x", "expires_in_hours", 1), 201));
    json_decref(
        invite(&w.student, json_pack("{s:s, s:i}", "line", "x", "expires_in_hours", 169), 422));
    json_decref(
        invite(&w.student, json_pack("{s:s, s:i}", "line", "x", "expires_in_hours", 0), 422));
}

Test(invitations, invalid_creates_are_422)
{
    struct world w;
    world(&w);
    char refl[40], theirs[40];
    reflection(&w, refl);
    json_t *bodies[] = {
        json_pack("{}"),
        json_pack("{s:s}", "line", ""),
        json_pack("{s:s}", "line", "a\nb"), /* one line */
        json_pack("{s:s}", "line", "a\x07"),
        json_pack("{s:s, s:s}", "line", "x", "colour", "red"),
        json_pack("{s:s, s:b}", "line", "x", "share_situation", 1), /* a moment has none */
        json_pack("{s:s, s:s, s:s}", "line", "x", "reflection_id", refl, "goal_id", refl),
        json_pack("{s:s, s:s}", "line", "x", "reflection_id", "not-a-uuid"),
        json_pack("{s:s, s:s}", "line", "x", "expires_in_hours", "24"),
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        json_decref(invite(&w.student, bodies[i], 422));
    char line[256];
    memset(line, 'a', 201);
    line[201] = '\0';
    json_decref(invite(&w.student, json_pack("{s:s}", "line", line), 422));
    /* Someone else's reflection is no reflection of yours. */
    snprintf(theirs, sizeof(theirs), "%s", refl);
    json_decref(
        invite(&w.other, json_pack("{s:s, s:s}", "line", "x", "reflection_id", theirs), 422));
}

Test(invitations, the_page_shows_only_what_the_student_chose)
{
    struct world w;
    world(&w);
    char refl[40];
    reflection(&w, refl);
    json_t *plain =
        invite(&w.student,
               json_pack("{s:s, s:s}", "line", "Mijn <script>alert(1)</script> & \"ik\"",
                         "reflection_id", refl),
               201);
    struct http_resp r;
    page(link_path(plain), NULL, &r);
    expect_html(&r, 200);
    cr_assert(strstr(r.body, "<html lang=\"nl\">"));
    cr_assert(strstr(r.body, "Mijn &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;ik&quot;"),
              "%s", r.body);
    cr_assert_null(strstr(r.body, "SITUATIE-"), "the situation was not chosen");
    cr_assert(strstr(r.body, "Een student vraagt"), "no name unless chosen");
    cr_assert(strstr(r.body, "<label for=\"name\">"));
    cr_assert(strstr(r.body, "<form method=\"post\">"));
    http_resp_free(&r);
    page(link_path(plain), "Accept-Language: en-GB,en;q=0.9,nl;q=0.5\r\n", &r);
    expect_html(&r, 200);
    cr_assert(strstr(r.body, "<html lang=\"en\">"));
    cr_assert(strstr(r.body, "Your name"));
    http_resp_free(&r);

    json_t *more = invite(&w.student,
                          json_pack("{s:s, s:s, s:b, s:b}", "line", "Zie hieronder",
                                    "reflection_id", refl, "share_situation", 1, "share_name", 1),
                          201);
    page(link_path(more), NULL, &r);
    expect_html(&r, 200);
    cr_assert(strstr(r.body, "SITUATIE-Nachtdienst op de gang"));
    cr_assert_null(strstr(r.body, "Ik belde de arts"), "only the situation part");
    cr_assert(strstr(r.body, "vraagt je om feedback"));
    cr_assert_null(strstr(r.body, "Een student vraagt"), "the name replaces 'a student'");
    http_resp_free(&r);
    json_decref(plain);
    json_decref(more);
}

/* The feedback items of a thread (reflection) as u sees them. */
static json_t *thread(const struct fix_user *u, const char *refl)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback", refl);
    struct http_resp r;
    http_send("GET", path, u->token, NULL, NULL, &r);
    expect_status(&r, 200);
    json_t *items = json_incref(json_object_get(r.json, "items"));
    http_resp_free(&r);
    return items;
}

Test(invitations, the_answer_is_external_feedback_in_the_thread)
{
    struct world w;
    world(&w);
    char refl[40];
    reflection(&w, refl);
    json_t *inv =
        invite(&w.student, json_pack("{s:s, s:s}", "line", "Val", "reflection_id", refl), 201);
    struct http_resp r;
    post_form(link_path(inv),
              "name=Ria+de+Nacht&role=verpleegkundige&top=Rustig+gebleven.%0D%0AGoed+zo&tip=Eerder+"
              "bellen&question=",
              &r);
    expect_html(&r, 200);
    cr_assert(strstr(r.body, "Dank je wel"));
    http_resp_free(&r);

    json_t *items = thread(&w.student, refl);
    cr_assert_eq(json_array_size(items), 2, "%s", jdump(items));
    int tops = 0, tips = 0;
    size_t i;
    json_t *f;
    json_array_foreach(items, i, f)
    {
        cr_assert_str_eq(jstr(f, "author_type"), "external");
        cr_assert(json_is_false(json_object_get(f, "author_verified")));
        cr_assert(json_is_null(json_object_get(f, "author_id")));
        cr_assert_str_eq(jstr(f, "author_name"), "Ria de Nacht");
        cr_assert_str_eq(jstr(f, "author_role"), "verpleegkundige");
        cr_assert_str_eq(jstr(f, "invitation_id"), jstr(inv, "id"));
        cr_assert(json_is_false(json_object_get(f, "by_owner")));
        tops += strcmp(jstr(f, "kind"), "top") == 0;
        tips += strcmp(jstr(f, "kind"), "tip") == 0;
        if (strcmp(jstr(f, "kind"), "top") == 0)
            cr_assert_str_eq(jstr(f, "body"), "Rustig gebleven.\nGoed zo");
    }
    cr_assert_eq(tops, 1);
    cr_assert_eq(tips, 1);
    const char *fid = jstr(json_array_get(items, 0), "id");
    char seen[96];
    snprintf(seen, sizeof(seen), "/v1/feedback/%s/seen", fid);

    /* The coach sees it where they see the reflection, and marks it seen. */
    json_t *coach_view = thread(&w.coach, refl);
    cr_assert_eq(json_array_size(coach_view), 2);
    json_decref(coach_view);
    http_send("PUT", seen, w.student.token, NULL, NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    http_send("PUT", seen, w.other.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    http_send("PUT", seen, w.coach.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    http_send("PUT", seen, w.coach.token, NULL, NULL, &r);
    expect_status(&r, 204); /* again: the first mark stays */
    http_resp_free(&r);
    json_t *after = thread(&w.student, refl);
    json_array_foreach(after, i, f) if (strcmp(jstr(f, "id"), fid) == 0)
        cr_assert(jstr(f, "seen_at"), "seen_at is set: %s", jdump(f));
    json_decref(after);

    /* The invitation says so; the student heard of it; all audited. */
    char path[96], out[64];
    snprintf(path, sizeof(path), "/v1/feedback-invitations/%s", jstr(inv, "id"));
    http_send("GET", path, w.student.token, NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_str_eq(jstr(r.json, "status"), "answered");
    cr_assert_eq(json_array_size(json_object_get(r.json, "feedback")), 2);
    http_resp_free(&r);
    test_sqlf(out, sizeof(out),
              "SELECT count(*) FROM events WHERE recipient_id = '%s' AND type = 'feedback.created'"
              " AND payload->>'external' = 'true' AND payload->>'invitation_id' = '%s'"
              " AND payload->>'reflection_id' = '%s'",
              w.student.id, jstr(inv, "id"), refl);
    cr_assert_str_eq(out, "2");
    test_sqlf(
        out, sizeof(out),
        "SELECT string_agg(action, ',' ORDER BY action) FROM audit_log WHERE object_id = '%s'",
        jstr(inv, "id"));
    cr_assert_str_eq(out, "feedback_invitation.answer,feedback_invitation.create");
    test_sqlf(out, sizeof(out),
              "SELECT count(*) FROM audit_log WHERE object_id = '%s'"
              " AND action = 'feedback.seen' AND actor_id = '%s'",
              fid, w.coach.id);
    cr_assert_str_eq(out, "1");
    json_decref(items);
    json_decref(inv);
}

Test(invitations, a_view_is_audited)
{
    struct world w;
    world(&w);
    json_t *inv = invite(&w.student, json_pack("{s:s}", "line", "x"), 201);
    expect_page(link_path(inv), 200);
    char out[64];
    test_sqlf(out, sizeof(out),
              "SELECT count(*) FROM audit_log WHERE object_id = '%s' AND subject_user_id = '%s'"
              " AND action = 'feedback_invitation.view' AND actor_id IS NULL",
              jstr(inv, "id"), w.student.id);
    cr_assert_str_eq(out, "1");
    json_decref(inv);
}

Test(invitations, a_moment_has_its_feedback_on_the_invitation)
{
    struct world w;
    world(&w);
    json_t *inv = invite(&w.student, json_pack("{s:s}", "line", "Overdracht in de ochtend"), 201);
    struct http_resp r;
    expect_form_answer(link_path(inv),
                       "name=Kees&role=flexpool&top=&tip=&question=Hoe+voelde+dat%3F", 200);
    char path[96];
    snprintf(path, sizeof(path), "/v1/feedback-invitations/%s", jstr(inv, "id"));
    http_send("GET", path, w.student.token, NULL, NULL, &r);
    expect_status(&r, 200);
    json_t *f = json_array_get(json_object_get(r.json, "feedback"), 0);
    cr_assert_str_eq(jstr(f, "kind"), "question");
    cr_assert_str_eq(jstr(f, "body"), "Hoe voelde dat?");
    cr_assert(json_is_null(json_object_get(f, "reflection_id")));
    cr_assert(json_is_null(json_object_get(f, "goal_id")));
    http_resp_free(&r);
    json_decref(inv);
}

Test(invitations, one_answer_only)
{
    struct world w;
    world(&w);
    json_t *inv = invite(&w.student, json_pack("{s:s}", "line", "x"), 201);
    expect_form_answer(link_path(inv), "name=A&role=B&top=een&tip=&question=", 200);
    expect_dead(link_path(inv)); /* the replay, and a second colleague */
    char out[64];
    test_sqlf(out, sizeof(out), "SELECT count(*) FROM feedback WHERE invitation_id = '%s'",
              jstr(inv, "id"));
    cr_assert_str_eq(out, "1");
    json_decref(inv);
}

Test(invitations, every_dead_link_shows_the_same_neutral_page)
{
    struct world w;
    world(&w);
    char refl[40], path[128];
    reflection(&w, refl);
    /* Malformed tokens: too short, too long, bad characters, encoded. */
    expect_dead("/f/short");
    expect_dead("/f/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect_dead("/f/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%27");
    expect_dead("/f/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.");
    /* Expired. */
    json_t *old = invite(&w.student, json_pack("{s:s}", "line", "x"), 201);
    test_sqlf(NULL, 0,
              "UPDATE feedback_invitations SET expires_at = now() - interval '1 second',"
              " created_at = now() - interval '1 day' WHERE id = '%s'",
              jstr(old, "id"));
    expect_dead(link_path(old));
    /* Revoked (and revoking is the student's alone). */
    json_t *rev = invite(&w.student, json_pack("{s:s}", "line", "x"), 201);
    snprintf(path, sizeof(path), "/v1/feedback-invitations/%s/revoke", jstr(rev, "id"));
    struct http_resp r;
    http_send("POST", path, w.other.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    http_send("POST", path, w.student.token, NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_str_eq(jstr(r.json, "status"), "revoked");
    http_resp_free(&r);
    expect_dead(link_path(rev));
    /* Its reflection deleted. */
    json_t *del =
        invite(&w.student, json_pack("{s:s, s:s}", "line", "x", "reflection_id", refl), 201);
    snprintf(path, sizeof(path), "/v1/reflections/%s", refl);
    http_send("DELETE", path, w.student.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    expect_dead(link_path(del));
    json_decref(old);
    json_decref(rev);
    json_decref(del);
}

/* Posts form to a live link; expects the form again with 422 and needle. */
static void expect_form_error(const char *path, const char *form, const char *needle)
{
    struct http_resp r;
    post_form(path, form, &r);
    expect_html(&r, 422);
    cr_assert(strstr(r.body, "role=\"alert\""), "%s", r.body);
    cr_assert(strstr(r.body, needle), "'%s' not in %s", needle, r.body);
    http_resp_free(&r);
}

Test(invitations, the_form_is_validated_strictly)
{
    struct world w;
    world(&w);
    json_t *inv = invite(&w.student, json_pack("{s:s}", "line", "x"), 201);
    const char *p = link_path(inv);
    expect_form_error(p, "name=&role=B&top=x&tip=&question=",
                      "id=\"name\" name=\"name\" required autocomplete=\"name\" aria-describedby="
                      "\"name-error\" aria-invalid=\"true\"");
    expect_form_error(
        p, "name=A&role=B&top=+&tip=%0A&question=", "Vul een top, een tip of een vraag in.");
    /* What was typed comes back, escaped. */
    expect_form_error(p, "name=%22%3E%3Cscript%3E&role=&top=x&tip=&question=",
                      "value=\"&quot;&gt;&lt;script&gt;\"");
    expect_form_error(p, "name=A%07&role=B&top=x&tip=&question=", "name-error");
    expect_form_error(p, "name=A%C2%85&role=B&top=x&tip=&question=", "name-error"); /* C1 */
    expect_form_error(p, "name=A&role=B&top=x%0Dy&tip=&question=", "top-error");    /* lone CR */
    char form[2200 * 3];
    int n = snprintf(form, sizeof(form), "name=A&role=B&tip=&question=&top=");
    memset(form + n, 'x', 2001);
    form[n + 2001] = '\0';
    expect_form_error(p, form, "top-error");
    n = snprintf(form, sizeof(form), "role=B&tip=&question=&top=x&name=");
    for (int i = 0; i < 101; i++)
        n += snprintf(form + n, sizeof(form) - (size_t)n, "%%C3%%A9"); /* 101 characters */
    expect_form_error(p, form, "name-error");
    /* What no browser sends is refused outright. */
    const char *bad[] = {"name=A&name=B&role=B&top=x", "name=A&role=B&top=x&extra=1",
                         "name=A&role=B&top=%zz",      "name=A&role=B&top=%C3",
                         "name=A&role=B&top=x&",       "name=A&role=B&top=%00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_form_answer(p, bad[i], 400);
    }
    struct http_resp r;
    cr_assert_eq(http_call(test_addr(), "POST", p, NULL, "{\"name\":\"A\"}", NULL, &r), 0);
    expect_html(&r, 415);
    http_resp_free(&r);
    /* 100 characters of é are fine; the link still works after all that. */
    n = snprintf(form, sizeof(form), "role=B&tip=&question=&top=x&name=");
    for (int i = 0; i < 100; i++)
        n += snprintf(form + n, sizeof(form) - (size_t)n, "%%C3%%A9");
    expect_form_answer(p, form, 200);
    json_decref(inv);
}

Test(invitations, answers_are_limited_per_link)
{
    struct world w;
    world(&w);
    json_t *inv = invite(&w.student, json_pack("{s:s}", "line", "x"), 201);
    struct http_resp r;
    for (int i = 0; i < 10; i++) { /* FEEDBACK_FORM_MAX_LINK, default 10 */
        expect_form_answer(link_path(inv), "name=&role=B&top=x&tip=&question=", 422);
    }
    post_form(link_path(inv), "name=A&role=B&top=x&tip=&question=", &r);
    expect_html(&r, 429);
    cr_assert(http_header(&r, "Retry-After"));
    http_resp_free(&r);
    char out[64];
    test_sqlf(out, sizeof(out),
              "SELECT answered_at IS NULL FROM feedback_invitations WHERE id = '%s'",
              jstr(inv, "id"));
    cr_assert_str_eq(out, "t");
    json_decref(inv);
}

Test(invitations, a_retried_create_gets_a_new_link_and_kills_the_old)
{
    struct world w;
    world(&w);
    const char *id = "6d1f0b6e-3c1e-4a51-9f59-3a1f1f4c0a11";
    char uid[40];
    snprintf(uid, sizeof(uid), "%.8s%s", w.student.id, id + 8); /* unique per run */
    json_t *first = invite(&w.student, json_pack("{s:s, s:s}", "id", uid, "line", "x"), 201);
    json_t *again = invite(&w.student, json_pack("{s:s, s:s}", "id", uid, "line", "x"), 200);
    cr_assert_str_neq(jstr(first, "url"), jstr(again, "url"));
    expect_dead(link_path(first));
    expect_page(link_path(again), 200);
    json_decref(invite(&w.student, json_pack("{s:s, s:s}", "id", uid, "line", "other"), 409));
    json_decref(invite(&w.other, json_pack("{s:s, s:s}", "id", uid, "line", "x"), 409));
    json_decref(first);
    json_decref(again);
}

Test(invitations, erasure_takes_the_invitations)
{
    struct world w;
    world(&w);
    json_t *inv = invite(&w.student, json_pack("{s:s}", "line", "x"), 201);
    struct http_resp r;
    expect_form_answer(link_path(inv), "name=A&role=B&top=x&tip=&question=", 200);
    json_t *open = invite(&w.student, json_pack("{s:s}", "line", "y"), 201);
    /* First the export: both invitations, without the token's hash, and
     * the feedback on the moment. */
    http_send("GET", "/v1/me/export", w.student.token, NULL, NULL, &r);
    expect_status(&r, 200);
    json_t *invs = json_object_get(r.json, "feedback_invitations");
    cr_assert_eq(json_array_size(invs), 2, "%s", jdump(invs));
    cr_assert_null(json_object_get(json_array_get(invs, 0), "token_hash"));
    json_t *got = json_object_get(r.json, "feedback_received");
    cr_assert_eq(json_array_size(got), 1, "%s", jdump(got));
    cr_assert_str_eq(jstr(json_array_get(got, 0), "external_name"), "A");
    http_resp_free(&r);
    http_send("DELETE", "/v1/me", w.student.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    expect_dead(link_path(open));
    char out[64];
    test_sqlf(out, sizeof(out),
              "SELECT (SELECT count(*) FROM feedback_invitations WHERE student_id = '%s')"
              " + (SELECT count(*) FROM feedback WHERE invitation_id = '%s')",
              w.student.id, jstr(inv, "id"));
    cr_assert_str_eq(out, "0");
    json_decref(inv);
    json_decref(open);
}

Test(invitations, external_tops_and_tips_count_in_the_published_figures)
{
    struct world w;
    world(&w);
    char refl[40];
    reflection(&w, refl);
    json_t *inv =
        invite(&w.student, json_pack("{s:s, s:s}", "line", "x", "reflection_id", refl), 201);
    expect_form_answer(link_path(inv), "name=A&role=B&top=goed&tip=beter&question=waarom", 200);
    /* What publishing this month would count for the student (the
     * contributions of publish_period, 0009), as for any feedback. */
    char out[128];
    test_sqlf(out, sizeof(out),
              "SELECT publish_contributions('%s', date_trunc('month', now() AT TIME ZONE"
              " (SELECT timezone FROM organisations WHERE id = '%s'))::date);"
              " SELECT 'tops=' || tops || ',tips=' || tips FROM pub_contrib WHERE user_id = '%s'",
              w.o.id, w.o.id, w.student.id);
    cr_assert(strstr(out, "tops=1,tips=1"), "got %s", out);
    json_decref(inv);
}

Test(invitations, unauthenticated_calls_are_401)
{
    struct http_resp r;
    cr_assert_eq(http_call(test_addr(), "POST", "/v1/feedback-invitations", NULL,
                           "{\"line\":\"x\"}", NULL, &r),
                 0);
    expect_problem(&r, 401);
    http_resp_free(&r);
    cr_assert_eq(http_get(test_addr(), "/v1/feedback-invitations", NULL, &r), 0);
    expect_problem(&r, 401);
    http_resp_free(&r);
    cr_assert_eq(http_call(test_addr(), "PUT",
                           "/v1/feedback/6d1f0b6e-3c1e-4a51-9f59-3a1f1f4c0a11/seen", NULL, NULL,
                           NULL, &r),
                 0);
    expect_problem(&r, 401);
    http_resp_free(&r);
}
