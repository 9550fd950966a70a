/* test_reflections.c - STARR(T) reflections, their sync protocol, sharing and
 * feedback, over real HTTP.
 *
 * Covers POST/GET /v1/reflections, GET/PATCH/DELETE /v1/reflections/{id},
 * PUT/DELETE /v1/reflections/{id}/shares/{u}, the feedback thread and
 * feedback requests, and the supervisor's /v1/students views:
 *   - the workflow: drafts with empty parts, final reflections needing all
 *     five parts (each missing one named in errors[]), every validation rule
 *     (enums, dates, lengths counted in characters, control characters,
 *     unknown fields, teams and goals that are not the student's);
 *   - the mobile protocol: idempotent creates with a client id (also when
 *     the retry races the original), ETag / If-None-Match / If-Match,
 *     keyset pages that stay stable under inserts, ?updated_since= with
 *     tombstones for deletions, and concurrent edits with one ETag;
 *   - sharing with the assigned werkbegeleider, feedback both ways, feedback
 *     requests from open to answered, and the audit row of each read.
 * Each test builds its own organisation (fixtures.h), so tests run in
 * parallel. Privacy attacks (who else may see what) live in test_privacy.c. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- requests and assertions ----------------------------------------------- */

/* How many items of a list answer have this id. */
static int count_id(const json_t *list, const char *id)
{
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        const char *v = jstr(it, "id");
        n += v && strcmp(v, id) == 0;
    }
    return n;
}

/* ---- a world: an organisation, a team, a student and their coach ----------- */

struct world {
    struct fix_org o;
    char team[40];
    struct fix_user student, coach;
};

static void world(struct world *w)
{
    fix_org(&w->o);
    fix_student_and_coach(&w->o, w->team, &w->student, &w->coach);
}

/* A reflection with all five parts in team, with status (a new object). */
static json_t *starr(const char *team, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "team_id", team, "occurred_on",
                     test_day(-10), "situation", "Avonddienst, een cliënt viel in de badkamer.",
                     "task", "Ik was eerste verantwoordelijke op de gang.", "action",
                     "Ik heb alarm geslagen en de cliënt niet zelf opgetild.", "result",
                     "De cliënt werd veilig geholpen; geen letsel.", "reflection",
                     "Volgende keer meld ik eerder dat de vloer nat is.", "status", status);
}

/* POSTs body as u and expects 201; writes the id and ETag. Returns the
 * representation (new reference). */
static json_t *create(const struct fix_user *u, json_t *body, char id[40], char etag[80])
{
    struct http_resp r;
    http_send("POST", "/v1/reflections", u->token, body, NULL, &r);
    expect_json(&r, 201);
    snprintf(id, 40, "%s", jstr(r.json, "id"));
    const char *e = http_header(&r, "ETag");
    cr_assert(e && *e, "201 without ETag:\n%s", r.head);
    if (etag)
        snprintf(etag, 80, "%s", e);
    json_t *rep = json_incref(r.json);
    http_resp_free(&r);
    return rep;
}

static void new_reflection(const struct world *w, const char *status, char id[40], char etag[80])
{
    json_decref(create(&w->student, starr(w->team, status), id, etag));
}

/* GET /v1/reflections/{id} as u, 200; the representation (new reference). */
static json_t *fetch(const struct fix_user *u, const char *id, char etag[80])
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);
    struct http_resp r;
    http_send("GET", path, u->token, NULL, NULL, &r);
    expect_json(&r, 200);
    if (etag)
        snprintf(etag, 80, "%s", http_header(&r, "ETag") ? http_header(&r, "ETag") : "");
    json_t *rep = json_incref(r.json);
    http_resp_free(&r);
    return rep;
}

/* PATCH with If-Match etag; returns the status, fills r. */
static int patch(const struct fix_user *u, const char *id, const char *etag, json_t *body,
                 struct http_resp *r)
{
    char path[128], hdr[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", etag);
    http_send("PATCH", path, u->token, body, hdr, r);
    return r->status;
}

/* A new learning goal of owner (POST /v1/goals); writes its id. */
static void goal_of(const struct fix_user *owner, char id[40])
{
    struct http_resp r;
    http_send("POST", "/v1/goals", owner->token,
              json_pack("{s:s, s:s, s:s, s:s}", "what", "Overdracht geven", "why", "Veilige zorg",
                        "due_on", "2026-12-31", "status", "active"),
              NULL, &r);
    expect_status(&r, 201);
    cr_assert(jstr(r.json, "id"), "goal without id: %s", r.body);
    snprintf(id, 40, "%s", jstr(r.json, "id"));
    http_resp_free(&r);
}

/* A fresh version 4 UUID, for client-chosen ids. */
static void random_uuid(char out[40])
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    cr_assert(f && fread(b, 1, sizeof(b), f) == sizeof(b), "cannot read /dev/urandom");
    fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* Now minus seconds, as RFC 3339 UTC. */
static void utc_ago(char out[32], int seconds)
{
    time_t t = time(NULL) - seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- creating ---------------------------------------------------------------- */

Test(reflections, draft_with_empty_parts_is_created)
{
    struct world w;
    world(&w);
    char id[40], etag[80];
    json_t *rep = create(&w.student,
                         json_pack("{s:s, s:s, s:s}", "team_id", w.team, "occurred_on",
                                   test_day(-10), "status", "draft"),
                         id, etag);
    cr_expect_eq(strlen(id), 36, "id: %s", id);
    cr_expect_str_eq(jstr(rep, "owner_id"), w.student.id);
    cr_expect_str_eq(jstr(rep, "team_id"), w.team);
    cr_expect_str_eq(jstr(rep, "occurred_on"), test_day(-10));
    cr_expect_str_eq(jstr(rep, "status"), "draft");
    static const char *const parts[] = {"situation", "task", "action", "result", "reflection"};
    for (int i = 0; i < 5; i++)
        cr_expect_str_eq(jstr(rep, parts[i]), "", "%s should be empty", parts[i]);
    cr_expect(json_is_null(json_object_get(rep, "transfer")), "transfer should be null");
    static const char *const arrays[] = {"goal_ids", "shared_with", "vermogens", "dimensions"};
    for (int i = 0; i < 4; i++) {
        json_t *a = json_object_get(rep, arrays[i]);
        cr_expect(json_is_array(a) && json_array_size(a) == 0, "%s should be []", arrays[i]);
    }
    cr_expect(jstr(rep, "created_at") && jstr(rep, "updated_at"), "timestamps missing");
    cr_expect(etag[0] == '"' && etag[strlen(etag) - 1] == '"', "ETag must be quoted: %s", etag);
    char etag2[80];
    json_t *got = fetch(&w.student, id, etag2);
    cr_expect(json_equal(got, rep), "GET differs from the 201 body");
    cr_expect_str_eq(etag2, etag);
    json_decref(got);
    json_decref(rep);
}

Test(reflections, final_needs_every_starr_part)
{
    struct world w;
    world(&w);
    struct http_resp r;
    http_send("POST", "/v1/reflections", w.student.token,
              json_pack("{s:s, s:s, s:s, s:s, s:s}", "team_id", w.team, "occurred_on",
                        test_day(-10), "status", "final", "task", "Mijn rol", "result", "   "),
              NULL, &r);
    expect_invalid(&r, "situation");
    expect_invalid(&r, "action");
    expect_invalid(&r, "result"); /* blank after trimming */
    expect_invalid(&r, "reflection");
    json_t *errors = json_object_get(r.json, "errors");
    cr_expect_eq(json_array_size(errors), 4, "exactly the four missing parts: %s", r.body);
    for (size_t i = 0; i < json_array_size(errors); i++)
        cr_expect_str_neq(jstr(json_array_get(errors, i), "field"), "task");
    http_resp_free(&r);

    json_t *l = fix_list(&w.student, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 0, "a refused create was stored");
    json_decref(l);

    char id[40];
    json_t *body = starr(w.team, "final");
    json_object_set_new(body, "transfer", json_string("Ook bij de dagdienst let ik hierop."));
    json_object_set_new(body, "vermogens", json_pack("[s, s]", "lerend", "absorptie"));
    json_object_set_new(body, "dimensions", json_pack("[s]", "processen"));
    json_t *rep = create(&w.student, body, id, NULL);
    cr_expect_str_eq(jstr(rep, "status"), "final");
    cr_expect_str_eq(jstr(rep, "transfer"), "Ook bij de dagdienst let ik hierop.");
    json_t *v = json_object_get(rep, "vermogens");
    cr_expect_eq(json_array_size(v), 2);
    cr_expect_str_eq(json_string_value(json_array_get(v, 0)), "lerend");
    cr_expect_str_eq(json_string_value(json_array_get(v, 1)), "absorptie");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(rep, "dimensions"), 0)),
                     "processen");
    json_decref(rep);
}

/* Sends body (stolen) and expects a 422 naming field. */
static void expect_refused(const struct world *w, json_t *body, const char *field)
{
    struct http_resp r;
    http_send("POST", "/v1/reflections", w->student.token, body, NULL, &r);
    expect_invalid(&r, field);
    http_resp_free(&r);
}

/* A complete body with one field replaced (value stolen). */
static json_t *with(const struct world *w, const char *field, json_t *value)
{
    json_t *b = starr(w->team, "draft");
    json_object_set_new(b, field, value);
    return b;
}

/* n copies of the UTF-8 sequence unit, as a JSON string. */
static json_t *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    cr_assert(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

Test(reflections, invalid_fields_are_422)
{
    struct world w;
    world(&w);
    expect_refused(&w, with(&w, "vermogens", json_pack("[s]", "x")), "vermogens");
    expect_refused(&w, with(&w, "vermogens", json_string("lerend")), "vermogens");
    expect_refused(&w, with(&w, "dimensions", json_pack("[s, s]", "mensen", "mensen")),
                   "dimensions");
    expect_refused(&w, with(&w, "dimensions", json_pack("[s]", "Mensen")), "dimensions");
    expect_refused(&w, with(&w, "occurred_on", json_string("2026-02-30")), "occurred_on");
    expect_refused(&w, with(&w, "occurred_on", json_string("2025-02-29")), "occurred_on");
    expect_refused(&w, with(&w, "occurred_on", json_string("yesterday")), "occurred_on");
    expect_refused(&w, with(&w, "occurred_on", json_string("2026-03-14T10:00:00Z")), "occurred_on");
    expect_refused(&w, with(&w, "status", json_string("published")), "status");
    expect_refused(&w, with(&w, "situation", json_integer(5)), "situation");
    expect_refused(&w, with(&w, "situation", repeat("a", 5001)), "situation");
    expect_refused(&w, with(&w, "transfer", repeat("é", 5001)), "transfer");
    expect_refused(&w, with(&w, "action", json_string("bel\x07")), "action");
    expect_refused(&w, with(&w, "action", json_string("kleur \x1b[31mrood")), "action");
    expect_refused(&w, with(&w, "result", json_string("del\x7f")), "result");
    expect_refused(&w, with(&w, "id", json_string("not-a-uuid")), "id");
    expect_refused(&w, with(&w, "goal_ids", json_pack("[s]", "nope")), "goal_ids");
    expect_refused(&w, with(&w, "mood", json_string("blij")), "mood");
    expect_refused(&w, with(&w, "owner_id", json_string(w.coach.id)), "owner_id");
    expect_refused(&w, json_pack("{s:s}", "situation", "alleen dit"), "team_id");
    expect_refused(&w, json_pack("{s:s}", "situation", "alleen dit"), "status");
    expect_refused(&w, json_pack("{s:s}", "situation", "alleen dit"), "occurred_on");

    struct http_resp r;
    cr_assert_eq(http_call(test_addr(), "POST", "/v1/reflections", w.student.token,
                           "{\"team_id\":", NULL, &r),
                 0);
    expect_problem(&r, 400);
    http_resp_free(&r);
    cr_assert_eq(http_call(test_addr(), "POST", "/v1/reflections", w.student.token, "[]", NULL, &r),
                 0);
    expect_problem(&r, 400);
    http_resp_free(&r);
    json_t *ok = starr(w.team, "draft");
    char *text = json_dumps(ok, JSON_COMPACT);
    json_decref(ok);
    cr_assert_eq(http_call(test_addr(), "POST", "/v1/reflections", w.student.token, text,
                           "Content-Type: text/plain\r\n", &r),
                 0);
    free(text);
    expect_problem(&r, 415);
    http_resp_free(&r);

    json_t *l = fix_list(&w.student, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 0, "a refused create was stored");
    json_decref(l);
}

Test(reflections, lengths_count_characters_not_bytes)
{
    struct world w;
    world(&w);
    char id[40];
    json_t *b = with(&w, "situation", repeat("é", 5000)); /* 10000 bytes */
    json_object_set_new(b, "transfer", repeat("a", 5000));
    json_t *rep = create(&w.student, b, id, NULL);
    cr_expect_eq(strlen(jstr(rep, "situation")), 10000, "situation was cut");
    cr_expect_eq(strlen(jstr(rep, "transfer")), 5000);
    json_decref(rep);
    rep = fetch(&w.student, id, NULL);
    cr_expect_eq(strlen(jstr(rep, "situation")), 10000);
    json_decref(rep);
    /* Line breaks and tabs are text, not control characters to refuse. */
    json_decref(
        create(&w.student, with(&w, "action", json_string("eerst dit\nen toen\tdat")), id, NULL));
}

Test(reflections, c1_control_characters_are_refused)
{
    /* U+0080..U+009F are control characters too: CSI (U+009B) starts a
     * terminal escape sequence, NEL (U+0085) breaks lines in some readers. */
    struct world w;
    world(&w);
    static const char *const texts[] = {"kleur \xc2\x9b"
                                        "31mrood",
                                        "regel\xc2\x85regel"};
    for (int i = 0; i < 2; i++) {
        struct http_resp r;
        http_send("POST", "/v1/reflections", w.student.token,
                  with(&w, "situation", json_string(texts[i])), NULL, &r);
        cr_expect_eq(r.status, 422, "U+00%02X in text was accepted: %d %s",
                     (unsigned char)strchr(texts[i], '\xc2')[1], r.status, r.body);
        http_resp_free(&r);
    }
    json_t *l = fix_list(&w.student, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 0, "stored: %s", jdump(l));
    json_decref(l);
}

Test(reflections, teams_and_goals_must_be_the_students_own)
{
    struct world w;
    world(&w);
    char other_team[40];
    fix_team(&w.o, other_team); /* same organisation, student not a member */
    struct http_resp r;
    http_send("POST", "/v1/reflections", w.student.token, starr(other_team, "draft"), NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);

    struct fix_user other;
    fix_user(&w.o, NULL, &other);
    fix_member(&w.o, w.team, &other, "student");
    char theirs[40], mine[40];
    goal_of(&other, theirs);
    goal_of(&w.student, mine);
    http_send("POST", "/v1/reflections", w.student.token,
              with(&w, "goal_ids", json_pack("[s]", theirs)), NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    http_send("POST", "/v1/reflections", w.student.token,
              with(&w, "goal_ids", json_pack("[s, s]", mine, theirs)), NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    http_send("POST", "/v1/reflections", w.student.token,
              with(&w, "goal_ids", json_pack("[s]", "00000000-0000-4000-8000-00000000beef")), NULL,
              &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    json_t *l = fix_list(&w.student, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 0, "a refused create was stored");
    json_decref(l);

    char id[40];
    json_t *rep = create(&w.student, with(&w, "goal_ids", json_pack("[s]", mine)), id, NULL);
    cr_expect_eq(json_array_size(json_object_get(rep, "goal_ids")), 1);
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(rep, "goal_ids"), 0)), mine);
    json_decref(rep);
}

/* The answer to a create without goals is written from the request and
 * what the server chose (id, owner, team, timestamps), not read back from
 * the row: it must be the stored reflection all the same, member for
 * member and with its ETag, as GET gives it. Texts with escapes, quotes,
 * non-ASCII, newlines and surrounding blanks (trimmed), an uppercase
 * client id, enum arrays out of order, transfer present and absent. */
Test(reflections, create_answers_exactly_what_get_reads)
{
    struct world w;
    world(&w);
    char upper[40];
    random_uuid(upper);
    for (char *c = upper; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 'a' + 'A' : *c);
    json_t *bodies[3];
    bodies[0] = starr(w.team, "final");
    json_object_set_new(bodies[0], "id", json_string(upper));
    json_object_set_new(bodies[0], "situation",
                        json_string("  Een \"cliënt\" zei: \\ nee\\ \u2014 tab\there\nen toen  "));
    json_object_set_new(bodies[0], "transfer", json_string("Volgende keer \U0001F600 <b>&amp;"));
    json_object_set_new(bodies[0], "vermogens",
                        json_pack("[s, s, s]", "lerend", "absorptie", "verbindend"));
    json_object_set_new(bodies[0], "dimensions", json_pack("[s, s]", "systemen", "mensen"));
    bodies[1] = json_pack("{s:s, s:s, s:s}", "team_id", w.team, "occurred_on", test_day(0),
                          "status", "draft");
    bodies[2] = starr(w.team, "final");
    json_object_set_new(bodies[2], "transfer", json_null());
    json_object_set_new(bodies[2], "goal_ids", json_array());
    for (int i = 0; i < 3; i++) {
        char id[40], etag[80], got_etag[80];
        json_t *made = create(&w.student, bodies[i], id, etag);
        json_t *got = fetch(&w.student, id, got_etag);
        char *a = json_dumps(made, JSON_PRESERVE_ORDER), *b = json_dumps(got, JSON_PRESERVE_ORDER);
        cr_expect_str_eq(a, b, "body %d: the 201 is not the stored reflection", i);
        cr_expect_str_eq(etag, got_etag, "body %d: the 201's ETag", i);
        free(a);
        free(b);
        if (i == 0) {
            cr_expect_str_eq(jstr(made, "situation"),
                             "Een \"cliënt\" zei: \\ nee\\ \u2014 tab\there\nen toen");
            cr_expect_eq(json_array_size(json_object_get(made, "vermogens")), 3);
        }
        json_decref(made);
        json_decref(got);
    }
}

/* The create without goals is one INSERT whose source row is the caller
 * joined with their membership of the team (migration 0018): a closed
 * session is 401 whatever the team, a team not theirs 422, and neither
 * writes anything. */
Test(reflections, create_refusals_tell_401_from_422_and_write_nothing)
{
    struct world w;
    world(&w);
    char other_team[40];
    fix_team(&w.o, other_team); /* same organisation, student not a member */
    struct http_resp r;
    http_send("POST", "/v1/reflections", w.student.token, starr(other_team, "final"), NULL, &r);
    expect_problem(&r, 422);
    cr_expect_str_eq(jstr(r.json, "code"), "not_team_member", "%s", r.body);
    http_resp_free(&r);

    struct http_resp out;
    http_send("POST", "/v1/auth/logout", NULL,
              json_pack("{s:s}", "refresh_token", w.student.refresh), NULL, &out);
    expect_status(&out, 204);
    http_resp_free(&out);
    const char *teams[] = {w.team, other_team};
    for (int i = 0; i < 2; i++) {
        http_send("POST", "/v1/reflections", w.student.token, starr(teams[i], "final"), NULL, &r);
        expect_problem(&r, 401);
        http_resp_free(&r);
    }
    cr_expect_eq(
        test_sql_int("SELECT count(*) FROM reflections WHERE owner_id = '%s'", w.student.id), 0,
        "a refused create was stored");
}

/* author_reads (published periods: written by someone who may read the
 * team's figures, never counted) is given by the create for the caller's
 * roles in the organisation and in the team, and computed by the trigger
 * for an INSERT that leaves it out and for a change of team (0018). */
Test(reflections, author_reads_is_right_on_every_path)
{
    struct world w;
    world(&w);
    struct fix_user mgr, po, adm;
    fix_user(&w.o, NULL, &mgr);
    fix_member(&w.o, w.team, &mgr, "teammanager");
    fix_user(&w.o, "praktijkopleider", &po);
    fix_member(&w.o, w.team, &po, "member");
    fix_user(&w.o, "admin", &adm);
    fix_member(&w.o, w.team, &adm, "student");
    const struct fix_user *who[] = {&w.student, &w.coach, &mgr, &po, &adm};
    const int reads[] = {0, 0, 1, 1, 1};
    for (int i = 0; i < 5; i++) {
        char id[40];
        json_decref(create(who[i], starr(w.team, "final"), id, NULL));
        cr_expect_eq(test_sql_int("SELECT author_reads::int FROM reflections WHERE id = '%s'", id),
                     reads[i], "author_reads of the create by caller %d", i);
    }
    /* An INSERT that does not name the column: the trigger asks. */
    char mgr_row[40], student_row[40];
    random_uuid(mgr_row);
    random_uuid(student_row);
    const char *rows[] = {mgr_row, student_row};
    const char *owners[] = {mgr.id, w.student.id};
    for (int i = 0; i < 2; i++) {
        char out[8];
        test_sqlf(out, sizeof(out),
                  "INSERT INTO reflections (id, organisation_id, owner_id, team_id, occurred_on,"
                  " status) VALUES ('%s', '%s', '%s', '%s', current_date, 'draft')",
                  rows[i], w.o.id, owners[i], w.team);
        cr_expect_eq(
            test_sql_int("SELECT author_reads::int FROM reflections WHERE id = '%s'", rows[i]),
            i == 0, "author_reads of an INSERT without it, row %d", i);
    }
    /* A move to a team where the manager is a student: recomputed. */
    char team2[40];
    fix_team(&w.o, team2);
    fix_member(&w.o, team2, &mgr, "student");
    char out[8];
    test_sqlf(out, sizeof(out), "UPDATE reflections SET team_id = '%s' WHERE id = '%s'", team2,
              mgr_row);
    cr_expect_eq(test_sql_int("SELECT author_reads::int FROM reflections WHERE id = '%s'", mgr_row),
                 0, "author_reads after the move");
}

/* ---- idempotent creates ---------------------------------------------------- */

Test(reflections, create_with_client_id_is_idempotent)
{
    struct world w;
    world(&w);
    char id[40];
    random_uuid(id);
    json_t *body = starr(w.team, "final");
    json_object_set_new(body, "id", json_string(id));
    json_object_set_new(body, "vermogens", json_pack("[s]", "verbindend"));

    struct http_resp a, b, c;
    http_send("POST", "/v1/reflections", w.student.token, json_deep_copy(body), NULL, &a);
    expect_json(&a, 201);
    cr_expect_str_eq(jstr(a.json, "id"), id);

    http_send("POST", "/v1/reflections", w.student.token, json_deep_copy(body), NULL, &b);
    expect_json(&b, 200);
    cr_expect(json_equal(a.json, b.json), "the retry must return the stored reflection:\n%s\n%s",
              a.body, b.body);
    cr_expect_str_eq(http_header(&b, "ETag"), http_header(&a, "ETag"));

    json_object_set_new(body, "task", json_string("Een andere taak"));
    http_send("POST", "/v1/reflections", w.student.token, body, NULL, &c);
    expect_problem(&c, 409);

    json_t *l = fix_list(&w.student, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 1, "%s", jdump(l));
    cr_expect_eq(count_id(l, id), 1);
    json_decref(l);
    json_t *rep = fetch(&w.student, id, NULL);
    cr_expect_str_eq(jstr(rep, "task"), jstr(a.json, "task"), "the 409 changed the reflection");
    json_decref(rep);
    http_resp_free(&a);
    http_resp_free(&b);
    http_resp_free(&c);
}

/* Concurrent requests, started together. */
struct racer {
    const char *method, *path, *token, *body, *headers;
    pthread_barrier_t *start;
    int status;
    char id[40]; /* the "id" of a JSON answer, if any */
};

static void *racer_run(void *arg)
{
    struct racer *x = arg;
    struct http_resp r;
    pthread_barrier_wait(x->start);
    x->status = http_call(test_addr(), x->method, x->path, x->token, x->body, x->headers, &r) == 0
                    ? r.status
                    : -1;
    const char *id = jstr(r.json, "id");
    snprintf(x->id, sizeof(x->id), "%s", id ? id : "");
    http_resp_free(&r);
    return NULL;
}

#define RACERS 8

/* Runs RACERS requests at once; bodies[i] (or body for all). */
static void race(struct racer *xs, const char *method, const char *path, const char *token,
                 const char *const *bodies, const char *headers)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        xs[i] = (struct racer){method, path, token, bodies[i], headers, &start, 0, ""};
        cr_assert_eq(pthread_create(&t[i], NULL, racer_run, &xs[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
}

/* A phone that times out retries while its first request is still being
 * handled; the two meet in the database. The retry must not be a 409. */
Test(reflections, retry_racing_the_original_create_is_not_a_conflict, .timeout = 60)
{
    struct world w;
    world(&w);
    for (int round = 0; round < 10; round++) {
        char id[40];
        random_uuid(id);
        json_t *body = starr(w.team, "draft");
        json_object_set_new(body, "id", json_string(id));
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        const char *bodies[RACERS];
        for (int i = 0; i < RACERS; i++)
            bodies[i] = text;
        struct racer xs[RACERS];
        race(xs, "POST", "/v1/reflections", w.student.token, bodies, NULL);
        free(text);
        int created = 0, same = 0;
        char st[RACERS * 5 + 1] = "";
        for (int i = 0; i < RACERS; i++) {
            created += xs[i].status == 201;
            same += xs[i].status == 200;
            snprintf(st + strlen(st), sizeof(st) - strlen(st), "%d ", xs[i].status);
        }
        cr_assert_eq(created, 1, "round %d: one create must win: %s", round, st);
        cr_assert_eq(same, RACERS - 1,
                     "round %d: identical retries must all get 200, got statuses %s", round, st);
    }
}

/* Creates arriving together may share one commit (group commit, db.c);
 * one that fails there (an id another student has: 409) rolls the shared
 * transaction back, and the others must still be created, once each. */
Test(reflections, racing_creates_with_a_conflict_among_them_are_each_stored_once, .timeout = 60)
{
    struct world w;
    world(&w);
    struct fix_user mate;
    fix_user(&w.o, NULL, &mate);
    fix_member(&w.o, w.team, &mate, "student");
    char taken[40];
    json_decref(create(&mate, starr(w.team, "draft"), taken, NULL));
    for (int round = 0; round < 5; round++) {
        char *texts[RACERS];
        const char *bodies[RACERS];
        char ids[RACERS][40];
        for (int i = 0; i < RACERS; i++) {
            json_t *body = starr(w.team, "draft");
            if (i % 4 == 1)
                snprintf(ids[i], sizeof(ids[i]), "%s", taken);
            else
                random_uuid(ids[i]);
            json_object_set_new(body, "id", json_string(ids[i]));
            bodies[i] = texts[i] = json_dumps(body, JSON_COMPACT);
            json_decref(body);
        }
        struct racer xs[RACERS];
        race(xs, "POST", "/v1/reflections", w.student.token, bodies, NULL);
        for (int i = 0; i < RACERS; i++) {
            free(texts[i]);
            int want = i % 4 == 1 ? 409 : 201;
            cr_assert_eq(xs[i].status, want, "round %d, create %d: %d", round, i, xs[i].status);
            if (want == 201)
                cr_assert_str_eq(xs[i].id, ids[i]);
            cr_assert_eq(test_sql_int("SELECT count(*) FROM reflections WHERE id = '%s' AND "
                                      "owner_id = '%s'",
                                      ids[i], want == 201 ? w.student.id : mate.id),
                         1, "round %d, create %d", round, i);
        }
    }
    cr_assert_eq(
        test_sql_int("SELECT count(*) FROM reflections WHERE owner_id = '%s'", w.student.id),
        5 * (RACERS - RACERS / 4));
}

/* POSTs body (stolen) with a client id as u; expects a 409 problem that
 * shows nothing of the stored reflection (its content or owner). */
static void expect_taken(const struct fix_user *u, json_t *body, const char *owner_id)
{
    struct http_resp r;
    http_send("POST", "/v1/reflections", u->token, body, NULL, &r);
    expect_problem(&r, 409);
    cr_expect_null(strstr(r.body, "Avonddienst"), "the 409 shows the stored content: %s", r.body);
    cr_expect_null(strstr(r.body, owner_id), "the 409 names the owner: %s", r.body);
    http_resp_free(&r);
}

/* The first try of a create is a plain INSERT; only when the id exists
 * (23505) does the replay statement compare. An id that someone else's
 * reflection has, in this organisation or another, or that a deleted
 * reflection had, is a 409 that says nothing about that row and changes
 * nothing. */
Test(reflections, create_with_a_taken_id_is_409_and_changes_nothing)
{
    struct world w, far;
    world(&w);
    world(&far);
    struct fix_user mate;
    fix_user(&w.o, NULL, &mate);
    fix_member(&w.o, w.team, &mate, "student");
    char id[40], etag[80];
    json_t *body = starr(w.team, "final");
    json_t *made = create(&w.student, json_deep_copy(body), id, etag);
    json_object_set_new(body, "id", json_string(id));

    /* The same content, by a teammate and by a student of another organisation. */
    expect_taken(&mate, json_deep_copy(body), w.student.id);
    json_t *elsewhere = json_deep_copy(body);
    json_object_set_new(elsewhere, "team_id", json_string(far.team));
    expect_taken(&far.student, elsewhere, w.student.id);

    char now[80];
    json_t *rep = fetch(&w.student, id, now);
    cr_expect(json_equal(rep, made), "the 409s changed the reflection:\n%s", jdump(rep));
    cr_expect_str_eq(now, etag);
    json_decref(rep);
    json_t *l = fix_list(&mate, "/v1/reflections");
    cr_expect_eq(count_id(l, id), 0, "%s", jdump(l));
    json_decref(l);

    /* The owner's own retry still gets the stored one; once deleted, the id stays taken. */
    struct http_resp r;
    http_send("POST", "/v1/reflections", w.student.token, json_deep_copy(body), NULL, &r);
    expect_json(&r, 200);
    cr_expect(json_equal(r.json, made), "%s", r.body);
    http_resp_free(&r);
    char path[128];
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);
    http_send("DELETE", path, w.student.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    expect_taken(&w.student, body, w.student.id);
    json_decref(made);
}

/* A retry with goal links: the replay answers with the stored links and
 * makes no second set. */
Test(reflections, retry_with_goals_returns_the_stored_links)
{
    struct world w;
    world(&w);
    char g1[40], g2[40], id[40];
    goal_of(&w.student, g1);
    goal_of(&w.student, g2);
    random_uuid(id);
    json_t *body = starr(w.team, "draft");
    json_object_set_new(body, "id", json_string(id));
    json_object_set_new(body, "goal_ids", json_pack("[s, s]", g2, g1));
    struct http_resp a, b;
    http_send("POST", "/v1/reflections", w.student.token, json_deep_copy(body), NULL, &a);
    expect_json(&a, 201);
    cr_expect_eq(json_array_size(json_object_get(a.json, "goal_ids")), 2, "%s", a.body);
    http_send("POST", "/v1/reflections", w.student.token, body, NULL, &b);
    expect_json(&b, 200);
    cr_expect(json_equal(a.json, b.json), "%s\n%s", a.body, b.body);
    json_t *rep = fetch(&w.student, id, NULL);
    cr_expect(json_equal(json_object_get(rep, "goal_ids"), json_object_get(a.json, "goal_ids")),
              "%s", jdump(rep));
    json_decref(rep);
    http_resp_free(&a);
    http_resp_free(&b);
}

/* ---- ETags and PATCH --------------------------------------------------------- */

Test(reflections, etags_and_conditional_requests)
{
    struct world w;
    world(&w);
    char id[40], etag[80], path[128];
    new_reflection(&w, "draft", id, etag);
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);

    struct http_resp r;
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
    http_send("GET", path, w.student.token, NULL, hdr, &r);
    expect_empty(&r, 304);
    cr_expect_str_eq(http_header(&r, "ETag"), etag);
    http_resp_free(&r);
    http_send("GET", path, w.student.token, NULL, "If-None-Match: \"12345\"\r\n", &r);
    expect_json(&r, 200);
    http_resp_free(&r);

    http_send("PATCH", path, w.student.token, json_pack("{s:s}", "task", "Nieuw"), NULL, &r);
    expect_problem(&r, 428);
    http_resp_free(&r);

    cr_assert_eq(patch(&w.student, id, etag, json_pack("{s:s}", "task", "Eerste wijziging"), &r),
                 200, "%s", r.body);
    const char *etag2 = http_header(&r, "ETag");
    cr_assert(etag2 && strcmp(etag2, etag) != 0, "PATCH must change the ETag");
    char fresh[80];
    snprintf(fresh, sizeof(fresh), "%s", etag2);
    http_resp_free(&r);

    /* The phone edited offline from the old version: refused. */
    patch(&w.student, id, etag, json_pack("{s:s}", "task", "Offline wijziging"), &r);
    expect_problem(&r, 412);
    http_resp_free(&r);
    patch(&w.student, id, "\"0\"", json_pack("{s:s}", "task", "Gok"), &r);
    expect_problem(&r, 412);
    http_resp_free(&r);
    char now[80];
    json_t *rep = fetch(&w.student, id, now);
    cr_expect_str_eq(jstr(rep, "task"), "Eerste wijziging");
    cr_expect_str_eq(now, fresh);
    json_decref(rep);

    /* The old ETag no longer gives 304. */
    http_send("GET", path, w.student.token, NULL, hdr, &r);
    expect_json(&r, 200);
    http_resp_free(&r);
}

Test(reflections, patch_changes_only_the_given_fields)
{
    struct world w;
    world(&w);
    char id[40], etag[80];
    json_t *body = starr(w.team, "draft");
    json_object_set_new(body, "transfer", json_string("Bij elke dienst."));
    json_object_set_new(body, "vermogens", json_pack("[s]", "opleidend"));
    json_t *before = create(&w.student, body, id, etag);

    struct http_resp r;
    cr_assert_eq(patch(&w.student, id, etag,
                       json_pack("{s:s, s:[s, s]}", "situation", "Ochtenddienst op de PG-afdeling.",
                                 "dimensions", "mensen", "systemen"),
                       &r),
                 200, "%s", r.body);
    expect_json(&r, 200);
    json_t *after = r.json;
    cr_expect_str_eq(jstr(after, "situation"), "Ochtenddienst op de PG-afdeling.");
    cr_expect_eq(json_array_size(json_object_get(after, "dimensions")), 2);
    static const char *const same[] = {"id",          "owner_id",  "team_id",   "occurred_on",
                                       "task",        "action",    "result",    "reflection",
                                       "transfer",    "status",    "vermogens", "goal_ids",
                                       "shared_with", "created_at"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        cr_expect(json_equal(json_object_get(before, same[i]), json_object_get(after, same[i])),
                  "PATCH changed %s", same[i]);
    cr_expect_str_neq(jstr(after, "updated_at"), jstr(before, "updated_at"));
    char etag2[80];
    snprintf(etag2, sizeof(etag2), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);

    /* An explicit null clears transfer; leaving it out keeps it. */
    cr_assert_eq(patch(&w.student, id, etag2, json_pack("{s:n}", "transfer"), &r), 200, "%s",
                 r.body);
    cr_expect(json_is_null(json_object_get(r.json, "transfer")), "transfer not cleared: %s",
              r.body);
    cr_expect_str_eq(jstr(r.json, "situation"), "Ochtenddienst op de PG-afdeling.");
    http_resp_free(&r);
    json_t *got = fetch(&w.student, id, NULL);
    cr_expect(json_is_null(json_object_get(got, "transfer")));
    json_decref(got);

    /* Invalid input is refused as on create. */
    got = fetch(&w.student, id, etag2);
    patch(&w.student, id, etag2, json_pack("{s:[s]}", "vermogens", "x"), &r);
    expect_invalid(&r, "vermogens");
    http_resp_free(&r);
    patch(&w.student, id, etag2, json_pack("{s:s}", "owner_id", w.coach.id), &r);
    expect_invalid(&r, "owner_id");
    http_resp_free(&r);
    patch(&w.student, id, etag2, json_pack("{s:s}", "occurred_on", "2026-02-30"), &r);
    expect_invalid(&r, "occurred_on");
    http_resp_free(&r);
    char other_team[40];
    fix_team(&w.o, other_team);
    patch(&w.student, id, etag2, json_pack("{s:s}", "team_id", other_team), &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    json_t *again = fetch(&w.student, id, NULL);
    cr_expect(json_equal(got, again), "a refused PATCH changed the reflection");
    json_decref(again);
    json_decref(got);
    json_decref(before);
}

Test(reflections, patch_cannot_make_a_final_reflection_incomplete)
{
    struct world w;
    world(&w);
    char id[40], etag[80];
    new_reflection(&w, "final", id, etag);
    json_t *before = fetch(&w.student, id, NULL);
    struct http_resp r;
    patch(&w.student, id, etag, json_pack("{s:s, s:s}", "task", "", "action", "Nieuwe actie"), &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    patch(&w.student, id, etag, json_pack("{s:s, s:s}", "status", "final", "result", "  "), &r);
    expect_invalid(&r, "result");
    http_resp_free(&r);
    char now[80];
    json_t *after = fetch(&w.student, id, now);
    cr_expect(json_equal(before, after), "a refused PATCH changed something:\n%s", jdump(after));
    cr_expect_str_eq(now, etag);
    json_decref(before);
    json_decref(after);

    /* A draft with empty parts cannot become final without them. */
    char draft[40], detag[80];
    json_decref(create(&w.student,
                       json_pack("{s:s, s:s, s:s, s:s}", "team_id", w.team, "occurred_on",
                                 test_day(-10), "status", "draft", "situation", "Alleen S"),
                       draft, detag));
    patch(&w.student, draft, detag, json_pack("{s:s}", "status", "final"), &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    after = fetch(&w.student, draft, NULL);
    cr_expect_str_eq(jstr(after, "status"), "draft");
    json_decref(after);
    /* ... and becomes final with them. */
    json_t *rest = starr(w.team, "final");
    json_object_del(rest, "team_id");
    json_object_del(rest, "occurred_on");
    cr_expect_eq(patch(&w.student, draft, detag, rest, &r), 200, "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "status"), "final");
    http_resp_free(&r);
}

/* Two devices edit from the same version at the same moment: one wins,
 * the other must get 412, never silently overwrite. */
Test(reflections, concurrent_patches_with_one_etag_let_one_win, .timeout = 60)
{
    struct world w;
    world(&w);
    char id[40], etag[80], path[128], hdr[128];
    new_reflection(&w, "draft", id, etag);
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);
    for (int round = 0; round < 10; round++) {
        json_t *cur = fetch(&w.student, id, etag);
        json_decref(cur);
        snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", etag);
        char texts[RACERS][96];
        const char *bodies[RACERS];
        for (int i = 0; i < RACERS; i++) {
            snprintf(texts[i], sizeof(texts[i]), "{\"task\":\"versie %d-%d\"}", round, i);
            bodies[i] = texts[i];
        }
        struct racer xs[RACERS];
        race(xs, "PATCH", path, w.student.token, bodies, hdr);
        int won = 0, refused = 0;
        char st[RACERS * 5 + 1] = "";
        for (int i = 0; i < RACERS; i++) {
            won += xs[i].status == 200;
            refused += xs[i].status == 412;
            snprintf(st + strlen(st), sizeof(st) - strlen(st), "%d ", xs[i].status);
        }
        cr_assert_eq(won, 1, "round %d: exactly one PATCH with ETag %s may win: %s", round, etag,
                     st);
        cr_assert_eq(refused, RACERS - 1, "round %d: the others must be 412: %s", round, st);
    }
}

Test(reflections, goal_ids_replace_the_links)
{
    struct world w;
    world(&w);
    char g1[40], g2[40], g3[40], id[40], etag[80];
    goal_of(&w.student, g1);
    goal_of(&w.student, g2);
    goal_of(&w.student, g3);
    json_decref(create(&w.student, with(&w, "goal_ids", json_pack("[s, s]", g1, g2)), id, etag));
    struct http_resp r;
    cr_assert_eq(patch(&w.student, id, etag, json_pack("{s:[s, s]}", "goal_ids", g3, g2), &r), 200,
                 "%s", r.body);
    http_resp_free(&r);
    char now[80];
    json_t *got = fetch(&w.student, id, now);
    json_t *links = json_object_get(got, "goal_ids");
    cr_expect_eq(json_array_size(links), 2, "links: %s", jdump(links));
    int has1 = 0, has2 = 0, has3 = 0;
    for (size_t i = 0; i < json_array_size(links); i++) {
        const char *g = json_string_value(json_array_get(links, i));
        has1 += strcmp(g, g1) == 0;
        has2 += strcmp(g, g2) == 0;
        has3 += strcmp(g, g3) == 0;
    }
    cr_expect(!has1 && has2 == 1 && has3 == 1, "goal_ids should be exactly g2 and g3");
    json_decref(got);
    /* A PATCH without goal_ids keeps them; [] removes them all. */
    cr_assert_eq(patch(&w.student, id, now, json_pack("{s:s}", "task", "x"), &r), 200);
    cr_expect_eq(json_array_size(json_object_get(r.json, "goal_ids")), 2);
    snprintf(now, sizeof(now), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);
    cr_assert_eq(patch(&w.student, id, now, json_pack("{s:[]}", "goal_ids"), &r), 200);
    http_resp_free(&r);
    got = fetch(&w.student, id, NULL);
    cr_expect_eq(json_array_size(json_object_get(got, "goal_ids")), 0);
    json_decref(got);
}

/* ---- lists, pages and sync --------------------------------------------------- */

/* GET /v1/reflections?limit=2 from cursor (may be ""); appends the ids to
 * seen, writes the next cursor ("" at the end). */
static void page(const struct world *w, char *cursor, size_t n, char seen[][40], int *nseen)
{
    char path[512];
    snprintf(path, sizeof(path), "/v1/reflections?limit=2%s%s", *cursor ? "&cursor=" : "", cursor);
    json_t *l = fix_list(&w->student, path);
    json_t *items = json_object_get(l, "items");
    cr_assert_leq(json_array_size(items), 2, "limit=2 gave %zu items", json_array_size(items));
    for (size_t i = 0; i < json_array_size(items); i++) {
        cr_assert_lt(*nseen, 16);
        snprintf(seen[(*nseen)++], 40, "%s", jstr(json_array_get(items, i), "id"));
    }
    json_t *next = json_object_get(l, "next_cursor");
    cr_assert(json_is_string(next) || json_is_null(next), "next_cursor: %s", jdump(l));
    snprintf(cursor, n, "%s", json_is_string(next) ? json_string_value(next) : "");
    json_decref(l);
}

Test(reflections, pages_chain_in_created_order_and_survive_inserts)
{
    struct world w;
    world(&w);
    char ids[6][40];
    for (int i = 0; i < 5; i++)
        new_reflection(&w, i % 2 ? "final" : "draft", ids[i], NULL);
    char cursor[256] = "", seen[16][40];
    int nseen = 0;
    page(&w, cursor, sizeof(cursor), seen, &nseen);
    cr_assert_eq(nseen, 2);
    cr_assert(*cursor, "a first page of 2 out of 5 needs a next_cursor");
    /* A new reflection between two page fetches. */
    new_reflection(&w, "draft", ids[5], NULL);
    for (int guard = 0; *cursor && guard < 10; guard++)
        page(&w, cursor, sizeof(cursor), seen, &nseen);
    cr_assert_eq(nseen, 6, "each reflection exactly once, the new one last: got %d", nseen);
    for (int i = 0; i < 6; i++)
        cr_expect_str_eq(seen[i], ids[i], "position %d", i);

    struct http_resp r;
    static const char *const bad[] = {"cursor=!!!!", "cursor=abc", "cursor=MTIzfG5vdC1hLXV1aWQ",
                                      "limit=0",     "limit=101",  "limit=ten"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/reflections?%s", bad[i]);
        http_send("GET", path, w.student.token, NULL, NULL, &r);
        expect_invalid(&r, strncmp(bad[i], "limit", 5) == 0 ? "limit" : "cursor");
        http_resp_free(&r);
    }
}

Test(reflections, sync_reports_changes_and_deletions)
{
    struct world w;
    world(&w);
    char before[32], a[40], b[40], c[40], etag[80];
    utc_ago(before, 2);
    new_reflection(&w, "draft", a, NULL);
    json_t *secret = starr(w.team, "draft");
    json_object_set_new(secret, "situation", json_string("Geheim-woord-zeeslang"));
    json_decref(create(&w.student, secret, b, NULL));
    new_reflection(&w, "final", c, etag);
    struct http_resp r;
    cr_assert_eq(patch(&w.student, c, etag, json_pack("{s:s}", "task", "Bijgewerkt"), &r), 200);
    http_resp_free(&r);

    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s", b);
    http_send("DELETE", path, w.student.token, NULL, NULL, &r);
    expect_empty(&r, 204);
    http_resp_free(&r);
    http_send("GET", path, w.student.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    http_send("DELETE", path, w.student.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    http_send("PATCH", path, w.student.token, json_pack("{s:s}", "task", "x"),
              "If-Match: \"1\"\r\n", &r);
    expect_problem(&r, 404);
    http_resp_free(&r);

    /* The plain list forgets the deleted one. */
    json_t *l = fix_list(&w.student, "/v1/reflections");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 2);
    cr_expect_eq(count_id(l, b), 0);
    json_decref(l);

    snprintf(path, sizeof(path), "/v1/reflections?updated_since=%s", before);
    struct http_resp s;
    http_send("GET", path, w.student.token, NULL, NULL, &s);
    expect_json(&s, 200);
    json_t *items = json_object_get(s.json, "items");
    cr_expect_eq(json_array_size(items), 3, "two changes and one deletion: %s", s.body);
    cr_expect_eq(count_id(s.json, a) + count_id(s.json, b) + count_id(s.json, c), 3);
    cr_expect_null(strstr(s.body, "Geheim-woord-zeeslang"), "a tombstone carries content");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        if (strcmp(jstr(it, "id"), b) == 0) {
            cr_expect_eq(json_object_size(it), 3, "tombstone is {id, deleted, updated_at}: %s",
                         jdump(it));
            cr_expect(json_is_true(json_object_get(it, "deleted")));
            cr_expect(jstr(it, "updated_at") != NULL);
        } else {
            cr_expect_null(json_object_get(it, "deleted"), "a live item marked deleted");
            if (strcmp(jstr(it, "id"), c) == 0)
                cr_expect_str_eq(jstr(it, "task"), "Bijgewerkt");
        }
    }
    /* In updated_at order: the deletion is the newest change. */
    cr_expect_str_eq(jstr(json_array_get(items, json_array_size(items) - 1), "id"), b);
    http_resp_free(&s);

    /* Paging a sync with limit=1 gives the same three, once each. */
    char cursor[256] = "", url[512];
    int n = 0, seen_b = 0;
    for (int guard = 0; guard < 10; guard++) {
        snprintf(url, sizeof(url), "/v1/reflections?updated_since=%s&limit=1%s%s", before,
                 *cursor ? "&cursor=" : "", cursor);
        json_t *p = fix_list(&w.student, url);
        n += (int)json_array_size(json_object_get(p, "items"));
        seen_b += count_id(p, b);
        const char *next = jstr(p, "next_cursor");
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        json_decref(p);
        if (!*cursor)
            break;
    }
    cr_expect_eq(n, 3);
    cr_expect_eq(seen_b, 1);

    l = fix_list(&w.student, "/v1/reflections?updated_since=2999-01-01T00:00:00Z");
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 0, "nothing changed after 2999");
    json_decref(l);

    static const char *const bad[] = {"yesterday", "2026-02-30T00:00:00Z", "2026-03-14",
                                      "2026-03-14T10:00:00", "2026-03-14T25:00:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "/v1/reflections?updated_since=%s", bad[i]);
        http_send("GET", path, w.student.token, NULL, NULL, &r);
        expect_invalid(&r, "updated_since");
        http_resp_free(&r);
    }
}

/* RFC 3339 allows any offset from -23:59 to +23:59; the server's own check
 * accepts them, so the database must not turn them into a 500. */
Test(reflections, sync_with_a_large_utc_offset_is_not_a_server_error)
{
    struct world w;
    world(&w);
    char id[40];
    new_reflection(&w, "draft", id, NULL);
    struct http_resp r;
    http_send("GET", "/v1/reflections?updated_since=2020-01-01T00:00:00%2B23:00", w.student.token,
              NULL, NULL, &r);
    cr_expect(r.status == 200 || r.status == 422,
              "a valid RFC 3339 offset (+23:00) must give 200 (or at worst 422), got %d: %s",
              r.status, r.body);
    if (r.status == 200)
        cr_expect_eq(count_id(r.json, id), 1);
    http_resp_free(&r);
}

/* ---- sharing and feedback ---------------------------------------------------- */

static void share(const struct fix_user *owner, const char *id, const char *user, int want)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", id, user);
    struct http_resp r;
    http_send("PUT", path, owner->token, NULL, NULL, &r);
    if (want == 204)
        expect_empty(&r, 204);
    else
        expect_problem(&r, want);
    http_resp_free(&r);
}

/* POSTs feedback as u; returns the new feedback (new reference). */
static json_t *feedback(const struct fix_user *u, const char *id, const char *kind,
                        const char *body)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback", id);
    struct http_resp r;
    http_send("POST", path, u->token, json_pack("{s:s, s:s}", "kind", kind, "body", body), NULL,
              &r);
    expect_json(&r, 201);
    cr_expect_str_eq(jstr(r.json, "kind"), kind);
    cr_expect_str_eq(jstr(r.json, "body"), body);
    cr_expect_str_eq(jstr(r.json, "author_id"), u->id);
    cr_expect_str_eq(jstr(r.json, "reflection_id"), id);
    json_t *f = json_incref(r.json);
    http_resp_free(&r);
    return f;
}

Test(reflections, sharing_opens_the_reflection_to_the_supervisor)
{
    struct world w;
    world(&w);
    char shared[40], private_[40], etag[80];
    new_reflection(&w, "final", shared, etag);
    new_reflection(&w, "draft", private_, NULL);
    share(&w.student, shared, w.coach.id, 204);
    share(&w.student, shared, w.coach.id, 204); /* again: still one share */
    char now[80];
    json_t *rep = fetch(&w.student, shared, now);
    json_t *sw = json_object_get(rep, "shared_with");
    cr_expect_eq(json_array_size(sw), 1);
    cr_expect_str_eq(json_string_value(json_array_get(sw, 0)), w.coach.id);
    cr_expect_str_neq(now, etag, "sharing changes the representation, so the ETag");
    json_decref(rep);

    json_t *students = fix_list(&w.coach, "/v1/students");
    cr_expect_eq(count_id(students, w.student.id), 1, "the coach's students: %s", jdump(students));
    json_decref(students);

    char path[160];
    snprintf(path, sizeof(path), "/v1/students/%s/reflections", w.student.id);
    json_t *l = fix_list(&w.coach, path);
    cr_expect_eq(json_array_size(json_object_get(l, "items")), 1, "only the shared one: %s",
                 jdump(l));
    cr_expect_eq(count_id(l, shared), 1);
    cr_expect_eq(count_id(l, private_), 0);
    json_decref(l);

    rep = fetch(&w.coach, shared, NULL);
    cr_expect_str_eq(jstr(rep, "id"), shared);
    cr_expect_str_eq(jstr(rep, "owner_id"), w.student.id);
    cr_expect_str_eq(jstr(rep, "situation"), "Avonddienst, een cliënt viel in de badkamer.");
    json_decref(rep);

    /* The coach's own list is theirs alone. */
    l = fix_list(&w.coach, "/v1/reflections");
    cr_expect_eq(count_id(l, shared), 0);
    json_decref(l);

    /* The supervisor cannot change or delete it. */
    struct http_resp r;
    patch(&w.coach, shared, now, json_pack("{s:s}", "task", "Overschreven"), &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/reflections/%s", shared);
    http_send("DELETE", path, w.coach.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    rep = fetch(&w.student, shared, NULL);
    cr_expect_str_eq(jstr(rep, "task"), "Ik was eerste verantwoordelijke op de gang.");
    json_decref(rep);
}

Test(reflections, feedback_runs_both_ways_in_order)
{
    struct world w;
    world(&w);
    char id[40];
    new_reflection(&w, "final", id, NULL);
    share(&w.student, id, w.coach.id, 204);
    json_t *f[4];
    f[0] = feedback(&w.coach, id, "top", "Rustig gebleven en goed gealarmeerd.");
    f[1] = feedback(&w.coach, id, "tip", "Meld natte vloeren meteen bij de huishouding.");
    f[2] = feedback(&w.coach, id, "question", "Wat zou je doen als je alleen was?");
    f[3] = feedback(&w.student, id, "question", "Mag ik dat volgende week met je oefenen?");
    for (int i = 0; i < 3; i++)
        cr_expect(json_is_false(json_object_get(f[i], "by_owner")), "coach feedback by_owner");
    cr_expect(json_is_true(json_object_get(f[3], "by_owner")), "a reply is by_owner");

    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback", id);
    const struct fix_user *readers[] = {&w.student, &w.coach};
    for (int k = 0; k < 2; k++) {
        json_t *t = fix_list(readers[k], path);
        expect_ids_in_order(t, f, 4);
        json_decref(t);
    }
    /* Pages of the thread chain like every list. */
    char p2[512];
    snprintf(p2, sizeof(p2), "%s?limit=3", path);
    json_t *t = fix_list(&w.student, p2);
    cr_expect_eq(json_array_size(json_object_get(t, "items")), 3);
    cr_assert(jstr(t, "next_cursor"));
    snprintf(p2, sizeof(p2), "%s?limit=3&cursor=%s", path, jstr(t, "next_cursor"));
    json_decref(t);
    t = fix_list(&w.student, p2);
    cr_expect_eq(json_array_size(json_object_get(t, "items")), 1);
    cr_expect_eq(count_id(t, jstr(f[3], "id")), 1);
    cr_expect(json_is_null(json_object_get(t, "next_cursor")));
    json_decref(t);

    struct http_resp r;
    http_send("POST", path, w.coach.token,
              json_pack("{s:s, s:s}", "kind", "compliment", "body", "x"), NULL, &r);
    expect_invalid(&r, "kind");
    http_resp_free(&r);
    http_send("POST", path, w.coach.token, json_pack("{s:s, s:s}", "kind", "top", "body", "   "),
              NULL, &r);
    expect_invalid(&r, "body");
    http_resp_free(&r);
    http_send("POST", path, w.coach.token,
              json_pack("{s:s, s:s, s:s}", "kind", "top", "body", "ok", "author_id", w.student.id),
              NULL, &r);
    expect_invalid(&r, "author_id");
    http_resp_free(&r);
    http_send("POST", path, w.coach.token, json_pack("{s:s}", "body", "zonder soort"), NULL, &r);
    expect_invalid(&r, "kind");
    http_resp_free(&r);
    t = fix_list(&w.student, path);
    cr_expect_eq(json_array_size(json_object_get(t, "items")), 4, "a refused post was stored");
    json_decref(t);
    for (int i = 0; i < 4; i++)
        json_decref(f[i]);
}

/* The coach's inbox, filtered by status; new reference. */
static json_t *inbox(const struct fix_user *u, const char *status)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/feedback-requests%s%s", status ? "?status=" : "",
             status ? status : "");
    return fix_list(u, path);
}

Test(reflections, feedback_request_from_open_to_answered)
{
    struct world w;
    world(&w);
    char id[40];
    new_reflection(&w, "final", id, NULL);
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback-requests", id);
    struct http_resp r;
    http_send("POST", path, w.student.token, json_pack("{s:s}", "to_user_id", w.coach.id), NULL,
              &r);
    expect_json(&r, 201);
    char req_id[40];
    snprintf(req_id, sizeof(req_id), "%s", jstr(r.json, "id"));
    cr_expect_str_eq(jstr(r.json, "status"), "open");
    cr_expect_str_eq(jstr(r.json, "reflection_id"), id);
    cr_expect_str_eq(jstr(r.json, "to_user_id"), w.coach.id);
    cr_expect_str_eq(jstr(r.json, "student_id"), w.student.id);
    http_resp_free(&r);

    /* Asking shares it too. */
    json_t *rep = fetch(&w.student, id, NULL);
    cr_expect_eq(json_array_size(json_object_get(rep, "shared_with")), 1);
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(rep, "shared_with"), 0)),
                     w.coach.id);
    json_decref(rep);

    /* Asking again while open returns the open request. */
    http_send("POST", path, w.student.token, json_pack("{s:s}", "to_user_id", w.coach.id), NULL,
              &r);
    expect_json(&r, 200);
    cr_expect_str_eq(jstr(r.json, "id"), req_id);
    cr_expect_str_eq(jstr(r.json, "status"), "open");
    http_resp_free(&r);

    http_send("POST", path, w.student.token, json_pack("{s:s}", "to_user_id", "someone"), NULL, &r);
    expect_invalid(&r, "to_user_id");
    http_resp_free(&r);
    http_send("POST", path, w.student.token, json_pack("{}"), NULL, &r);
    expect_invalid(&r, "to_user_id");
    http_resp_free(&r);
    http_send("GET", "/v1/feedback-requests?status=closed", w.coach.token, NULL, NULL, &r);
    expect_invalid(&r, "status");
    http_resp_free(&r);

    json_t *open = inbox(&w.coach, "open");
    cr_expect_eq(json_array_size(json_object_get(open, "items")), 1, "%s", jdump(open));
    cr_expect_eq(count_id(open, req_id), 1);
    json_decref(open);
    json_t *answered = inbox(&w.coach, "answered");
    cr_expect_eq(count_id(answered, req_id), 0);
    json_decref(answered);
    /* The student's own inbox holds nothing: requests go to the coach. */
    json_t *mine = inbox(&w.student, NULL);
    cr_expect_eq(json_array_size(json_object_get(mine, "items")), 0);
    json_decref(mine);

    /* The student's own reply does not answer it; the coach's feedback does. */
    json_decref(feedback(&w.student, id, "question", "Heb je al tijd gehad?"));
    open = inbox(&w.coach, "open");
    cr_expect_eq(count_id(open, req_id), 1, "a reply by the owner answered the request");
    json_decref(open);
    json_decref(feedback(&w.coach, id, "top", "Goed beschreven!"));
    open = inbox(&w.coach, "open");
    cr_expect_eq(count_id(open, req_id), 0, "still open after feedback: %s", jdump(open));
    json_decref(open);
    answered = inbox(&w.coach, "answered");
    cr_expect_eq(count_id(answered, req_id), 1);
    json_t *it = json_array_get(json_object_get(answered, "items"), 0);
    cr_expect_str_eq(jstr(it, "status"), "answered");
    cr_expect(jstr(it, "answered_at") != NULL, "answered_at missing");
    json_decref(answered);

    /* Once answered, a new request is a new one. */
    http_send("POST", path, w.student.token, json_pack("{s:s}", "to_user_id", w.coach.id), NULL,
              &r);
    expect_json(&r, 201);
    cr_expect_str_neq(jstr(r.json, "id"), req_id);
    http_resp_free(&r);
}

/* A student taps "ask for feedback" twice on a bad connection: the second
 * must get the open request back (200 with its body), not an empty answer. */
Test(reflections, racing_feedback_requests_all_return_the_open_one, .timeout = 60)
{
    struct world w;
    world(&w);
    char body[80];
    snprintf(body, sizeof(body), "{\"to_user_id\":\"%s\"}", w.coach.id);
    const char *bodies[RACERS];
    for (int i = 0; i < RACERS; i++)
        bodies[i] = body;
    for (int round = 0; round < 10; round++) {
        char id[40], path[160];
        new_reflection(&w, "final", id, NULL);
        snprintf(path, sizeof(path), "/v1/reflections/%s/feedback-requests", id);
        struct racer xs[RACERS];
        race(xs, "POST", path, w.student.token, bodies, NULL);
        int created = -1, n201 = 0;
        char st[RACERS * 5 + 1] = "";
        for (int i = 0; i < RACERS; i++) {
            if (xs[i].status == 201) {
                created = i;
                n201++;
            }
            snprintf(st + strlen(st), sizeof(st) - strlen(st), "%d ", xs[i].status);
        }
        cr_assert_eq(n201, 1, "round %d: one request is created: %s", round, st);
        for (int i = 0; i < RACERS; i++) {
            if (i == created)
                continue;
            cr_assert_eq(xs[i].status, 200, "round %d: %s", round, st);
            cr_assert_str_eq(xs[i].id, xs[created].id,
                             "round %d: a 200 must carry the open request (got id \"%s\")", round,
                             xs[i].id);
        }
    }
}

Test(reflections, supervisor_reads_are_audited)
{
    struct world w;
    world(&w);
    char id[40];
    new_reflection(&w, "final", id, NULL);
    share(&w.student, id, w.coach.id, 204);
    /* The owner's own reads are not someone else's data. */
    json_decref(fetch(&w.student, id, NULL));
    json_decref(fetch(&w.coach, id, NULL));
    json_t *audit = fix_list(&w.o.admin, "/v1/audit?limit=100");
    int by_coach = 0, by_owner = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(audit, "items"), i, it)
    {
        const char *a = jstr(it, "action"), *obj = jstr(it, "object_id");
        if (!a || strcmp(a, "reflection.read") != 0 || !obj || strcmp(obj, id) != 0)
            continue;
        if (strcmp(jstr(it, "actor_id"), w.coach.id) == 0) {
            by_coach++;
            cr_expect_str_eq(jstr(it, "subject_user_id"), w.student.id);
            cr_expect_str_eq(jstr(it, "object_type"), "reflection");
        } else if (strcmp(jstr(it, "actor_id"), w.student.id) == 0) {
            by_owner++;
        }
    }
    cr_expect_eq(by_coach, 1, "one reflection.read by the coach: %s", jdump(audit));
    cr_expect_eq(by_owner, 0, "the owner's own read was audited");
    json_decref(audit);

    /* Nobody but an admin reads the audit log. */
    struct http_resp r;
    http_send("GET", "/v1/audit", w.coach.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
}

Test(reflections, unauthenticated_calls_are_401)
{
    struct http_resp r;
    http_send("GET", "/v1/reflections", NULL, NULL, NULL, &r);
    expect_problem(&r, 401);
    cr_expect(http_header(&r, "WWW-Authenticate") != NULL);
    http_resp_free(&r);
    http_send("POST", "/v1/reflections", "not-a-token", json_pack("{}"), NULL, &r);
    expect_problem(&r, 401);
    http_resp_free(&r);
}

/* ---- goal_ids and shared_with stay right (migration 0017 keeps them on
 * the reflection's row; every way a link changes must show in the next
 * GET, the owner's list and the supervisor's) ---------------------------- */

/* The ids in a JSON array, as one comma-separated string, in order. */
static void ids_of(const json_t *arr, char *out, size_t n)
{
    size_t i, k = 0;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        int w = snprintf(out + k, n - k, "%s%s", i ? "," : "", json_string_value(v));
        cr_assert(w > 0 && (size_t)w < n - k, "ids_of: too many");
        k += (size_t)w;
    }
}

/* field of reflection id as the owner's GET and list show it; the two agree. */
static void links_of(const struct fix_user *owner, const char *id, const char *field, char *out,
                     size_t n)
{
    json_t *rep = fetch(owner, id, NULL);
    ids_of(json_object_get(rep, field), out, n);
    json_decref(rep);
    json_t *l = fix_list(owner, "/v1/reflections?limit=100");
    size_t i;
    json_t *item;
    int found = 0;
    json_array_foreach(json_object_get(l, "items"), i, item)
    {
        if (strcmp(jstr(item, "id"), id) != 0)
            continue;
        char in_list[400];
        ids_of(json_object_get(item, field), in_list, sizeof(in_list));
        cr_expect_str_eq(in_list, out, "%s in the list and in GET", field);
        found = 1;
    }
    cr_expect(found, "the reflection is in its owner's list");
    json_decref(l);
}

static void sorted_pair(const char *a, const char *b, char *out, size_t n)
{
    snprintf(out, n, "%s,%s", strcmp(a, b) < 0 ? a : b, strcmp(a, b) < 0 ? b : a);
}

Test(reflections, shared_with_follows_shares_requests_and_revocations)
{
    struct world w;
    world(&w);
    struct fix_user po;
    fix_user(&w.o, "praktijkopleider", &po);
    fix_supervise(&w.o, &w.student, &po);
    char id[40], got[400], want[400];
    new_reflection(&w, "final", id, NULL);
    links_of(&w.student, id, "shared_with", got, sizeof(got));
    cr_expect_str_eq(got, "");

    share(&w.student, id, w.coach.id, 204);
    links_of(&w.student, id, "shared_with", got, sizeof(got));
    cr_expect_str_eq(got, w.coach.id);

    /* A feedback request shares too (feedback.c writes the share). */
    char path[200];
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback-requests", id);
    json_decref(fix_call(test_addr(), "POST", path, &w.student,
                         json_pack("{s:s}", "to_user_id", po.id), 201));
    links_of(&w.student, id, "shared_with", got, sizeof(got));
    sorted_pair(w.coach.id, po.id, want, sizeof(want));
    cr_expect_str_eq(got, want, "both supervisors, sorted");
    json_t *rep = fetch(&po, id, NULL);
    ids_of(json_object_get(rep, "shared_with"), got, sizeof(got));
    cr_expect_str_eq(got, want, "as the supervisor reads it");
    json_decref(rep);

    /* Revoking one share leaves the other, everywhere. */
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", id, w.coach.id);
    json_decref(fix_call(test_addr(), "DELETE", path, &w.student, NULL, 204));
    links_of(&w.student, id, "shared_with", got, sizeof(got));
    cr_expect_str_eq(got, po.id);
    snprintf(path, sizeof(path), "/v1/students/%s/reflections", w.student.id);
    json_t *l = fix_list(&po, path);
    cr_assert_eq(json_array_size(json_object_get(l, "items")), 1, "%s", jdump(l));
    ids_of(json_object_get(json_array_get(json_object_get(l, "items"), 0), "shared_with"), got,
           sizeof(got));
    cr_expect_str_eq(got, po.id, "in the supervisor's list");
    json_decref(l);
    /* The revoked coach reads nothing any more. */
    struct http_resp r;
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);
    http_send("GET", path, w.coach.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
}

Test(reflections, shared_with_forgets_an_erased_supervisor)
{
    struct world w;
    world(&w);
    char id[40], got[400];
    new_reflection(&w, "final", id, NULL);
    share(&w.student, id, w.coach.id, 204);
    links_of(&w.student, id, "shared_with", got, sizeof(got));
    cr_expect_str_eq(got, w.coach.id);
    json_decref(fix_call(test_addr(), "DELETE", "/v1/me", &w.coach, NULL, 204));
    links_of(&w.student, id, "shared_with", got, sizeof(got));
    cr_expect_str_eq(got, "", "the erased coach's id is gone from shared_with");
}

Test(reflections, goal_ids_follow_goal_deletion_and_come_sorted)
{
    struct world w;
    world(&w);
    char g1[40], g2[40], id[40], got[400], want[400], path[160];
    goal_of(&w.student, g1);
    goal_of(&w.student, g2);
    /* Given in descending order, stored and sent in ascending order. */
    const char *hi = strcmp(g1, g2) > 0 ? g1 : g2, *lo = hi == g1 ? g2 : g1;
    json_t *made = create(&w.student, with(&w, "goal_ids", json_pack("[s, s]", hi, lo)), id, NULL);
    ids_of(json_object_get(made, "goal_ids"), got, sizeof(got));
    sorted_pair(g1, g2, want, sizeof(want));
    cr_expect_str_eq(got, want, "the create's answer");
    json_decref(made);
    links_of(&w.student, id, "goal_ids", got, sizeof(got));
    cr_expect_str_eq(got, want);

    char before[80], after[80];
    json_decref(fetch(&w.student, id, before));
    snprintf(path, sizeof(path), "/v1/goals/%s", g1);
    json_decref(fix_call(test_addr(), "DELETE", path, &w.student, NULL, 204));
    links_of(&w.student, id, "goal_ids", got, sizeof(got));
    cr_expect_str_eq(got, g2, "the deleted goal is unlinked");
    json_decref(fetch(&w.student, id, after));
    cr_expect_str_neq(before, after, "and the reflection's ETag moved");

    /* Deleting the reflection leaves a tombstone with nothing linked. */
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);
    json_decref(fix_call(test_addr(), "DELETE", path, &w.student, NULL, 204));
    snprintf(path, sizeof(path), "/v1/goals/%s", g2);
    json_decref(fix_call(test_addr(), "DELETE", path, &w.student, NULL, 204));
}

/* POST /v1/auth/logout for u: its session is closed. */
static void logout(const struct fix_user *u)
{
    struct http_resp r;
    http_send("POST", "/v1/auth/logout", NULL, json_pack("{s:s}", "refresh_token", u->refresh),
              NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
}

/* The page statements check the session in the same statement that reads
 * the page: after a logout the still-valid access token lists nothing. */
Test(reflections, a_closed_session_gets_401_from_every_list)
{
    struct world w;
    world(&w);
    char id[40];
    new_reflection(&w, "final", id, NULL);
    char share[160];
    snprintf(share, sizeof(share), "/v1/reflections/%s/shares/%s", id, w.coach.id);
    struct http_resp r;
    http_send("PUT", share, w.student.token, NULL, NULL, &r);
    cr_assert_lt(r.status, 300, "share: %d %s", r.status, r.body);
    http_resp_free(&r);
    char theirs[160];
    snprintf(theirs, sizeof(theirs), "/v1/students/%s/reflections", w.student.id);
    json_decref(fix_list(&w.coach, theirs)); /* 200 while the session is open */

    logout(&w.student);
    static const char *const own[] = {"/v1/reflections", "/v1/reflections?limit=1",
                                      "/v1/reflections?updated_since=2000-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        http_send("GET", own[i], w.student.token, NULL, NULL, &r);
        expect_problem(&r, 401);
        cr_expect_null(strstr(r.body, id), "%s shows the reflection after logout", own[i]);
        http_resp_free(&r);
    }
    logout(&w.coach);
    http_send("GET", theirs, w.coach.token, NULL, NULL, &r);
    expect_problem(&r, 401);
    cr_expect_null(strstr(r.body, id), "the student's list shows it after the coach's logout");
    http_resp_free(&r);
}

/* ---- every list renders a reflection as its GET does -------------------------- */

/* GET path as u, 200; the body as received (the caller frees it). */
static char *raw_get(const struct fix_user *u, const char *path)
{
    struct http_resp r;
    http_send("GET", path, u->token, NULL, NULL, &r);
    expect_json(&r, 200);
    char *body = strdup(r.body);
    cr_assert_not_null(body);
    http_resp_free(&r);
    return body;
}

/* The page statements send their rows in binary format and a single read
 * in text (issue 18); both must give the same bytes, values with quotes,
 * newlines, non-ASCII, NULL transfer and every array included. Each
 * reflection's GET body must appear, byte for byte, in the owner's list,
 * in a sync page and in the supervisor's list of the student. */
Test(reflections, lists_carry_each_reflection_byte_for_byte_as_its_get)
{
    struct world w;
    world(&w);
    char g1[40], g2[40], full[40], bare[40], since[32];
    utc_ago(since, 600);
    goal_of(&w.student, g1);
    goal_of(&w.student, g2);
    json_t *body = starr(w.team, "final");
    json_object_set_new(body, "situation",
                        json_string("Een \"lastige\" dienst,\nmet {haakjes}, \\ en é ✓ 😀"));
    json_object_set_new(body, "transfer", json_string("NULL"));
    json_object_set_new(body, "vermogens", json_pack("[s, s]", "lerend", "absorptie"));
    json_object_set_new(body, "dimensions", json_pack("[s]", "systemen"));
    json_object_set_new(body, "goal_ids", json_pack("[s, s]", g1, g2));
    json_decref(create(&w.student, body, full, NULL));
    share(&w.student, full, w.coach.id, 204);
    json_decref(create(&w.student,
                       json_pack("{s:s, s:s, s:s}", "team_id", w.team, "occurred_on", test_day(0),
                                 "status", "draft"),
                       bare, NULL));
    share(&w.student, bare, w.coach.id, 204);

    char sync_path[128], coach_path[160];
    snprintf(sync_path, sizeof(sync_path), "/v1/reflections?updated_since=%s&limit=100", since);
    snprintf(coach_path, sizeof(coach_path), "/v1/students/%s/reflections?limit=100", w.student.id);
    char *lists[] = {raw_get(&w.student, "/v1/reflections?limit=100"),
                     raw_get(&w.student, sync_path), raw_get(&w.coach, coach_path)};
    const char *ids[] = {full, bare};
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/reflections/%s", ids[i]);
        char *one = raw_get(&w.student, path);
        cr_expect(strstr(one, "\"transfer\":") != NULL, "%s", one);
        for (int l = 0; l < 3; l++)
            cr_expect(strstr(lists[l], one) != NULL, "list %d lacks\n%s\nin\n%s", l, one, lists[l]);
        free(one);
    }
    cr_expect(strstr(lists[0], "\"transfer\":null") != NULL, "the bare one's NULL: %s", lists[0]);
    for (int l = 0; l < 3; l++)
        free(lists[l]);
}
