/* test_goals.c - a learning goal's sharing and its feedback thread, over
 * HTTP against the shared server.
 *
 * A goal is its owner's. Sharing opens it, and its thread, to one
 * supervisor assigned to the owner, for as long as both the share and the
 * supervision last; everyone else (another supervisor, a teammanager of the
 * team, another student, an admin) gets 404 on the goal and on its thread,
 * reading and writing alike, and a refused write leaves no row behind. */
#include <criterion/criterion.h>
#include <string.h>

#include "fixtures.h"
#include "harness.h"

struct scene {
    struct fix_org o;
    char team[40], goal[40];
    struct fix_user student, coach;
    struct fix_user other_coach; /* werkbegeleider in the team, not hers */
    struct fix_user manager;     /* teammanager of the team */
    struct fix_user classmate;   /* another student of the team */
};

/* A student with a goal, her werkbegeleider, and the others of her team. */
static void scene(struct scene *s)
{
    fix_org(&s->o);
    fix_student_and_coach(&s->o, s->team, &s->student, &s->coach);
    fix_user(&s->o, NULL, &s->other_coach);
    fix_member(&s->o, s->team, &s->other_coach, "werkbegeleider");
    fix_user(&s->o, NULL, &s->manager);
    fix_member(&s->o, s->team, &s->manager, "teammanager");
    fix_user(&s->o, NULL, &s->classmate);
    fix_member(&s->o, s->team, &s->classmate, "student");
    json_t *g = fix_call(test_addr(), "POST", "/v1/goals", &s->student,
                         json_pack("{s:s, s:s, s:s}", "what", "Overdracht zelfstandig geven", "why",
                                   "Veilige zorg", "status", "active"),
                         201);
    cr_assert(jstr(g, "id"), "goal without id: %s", jdump(g));
    snprintf(s->goal, sizeof(s->goal), "%s", jstr(g, "id"));
    json_decref(g);
}

/* "/v1/goals/{goal}" followed by tail. */
static void goal_path(char *out, size_t n, const struct scene *s, const char *tail)
{
    snprintf(out, n, "/v1/goals/%s%s", s->goal, tail);
}

/* PUT or DELETE the goal's share with to, as the owner; returns the status. */
static int share(const struct scene *s, const char *method, const struct fix_user *to)
{
    char tail[64], path[160];
    snprintf(tail, sizeof(tail), "/shares/%s", to->id);
    goal_path(path, sizeof(path), s, tail);
    struct http_resp r;
    http_send(method, path, s->student.token, NULL, NULL, &r);
    int st = r.status;
    if (st == 204)
        expect_empty(&r, 204);
    else
        expect_problem(&r, st);
    http_resp_free(&r);
    return st;
}

/* POSTs feedback on the goal as u; must answer want. Returns the feedback
 * on 201 (a new reference), NULL otherwise. */
static json_t *feedback(const struct scene *s, const struct fix_user *u, const char *kind,
                        const char *body, int want)
{
    char path[160];
    goal_path(path, sizeof(path), s, "/feedback");
    struct http_resp r;
    http_send("POST", path, u->token, json_pack("{s:s, s:s}", "kind", kind, "body", body), NULL,
              &r);
    if (want != 201) {
        expect_problem(&r, want);
        http_resp_free(&r);
        return NULL;
    }
    expect_json(&r, 201);
    cr_expect_str_eq(jstr(r.json, "goal_id"), s->goal);
    cr_expect(json_is_null(json_object_get(r.json, "reflection_id")), "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "author_id"), u->id);
    cr_expect_str_eq(jstr(r.json, "kind"), kind);
    cr_expect_str_eq(jstr(r.json, "body"), body);
    json_t *f = json_incref(r.json);
    http_resp_free(&r);
    return f;
}

/* The goal's thread as u: the ids in order (a new reference to the page),
 * or NULL after checking a problem of status want. */
static json_t *thread(const struct scene *s, const struct fix_user *u, int want)
{
    char path[160];
    goal_path(path, sizeof(path), s, "/feedback");
    struct http_resp r;
    http_send("GET", path, u->token, NULL, NULL, &r);
    if (want != 200) {
        expect_problem(&r, want);
        http_resp_free(&r);
        return NULL;
    }
    expect_json(&r, 200);
    json_t *page = json_incref(r.json);
    http_resp_free(&r);
    return page;
}

/* The status of GET /v1/goals/{goal} as u. */
static int read_goal(const struct scene *s, const struct fix_user *u)
{
    char path[160];
    goal_path(path, sizeof(path), s, "");
    struct http_resp r;
    http_send("GET", path, u->token, NULL, NULL, &r);
    int st = r.status;
    if (st == 200)
        cr_expect_str_eq(jstr(r.json, "id"), s->goal);
    else
        expect_problem(&r, st);
    http_resp_free(&r);
    return st;
}

static long long feedback_rows(const struct scene *s)
{
    return test_sql_int("SELECT count(*) FROM feedback WHERE goal_id = '%s'", s->goal);
}

/* Whoever may not read the goal gets 404 on it, on its thread and on a
 * write to the thread, and the refused write leaves nothing. */
static void expect_shut_out(const struct scene *s, const struct fix_user *u, const char *who)
{
    long long before = feedback_rows(s);
    cr_expect_eq(read_goal(s, u), 404, "%s reads the goal", who);
    json_decref(thread(s, u, 404));
    json_decref(feedback(s, u, "tip", "Probeer het eens anders.", 404));
    cr_expect_eq(feedback_rows(s), before, "%s's refused feedback was written", who);
}

Test(goals, feedback_runs_both_ways_between_the_owner_and_a_shared_supervisor)
{
    struct scene s;
    scene(&s);
    /* Not shared yet: her own supervisor sees nothing either. */
    expect_shut_out(&s, &s.coach, "the unshared werkbegeleider");
    cr_assert_eq(share(&s, "PUT", &s.coach), 204);
    cr_expect_eq(read_goal(&s, &s.coach), 200);

    json_t *f[3];
    f[0] = feedback(&s, &s.coach, "top", "Je overdracht was helder en volledig.", 201);
    f[1] = feedback(&s, &s.student, "question", "Mag ik morgen de avondoverdracht doen?", 201);
    f[2] = feedback(&s, &s.coach, "tip", "Begin met de cliënten die zorg nodig hebben.", 201);
    cr_expect(json_is_false(json_object_get(f[0], "by_owner")), "%s", jdump(f[0]));
    cr_expect(json_is_true(json_object_get(f[1], "by_owner")), "a reply: %s", jdump(f[1]));
    cr_expect(json_is_false(json_object_get(f[2], "by_owner")), "%s", jdump(f[2]));

    const struct fix_user *readers[] = {&s.student, &s.coach};
    for (int k = 0; k < 2; k++) {
        json_t *t = thread(&s, readers[k], 200);
        expect_ids_in_order(t, f, 3);
        json_decref(t);
    }
    /* A goal's thread is its own: the goal's feedback is on no reflection. */
    cr_expect_eq(test_sql_int("SELECT count(*) FROM feedback WHERE goal_id = '%s' "
                              "AND reflection_id IS NULL",
                              s.goal),
                 3);

    /* Pages chain like every list. */
    char path[160], p2[512];
    goal_path(path, sizeof(path), &s, "/feedback");
    snprintf(p2, sizeof(p2), "%s?limit=2", path);
    json_t *t = fix_list(&s.coach, p2);
    cr_expect_eq(json_array_size(json_object_get(t, "items")), 2);
    cr_assert(jstr(t, "next_cursor"), "%s", jdump(t));
    snprintf(p2, sizeof(p2), "%s?limit=2&cursor=%s", path, jstr(t, "next_cursor"));
    json_decref(t);
    t = fix_list(&s.coach, p2);
    cr_expect_eq(json_array_size(json_object_get(t, "items")), 1, "%s", jdump(t));
    cr_expect_str_eq(jstr(json_array_get(json_object_get(t, "items"), 0), "id"), jstr(f[2], "id"));
    cr_expect(json_is_null(json_object_get(t, "next_cursor")));
    json_decref(t);
    for (int i = 0; i < 3; i++)
        json_decref(f[i]);
}

/* The scene with the goal shared with her werkbegeleider, who has given
 * one piece of feedback (body). */
static void shared_scene(struct scene *s, const char *body)
{
    scene(s);
    cr_assert_eq(share(s, "PUT", &s->coach), 204);
    json_decref(feedback(s, &s->coach, "top", body, 201));
}

Test(goals, nobody_else_reads_or_writes_the_thread)
{
    struct scene s;
    shared_scene(&s, "Goed voorbereid.");
    /* A goal is shared only with a supervisor assigned to its owner. */
    cr_expect_eq(share(&s, "PUT", &s.other_coach), 422);
    cr_expect_eq(share(&s, "PUT", &s.manager), 422);
    cr_expect_eq(test_sql_int("SELECT count(*) FROM goal_shares WHERE goal_id = '%s'", s.goal), 1);

    expect_shut_out(&s, &s.other_coach, "another werkbegeleider of the team");
    expect_shut_out(&s, &s.manager, "the teammanager");
    expect_shut_out(&s, &s.classmate, "a classmate");
    expect_shut_out(&s, &s.o.admin, "the admin");

    /* Only the owner shares: the coach cannot share it on. */
    char tail[64], path[160];
    snprintf(tail, sizeof(tail), "/shares/%s", s.manager.id);
    goal_path(path, sizeof(path), &s, tail);
    struct http_resp r;
    http_send("PUT", path, s.coach.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);

    /* Without a token: 401, and nothing written. */
    goal_path(path, sizeof(path), &s, "/feedback");
    http_send("POST", path, NULL, json_pack("{s:s, s:s}", "kind", "tip", "body", "x"), NULL, &r);
    expect_problem(&r, 401);
    http_resp_free(&r);
    cr_expect_eq(feedback_rows(&s), 1);
}

/* The supervisor's access ends with the share, with the supervision and
 * with the goal, at the very next request. */
Test(goals, access_ends_with_the_share_the_supervision_and_the_goal)
{
    struct scene s;
    shared_scene(&s, "Sterk begin.");
    cr_assert_eq(share(&s, "DELETE", &s.coach), 204);
    expect_shut_out(&s, &s.coach, "the werkbegeleider after the unshare");

    /* Shared again, then the supervision ends (the share row stays). */
    cr_assert_eq(share(&s, "PUT", &s.coach), 204);
    cr_expect_eq(read_goal(&s, &s.coach), 200);
    char path[200];
    snprintf(path, sizeof(path), "/v1/students/%s/supervisors/%s", s.student.id, s.coach.id);
    json_decref(fix_call(test_addr(), "DELETE", path, &s.o.admin, NULL, 204));
    expect_shut_out(&s, &s.coach, "the werkbegeleider after the supervision ended");
    /* The owner still has her thread, with the coach's old feedback. */
    json_t *t = thread(&s, &s.student, 200);
    cr_expect_eq(json_array_size(json_object_get(t, "items")), 1, "%s", jdump(t));
    json_decref(t);

    /* A deleted goal has no thread, for anyone. */
    goal_path(path, sizeof(path), &s, "");
    json_decref(fix_call(test_addr(), "DELETE", path, &s.student, NULL, 204));
    expect_shut_out(&s, &s.student, "the owner of a deleted goal");
}

Test(goals, bad_feedback_is_refused_and_writes_nothing)
{
    struct scene s;
    scene(&s);
    cr_assert_eq(share(&s, "PUT", &s.coach), 204);
    char path[160];
    goal_path(path, sizeof(path), &s, "/feedback");
    struct {
        json_t *body;
        const char *field;
    } bad[] = {
        {json_pack("{s:s, s:s}", "kind", "compliment", "body", "x"), "kind"},
        {json_pack("{s:s, s:s}", "kind", "top", "body", "   "), "body"},
        {json_pack("{s:s}", "kind", "top"), "body"},
        {json_pack("{s:s, s:i}", "kind", "top", "body", 7), "body"},
        {json_pack("{s:s, s:s, s:s}", "kind", "top", "body", "x", "author_id", s.student.id),
         "author_id"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_resp r;
        http_send("POST", path, s.coach.token, bad[i].body, NULL, &r);
        expect_invalid(&r, bad[i].field);
        http_resp_free(&r);
    }
    /* Not a goal id at all, and a goal id that is no goal. */
    struct http_resp r;
    http_send("POST", "/v1/goals/not-a-uuid/feedback", s.coach.token,
              json_pack("{s:s, s:s}", "kind", "top", "body", "x"), NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    http_send("GET", "/v1/goals/00000000-0000-4000-8000-000000000000/feedback", s.student.token,
              NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    cr_expect_eq(feedback_rows(&s), 0);
}
