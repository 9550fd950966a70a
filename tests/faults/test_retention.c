/* test_retention.c - the janitor's retention period for reflections.
 *
 * A reflection is back-dated in the database (the only way to age one
 * without waiting), then a server with RETENTION_DAYS=30 and a one-second
 * janitor must delete it, keep the young one, and leave the monthly
 * aggregates as they were. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Runs one SQL statement with psql against $DATABASE_URL; returns its output. */
static void psql(const char *sql, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "psql \"$DATABASE_URL\" -Atqc \"%s\"", sql);
    FILE *f = popen(cmd, "r");
    cr_assert(f, "psql did not start");
    size_t got = fread(out, 1, n - 1, f);
    out[got] = '\0';
    while (got && (out[got - 1] == '\n'))
        out[--got] = '\0';
    cr_assert_eq(pclose(f), 0, "psql failed: %s", sql);
}

static void create_final(struct fix_user *s, const char *team, char id[40])
{
    char body[512], today[16];
    time_t now = time(NULL);
    strftime(today, sizeof(today), "%Y-%m-%d", gmtime(&now));
    snprintf(body, sizeof(body),
             "{\"team_id\":\"%s\",\"occurred_on\":\"%s\",\"situation\":\"s\",\"task\":\"t\","
             "\"action\":\"a\",\"result\":\"r\",\"reflection\":\"x\",\"status\":\"final\","
             "\"vermogens\":[\"lerend\"]}",
             team, today);
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

Test(retention, janitor_deletes_old_reflections_and_keeps_aggregates, .timeout = 60)
{
    struct fix_org o;
    fix_org(&o);
    struct fix_user s;
    fix_user(&o, NULL, &s);
    char team[40], old_id[40], young_id[40], sql[512], before[128], after[128];
    fix_team(&o, team);
    fix_member(&o, team, &s, "student");
    create_final(&s, team, old_id);
    create_final(&s, team, young_id);
    snprintf(sql, sizeof(sql),
             "UPDATE reflections SET created_at = now() - interval '40 days' WHERE id = '%s'",
             old_id);
    psql(sql, before, sizeof(before));
    snprintf(sql, sizeof(sql),
             "SELECT reflections, refl_lerend FROM team_month_stats WHERE team_id = '%s'", team);
    psql(sql, before, sizeof(before));
    cr_assert_str_eq(before, "2|2");

    struct spawned srv;
    const char *env[] = {"RETENTION_DAYS=30", "JANITOR_INTERVAL_S=1", NULL};
    cr_assert_eq(server_spawn(&srv, env), 0);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        usleep(100 * 1000);
        gone = reflection_status(&s, old_id) == 404;
    }
    cr_expect_eq(server_stop(&srv), 0);
    cr_assert(gone, "the janitor did not delete a reflection past the retention period");
    cr_expect_eq(reflection_status(&s, young_id), 200, "the young reflection was deleted too");
    psql(sql, after, sizeof(after));
    cr_expect_str_eq(after, before, "retention changed the anonymous aggregates");
}
