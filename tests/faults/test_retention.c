/* test_retention.c - the janitor's retention period for reflections, and
 * published months that retention cannot change (issue 12, attack 7).
 *
 * Reflections are aged in the database (the only way to age one without
 * waiting), then a server with RETENTION_DAYS=30 and a one-second janitor
 * must delete them and keep the young one. The month they were in was
 * published before: its figures must read byte for byte the same after the
 * deletion, and after backdated reflections try to fill the emptied month
 * (the attack: retention cleared the rows that kept a block suppressed, so
 * new ones made it visible). */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A final reflection of s in team dated date; writes its id. */
static void create_final(struct fix_user *s, const char *team, const char *date, char id[40])
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"team_id\":\"%s\",\"occurred_on\":\"%s\",\"situation\":\"s\",\"task\":\"t\","
             "\"action\":\"a\",\"result\":\"r\",\"reflection\":\"x\",\"status\":\"final\","
             "\"vermogens\":[\"lerend\"]}",
             team, date);
    struct http_resp r;
    cr_assert(http_call(test_addr(), "POST", "/v1/reflections", s->token, body, NULL, &r) == 0);
    expect_status(&r, 201);
    snprintf(id, 40, "%s", json_string_value(json_object_get(r.json, "id")));
    http_resp_free(&r);
}

static int reflection_status(const struct fix_user *s, const char *id)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/reflections/%s", id);
    struct http_resp r;
    cr_assert(http_get(test_addr(), path, s->token, &r) == 0);
    int st = r.status;
    http_resp_free(&r);
    return st;
}

/* A check-in of s in team, moved into month ("YYYY-MM"); person i scores
 * 6+i, 7+i, 8-i, 5-i (varied: a vermogen everyone scored the same is
 * suppressed). */
static void checkin_in(struct fix_user *s, const char *team, const char *month, int i)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"team_id\":\"%s\",\"scores\":{\"absorptie\":%d,\"verbindend\":%d,\"opleidend\":%d,"
             "\"lerend\":%d}}",
             team, 6 + i, 7 + i, 8 - i, 5 - i);
    struct http_resp r;
    cr_assert(http_call(test_addr(), "POST", "/v1/checkins", s->token, body, NULL, &r) == 0);
    expect_status(&r, 201);
    test_sqlf(NULL, 0,
              "UPDATE checkins SET period = '%s-01' WHERE team_id = '%s' AND user_id = '%s' AND "
              "period = '%s-01'",
              month, team, s->id, json_string_value(json_object_get(r.json, "period")));
    http_resp_free(&r);
}

static void set_k3(struct fix_org *o)
{
    struct http_resp r;
    cr_assert(http_call(test_addr(), "PATCH", "/v1/organisation", o->admin.token,
                        "{\"anonymity_threshold\":3}", "If-Match: *\r\n", &r) == 0);
    expect_status(&r, 200);
    http_resp_free(&r);
}

static char *summary_raw(const struct fix_org *o, const char *team, const char *from,
                         const char *to)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/teams/%s/summary?from=%s&to=%s", team, from, to);
    struct http_resp r;
    cr_assert(http_get(test_addr(), path, o->admin.token, &r) == 0);
    expect_status(&r, 200);
    char *raw = strdup(r.body);
    http_resp_free(&r);
    return raw;
}

Test(retention, janitor_deletes_old_reflections_and_published_months_stay, .timeout = 90)
{
    struct fix_org o;
    fix_org(&o);
    set_k3(&o);
    struct fix_user s[3];
    char team[40], m2[8], m3[8], date[11], old_id[2][40], young_id[40], out[64];
    fix_team(&o, team);
    test_sqlf(m2, sizeof(m2),
              "SELECT to_char((now() AT TIME ZONE timezone) - interval '2 months', 'YYYY-MM') "
              "FROM organisations WHERE id = '%s'",
              o.id);
    test_sqlf(m3, sizeof(m3),
              "SELECT to_char((now() AT TIME ZONE timezone) - interval '3 months', 'YYYY-MM') "
              "FROM organisations WHERE id = '%s'",
              o.id);
    snprintf(date, sizeof(date), "%s-10", m2);
    for (int i = 0; i < 3; i++) {
        fix_user(&o, NULL, &s[i]);
        fix_member(&o, team, &s[i], "student");
        checkin_in(&s[i], team, m2, i);
    }
    /* Two people reflected in month -2: its reflections block is suppressed. */
    create_final(&s[0], team, date, old_id[0]);
    create_final(&s[1], team, date, old_id[1]);
    create_final(&s[0], team, test_day(0), young_id);
    test_age_org(o.id, m3);
    cr_assert_eq(test_publish(out, sizeof(out)), 0, "reflectd publish failed: %s", out);
    char *before = summary_raw(&o, team, m3, m2);
    cr_assert(strstr(before, "\"contributors\":3"), "month -2 is not shown: %s", before);
    cr_assert(strstr(before, "\"absorptie\":{\"mean\":7.0,\"median\":7.0,\"distribution\":[0,0,0,"
                             "0,0,1,1,1,0,0],\"trend\":null}"),
              "month -2's absorptie (6, 7, 8) is not exact: %s", before);
    cr_assert(strstr(before, "\"lerend\":{\"mean\":4.0,\"median\":4.0,\"distribution\":[0,0,1,1,"
                             "1,0,0,0,0,0],\"trend\":null}"),
              "month -2's lerend (5, 4, 3) is not exact: %s", before);
    cr_assert(strstr(before, "\"reflections\":{\"suppressed\":true}"),
              "the reflections block of 2 people is shown: %s", before);

    test_sqlf(NULL, 0,
              "UPDATE reflections SET created_at = now() - interval '40 days' WHERE id IN ('%s', "
              "'%s')",
              old_id[0], old_id[1]);
    struct spawned srv;
    const char *env[] = {"RETENTION_DAYS=30", "JANITOR_INTERVAL_S=1", NULL};
    cr_assert_eq(server_spawn(&srv, env), 0);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        usleep(100 * 1000);
        gone = reflection_status(&s[0], old_id[0]) == 404 &&
               reflection_status(&s[1], old_id[1]) == 404;
    }
    cr_expect_eq(server_stop(&srv), 0);
    cr_assert(gone, "the janitor did not delete reflections past the retention period");
    cr_expect_eq(reflection_status(&s[0], young_id), 200, "the young reflection was deleted too");
    char *after = summary_raw(&o, team, m3, m2);
    cr_assert_str_eq(after, before, "retention changed a published month");
    free(after);

    /* Backdated reflections of three people into the emptied month. */
    char id[40];
    for (int i = 0; i < 3; i++)
        create_final(&s[i], team, date, id);
    cr_assert_eq(test_publish(out, sizeof(out)), 0, "reflectd publish failed: %s", out);
    after = summary_raw(&o, team, m3, m2);
    cr_assert_str_eq(after, before, "backdated reflections changed a published month");
    free(after);
    free(before);
}
