/* fixtures.c - building test organisations through the product's own paths. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs `reflectd bootstrap` with the BOOTSTRAP_* variables set. */
static void fix_bootstrap(const char *org_name, const char *email)
{
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        setenv("BOOTSTRAP_ORG_NAME", org_name, 1);
        setenv("BOOTSTRAP_ADMIN_EMAIL", email, 1);
        setenv("BOOTSTRAP_ADMIN_PASSWORD", FIX_PASSWORD, 1);
        if (!freopen("/dev/null", "w", stderr))
            _exit(126);
        execl(test_bin(), test_bin(), "bootstrap", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    cr_assert(waitpid(pid, &st, 0) == pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reflectd bootstrap failed (%d)", st);
}

int fix_login(const char *email, const char *password, struct fix_user *u)
{
    struct http_resp r;
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", password);
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/login", NULL, body, NULL, &r) == 0);
    json_decref(body);
    int status = r.status;
    if (status == 200) {
        const char *at = json_string_value(json_object_get(r.json, "access_token"));
        const char *rt = json_string_value(json_object_get(r.json, "refresh_token"));
        const char *id = json_string_value(json_object_get(json_object_get(r.json, "user"), "id"));
        cr_assert(at && rt && id, "login answer lacks tokens: %s", r.body);
        snprintf(u->token, sizeof(u->token), "%s", at);
        snprintf(u->refresh, sizeof(u->refresh), "%s", rt);
        snprintf(u->id, sizeof(u->id), "%s", id);
        snprintf(u->email, sizeof(u->email), "%s", email);
    }
    http_resp_free(&r);
    return status;
}

void fix_org(struct fix_org *o)
{
    char name[96], email[128];
    test_unique(name, sizeof(name), "org");
    test_unique(email, sizeof(email), "admin");
    strncat(email, "@test.example", sizeof(email) - strlen(email) - 1);
    fix_bootstrap(name, email);
    cr_assert_eq(fix_login(email, FIX_PASSWORD, &o->admin), 200, "admin login failed");
    struct http_resp r;
    cr_assert(http_get(test_addr(), "/v1/me", o->admin.token, &r) == 0);
    expect_status(&r, 200);
    snprintf(o->id, sizeof(o->id), "%s",
             json_string_value(json_object_get(r.json, "organisation_id")));
    http_resp_free(&r);
}

void fix_user(struct fix_org *o, const char *role, struct fix_user *u)
{
    char email[128], name[96];
    test_unique(email, sizeof(email), role ? role : "user");
    strncat(email, "@test.example", sizeof(email) - strlen(email) - 1);
    test_unique(name, sizeof(name), "Name");
    json_t *body =
        json_pack("{s:s, s:s, s:s}", "email", email, "name", name, "password", FIX_PASSWORD);
    if (role)
        json_object_set_new(body, "roles", json_pack("[s]", role));
    struct http_resp r;
    cr_assert(http_call_json(test_addr(), "POST", "/v1/users", o->admin.token, body, NULL, &r) ==
              0);
    json_decref(body);
    expect_status(&r, 201);
    http_resp_free(&r);
    cr_assert_eq(fix_login(email, FIX_PASSWORD, u), 200, "new user cannot log in");
}

void fix_team(struct fix_org *o, char team_id[40])
{
    char name[96];
    test_unique(name, sizeof(name), "Afdeling");
    json_t *body = json_pack("{s:s}", "name", name);
    struct http_resp r;
    cr_assert(http_call_json(test_addr(), "POST", "/v1/teams", o->admin.token, body, NULL, &r) ==
              0);
    json_decref(body);
    expect_status(&r, 201);
    snprintf(team_id, 40, "%s", json_string_value(json_object_get(r.json, "id")));
    http_resp_free(&r);
}

void fix_member(struct fix_org *o, const char *team_id, const struct fix_user *u, const char *role)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/teams/%s/members/%s", team_id, u->id);
    json_t *body = json_pack("{s:s}", "role", role);
    struct http_resp r;
    cr_assert(http_call_json(test_addr(), "PUT", path, o->admin.token, body, NULL, &r) == 0);
    json_decref(body);
    expect_status(&r, 200);
    http_resp_free(&r);
}

void fix_supervise(struct fix_org *o, const struct fix_user *student,
                   const struct fix_user *supervisor)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/students/%s/supervisors/%s", student->id, supervisor->id);
    struct http_resp r;
    cr_assert(http_call(test_addr(), "PUT", path, o->admin.token, NULL, NULL, &r) == 0);
    expect_status(&r, 204);
    http_resp_free(&r);
}

void fix_student_and_coach(struct fix_org *o, char team_id[40], struct fix_user *student,
                           struct fix_user *coach)
{
    fix_team(o, team_id);
    fix_user(o, NULL, student);
    fix_member(o, team_id, student, "student");
    fix_user(o, NULL, coach);
    fix_member(o, team_id, coach, "werkbegeleider");
    fix_supervise(o, student, coach);
}

json_t *fix_reflection_body(const char *team_id, const char *occurred_on, const char *situation,
                            const char *status)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "team_id", team_id, "occurred_on",
                     occurred_on, "situation", situation, "task", "t", "action", "a", "result", "r",
                     "reflection", "x", "status", status);
}

json_t *fix_call(const char *addr, const char *method, const char *path, const struct fix_user *u,
                 json_t *body, int want)
{
    struct http_resp r;
    int rc = http_call_json(addr, method, path, u ? u->token : NULL, body, NULL, &r);
    json_decref(body);
    cr_assert_eq(rc, 0, "%s %s on %s: no HTTP response", method, path, addr);
    expect_status(&r, want);
    json_t *j = json_incref(r.json);
    http_resp_free(&r);
    return j;
}

json_t *fix_list(const struct fix_user *u, const char *path)
{
    struct http_resp r;
    http_send("GET", path, u->token, NULL, NULL, &r);
    expect_json(&r, 200);
    cr_assert(json_is_array(json_object_get(r.json, "items")), "no items[]: %s", r.body);
    json_t *l = json_incref(r.json);
    http_resp_free(&r);
    return l;
}
