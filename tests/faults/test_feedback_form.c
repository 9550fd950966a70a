/* test_feedback_form.c - the feedback form's limit per client address, and
 * that no link's token reaches the access log.
 *
 * Here and not in the integration suite because every test posts from
 * 127.0.0.1 and all servers share one database: the address's count is
 * only predictable when nothing else posts forms at the same time, which
 * the fault suite (one test at a time) guarantees. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FORM_TYPE "Content-Type: application/x-www-form-urlencoded\r\n"

static const char *link_path(const json_t *inv)
{
    const char *p = strstr(jstr(inv, "url"), "/f/");
    cr_assert(p);
    return p;
}

static void expect_html(const struct http_resp *r, int status)
{
    expect_status(r, status);
    cr_assert_str_eq(http_header(r, "Content-Type"), "text/html; charset=utf-8");
}

Test(feedback_form, answers_are_limited_per_address_and_tokens_stay_out_of_the_log, .timeout = 60)
{
    struct fix_org o;
    struct fix_user student;
    fix_org(&o);
    fix_user(&o, NULL, &student);
    struct http_resp r;
    http_send("POST", "/v1/feedback-invitations", student.token, json_pack("{s:s}", "line", "x"),
              NULL, &r);
    expect_status(&r, 201);
    json_t *inv = json_incref(r.json);
    http_resp_free(&r);
    /* A fresh count for this address, and a guessed token of this run. */
    cr_assert_eq(
        test_sql("DELETE FROM feedback_form_throttle WHERE key = 'addr:127.0.0.1'", NULL, 0), 0);
    char guess[64];
    snprintf(guess, sizeof(guess), "/f/B%042ld", (long)time(NULL));
    struct spawned s;
    const char *env[] = {"FEEDBACK_FORM_MAX_ADDR=3", "ACCESS_LOG=on", NULL};
    cr_assert_eq(server_spawn(&s, env), 0);
    for (int i = 0; i < 3; i++) { /* three guesses from one address */
        cr_assert_eq(http_call(s.addr, "POST", guess, NULL,
                               "name=A&role=B&top=x&tip=&question=", FORM_TYPE, &r),
                     0);
        expect_html(&r, 404);
        http_resp_free(&r);
    }
    cr_assert_eq(http_call(s.addr, "POST", link_path(inv), NULL,
                           "name=A&role=B&top=x&tip=&question=", FORM_TYPE, &r),
                 0);
    expect_html(&r, 429);
    http_resp_free(&r);
    cr_assert_eq(http_call(s.addr, "GET", link_path(inv), NULL, NULL, NULL, &r), 0);
    expect_html(&r, 200); /* viewing is not answering */
    http_resp_free(&r);
    /* The access log line is written before the response goes out; the
     * log file goes when the server stops. */
    FILE *log = fopen(s.log, "r");
    cr_assert(log);
    char line[4096];
    int logged = 0;
    while (fgets(line, sizeof(line), log)) {
        cr_assert_null(strstr(line, link_path(inv) + 3), "token in the log: %s", line);
        cr_assert_null(strstr(line, guess + 3), "token in the log: %s", line);
        logged += strstr(line, "\"path\":\"/f/{token}\"") != NULL;
    }
    fclose(log);
    cr_assert_eq(server_stop(&s), 0);
    cr_assert_eq(logged, 5, "every request is logged, by its pattern");
    json_decref(inv);
}
