/* test_admin.c - organisation administration, attacked over real HTTP.
 *
 * Covers the admin endpoints (POST/GET /v1/users, POST/GET /v1/teams,
 * PUT/DELETE /v1/teams/{t}/members/{u}, PUT/DELETE
 * /v1/students/{s}/supervisors/{u}, GET/PATCH /v1/organisation, GET
 * /v1/audit) and the rules around them:
 *   - the role matrix: every non-admin (team roles student, werkbegeleider,
 *     teammanager, member; org role praktijkopleider) gets a 404 problem from
 *     every admin endpoint and changes nothing; an admin succeeds on each;
 *   - tenant isolation: another organisation's ids behave as if they did not
 *     exist, in both directions, and lists and the audit log never show them;
 *   - input validation of users, teams, memberships, supervisions and the
 *     organisation setting (422 with errors[], 400, 409, 415);
 *   - ETag / If-None-Match / If-Match on the organisation (304, 412, 428);
 *   - keyset pagination of teams and the audit log;
 *   - logout ending the session for every admin statement at once;
 *   - what surrounds the answers: status lines, and no password hash in the
 *     server log when the database refuses a user row.
 * Every "nothing changed" claim is checked with separate reads afterwards:
 * the admin's lists, the organisation and its audit log (every change
 * writes a row there in the same statement), the member's own /v1/me and
 * the supervisor's own GET /v1/students. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- requests ------------------------------------------------------------ */

/* One request with a body sent exactly as given (malformed JSON, odd types). */
static void call_text(const char *method, const char *path, const char *token, const char *body,
                      const char *headers, struct http_resp *r)
{
    cr_assert_eq(http_call(test_addr(), method, path, token, body, headers, r), 0,
                 "%s %s: no HTTP response", method, path);
}

/* ---- response assertions -------------------------------------------------- */

/* The 404 every refusal looks like: a problem, never 403, never data. */
static void expect_not_found(const struct http_resp *r)
{
    expect_problem(r, 404);
    cr_assert_null(json_object_get(r->json, "items"), "a 404 carries data: %s", r->body);
}

static int is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* RFC 3339 in UTC: YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00). */
static void expect_utc_time(const char *s, const char *what)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    cr_assert(s, "%s missing", what);
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        int ok = shape[i] == 'd' ? isdigit((unsigned char)s[i]) : s[i] == shape[i];
        cr_assert(ok, "%s is not RFC 3339: %s", what, s);
    }
    size_t n = strlen(s);
    cr_assert((n > 0 && s[n - 1] == 'Z') || (n > 6 && strcmp(s + n - 6, "+00:00") == 0),
              "%s is not UTC: %s", what, s);
}

/* The body text must never carry a password or its hash. */
static void expect_no_secrets(const struct http_resp *r)
{
    cr_assert_null(strstr(r->body, "password"), "body mentions a password: %s", r->body);
    cr_assert_null(strstr(r->body, "argon2"), "body carries a password hash: %s", r->body);
    cr_assert_null(strstr(r->body, FIX_PASSWORD), "body carries the password: %s", r->body);
}

/* The audit actions of the administration endpoints. */
static int is_change(const char *action)
{
    static const char *const changes[] = {
        "user.create",     "team.create",        "team.member.put",     "team.member.delete",
        "supervision.put", "supervision.delete", "organisation.update", NULL};
    for (size_t i = 0; action && changes[i]; i++)
        if (strcmp(action, changes[i]) == 0)
            return 1;
    return 0;
}

/* ---- reads (by whoever may read) ------------------------------------------- */

/* Every item of a list endpoint, following next_cursor. New reference. */
static json_t *list_all(const char *path, const char *token)
{
    json_t *all = json_array();
    char cursor[256] = "";
    for (int page = 0; page < 100; page++) {
        char url[512];
        snprintf(url, sizeof(url), "%s?limit=100%s%s", path, *cursor ? "&cursor=" : "", cursor);
        struct http_resp r;
        http_send("GET", url, token, NULL, NULL, &r);
        expect_json(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        cr_assert(json_is_array(items), "list without items[]: %s", r.body);
        json_array_extend(all, items);
        const char *next = jstr(r.json, "next_cursor");
        cr_assert(next || json_is_null(json_object_get(r.json, "next_cursor")),
                  "next_cursor must be a string or null: %s", r.body);
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        http_resp_free(&r);
        if (!*cursor)
            return all;
    }
    cr_assert_fail("%s: the cursors never end", path);
    return all;
}

/* The newest audit row of action about object_id, or NULL. Borrowed. */
static json_t *find_action(const json_t *audit, const char *action, const char *object_id)
{
    size_t i;
    json_t *it;
    json_array_foreach(audit, i, it)
    {
        const char *a = jstr(it, "action"), *obj = jstr(it, "object_id");
        if (a && obj && strcmp(a, action) == 0 && strcmp(obj, object_id) == 0)
            return it;
    }
    return NULL;
}

/* The first item whose key equals value, or NULL. Borrowed. */
static json_t *find_item(const json_t *items, const char *key, const char *value)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *v = jstr(it, key);
        if (v && strcmp(v, value) == 0)
            return it;
    }
    return NULL;
}

static size_t count_items(const json_t *items, const char *key, const char *value)
{
    size_t n = 0, i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *v = jstr(it, key);
        n += v && strcmp(v, value) == 0;
    }
    return n;
}

/* u's own /v1/me. New reference. */
static json_t *me_of(const struct fix_user *u)
{
    struct http_resp r;
    http_send("GET", "/v1/me", u->token, NULL, NULL, &r);
    expect_json(&r, 200);
    json_t *me = json_incref(r.json);
    http_resp_free(&r);
    return me;
}

/* u's role in team according to u's /v1/me, copied to role ("" when u is not
 * a member); fails when the team is listed more than once. */
static void team_role_of(const struct fix_user *u, const char *team, char role[32])
{
    json_t *me = me_of(u);
    json_t *teams = json_object_get(me, "teams");
    cr_assert(json_is_array(teams), "/v1/me without teams[]");
    cr_assert_leq(count_items(teams, "id", team), 1, "team listed twice in /v1/me");
    json_t *t = find_item(teams, "id", team);
    snprintf(role, 32, "%s", t && jstr(t, "role") ? jstr(t, "role") : "");
    json_decref(me);
}

static void expect_team_role(const struct fix_user *u, const char *team, const char *want)
{
    char role[32];
    team_role_of(u, team, role);
    cr_assert_str_eq(role, want, "%s's role in team %s: \"%s\", expected \"%s\"", u->email, team,
                     role, want);
}

/* Is student assigned to sup, according to sup's own GET /v1/students? */
static int supervises(const struct fix_user *sup, const char *student_id)
{
    json_t *students = list_all("/v1/students", sup->token);
    int found = find_item(students, "id", student_id) != NULL;
    json_decref(students);
    return found;
}

/* The organisation as token sees it: its ETag and threshold. */
static void org_read(const char *token, char etag[64], long *k)
{
    struct http_resp r;
    http_send("GET", "/v1/organisation", token, NULL, NULL, &r);
    expect_json(&r, 200);
    const char *e = http_header(&r, "ETag");
    cr_assert(e && *e, "GET /v1/organisation without ETag");
    snprintf(etag, 64, "%s", e);
    json_t *jk = json_object_get(r.json, "anonymity_threshold");
    cr_assert(json_is_integer(jk), "anonymity_threshold must be an integer: %s", r.body);
    *k = (long)json_integer_value(jk);
    http_resp_free(&r);
}

/* How many audit rows of o name id as actor, subject or object. */
static size_t audit_mentions(struct fix_org *o, const char *id)
{
    json_t *items = list_all("/v1/audit", o->admin.token);
    size_t n = count_items(items, "actor_id", id) + count_items(items, "subject_user_id", id) +
               count_items(items, "object_id", id);
    json_decref(items);
    return n;
}

/* ---- worlds --------------------------------------------------------------- */

/* An organisation with one team holding a student and their werkbegeleider
 * (assigned as supervisor), a user in no team, and a praktijkopleider. */
struct world {
    struct fix_org o;
    char team[40];
    struct fix_user student, coach, outsider, po;
};

static void world_build(struct world *w)
{
    fix_org(&w->o);
    fix_team(&w->o, w->team);
    fix_user(&w->o, NULL, &w->student);
    fix_user(&w->o, NULL, &w->coach);
    fix_user(&w->o, NULL, &w->outsider);
    fix_user(&w->o, "praktijkopleider", &w->po);
    fix_member(&w->o, w->team, &w->student, "student");
    fix_member(&w->o, w->team, &w->coach, "werkbegeleider");
    fix_supervise(&w->o, &w->student, &w->coach);
}

static json_t *user_body(const char *email, const char *name, const char *password)
{
    return json_pack("{s:s, s:s, s:s}", "email", email, "name", name, "password", password);
}

static void unique_email(char email[128], const char *prefix)
{
    test_unique(email, 128, prefix);
    strncat(email, "@test.example", 128 - strlen(email) - 1);
}

static void path_member(char *buf, size_t n, const char *team, const char *user)
{
    snprintf(buf, n, "/v1/teams/%s/members/%s", team, user);
}

static void path_supervisor(char *buf, size_t n, const char *student, const char *user)
{
    snprintf(buf, n, "/v1/students/%s/supervisors/%s", student, user);
}

/* Sends one request and expects a 404 problem. */
static void expect_404_for(const char *method, const char *path, const char *token, json_t *body,
                           const char *headers)
{
    struct http_resp r;
    http_send(method, path, token, body, headers, &r);
    expect_not_found(&r);
    http_resp_free(&r);
}

/* ---- role matrix ------------------------------------------------------------ */

/* Caller c (no admin role) tries every admin endpoint of w; each must answer
 * 404 and leave the organisation exactly as it was. */
static void expect_no_admin_powers(struct world *w, const struct fix_user *c)
{
    char path[200], email[128], team_name[96], etag[64], etag_after[64], own_role[32];
    long k, k_after;
    org_read(w->o.admin.token, etag, &k);
    team_role_of(c, w->team, own_role);
    json_t *users_before = list_all("/v1/users", w->o.admin.token);
    json_t *teams_before = list_all("/v1/teams", w->o.admin.token);

    /* POST /v1/users: even asking for the admin role. */
    unique_email(email, "sneaky");
    json_t *body = user_body(email, "Sneaky", FIX_PASSWORD);
    json_object_set_new(body, "roles", json_pack("[s]", "admin"));
    expect_404_for("POST", "/v1/users", c->token, body, NULL);
    /* GET /v1/users and GET /v1/audit. */
    expect_404_for("GET", "/v1/users", c->token, NULL, NULL);
    expect_404_for("GET", "/v1/audit", c->token, NULL, NULL);
    /* POST /v1/teams. */
    test_unique(team_name, sizeof(team_name), "Rogue");
    expect_404_for("POST", "/v1/teams", c->token, json_pack("{s:s}", "name", team_name), NULL);
    /* PUT members: placing someone else, and promoting oneself. */
    path_member(path, sizeof(path), w->team, w->outsider.id);
    expect_404_for("PUT", path, c->token, json_pack("{s:s}", "role", "student"), NULL);
    path_member(path, sizeof(path), w->team, c->id);
    expect_404_for("PUT", path, c->token, json_pack("{s:s}", "role", "teammanager"), NULL);
    /* DELETE a member. */
    path_member(path, sizeof(path), w->team, w->student.id);
    expect_404_for("DELETE", path, c->token, NULL, NULL);
    /* PUT supervisors: the praktijkopleider, and the caller itself. */
    path_supervisor(path, sizeof(path), w->student.id, w->po.id);
    expect_404_for("PUT", path, c->token, NULL, NULL);
    path_supervisor(path, sizeof(path), w->student.id, c->id);
    expect_404_for("PUT", path, c->token, NULL, NULL);
    /* DELETE the existing supervision. */
    path_supervisor(path, sizeof(path), w->student.id, w->coach.id);
    expect_404_for("DELETE", path, c->token, NULL, NULL);
    /* PATCH /v1/organisation with the ETag the caller may read. */
    char caller_etag[64], if_match[100];
    long caller_k;
    org_read(c->token, caller_etag, &caller_k);
    snprintf(if_match, sizeof(if_match), "If-Match: %s\r\n", caller_etag);
    expect_404_for("PATCH", "/v1/organisation", c->token,
                   json_pack("{s:i}", "anonymity_threshold", 3), if_match);

    /* Nothing changed, as the admin sees it. */
    json_t *users_after = list_all("/v1/users", w->o.admin.token);
    json_t *teams_after = list_all("/v1/teams", w->o.admin.token);
    cr_assert(json_equal(users_before, users_after), "the user list changed");
    cr_assert(json_equal(teams_before, teams_after), "the team list changed");
    cr_assert_null(find_item(users_after, "email", email), "the user was created");
    cr_assert_null(find_item(teams_after, "name", team_name), "the team was created");
    expect_team_role(&w->outsider, w->team, "");
    expect_team_role(&w->student, w->team, "student");
    expect_team_role(c, w->team, own_role);
    org_read(w->o.admin.token, etag_after, &k_after);
    cr_assert_eq(k_after, k, "the anonymity threshold changed");
    cr_assert_str_eq(etag_after, etag, "the organisation's ETag changed");
    /* Every change writes an audit row in its own statement: none by c
     * (c's logins are audited too, so look at the change actions). */
    json_t *audit = list_all("/v1/audit", w->o.admin.token);
    size_t i;
    json_t *row;
    json_array_foreach(audit, i, row)
    {
        const char *actor = jstr(row, "actor_id"), *action = jstr(row, "action");
        cr_assert(!actor || strcmp(actor, c->id) != 0 || !is_change(action),
                  "the caller changed something: %s", action);
    }
    cr_assert_eq(count_items(audit, "action", "supervision.put"), 1,
                 "a supervision was assigned (only the world's own assignment may exist)");
    cr_assert_not(supervises(&w->po, w->student.id), "the praktijkopleider was assigned");
    cr_assert_not(supervises(c, w->student.id), "the caller assigned itself");
    cr_assert(supervises(&w->coach, w->student.id), "the werkbegeleider was unassigned");
    cr_assert_eq(count_items(audit, "action", "supervision.delete"), 0,
                 "a supervision was removed");
    json_decref(audit);
    json_decref(users_before);
    json_decref(users_after);
    json_decref(teams_before);
    json_decref(teams_after);
}

static void role_matrix_for_team_role(const char *role)
{
    struct world w;
    struct fix_user c;
    world_build(&w);
    fix_user(&w.o, NULL, &c);
    fix_member(&w.o, w.team, &c, role);
    expect_no_admin_powers(&w, &c);
}

Test(admin, student_has_no_admin_powers)
{
    role_matrix_for_team_role("student");
}

Test(admin, werkbegeleider_has_no_admin_powers)
{
    role_matrix_for_team_role("werkbegeleider");
}

Test(admin, teammanager_has_no_admin_powers)
{
    role_matrix_for_team_role("teammanager");
}

Test(admin, member_has_no_admin_powers)
{
    role_matrix_for_team_role("member");
}

Test(admin, praktijkopleider_has_no_admin_powers)
{
    struct world w;
    world_build(&w);
    expect_no_admin_powers(&w, &w.po);
}

/* The same requests by the admin succeed, and do what they say. */
Test(admin, admin_succeeds_on_every_endpoint)
{
    struct world w;
    world_build(&w);
    const char *tok = w.o.admin.token;
    struct http_resp r;
    char path[200], email[128], team_name[96], etag[64], if_match[100];

    unique_email(email, "made");
    http_send("POST", "/v1/users", tok, user_body(email, "Made", FIX_PASSWORD), NULL, &r);
    expect_json(&r, 201);
    http_resp_free(&r);
    http_send("GET", "/v1/users", tok, NULL, NULL, &r);
    expect_json(&r, 200);
    cr_assert(find_item(json_object_get(r.json, "items"), "email", email), "new user not listed");
    http_resp_free(&r);
    test_unique(team_name, sizeof(team_name), "Made");
    http_send("POST", "/v1/teams", tok, json_pack("{s:s}", "name", team_name), NULL, &r);
    expect_json(&r, 201);
    http_resp_free(&r);

    path_member(path, sizeof(path), w.team, w.outsider.id);
    http_send("PUT", path, tok, json_pack("{s:s}", "role", "member"), NULL, &r);
    expect_json(&r, 200);
    http_resp_free(&r);
    expect_team_role(&w.outsider, w.team, "member");
    http_send("DELETE", path, tok, NULL, NULL, &r);
    expect_empty(&r, 204);
    http_resp_free(&r);
    expect_team_role(&w.outsider, w.team, "");

    path_supervisor(path, sizeof(path), w.student.id, w.po.id);
    http_send("PUT", path, tok, NULL, NULL, &r);
    expect_empty(&r, 204);
    http_resp_free(&r);
    cr_assert(supervises(&w.po, w.student.id), "the assignment is not visible");
    http_send("DELETE", path, tok, NULL, NULL, &r);
    expect_empty(&r, 204);
    http_resp_free(&r);
    cr_assert_not(supervises(&w.po, w.student.id), "the assignment was not removed");

    long k;
    org_read(tok, etag, &k);
    snprintf(if_match, sizeof(if_match), "If-Match: %s\r\n", etag);
    http_send("PATCH", "/v1/organisation", tok, json_pack("{s:i}", "anonymity_threshold", 7),
              if_match, &r);
    expect_json(&r, 200);
    http_resp_free(&r);
    org_read(tok, etag, &k);
    cr_assert_eq(k, 7);

    http_send("GET", "/v1/audit", tok, NULL, NULL, &r);
    expect_json(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    static const char *const actions[] = {
        "user.create",     "team.create",        "team.member.put",    "team.member.delete",
        "supervision.put", "supervision.delete", "organisation.update"};
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        cr_assert(find_item(items, "action", actions[i]), "audit lacks %s: %s", actions[i], r.body);
    http_resp_free(&r);
}

/* Issue 12: an audit row that says k changed but not from what to what
 * cannot answer the question an audit is for ("who lowered k, and from
 * what?"). */
Test(admin, threshold_change_is_audited_with_old_and_new_value)
{
    struct fix_org o;
    fix_org(&o);
    char etag[64], if_match[100];
    long k;
    org_read(o.admin.token, etag, &k);
    cr_assert_eq(k, 5, "a new organisation starts at k = 5");
    snprintf(if_match, sizeof(if_match), "If-Match: %s\r\n", etag);
    struct http_resp r;
    http_send("PATCH", "/v1/organisation", o.admin.token,
              json_pack("{s:i}", "anonymity_threshold", 7), if_match, &r);
    expect_json(&r, 200);
    http_resp_free(&r);
    json_t *items = list_all("/v1/audit", o.admin.token);
    const json_t *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e)
    {
        const char *action = jstr(e, "action");
        json_t *change = json_object_get(json_object_get(e, "details"), "anonymity_threshold");
        if (action && strcmp(action, "organisation.update") == 0 &&
            json_integer_value(json_object_get(change, "old")) == 5 &&
            json_integer_value(json_object_get(change, "new")) == 7)
            found = e;
        else if (action && strcmp(action, "organisation.update") != 0)
            cr_assert(json_is_null(json_object_get(e, "details")), "details on a %s row: %s",
                      action, jdump(e));
    }
    cr_assert(found, "no organisation.update row with old 5 and new 7: %s", jdump(items));
    cr_assert_str_eq(jstr(found, "actor_id"), o.admin.id);
    cr_assert_str_eq(jstr(found, "object_id"), o.id);
    json_decref(items);
}

/* ---- tenant isolation ------------------------------------------------------ */

/* A's admin uses B's ids (and mixes of A's and B's) on every path-param
 * endpoint: 404 each time, and B is untouched. */
Test(admin, other_organisations_ids_are_not_found)
{
    struct world a, b;
    world_build(&a);
    world_build(&b);
    const char *tok = a.o.admin.token;
    char path[200];
    const struct {
        const char *team, *user;
    } members[] = {
        {b.team, b.outsider.id}, /* B's team, B's user */
        {a.team, b.outsider.id}, /* A's team, B's user */
        {b.team, a.outsider.id}, /* B's team, A's user */
    };
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        path_member(path, sizeof(path), members[i].team, members[i].user);
        expect_404_for("PUT", path, tok, json_pack("{s:s}", "role", "student"), NULL);
    }
    path_member(path, sizeof(path), b.team, b.student.id);
    expect_404_for("DELETE", path, tok, NULL, NULL);
    const struct {
        const char *student, *user;
    } sups[] = {
        {b.student.id, b.po.id}, /* all of B */
        {a.student.id, b.po.id}, /* A's student, B's praktijkopleider */
        {b.student.id, a.po.id}, /* B's student, A's praktijkopleider */
    };
    for (size_t i = 0; i < sizeof(sups) / sizeof(sups[0]); i++) {
        path_supervisor(path, sizeof(path), sups[i].student, sups[i].user);
        expect_404_for("PUT", path, tok, NULL, NULL);
    }
    path_supervisor(path, sizeof(path), b.student.id, b.coach.id);
    expect_404_for("DELETE", path, tok, NULL, NULL);

    expect_team_role(&b.outsider, b.team, "");
    expect_team_role(&b.outsider, a.team, "");
    expect_team_role(&a.outsider, b.team, "");
    expect_team_role(&b.student, b.team, "student");
    cr_assert_not(supervises(&b.po, b.student.id), "B's praktijkopleider was assigned");
    cr_assert_not(supervises(&b.po, a.student.id), "B's praktijkopleider got A's student");
    cr_assert_not(supervises(&a.po, b.student.id), "A's praktijkopleider got B's student");
    cr_assert(supervises(&b.coach, b.student.id), "B's supervision was removed");
    cr_assert_eq(audit_mentions(&b.o, a.o.admin.id), 0, "A's admin acted in B");
    cr_assert_eq(audit_mentions(&a.o, b.po.id), 0, "B's praktijkopleider was assigned in A");
    json_t *audit = list_all("/v1/audit", b.o.admin.token);
    cr_assert_eq(count_items(audit, "action", "supervision.delete"), 0, "B lost a supervision");
    cr_assert_eq(count_items(audit, "action", "supervision.put"), 1, "B gained a supervision");
    json_decref(audit);
}

/* Lists and the audit log of A never contain anything of B. */
Test(admin, lists_and_audit_stay_inside_the_organisation)
{
    struct world a, b;
    world_build(&a);
    world_build(&b);
    json_t *teams = list_all("/v1/teams", a.o.admin.token);
    json_t *users = list_all("/v1/users", a.o.admin.token);
    json_t *audit = list_all("/v1/audit", a.o.admin.token);
    cr_assert_eq(json_array_size(teams), 1, "A has exactly one team");
    cr_assert(find_item(teams, "id", a.team));
    cr_assert_null(find_item(teams, "id", b.team), "A lists B's team");
    cr_assert_eq(json_array_size(users), 5, "A has its admin and four users");
    const struct fix_user *bs[] = {&b.o.admin, &b.student, &b.coach, &b.outsider, &b.po};
    for (size_t i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
        cr_assert_null(find_item(users, "id", bs[i]->id), "A lists B's user %s", bs[i]->email);
        cr_assert_eq(count_items(audit, "actor_id", bs[i]->id) +
                         count_items(audit, "subject_user_id", bs[i]->id) +
                         count_items(audit, "object_id", bs[i]->id),
                     0, "A's audit shows B's user %s", bs[i]->email);
    }
    cr_assert_null(find_item(audit, "object_id", b.team), "A's audit shows B's team");
    size_t i;
    json_t *it;
    json_array_foreach(users, i, it)
        cr_assert_str_eq(jstr(it, "organisation_id"), a.o.id, "a user of another organisation");
    json_array_foreach(teams, i, it)
        cr_assert_str_eq(jstr(it, "organisation_id"), a.o.id, "a team of another organisation");
    /* B's own audit does show B's events (the check above is not vacuous). */
    cr_assert_gt(audit_mentions(&b.o, b.team), 0, "B's audit lacks B's team");
    json_decref(teams);
    json_decref(users);
    json_decref(audit);
}

/* B's users (its admin too) on A's ids: 404, A untouched. */
Test(admin, other_organisations_tokens_get_not_found)
{
    struct world a, b;
    world_build(&a);
    world_build(&b);
    const struct fix_user *callers[] = {&b.o.admin, &b.student};
    char path[200];
    for (size_t i = 0; i < 2; i++) {
        const char *tok = callers[i]->token;
        path_member(path, sizeof(path), a.team, a.outsider.id);
        expect_404_for("PUT", path, tok, json_pack("{s:s}", "role", "teammanager"), NULL);
        path_member(path, sizeof(path), a.team, callers[i]->id);
        expect_404_for("PUT", path, tok, json_pack("{s:s}", "role", "teammanager"), NULL);
        path_member(path, sizeof(path), a.team, a.student.id);
        expect_404_for("DELETE", path, tok, NULL, NULL);
        path_supervisor(path, sizeof(path), a.student.id, a.po.id);
        expect_404_for("PUT", path, tok, NULL, NULL);
        path_supervisor(path, sizeof(path), a.student.id, a.coach.id);
        expect_404_for("DELETE", path, tok, NULL, NULL);
    }
    expect_team_role(&a.outsider, a.team, "");
    expect_team_role(&a.student, a.team, "student");
    expect_team_role(&b.o.admin, a.team, "");
    expect_team_role(&b.student, a.team, "");
    cr_assert_not(supervises(&a.po, a.student.id), "A's praktijkopleider was assigned");
    cr_assert(supervises(&a.coach, a.student.id), "A's supervision was removed");
    cr_assert_eq(audit_mentions(&a.o, b.o.admin.id), 0, "B's admin acted in A");
    cr_assert_eq(audit_mentions(&a.o, b.student.id), 0, "B's student acted in A");
    json_t *audit = list_all("/v1/audit", a.o.admin.token);
    cr_assert_eq(count_items(audit, "action", "supervision.put"), 1, "A gained a supervision");
    cr_assert_eq(count_items(audit, "action", "supervision.delete"), 0, "A lost a supervision");
    json_decref(audit);
}

/* ---- users ------------------------------------------------------------------ */

Test(admin, user_create_answers_201_with_fields)
{
    struct fix_org o;
    fix_org(&o);
    char email[128], upper[140], name[96];
    unique_email(email, "Mixed.Case");
    snprintf(upper, sizeof(upper), "  %s ", email);
    for (char *c = upper; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    test_unique(name, sizeof(name), "Sanne de Vries");
    json_t *body = user_body(upper, name, FIX_PASSWORD);
    json_object_set_new(body, "roles", json_pack("[s,s]", "praktijkopleider", "admin"));
    struct http_resp r;
    http_send("POST", "/v1/users", o.admin.token, body, NULL, &r);
    expect_json(&r, 201);
    expect_no_secrets(&r);
    const char *id = jstr(r.json, "id");
    cr_assert(is_uuid(id), "id must be a UUID: %s", r.body);
    char lower[128];
    snprintf(lower, sizeof(lower), "%s", email);
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    cr_assert_str_eq(jstr(r.json, "email"), lower, "e-mail must be trimmed and lower-cased");
    cr_assert_str_eq(jstr(r.json, "name"), name);
    cr_assert_str_eq(jstr(r.json, "organisation_id"), o.id);
    json_t *roles = json_object_get(r.json, "roles");
    cr_assert(json_is_array(roles) && json_array_size(roles) == 2, "roles: %s", r.body);
    cr_assert_str_eq(json_string_value(json_array_get(roles, 0)), "praktijkopleider");
    cr_assert_str_eq(json_string_value(json_array_get(roles, 1)), "admin");
    expect_utc_time(jstr(r.json, "created_at"), "created_at");
    /* No Location: there is no GET /v1/users/{id} to point at. */
    cr_assert_null(http_header(&r, "Location"), "Location names a URL that is not served");
    char uid[40];
    snprintf(uid, sizeof(uid), "%s", id);
    http_resp_free(&r);

    /* The list, the login answer and /v1/me show no secrets either. */
    http_send("GET", "/v1/users", o.admin.token, NULL, NULL, &r);
    expect_json(&r, 200);
    expect_no_secrets(&r);
    cr_assert(find_item(json_object_get(r.json, "items"), "id", uid), "new user not listed");
    http_resp_free(&r);
    http_send("POST", "/v1/auth/login", NULL,
              json_pack("{s:s, s:s}", "email", upper, "password", FIX_PASSWORD), NULL, &r);
    expect_json(&r, 200);
    cr_assert_null(strstr(r.body, "argon2"), "login answer carries the hash");
    cr_assert_str_eq(jstr(json_object_get(r.json, "user"), "id"), uid);
    char token[1024];
    snprintf(token, sizeof(token), "%s", jstr(r.json, "access_token"));
    http_resp_free(&r);
    http_send("GET", "/v1/me", token, NULL, NULL, &r);
    expect_json(&r, 200);
    expect_no_secrets(&r);
    cr_assert_str_eq(jstr(r.json, "email"), lower);
    http_resp_free(&r);
}

Test(admin, user_roles_default_to_none)
{
    struct fix_org o;
    fix_org(&o);
    char email[128];
    unique_email(email, "plain");
    struct http_resp r;
    http_send("POST", "/v1/users", o.admin.token, user_body(email, "Plain", FIX_PASSWORD), NULL,
              &r);
    expect_json(&r, 201);
    json_t *roles = json_object_get(r.json, "roles");
    cr_assert(json_is_array(roles) && json_array_size(roles) == 0, "roles: %s", r.body);
    http_resp_free(&r);
}

/* Any error status for a create must leave no user with that address. */
static void expect_user_absent(struct fix_org *o, const char *email)
{
    json_t *users = list_all("/v1/users", o->admin.token);
    cr_assert_null(find_item(users, "email", email), "a refused user was created: %s", email);
    json_decref(users);
}

Test(admin, duplicate_email_is_409_even_in_other_case)
{
    struct fix_org o, other;
    fix_org(&o);
    fix_org(&other);
    struct fix_user u;
    fix_user(&o, NULL, &u);
    char upper[128];
    snprintf(upper, sizeof(upper), "%s", u.email);
    for (char *c = upper; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    const char *variants[] = {u.email, upper};
    struct http_resp r;
    for (size_t i = 0; i < 2; i++) {
        http_send("POST", "/v1/users", o.admin.token,
                  user_body(variants[i], "Twin", "another password 123"), NULL, &r);
        expect_problem(&r, 409);
        http_resp_free(&r);
    }
    /* Another organisation cannot take the address over either. */
    http_send("POST", "/v1/users", other.admin.token,
              user_body(u.email, "Thief", "thief password 123"), NULL, &r);
    expect_problem(&r, 409);
    http_resp_free(&r);
    json_t *users = list_all("/v1/users", o.admin.token);
    cr_assert_eq(count_items(users, "email", u.email), 1, "the address exists twice");
    json_decref(users);
    expect_user_absent(&other, u.email);
    struct fix_user again;
    cr_assert_eq(fix_login(u.email, FIX_PASSWORD, &again), 200, "the original password broke");
    cr_assert_str_eq(again.id, u.id);
}

Test(admin, short_password_is_422)
{
    struct fix_org o;
    fix_org(&o);
    char email[128];
    unique_email(email, "short");
    struct http_resp r;
    http_send("POST", "/v1/users", o.admin.token, user_body(email, "Short", "elevenchars"), NULL,
              &r);
    expect_invalid(&r, "password");
    cr_assert_not(problem_names_field(&r, "email"), "only the password is wrong: %s", r.body);
    cr_assert_null(strstr(r.body, "elevenchars"), "the refusal echoes the password: %s", r.body);
    http_resp_free(&r);
    expect_user_absent(&o, email);
    /* Twelve characters is enough. */
    http_send("POST", "/v1/users", o.admin.token, user_body(email, "Short", "twelve chars"), NULL,
              &r);
    expect_json(&r, 201);
    http_resp_free(&r);
}

Test(admin, bad_roles_are_422)
{
    struct fix_org o;
    fix_org(&o);
    char email[128];
    unique_email(email, "roles");
    json_t *bad[] = {
        json_pack("[s]", "teammanager"), /* a team role, not an org role */
        json_pack("[s,s]", "admin", "admin"),
        json_string("admin"), /* not an array */
        json_pack("[i]", 1),
        json_pack("[s]", "Admin"),
        json_pack("{s:b}", "admin", 1),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *body = user_body(email, "Roles", FIX_PASSWORD);
        json_object_set_new(body, "roles", bad[i]);
        char *dump = json_dumps(body, JSON_COMPACT);
        struct http_resp r;
        http_send("POST", "/v1/users", o.admin.token, body, NULL, &r);
        cr_assert_eq(r.status, 422, "%s: status %d", dump, r.status);
        expect_invalid(&r, "roles");
        http_resp_free(&r);
        free(dump);
    }
    expect_user_absent(&o, email);
}

Test(admin, unknown_field_is_422)
{
    struct fix_org o;
    fix_org(&o);
    char email[128];
    unique_email(email, "unknown");
    json_t *body = user_body(email, "Unknown", FIX_PASSWORD);
    json_object_set_new(body, "organisation_id", json_string(o.id));
    struct http_resp r;
    http_send("POST", "/v1/users", o.admin.token, body, NULL, &r);
    expect_invalid(&r, "organisation_id");
    http_resp_free(&r);
    body = user_body(email, "Unknown", FIX_PASSWORD);
    json_object_set_new(body, "password_hash", json_string("$argon2id$v=19$m=1,t=1,p=1$x$y"));
    http_send("POST", "/v1/users", o.admin.token, body, NULL, &r);
    expect_invalid(&r, "password_hash");
    http_resp_free(&r);
    expect_user_absent(&o, email);
}

Test(admin, bad_email_is_422)
{
    struct fix_org o;
    fix_org(&o);
    const char *bad[] = {"no-at-sign.example", "@test.example", "user@", "two@@test.example",
                         "a b@test.example",   "user@nodot",    "",      "a\tb@test.example"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_resp r;
        http_send("POST", "/v1/users", o.admin.token, user_body(bad[i], "Mail", FIX_PASSWORD), NULL,
                  &r);
        cr_assert_eq(r.status, 422, "\"%s\" accepted with %d: %s", bad[i], r.status, r.body);
        expect_invalid(&r, "email");
        http_resp_free(&r);
    }
    struct http_resp r;
    http_send("POST", "/v1/users", o.admin.token,
              json_pack("{s:i, s:s, s:s}", "email", 7, "name", "Mail", "password", FIX_PASSWORD),
              NULL, &r);
    expect_invalid(&r, "email");
    http_resp_free(&r);
    json_t *users = list_all("/v1/users", o.admin.token);
    cr_assert_eq(json_array_size(users), 1, "only the admin may exist");
    json_decref(users);
}

/* An upper-case letter outside ASCII must be handled like "A": created
 * (lower-cased) or refused with a 422, never a server error. */
Test(admin, non_ascii_upper_case_email_is_not_a_server_error)
{
    struct fix_org o;
    fix_org(&o);
    char email[128];
    unique_email(email, "\xc3\x84nne"); /* "Änne" */
    struct http_resp r;
    http_send("POST", "/v1/users", o.admin.token, user_body(email, "Änne", FIX_PASSWORD), NULL, &r);
    cr_assert(r.status == 201 || r.status == 422, "expected 201 or 422, got %d: %s", r.status,
              r.body);
    if (r.status == 201)
        cr_assert_null(strstr(jstr(r.json, "email"), "\xc3\x84"), "stored with upper case: %s",
                       r.body);
    http_resp_free(&r);
}

Test(admin, missing_fields_are_all_listed_at_once)
{
    struct fix_org o;
    fix_org(&o);
    struct http_resp r;
    call_text("POST", "/v1/users", o.admin.token, "{}", NULL, &r);
    expect_invalid(&r, "email");
    cr_assert(problem_names_field(&r, "name") && problem_names_field(&r, "password"),
              "every missing field must be listed: %s", r.body);
    http_resp_free(&r);
    char email[128];
    unique_email(email, "noname");
    http_send("POST", "/v1/users", o.admin.token,
              json_pack("{s:s, s:s, s:n}", "email", email, "password", FIX_PASSWORD, "roles"), NULL,
              &r);
    expect_invalid(&r, "name");
    cr_assert_eq(json_array_size(json_object_get(r.json, "errors")), 1, "only name: %s", r.body);
    http_resp_free(&r);
    http_send("POST", "/v1/users", o.admin.token, user_body(email, "   ", FIX_PASSWORD), NULL, &r);
    expect_invalid(&r, "name");
    http_resp_free(&r);
    expect_user_absent(&o, email);
}

Test(admin, malformed_bodies_are_400_or_415)
{
    struct fix_org o;
    fix_org(&o);
    char email[128], good[300];
    unique_email(email, "malformed");
    snprintf(good, sizeof(good), "{\"email\":\"%s\",\"name\":\"M\",\"password\":\"%s\"}", email,
             FIX_PASSWORD);
    const char *not_objects[] = {"{\"email\":", "not json", "[]",  "[{\"email\":\"x@y.nl\"}]",
                                 "\"text\"",    "42",       "null"};
    struct http_resp r;
    for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
        call_text("POST", "/v1/users", o.admin.token, not_objects[i], NULL, &r);
        cr_assert_eq(r.status, 400, "body %s: %d", not_objects[i], r.status);
        expect_problem(&r, 400);
        http_resp_free(&r);
    }
    /* Duplicate keys could be read two ways: refused. */
    char dup[400];
    snprintf(dup, sizeof(dup),
             "{\"email\":\"%s\",\"name\":\"M\",\"password\":\"%s\","
             "\"password\":\"x\"}",
             email, FIX_PASSWORD);
    call_text("POST", "/v1/users", o.admin.token, dup, NULL, &r);
    expect_problem(&r, 400);
    http_resp_free(&r);
    /* A valid body with the wrong media type. */
    const char *types[] = {"Content-Type: text/plain\r\n",
                           "Content-Type: application/x-www-form-urlencoded\r\n",
                           "Content-Type: application/jsonx\r\n"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        call_text("POST", "/v1/users", o.admin.token, good, types[i], &r);
        expect_problem(&r, 415);
        http_resp_free(&r);
    }
    expect_user_absent(&o, email);
    /* The same body as application/json works (the refusals were about form). */
    call_text("POST", "/v1/users", o.admin.token, good,
              "Content-Type: application/json; charset=utf-8\r\n", &r);
    expect_json(&r, 201);
    http_resp_free(&r);
}

/* ---- teams ----------------------------------------------------------------- */

Test(admin, team_create_and_duplicate_name)
{
    struct fix_org o, other;
    fix_org(&o);
    fix_org(&other);
    char name[96], shouted[100];
    test_unique(name, sizeof(name), "Afdeling Noord");
    struct http_resp r;
    http_send("POST", "/v1/teams", o.admin.token, json_pack("{s:s}", "name", name), NULL, &r);
    expect_json(&r, 201);
    const char *id = jstr(r.json, "id");
    cr_assert(is_uuid(id), "id: %s", r.body);
    cr_assert_str_eq(jstr(r.json, "name"), name);
    cr_assert_str_eq(jstr(r.json, "organisation_id"), o.id);
    expect_utc_time(jstr(r.json, "created_at"), "created_at");
    char tid[40];
    snprintf(tid, sizeof(tid), "%s", id);
    http_resp_free(&r);

    snprintf(shouted, sizeof(shouted), " %s ", name);
    for (char *c = shouted; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    const char *dups[] = {name, shouted};
    for (size_t i = 0; i < 2; i++) {
        http_send("POST", "/v1/teams", o.admin.token, json_pack("{s:s}", "name", dups[i]), NULL,
                  &r);
        expect_problem(&r, 409);
        http_resp_free(&r);
    }
    json_t *teams = list_all("/v1/teams", o.admin.token);
    cr_assert_eq(json_array_size(teams), 1, "exactly the one team");
    cr_assert(find_item(teams, "id", tid));
    json_decref(teams);

    /* Names are unique per organisation only. */
    http_send("POST", "/v1/teams", other.admin.token, json_pack("{s:s}", "name", name), NULL, &r);
    expect_json(&r, 201);
    http_resp_free(&r);

    /* Invalid names. */
    json_t *bad[] = {json_pack("{}"), json_pack("{s:s}", "name", "  "),
                     json_pack("{s:i}", "name", 5),
                     json_pack("{s:s, s:s}", "name", "X", "organisation_id", other.id)};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        http_send("POST", "/v1/teams", o.admin.token, bad[i], NULL, &r);
        expect_problem(&r, 422);
        http_resp_free(&r);
    }
}

/* Do items hold exactly these ids, each once? */
static int list_has_exactly(const json_t *items, const char *const *ids, size_t n)
{
    if (json_array_size(items) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (count_items(items, "id", ids[i]) != 1)
            return 0;
    return 1;
}

Test(admin, team_list_visibility)
{
    struct fix_org o;
    fix_org(&o);
    char t[3][40];
    for (int i = 0; i < 3; i++)
        fix_team(&o, t[i]);
    struct fix_user m, po, lonely;
    fix_user(&o, NULL, &m);
    fix_user(&o, "praktijkopleider", &po);
    fix_user(&o, NULL, &lonely);
    fix_member(&o, t[1], &m, "teammanager");
    const char *all[] = {t[0], t[1], t[2]};
    const char *one[] = {t[1]};

    json_t *seen = list_all("/v1/teams", m.token);
    cr_assert(list_has_exactly(seen, one, 1), "a member sees only their team");
    json_decref(seen);
    seen = list_all("/v1/teams", lonely.token);
    cr_assert_eq(json_array_size(seen), 0, "a user in no team sees no team");
    json_decref(seen);
    seen = list_all("/v1/teams", po.token);
    cr_assert(list_has_exactly(seen, all, 3), "a praktijkopleider sees every team");
    json_decref(seen);
    seen = list_all("/v1/teams", o.admin.token);
    cr_assert(list_has_exactly(seen, all, 3), "an admin sees every team");
    json_decref(seen);
}

Test(admin, team_list_pages_chain)
{
    struct fix_org o;
    fix_org(&o);
    char t[3][40];
    for (int i = 0; i < 3; i++)
        fix_team(&o, t[i]);
    json_t *walked = json_array();
    char cursor[256] = "";
    int pages = 0;
    for (;;) {
        char url[400];
        snprintf(url, sizeof(url), "/v1/teams?limit=1%s%s", *cursor ? "&cursor=" : "", cursor);
        struct http_resp r;
        http_send("GET", url, o.admin.token, NULL, NULL, &r);
        expect_json(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        cr_assert_eq(json_array_size(items), 1, "page %d: %s", pages, r.body);
        json_array_extend(walked, items);
        pages++;
        json_t *next = json_object_get(r.json, "next_cursor");
        cr_assert(json_is_string(next) || json_is_null(next), "next_cursor: %s", r.body);
        if (pages < 3)
            cr_assert(json_is_string(next) && *json_string_value(next),
                      "page %d of 3 must have a next_cursor: %s", pages, r.body);
        else
            cr_assert(json_is_null(next), "the last page must have next_cursor null: %s", r.body);
        snprintf(cursor, sizeof(cursor), "%s", json_is_string(next) ? json_string_value(next) : "");
        http_resp_free(&r);
        if (!*cursor)
            break;
    }
    const char *all[] = {t[0], t[1], t[2]};
    cr_assert(list_has_exactly(walked, all, 3), "pages must cover each team exactly once");
    json_decref(walked);

    /* An exact fit ends with a null cursor too. */
    struct http_resp r;
    http_send("GET", "/v1/teams?limit=3", o.admin.token, NULL, NULL, &r);
    expect_json(&r, 200);
    cr_assert_eq(json_array_size(json_object_get(r.json, "items")), 3);
    cr_assert(json_is_null(json_object_get(r.json, "next_cursor")), "%s", r.body);
    http_resp_free(&r);
}

Test(admin, bad_page_parameters_are_422)
{
    struct fix_org o;
    fix_org(&o);
    char t[40];
    fix_team(&o, t);
    static const char *const limits[] = {"0",  "101", "abc", "-1",
                                         "1x", "",    "1.5", "99999999999999999999"};
    static const char *const lists[] = {"/v1/teams", "/v1/users", "/v1/audit"};
    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
            char url[200];
            snprintf(url, sizeof(url), "%s?limit=%s", lists[l], limits[i]);
            struct http_resp r;
            http_send("GET", url, o.admin.token, NULL, NULL, &r);
            cr_assert_eq(r.status, 422, "%s: %d", url, r.status);
            expect_invalid(&r, "limit");
            http_resp_free(&r);
        }
        /* Garbage, base64 of garbage, and a cursor with a non-UUID id. */
        static const char *const cursors[] = {"garbage!", "Z2FyYmFnZQ", "MTIzfG5vdC1hLXV1aWQ",
                                              "%00"};
        for (size_t i = 0; i < sizeof(cursors) / sizeof(cursors[0]); i++) {
            char url[200];
            snprintf(url, sizeof(url), "%s?cursor=%s", lists[l], cursors[i]);
            struct http_resp r;
            http_send("GET", url, o.admin.token, NULL, NULL, &r);
            cr_assert_eq(r.status, 422, "%s: %d", url, r.status);
            expect_invalid(&r, "cursor");
            http_resp_free(&r);
        }
    }
    /* limit at both ends is fine. */
    struct http_resp r;
    http_send("GET", "/v1/teams?limit=1", o.admin.token, NULL, NULL, &r);
    expect_json(&r, 200);
    http_resp_free(&r);
    http_send("GET", "/v1/teams?limit=100", o.admin.token, NULL, NULL, &r);
    expect_json(&r, 200);
    http_resp_free(&r);
}

/* ---- members ---------------------------------------------------------------- */

static void put_member(struct fix_org *o, const char *team, const char *user, const char *role,
                       struct http_resp *r)
{
    char path[200];
    path_member(path, sizeof(path), team, user);
    http_send("PUT", path, o->admin.token, json_pack("{s:s}", "role", role), NULL, r);
}

Test(admin, member_put_update_and_delete)
{
    struct fix_org o;
    fix_org(&o);
    char t[40];
    fix_team(&o, t);
    struct fix_user u;
    fix_user(&o, NULL, &u);
    struct http_resp r;
    put_member(&o, t, u.id, "student", &r);
    expect_json(&r, 200);
    cr_assert_eq(json_object_size(r.json), 5,
                 "exactly team_id,user_id,role,created_at,"
                 "updated_at: %s",
                 r.body);
    cr_assert_str_eq(jstr(r.json, "team_id"), t);
    cr_assert_str_eq(jstr(r.json, "user_id"), u.id);
    cr_assert_str_eq(jstr(r.json, "role"), "student");
    expect_utc_time(jstr(r.json, "created_at"), "created_at");
    expect_utc_time(jstr(r.json, "updated_at"), "updated_at");
    char created[64];
    snprintf(created, sizeof(created), "%s", jstr(r.json, "created_at"));
    http_resp_free(&r);
    expect_team_role(&u, t, "student");

    put_member(&o, t, u.id, "werkbegeleider", &r);
    expect_json(&r, 200);
    cr_assert_str_eq(jstr(r.json, "role"), "werkbegeleider");
    cr_assert_str_eq(jstr(r.json, "created_at"), created, "an update keeps created_at");
    cr_assert_str_neq(jstr(r.json, "updated_at"), created, "an update moves updated_at");
    http_resp_free(&r);
    expect_team_role(&u, t, "werkbegeleider");

    /* The user now sees the team. */
    json_t *seen = list_all("/v1/teams", u.token);
    cr_assert(find_item(seen, "id", t), "a member sees their team");
    json_decref(seen);

    char path[200];
    path_member(path, sizeof(path), t, u.id);
    http_send("DELETE", path, o.admin.token, NULL, NULL, &r);
    expect_empty(&r, 204);
    http_resp_free(&r);
    expect_team_role(&u, t, "");
    seen = list_all("/v1/teams", u.token);
    cr_assert_eq(json_array_size(seen), 0, "a removed member still sees the team");
    json_decref(seen);
}

Test(admin, member_role_must_be_a_team_role)
{
    struct fix_org o;
    fix_org(&o);
    char t[40];
    fix_team(&o, t);
    struct fix_user u;
    fix_user(&o, NULL, &u);
    fix_member(&o, t, &u, "member");
    char path[200];
    path_member(path, sizeof(path), t, u.id);
    json_t *bad[] = {json_pack("{s:s}", "role", "admin"),
                     json_pack("{s:s}", "role", "praktijkopleider"),
                     json_pack("{s:s}", "role", "Student"),
                     json_pack("{s:i}", "role", 1),
                     json_pack("{s:n}", "role"),
                     json_pack("{}")};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_resp r;
        http_send("PUT", path, o.admin.token, bad[i], NULL, &r);
        expect_invalid(&r, "role");
        http_resp_free(&r);
    }
    struct http_resp r;
    http_send("PUT", path, o.admin.token, json_pack("{s:s, s:s}", "role", "student", "team", t),
              NULL, &r);
    expect_invalid(&r, "team");
    http_resp_free(&r);
    expect_team_role(&u, t, "member");
}

Test(admin, member_paths_need_real_ids)
{
    struct fix_org o;
    fix_org(&o);
    char t[40];
    fix_team(&o, t);
    struct fix_user u;
    fix_user(&o, NULL, &u);
    const char *absent = "00000000-0000-4000-8000-000000000000";
    const struct {
        const char *team, *user;
    } cases[] = {
        {"not-a-uuid", u.id},
        {t, "123"},
        {t, "00000000-0000-4000-8000-00000000000g"},
        {"../teams", u.id},
        {absent, u.id}, /* well-formed, but no such team */
        {t, absent},    /* no such user */
        {u.id, t},      /* the ids swapped */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[200];
        path_member(path, sizeof(path), cases[i].team, cases[i].user);
        expect_404_for("PUT", path, o.admin.token, json_pack("{s:s}", "role", "member"), NULL);
        expect_404_for("DELETE", path, o.admin.token, NULL, NULL);
    }
    expect_team_role(&u, t, "");
}

/* ---- supervisions -------------------------------------------------------------- */

static int put_supervisor(struct fix_org *o, const struct fix_user *student,
                          const struct fix_user *sup, struct http_resp *r)
{
    char path[200];
    path_supervisor(path, sizeof(path), student->id, sup->id);
    http_send("PUT", path, o->admin.token, NULL, NULL, r);
    return r->status;
}

static void expect_supervisor_put(struct fix_org *o, const struct fix_user *student,
                                  const struct fix_user *sup, int status)
{
    struct http_resp r;
    put_supervisor(o, student, sup, &r);
    if (status == 204)
        expect_empty(&r, 204);
    else
        expect_problem(&r, status);
    http_resp_free(&r);
}

Test(admin, supervision_rules)
{
    struct fix_org o;
    fix_org(&o);
    char t1[40], t2[40];
    fix_team(&o, t1);
    fix_team(&o, t2);
    struct fix_user s, w, w_other, tm, po, plain, nobody;
    fix_user(&o, NULL, &s);
    fix_user(&o, NULL, &w);
    fix_user(&o, NULL, &w_other);
    fix_user(&o, NULL, &tm);
    fix_user(&o, "praktijkopleider", &po);
    fix_user(&o, NULL, &plain);
    fix_user(&o, NULL, &nobody);
    fix_member(&o, t1, &s, "student");
    fix_member(&o, t1, &w, "werkbegeleider");
    fix_member(&o, t2, &w_other, "werkbegeleider");
    fix_member(&o, t1, &tm, "teammanager");
    fix_member(&o, t1, &plain, "member");

    expect_supervisor_put(&o, &s, &w, 204);       /* werkbegeleider of the student's team */
    expect_supervisor_put(&o, &s, &w, 204);       /* again: idempotent */
    expect_supervisor_put(&o, &s, &po, 204);      /* a praktijkopleider, in no team */
    expect_supervisor_put(&o, &s, &w_other, 422); /* werkbegeleider of another team */
    expect_supervisor_put(&o, &s, &tm, 422);      /* not a werkbegeleider */
    expect_supervisor_put(&o, &s, &nobody, 422);  /* in no team at all */
    expect_supervisor_put(&o, &plain, &w, 422);   /* a member, not a student */
    expect_supervisor_put(&o, &nobody, &po, 422); /* in no team at all */
    expect_supervisor_put(&o, &w, &po, 422);      /* a werkbegeleider is not a student */

    /* The supervisors see exactly the assignments that were allowed. */
    cr_assert(supervises(&w, s.id) && supervises(&po, s.id), "an allowed assignment is missing");
    const struct fix_user *refused[] = {&w_other, &tm, &nobody};
    for (size_t i = 0; i < 3; i++)
        cr_assert_not(supervises(refused[i], s.id), "a refused assignment exists (%s)",
                      refused[i]->email);
    cr_assert_not(supervises(&w, plain.id), "a member became a supervised student");
    cr_assert_not(supervises(&po, nobody.id) || supervises(&po, w.id), "a non-student assigned");
    /* The audit log shows exactly the two assignments made, once each. */
    json_t *audit = list_all("/v1/audit", o.admin.token);
    cr_assert_eq(count_items(audit, "action", "supervision.put"), 2, "assignments in the audit");
    json_t *a = find_action(audit, "supervision.put", w.id);
    cr_assert(a, "the assignment is not in the audit log");
    cr_assert_str_eq(jstr(a, "subject_user_id"), s.id);
    cr_assert(find_action(audit, "supervision.put", po.id), "po's assignment is not audited");
    json_decref(audit);

    char path[200];
    path_supervisor(path, sizeof(path), s.id, w.id);
    struct http_resp r;
    http_send("DELETE", path, o.admin.token, NULL, NULL, &r);
    expect_empty(&r, 204);
    http_resp_free(&r);
    audit = list_all("/v1/audit", o.admin.token);
    json_t *d = find_action(audit, "supervision.delete", w.id);
    cr_assert(d, "the removal is not in the audit log");
    cr_assert_not(supervises(&w, s.id), "the removed assignment is still visible");
    cr_assert_str_eq(jstr(d, "subject_user_id"), s.id);
    json_decref(audit);
    /* Assigning again is a new assignment (the first one is really gone). */
    expect_supervisor_put(&o, &s, &w, 204);
    audit = list_all("/v1/audit", o.admin.token);
    cr_assert_eq(count_items(audit, "action", "supervision.put"), 3);
    json_decref(audit);

    /* Path parameters that are not UUIDs, or nobody. */
    const char *absent = "00000000-0000-4000-8000-000000000000";
    path_supervisor(path, sizeof(path), "nope", w.id);
    expect_404_for("PUT", path, o.admin.token, NULL, NULL);
    path_supervisor(path, sizeof(path), s.id, "nope");
    expect_404_for("DELETE", path, o.admin.token, NULL, NULL);
    path_supervisor(path, sizeof(path), absent, w.id);
    expect_404_for("PUT", path, o.admin.token, NULL, NULL);
    path_supervisor(path, sizeof(path), s.id, absent);
    expect_404_for("PUT", path, o.admin.token, NULL, NULL);
}

/* A praktijkopleider who is also a student somewhere cannot coach
 * themselves: a 422 like any other refused assignment, not a crash. */
Test(admin, nobody_supervises_themselves)
{
    struct fix_org o;
    fix_org(&o);
    char t[40];
    fix_team(&o, t);
    struct fix_user po;
    fix_user(&o, "praktijkopleider", &po);
    fix_member(&o, t, &po, "student");
    struct http_resp r;
    put_supervisor(&o, &po, &po, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    cr_assert_not(supervises(&po, po.id), "the praktijkopleider supervises themselves");
    json_t *audit = list_all("/v1/audit", o.admin.token);
    cr_assert_eq(count_items(audit, "action", "supervision.put"), 0, "an assignment was made");
    json_decref(audit);
}

/* ---- organisation -------------------------------------------------------------- */

static void patch_org(const char *token, json_t *body, const char *etag, struct http_resp *r)
{
    char headers[128] = "";
    if (etag)
        snprintf(headers, sizeof(headers), "If-Match: %s\r\n", etag);
    http_send("PATCH", "/v1/organisation", token, body, etag ? headers : NULL, r);
}

Test(admin, organisation_etags_and_threshold)
{
    struct fix_org o;
    fix_org(&o);
    const char *tok = o.admin.token;
    struct http_resp r;
    http_send("GET", "/v1/organisation", tok, NULL, NULL, &r);
    expect_json(&r, 200);
    cr_assert_str_eq(jstr(r.json, "id"), o.id);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "anonymity_threshold")), 5,
                 "the default k is 5: %s", r.body);
    char etag[64];
    const char *e = http_header(&r, "ETag");
    cr_assert(e && e[0] == '"' && e[strlen(e) - 1] == '"', "a strong quoted ETag: %s",
              e ? e : "(none)");
    snprintf(etag, sizeof(etag), "%s", e);
    http_resp_free(&r);

    char inm[128];
    snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
    http_send("GET", "/v1/organisation", tok, NULL, inm, &r);
    expect_empty(&r, 304);
    cr_assert_str_eq(http_header(&r, "ETag") ? http_header(&r, "ETag") : "", etag);
    http_resp_free(&r);
    http_send("GET", "/v1/organisation", tok, NULL, "If-None-Match: \"0\"\r\n", &r);
    expect_json(&r, 200);
    http_resp_free(&r);

    /* No If-Match: 428; a made-up one: 412. */
    patch_org(tok, json_pack("{s:i}", "anonymity_threshold", 4), NULL, &r);
    expect_problem(&r, 428);
    http_resp_free(&r);
    const char *garbage[] = {"\"12345\"", "nonsense", "W/\"0\""};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        patch_org(tok, json_pack("{s:i}", "anonymity_threshold", 4), garbage[i], &r);
        expect_problem(&r, 412);
        http_resp_free(&r);
    }
    /* Invalid values, with a good ETag. */
    json_t *bad[] = {json_pack("{s:i}", "anonymity_threshold", 2),
                     json_pack("{s:s}", "anonymity_threshold", "5"),
                     json_pack("{s:i}", "anonymity_threshold", 101),
                     json_pack("{s:i}", "anonymity_threshold", -5),
                     json_pack("{s:f}", "anonymity_threshold", 4.0),
                     json_pack("{s:b}", "anonymity_threshold", 1),
                     json_pack("{s:n}", "anonymity_threshold"),
                     json_pack("{}")};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        patch_org(tok, bad[i], etag, &r);
        expect_invalid(&r, "anonymity_threshold");
        http_resp_free(&r);
    }
    patch_org(tok, json_pack("{s:i, s:s}", "anonymity_threshold", 4, "name", "Renamed"), etag, &r);
    expect_invalid(&r, "name");
    http_resp_free(&r);
    char now_etag[64];
    long k;
    org_read(tok, now_etag, &k);
    cr_assert_eq(k, 5, "a refused PATCH changed k");
    cr_assert_str_eq(now_etag, etag, "a refused PATCH changed the ETag");

    /* A valid PATCH: 200, the new value, a new ETag. */
    patch_org(tok, json_pack("{s:i}", "anonymity_threshold", 3), etag, &r);
    expect_json(&r, 200);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "anonymity_threshold")), 3, "%s",
                 r.body);
    cr_assert_str_eq(jstr(r.json, "id"), o.id);
    const char *fresh = http_header(&r, "ETag");
    cr_assert(fresh && *fresh, "PATCH answer without ETag");
    cr_assert_str_neq(fresh, etag, "the ETag must change with the resource");
    char new_etag[64];
    snprintf(new_etag, sizeof(new_etag), "%s", fresh);
    http_resp_free(&r);
    org_read(tok, now_etag, &k);
    cr_assert_eq(k, 3);
    cr_assert_str_eq(now_etag, new_etag, "GET and PATCH disagree on the ETag");

    /* The old ETag is stale now; the old If-None-Match no longer matches. */
    patch_org(tok, json_pack("{s:i}", "anonymity_threshold", 100), etag, &r);
    expect_problem(&r, 412);
    http_resp_free(&r);
    http_send("GET", "/v1/organisation", tok, NULL, inm, &r);
    expect_json(&r, 200);
    http_resp_free(&r);
    org_read(tok, now_etag, &k);
    cr_assert_eq(k, 3, "a stale PATCH changed k");

    /* The upper bound is accepted with the current ETag. */
    patch_org(tok, json_pack("{s:i}", "anonymity_threshold", 100), new_etag, &r);
    expect_json(&r, 200);
    http_resp_free(&r);
    json_t *audit = list_all("/v1/audit", tok);
    cr_assert_eq(count_items(audit, "action", "organisation.update"), 2);
    json_decref(audit);
}

/* ---- audit ------------------------------------------------------------------------ */

/* Index of the audit row of action about object_id; fails when absent. */
static size_t audit_index(const json_t *items, const char *action, const char *object_id)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *a = jstr(it, "action"), *obj = jstr(it, "object_id");
        if (a && obj && strcmp(a, action) == 0 && strcmp(obj, object_id) == 0)
            return i;
    }
    cr_assert_fail("no %s row about %s in the audit log", action, object_id);
    return 0;
}

Test(admin, audit_lists_admin_actions_newest_first)
{
    struct fix_org o;
    fix_org(&o);
    char email[128], team_name[96];
    unique_email(email, "audited");
    struct http_resp r;
    http_send("POST", "/v1/users", o.admin.token, user_body(email, "Audited", FIX_PASSWORD), NULL,
              &r);
    expect_json(&r, 201);
    char uid[40];
    snprintf(uid, sizeof(uid), "%s", jstr(r.json, "id"));
    http_resp_free(&r);
    test_unique(team_name, sizeof(team_name), "Audited");
    http_send("POST", "/v1/teams", o.admin.token, json_pack("{s:s}", "name", team_name), NULL, &r);
    expect_json(&r, 201);
    char tid[40];
    snprintf(tid, sizeof(tid), "%s", jstr(r.json, "id"));
    http_resp_free(&r);

    http_send("GET", "/v1/audit", o.admin.token, NULL, NULL, &r);
    expect_json(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    size_t ti = audit_index(items, "team.create", tid);
    size_t ui = audit_index(items, "user.create", uid);
    cr_assert_eq(ti, 0, "the team, made last, must come first: %s", r.body);
    cr_assert_gt(ui, ti, "newest first: %s", r.body);
    json_t *team_row = json_array_get(items, ti), *user_row = json_array_get(items, ui);
    cr_assert_str_eq(jstr(team_row, "actor_id"), o.admin.id);
    cr_assert_str_eq(jstr(team_row, "object_type"), "team");
    cr_assert_str_eq(jstr(user_row, "actor_id"), o.admin.id);
    cr_assert_str_eq(jstr(user_row, "subject_user_id"), uid);
    cr_assert_str_eq(jstr(user_row, "object_type"), "user");
    /* Every row: an id, a UTC time, never later than the row before it. */
    size_t i;
    json_t *it;
    const char *prev = NULL;
    json_array_foreach(items, i, it)
    {
        cr_assert(is_uuid(jstr(it, "id")), "row %zu: %s", i, r.body);
        expect_utc_time(jstr(it, "at"), "at");
        if (prev)
            cr_assert_leq(strcmp(jstr(it, "at"), prev), 0, "row %zu is newer than row %zu", i,
                          i - 1);
        prev = jstr(it, "at");
    }
    http_resp_free(&r);
}

Test(admin, audit_pages_chain)
{
    struct fix_org o;
    fix_org(&o);
    for (int i = 0; i < 2; i++) {
        char t[40];
        fix_team(&o, t);
        struct fix_user u;
        fix_user(&o, NULL, &u);
    }
    struct http_resp r;
    http_send("GET", "/v1/audit?limit=100", o.admin.token, NULL, NULL, &r);
    expect_json(&r, 200);
    json_t *whole = json_incref(json_object_get(r.json, "items"));
    cr_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    http_resp_free(&r);
    size_t n = json_array_size(whole);
    cr_assert_geq(n, 4, "four admin actions at least");

    char cursor[256] = "";
    for (size_t i = 0; i < n; i++) {
        char url[400];
        snprintf(url, sizeof(url), "/v1/audit?limit=1%s%s", *cursor ? "&cursor=" : "", cursor);
        http_send("GET", url, o.admin.token, NULL, NULL, &r);
        expect_json(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        cr_assert_eq(json_array_size(items), 1, "page %zu: %s", i, r.body);
        cr_assert(json_equal(json_array_get(items, 0), json_array_get(whole, i)),
                  "page %zu differs from row %zu of the whole list: %s", i, i, r.body);
        json_t *next = json_object_get(r.json, "next_cursor");
        if (i + 1 < n)
            cr_assert(json_is_string(next), "page %zu needs a next_cursor: %s", i, r.body);
        else
            cr_assert(json_is_null(next), "the last page ends the chain: %s", r.body);
        snprintf(cursor, sizeof(cursor), "%s", json_is_string(next) ? json_string_value(next) : "");
        http_resp_free(&r);
    }
    json_decref(whole);
}

/* ---- sessions ---------------------------------------------------------------------- */

Test(admin, logout_ends_admin_powers_at_once)
{
    struct fix_org o;
    fix_org(&o);
    struct fix_user other_session;
    cr_assert_eq(fix_login(o.admin.email, FIX_PASSWORD, &other_session), 200);
    struct http_resp r;
    http_send("POST", "/v1/auth/logout", NULL, json_pack("{s:s}", "refresh_token", o.admin.refresh),
              NULL, &r);
    expect_empty(&r, 204);
    http_resp_free(&r);

    /* The access token is still unexpired, but its session is gone. */
    char name[96];
    test_unique(name, sizeof(name), "AfterLogout");
    struct {
        const char *method, *path;
        json_t *body;
    } reqs[] = {
        {"GET", "/v1/me", NULL},
        {"GET", "/v1/users", NULL},
        {"GET", "/v1/audit", NULL},
        {"POST", "/v1/teams", json_pack("{s:s}", "name", name)},
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        http_send(reqs[i].method, reqs[i].path, o.admin.token, reqs[i].body, NULL, &r);
        expect_problem(&r, 401);
        const char *wa = http_header(&r, "WWW-Authenticate");
        cr_assert(wa && strncmp(wa, "Bearer", 6) == 0, "%s %s: WWW-Authenticate: %s",
                  reqs[i].method, reqs[i].path, wa ? wa : "(none)");
        http_resp_free(&r);
    }
    /* The other login of the same admin is unaffected, and sees no new team. */
    json_t *teams = list_all("/v1/teams", other_session.token);
    cr_assert_null(find_item(teams, "name", name), "a logged-out token created a team");
    json_decref(teams);
}

/* ---- what surrounds the answers ----------------------------------------------------- */

/* The status line's reason phrase must describe the status: a 201 or 200
 * that calls itself "Client Error" misleads every log and proxy reading it. */
Test(admin, success_status_lines_do_not_say_error)
{
    struct fix_org o;
    fix_org(&o);
    char email[128];
    unique_email(email, "reason");
    struct http_resp r;
    http_send("POST", "/v1/users", o.admin.token, user_body(email, "Reason", FIX_PASSWORD), NULL,
              &r);
    expect_json(&r, 201);
    cr_assert(strncmp(r.head, "HTTP/1.1 201 Created\r\n", 22) == 0, "status line: %.40s", r.head);
    http_resp_free(&r);
    http_send("GET", "/v1/users", o.admin.token, NULL, NULL, &r);
    expect_json(&r, 200);
    cr_assert(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0, "status line: %.40s", r.head);
    http_resp_free(&r);
}

/* A user insert the database refuses (here: the non-ASCII e-mail above)
 * must not copy the row, with its password hash, into the server log. On a
 * private server, so its log can be read. */
Test(admin, refused_user_insert_keeps_the_hash_out_of_the_log, .timeout = 60)
{
    struct fix_org o;
    fix_org(&o);
    struct spawned s;
    /* Failed logins of other tests count against 127.0.0.1 in the shared
     * database; this server must not refuse the admin because of them. */
    static const char *const env[] = {"LOGIN_MAX_FAILURES_ADDR=1000000", "ARGON2_M_COST_KIB=1024",
                                      "ARGON2_T_COST=1", NULL};
    cr_assert_eq(server_spawn(&s, env), 0, "private server did not start");
    struct http_resp r;
    json_t *login = json_pack("{s:s, s:s}", "email", o.admin.email, "password", FIX_PASSWORD);
    cr_assert_eq(http_call_json(s.addr, "POST", "/v1/auth/login", NULL, login, NULL, &r), 0);
    json_decref(login);
    expect_json(&r, 200);
    char token[1024];
    snprintf(token, sizeof(token), "%s", jstr(r.json, "access_token"));
    http_resp_free(&r);
    char email[128];
    unique_email(email, "\xc3\x96zil"); /* "Özil" */
    json_t *body = user_body(email, "Log Probe", FIX_PASSWORD);
    cr_assert_eq(http_call_json(s.addr, "POST", "/v1/users", token, body, NULL, &r), 0);
    json_decref(body);
    int status = r.status;
    http_resp_free(&r);
    FILE *f = fopen(s.log, "r");
    cr_assert(f, "cannot read %s", s.log);
    char line[8192];
    int leaked = 0;
    while (fgets(line, sizeof(line), f))
        leaked |= strstr(line, "$argon2") != NULL;
    fclose(f);
    server_stop(&s);
    cr_assert_not(leaked, "the server log carries a password hash (the create answered %d)",
                  status);
}
