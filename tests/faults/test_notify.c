/* test_notify.c - reaching people when the app is closed (issue 15):
 * devices and preferences, the outbox and its sender, Web Push, APNs, FCM,
 * SMTP digests, invitation e-mails of imports, quiet hours, reminders,
 * faults.
 *
 * Each test starts tests/faults/doubles.py (local stand-ins for a Web Push
 * service, APNs over HTTP/2, FCM and an aiosmtpd SMTP server, each checking
 * what it receives: VAPID and provider JWTs are verified, Web Push bodies
 * decrypted with the subscription's private key, SMTP needs STARTTLS and
 * AUTH) and its own reflectd with a sender pointed at them. The run's other
 * servers have OUTBOX_SENDER=0 (scripts/test.sh), so only the servers of a
 * test send. Organisations come from the shared server (fixtures.h).
 *
 * Nothing asserts how fast anything is: waits poll against generous
 * deadlines, and "nothing more arrived" is checked in the database (the
 * outbox is empty), not by waiting. The measured latency is printed. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time ------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the doubles --------------------------------------------------------------- */

struct doubles {
    pid_t pid;
    char dir[64];
    int https, apns, smtp, control;
    char ctl[32]; /* control address */
};

static void doubles_start(struct doubles *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->dir, sizeof(d->dir), "/tmp/reflectd-doubles.XXXXXX");
    cr_assert(mkdtemp(d->dir), "mkdtemp");
    int out[2];
    cr_assert(pipe(out) == 0);
    d->pid = fork();
    cr_assert(d->pid >= 0);
    if (d->pid == 0) {
        /* It dies with this test process, and holds none of criterion's
         * pipes (criterion waits for them to close). */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(out[1], 1);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execl("/usr/bin/python3", "python3", "tests/faults/doubles.py", d->dir, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[512];
    size_t n = 0;
    struct pollfd p = {out[0], POLLIN, 0};
    while (n < sizeof(line) - 1 && poll(&p, 1, 20000) > 0) {
        ssize_t got = read(out[0], line + n, 1);
        if (got <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    json_t *j = json_loads(line, 0, NULL);
    cr_assert(j, "doubles.py did not start: '%s'", line);
    d->https = (int)json_integer_value(json_object_get(j, "https"));
    d->apns = (int)json_integer_value(json_object_get(j, "apns"));
    d->smtp = (int)json_integer_value(json_object_get(j, "smtp"));
    d->control = (int)json_integer_value(json_object_get(j, "control"));
    json_decref(j);
    snprintf(d->ctl, sizeof(d->ctl), "127.0.0.1:%d", d->control);
}

static void doubles_stop(struct doubles *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d->dir);
}

static json_t *doubles_call(struct doubles *d, const char *method, const char *path, json_t *body)
{
    /* The doubles are not reflectd: their answers stay out of the contract
     * recording (tests/spec/responses.mjs). */
    const char *rec = getenv("REFLECTD_RECORD");
    char *saved = rec ? strdup(rec) : NULL;
    unsetenv("REFLECTD_RECORD");
    struct http_resp r;
    int rc = http_call_json(d->ctl, method, path, NULL, body, NULL, &r);
    if (saved)
        setenv("REFLECTD_RECORD", saved, 1);
    free(saved);
    json_decref(body);
    cr_assert(rc == 0 && r.status == 200, "doubles %s %s failed", method, path);
    json_t *j = json_incref(r.json);
    http_resp_free(&r);
    return j;
}

static json_t *doubles_state(struct doubles *d)
{
    return doubles_call(d, "GET", "/state", NULL);
}

/* The doubles saw no request they refused. */
static void doubles_no_errors(struct doubles *d)
{
    json_t *s = doubles_state(d);
    json_t *e = json_object_get(s, "errors");
    cr_assert(json_array_size(e) == 0, "the doubles refused requests: %s", jdump(e));
    json_decref(s);
}

static void doubles_script(struct doubles *d, const char *key, int s1, int s2)
{
    json_t *st = s2 ? json_pack("[i,i]", s1, s2) : json_pack("[i]", s1);
    json_decref(
        doubles_call(d, "POST", "/script", json_pack("{s:s,s:o}", "key", key, "statuses", st)));
}

/* ---- servers --------------------------------------------------------------------- */

/* Where the servers' invitation links point. */
#define LINK_BASE "https://reflectie.example.org/app"

/* A reflectd whose sender is pointed at the doubles, with fast retries;
 * extra (may be NULL) is one more "K=V". */
static void notify_server_with(struct spawned *s, struct doubles *d, const char *extra)
{
    static char env[16][256];
    int i = 0;
    snprintf(env[i++], 256, "OUTBOX_SENDER=1");
    snprintf(env[i++], 256, "OUTBOX_POLL_MS=200");
    snprintf(env[i++], 256, "OUTBOX_BACKOFF_MS=200");
    snprintf(env[i++], 256, "OUTBOX_BACKOFF_MAX_MS=1000");
    snprintf(env[i++], 256, "NOTIFY_CA_FILE=%s/ca.pem", d->dir);
    snprintf(env[i++], 256, "WEBPUSH_ENDPOINT_HOSTS=127.0.0.1");
    snprintf(env[i++], 256, "WEBPUSH_VAPID_KEY_FILE=%s/vapid.pem", d->dir);
    snprintf(env[i++], 256, "APNS_URL=https://127.0.0.1:%d", d->apns);
    snprintf(env[i++], 256, "APNS_KEY_FILE=%s/apns.pem", d->dir);
    snprintf(env[i++], 256, "APNS_KEY_ID=KEYID1234");
    snprintf(env[i++], 256, "APNS_TEAM_ID=TEAMID1234");
    snprintf(env[i++], 256, "APNS_TOPIC=nl.example.reflectie");
    snprintf(env[i++], 256, "FCM_URL=https://127.0.0.1:%d", d->https);
    snprintf(env[i++], 256, "FCM_SERVICE_ACCOUNT_FILE=%s/fcm.json", d->dir);
    snprintf(env[i++], 256, "SMTP_URL=smtp://127.0.0.1:%d", d->smtp);
    snprintf(env[i++], 256, "SMTP_USER=reflectd");
    static const char *ptrs[22];
    for (int k = 0; k < i; k++)
        ptrs[k] = env[k];
    ptrs[i++] = "SMTP_PASSWORD=smtp-secret";
    ptrs[i++] = "SMTP_FROM=reflectie@example.org";
    ptrs[i++] = "PUBLIC_BASE_URL=" LINK_BASE;
    ptrs[i++] = extra;
    ptrs[i] = NULL;
    cr_assert_eq(server_spawn(s, ptrs), 0, "reflectd did not start");
}

static void notify_server(struct spawned *s, struct doubles *d)
{
    notify_server_with(s, d, NULL);
}

/* ---- the world ------------------------------------------------------------------------ */

struct world {
    struct fix_org org;
    struct fix_user student, coach;
    char team[40];
};

static void put_preferences(const char *addr, const struct fix_user *u, json_t *prefs)
{
    json_decref(fix_call(addr, "PUT", "/v1/me/notification-preferences", u, prefs, 200));
}

/* An organisation with a student and her werkbegeleider, who has no quiet
 * hours (pushes at any hour, so the tests do not depend on the clock). A
 * test that sets the coach's preferences again replaces these. */
static void world(struct world *w, const char *addr)
{
    fix_org(&w->org);
    fix_student_and_coach(&w->org, w->team, &w->student, &w->coach);
    /* No check-in reminders either: whether one is due depends on the date. */
    put_preferences(addr, &w->coach,
                    json_pack("{s:n,s:{s:{s:s}}}", "quiet_hours", "kinds", "reminder_checkin",
                              "delivery", "off"));
}

/* A Web Push subscription at the doubles for u; returns the subscription
 * id (the doubles' key) in sid and the device id in dev. */
static void webpush_device(const char *addr, struct doubles *d, const struct fix_user *u,
                           char sid[32], char dev[40])
{
    json_t *sub = doubles_call(d, "POST", "/subscribe", NULL);
    snprintf(sid, 32, "%s", jstr(sub, "id"));
    json_object_del(sub, "id");
    json_t *j = fix_call(addr, "POST", "/v1/me/devices", u,
                         json_pack("{s:s,s:o}", "platform", "webpush", "subscription", sub), 201);
    cr_assert_str_eq(jstr(j, "platform"), "webpush");
    snprintf(dev, 40, "%s", jstr(j, "id"));
    json_decref(j);
}

static void token_device(const char *addr, const struct fix_user *u, const char *platform,
                         const char *token, char dev[40])
{
    json_t *j = fix_call(addr, "POST", "/v1/me/devices", u,
                         json_pack("{s:s,s:s}", "platform", platform, "token", token), 201);
    snprintf(dev, 40, "%s", jstr(j, "id"));
    json_decref(j);
}

/* A new final reflection of the student, shared with the coach: the coach
 * gets reflection.shared. Returns the reflection's id. */
static void share_new(const char *addr, struct world *w, char id[40])
{
    json_t *body = fix_reflection_body(w->team, test_day(-1),
                                       "GEHEIM: de nachtdienst met mevrouw J.", "final");
    json_t *j = fix_call(addr, "POST", "/v1/reflections", &w->student, body, 201);
    snprintf(id, 40, "%s", jstr(j, "id"));
    json_decref(j);
    char path[160];
    snprintf(path, sizeof(path), "/v1/reflections/%s/shares/%s", id, w->coach.id);
    json_decref(fix_call(addr, "PUT", path, &w->student, NULL, 204));
}

/* The Web Push messages received for sid (new reference), waiting up to
 * timeout_ms for at least n. */
static json_t *webpush_wait(struct doubles *d, const char *sid, size_t n, int timeout_ms)
{
    for (int waited = 0;; waited += 50) {
        json_t *s = doubles_state(d), *out = json_array(), *m;
        size_t i;
        json_array_foreach(json_object_get(s, "webpush"), i, m)
        {
            if (strcmp(jstr(m, "sid"), sid) == 0)
                json_array_append(out, m);
        }
        json_decref(s);
        if (json_array_size(out) >= n || waited >= timeout_ms)
            return out;
        json_decref(out);
        test_sleep_ms(50);
    }
}

static long sql_long(const char *fmt, const char *arg)
{
    char sql[1024], out[64];
    snprintf(sql, sizeof(sql), fmt, arg);
    cr_assert_eq(test_sql(sql, out, sizeof(out)), 0, "SQL failed: %s", sql);
    return atol(out);
}

/* Waits until the outbox holds no undelivered row for user; returns 1. */
static int outbox_drained(const char *user_id, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (sql_long("SELECT count(*) FROM outbox WHERE user_id = '%s' AND failed_at IS NULL",
                     user_id) == 0)
            return 1;
        test_sleep_ms(50);
    }
    return 0;
}

/* A whole file, NUL-terminated (malloc'd). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s", path);
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    cr_assert(m);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, got, m);
    fclose(f);
    fclose(m);
    return buf;
}

static double metric(const char *addr, const char *name)
{
    struct http_resp r;
    cr_assert_eq(http_get(addr, "/metrics", NULL, &r), 0);
    const char *p = strstr(r.body, name);
    while (p && p > r.body && p[-1] != '\n')
        p = strstr(p + 1, name);
    cr_assert(p, "no metric %s", name);
    double v = atof(p + strlen(name) + 1);
    http_resp_free(&r);
    return v;
}

/* One test's doubles, its own reflectd with a sender pointed at them, and
 * (for most tests) its world. */
struct notify_test {
    struct doubles d;
    struct spawned s;
    struct world w;
};

/* The doubles and the server; extra as for notify_server_with(). */
static void servers_start(struct notify_test *t, const char *extra)
{
    doubles_start(&t->d);
    notify_server_with(&t->s, &t->d, extra);
}

static void servers_stop(struct notify_test *t)
{
    cr_assert_eq(server_stop(&t->s), 0, "reflectd did not stop cleanly");
    doubles_stop(&t->d);
}

/* The servers and a world on them. */
static void notify_start(struct notify_test *t, const char *extra)
{
    servers_start(t, extra);
    world(&t->w, t->s.addr);
}

static void cleanup(struct notify_test *t)
{
    char sql[256];
    /* Devices of this test point at doubles about to stop. */
    snprintf(sql, sizeof(sql), "DELETE FROM devices WHERE organisation_id = '%s'", t->w.org.id);
    test_sql(sql, NULL, 0);
    servers_stop(t);
}

/* Exactly n Web Push messages reached sid (waiting up to timeout_ms). */
static void expect_pushes(struct doubles *d, const char *sid, size_t n, int timeout_ms)
{
    json_t *got = webpush_wait(d, sid, n, timeout_ms);
    cr_assert_eq(json_array_size(got), n, "%zu pushes, not %zu: %s", json_array_size(got), n,
                 jdump(got));
    json_decref(got);
}

/* How often the doubles were asked to deliver to key. */
static long long attempts_at(struct doubles *d, const char *key)
{
    json_t *st = doubles_state(d);
    long long n = json_integer_value(json_object_get(json_object_get(st, "attempts"), key));
    json_decref(st);
    return n;
}

/* Waits (up to 15 s) until some outbox row of user_id was tried n times;
 * returns the most attempts seen. */
static int outbox_attempts_reach(const char *user_id, int n)
{
    int tries = 0;
    for (int i = 0; i < 300 && tries < n; i++, test_sleep_ms(50))
        tries = (int)sql_long("SELECT coalesce(max(attempts), 0) FROM outbox WHERE user_id = '%s'",
                              user_id);
    return tries;
}

/* Waits (up to 15 s) until the devices of user_id are fewer than n;
 * returns how many are left. */
static int devices_below(const char *user_id, int n)
{
    int left = n;
    for (int i = 0; i < 300 && left >= n; i++, test_sleep_ms(50))
        left = (int)sql_long("SELECT count(*) FROM devices WHERE user_id = '%s'", user_id);
    return left;
}

static void run_reminders(const char *days)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT reminders_run(now() + interval '%s days')", days);
    cr_assert_eq(test_sql(sql, NULL, 0), 0, "%s", sql);
}

static void smtp_stop(struct doubles *d)
{
    json_decref(doubles_call(d, "POST", "/smtp/stop", NULL));
}

static void smtp_start(struct doubles *d)
{
    json_decref(doubles_call(d, "POST", "/smtp/start", NULL));
}

/* ---- devices and preferences ------------------------------------------------------------ */

Test(notify, devices_are_validated_owned_and_erased, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, NULL);
    json_t *sub = doubles_call(&t.d, "POST", "/subscribe", NULL);
    json_object_del(sub, "id");
    const char *ep_ok = jstr(sub, "endpoint");
    json_t *keys = json_object_get(sub, "keys");
    /* Wrong platform, a token for webpush, a host that is no push service
     * (the server must not be made to post to internal addresses), keys
     * that are not a P-256 point, an APNs token that is not hex. */
    json_decref(fix_call(t.s.addr, "POST", "/v1/me/devices", &t.w.coach,
                         json_pack("{s:s,s:s}", "platform", "sms", "token", "x"), 422));
    json_decref(fix_call(t.s.addr, "POST", "/v1/me/devices", &t.w.coach,
                         json_pack("{s:s,s:s}", "platform", "webpush", "token", "abc"), 422));
    json_decref(fix_call(t.s.addr, "POST", "/v1/me/devices", &t.w.coach,
                         json_pack("{s:s,s:{s:s,s:O}}", "platform", "webpush", "subscription",
                                   "endpoint", "https://169.254.169.254/latest", "keys", keys),
                         422));
    json_decref(
        fix_call(t.s.addr, "POST", "/v1/me/devices", &t.w.coach,
                 json_pack("{s:s,s:{s:s,s:{s:s,s:s}}}", "platform", "webpush", "subscription",
                           "endpoint", ep_ok, "keys", "p256dh", "AAAA", "auth", "AAAA"),
                 422));
    json_decref(fix_call(t.s.addr, "POST", "/v1/me/devices", &t.w.coach,
                         json_pack("{s:s,s:s}", "platform", "apns", "token", "not-hex-at-all"),
                         422));
    json_decref(sub);
    char sid[32], dev[40], path[96];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    /* Somebody else's device: 404, exactly like a missing one. */
    snprintf(path, sizeof(path), "/v1/me/devices/%s", dev);
    json_decref(fix_call(t.s.addr, "DELETE", path, &t.w.student, NULL, 404));
    json_decref(fix_call(t.s.addr, "DELETE", path, NULL, NULL, 401));
    json_decref(fix_call(t.s.addr, "DELETE", path, &t.w.coach, NULL, 204));
    json_decref(fix_call(t.s.addr, "DELETE", path, &t.w.coach, NULL, 404));
    /* Erasure takes the devices along. */
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    cr_assert_eq(sql_long("SELECT count(*) FROM devices WHERE user_id = '%s'", t.w.coach.id), 1);
    json_decref(fix_call(t.s.addr, "DELETE", "/v1/me", &t.w.coach, NULL, 204));
    cr_assert_eq(sql_long("SELECT count(*) FROM devices WHERE user_id = '%s'", t.w.coach.id), 0);
    json_t *k = fix_call(t.s.addr, "GET", "/v1/notifications/webpush-key", &t.w.student, NULL, 200);
    cr_assert_eq(strlen(jstr(k, "public_key")), 87, "a P-256 point is 87 base64url characters");
    json_decref(k);
    cleanup(&t);
}

Test(notify, preferences_and_organisation_defaults, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, NULL);
    json_t *p =
        fix_call(t.s.addr, "GET", "/v1/me/notification-preferences", &t.w.student, NULL, 200);
    cr_assert_str_eq(jstr(p, "locale"), "nl");
    cr_assert_str_eq(jstr(json_object_get(p, "quiet_hours"), "start"), "22:00");
    cr_assert_str_eq(jstr(json_object_get(p, "quiet_hours"), "end"), "07:00");
    json_t *kinds = json_object_get(p, "kinds");
    cr_assert_eq(json_object_size(kinds), 7);
    cr_assert_str_eq(jstr(json_object_get(kinds, "feedback_received"), "delivery"), "push");
    cr_assert_eq(json_integer_value(
                     json_object_get(json_object_get(kinds, "reminder_reflection"), "after_days")),
                 7);
    json_decref(p);
    /* Refusals: an unknown kind, after_days on an event kind, a bad zone,
     * quiet hours that are not HH:MM, an unknown field. */
    const char *bad[] = {"{\"kinds\":{\"newsletter\":{\"delivery\":\"push\"}}}",
                         "{\"kinds\":{\"feedback_received\":{\"delivery\":\"push\","
                         "\"after_days\":3}}}",
                         "{\"kinds\":{\"feedback_received\":{\"delivery\":\"hourly\"}}}",
                         "{\"time_zone\":\"Mars/Olympus_Mons\"}",
                         "{\"quiet_hours\":{\"start\":\"25:00\",\"end\":\"07:00\"}}",
                         "{\"quiet_hours\":\"22-07\"}",
                         "{\"colour\":\"blue\"}",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        struct http_resp r;
        cr_assert_eq(http_call(t.s.addr, "PUT", "/v1/me/notification-preferences",
                               t.w.student.token, bad[i], NULL, &r),
                     0);
        expect_problem(&r, 422);
        http_resp_free(&r);
    }
    p = fix_call(t.s.addr, "PUT", "/v1/me/notification-preferences", &t.w.student,
                 json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:{s:s},s:{s:s,s:i}}}", "locale", "en",
                           "time_zone", "Europe/Amsterdam", "quiet_hours", "start", "23:30", "end",
                           "06:15", "kinds", "feedback_received", "delivery", "daily",
                           "reminder_reflection", "delivery", "push", "after_days", 10),
                 200);
    cr_assert_str_eq(jstr(p, "locale"), "en");
    cr_assert_str_eq(jstr(json_object_get(p, "quiet_hours"), "start"), "23:30");
    kinds = json_object_get(p, "kinds");
    cr_assert_str_eq(jstr(json_object_get(kinds, "feedback_received"), "delivery"), "daily");
    json_decref(p);
    /* Organisation defaults: admins only (404 for anyone else), and they
     * apply to whatever a person did not choose. */
    json_decref(fix_call(t.s.addr, "GET", "/v1/organisation/notification-defaults", &t.w.student,
                         NULL, 404));
    json_decref(fix_call(t.s.addr, "PUT", "/v1/organisation/notification-defaults", &t.w.student,
                         json_pack("{}"), 404));
    p = fix_call(t.s.addr, "PUT", "/v1/organisation/notification-defaults", &t.w.org.admin,
                 json_pack("{s:{s:{s:s},s:{s:s,s:i}}}", "kinds", "reflection_shared", "delivery",
                           "weekly", "reminder_feedback_request", "delivery", "push", "after_days",
                           5),
                 200);
    cr_assert_str_eq(
        jstr(json_object_get(json_object_get(p, "kinds"), "reflection_shared"), "delivery"),
        "weekly");
    json_decref(p);
    p = fix_call(t.s.addr, "GET", "/v1/me/notification-preferences", &t.w.student, NULL, 200);
    kinds = json_object_get(p, "kinds");
    cr_assert_str_eq(jstr(json_object_get(kinds, "reflection_shared"), "delivery"), "weekly");
    cr_assert_str_eq(jstr(json_object_get(kinds, "feedback_received"), "delivery"), "daily");
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(kinds, "reminder_feedback_request"), "after_days")),
                 5);
    json_decref(p);
    cleanup(&t);
}

/* ---- Web Push ------------------------------------------------------------------------------- */

Test(notify, webpush_is_encrypted_vapid_signed_and_carries_no_content, .timeout = 90)
{
    struct notify_test t;
    notify_start(&t, NULL);
    char sid[32], dev[40], refl[40];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    enum { N = 10 };
    double lat[N];
    for (int i = 0; i < N; i++) {
        double t0 = now_s();
        share_new(t.s.addr, &t.w, refl);
        json_t *got = webpush_wait(&t.d, sid, (size_t)i + 1, 15000);
        cr_assert_eq(json_array_size(got), (size_t)i + 1, "push %d did not arrive", i);
        json_t *last = json_array_get(got, (size_t)i);
        lat[i] = json_real_value(json_object_get(last, "at")) - t0;
        json_t *m = json_object_get(last, "message");
        cr_assert_str_eq(jstr(m, "type"), "reflection.shared");
        cr_assert_str_eq(jstr(m, "reflection_id"), refl);
        cr_assert_str_eq(jstr(m, "kind"), "reflection_shared");
        cr_assert_str_eq(jstr(m, "body"), "Er is een reflectie met je gedeeld");
        /* Only what happened and the id: no text, no author. */
        cr_assert_eq(json_object_size(m), 5, "unexpected fields: %s", jdump(m));
        cr_assert(!strstr(jdump(m), "GEHEIM"));
        json_decref(got);
    }
    doubles_no_errors(&t.d);
    cr_assert(outbox_drained(t.w.coach.id, 5000));
    cr_assert(metric(t.s.metrics_addr, "reflectd_outbox_sent_total") >= N);
    double sum = 0, max = 0;
    for (int i = 0; i < N; i++) {
        sum += lat[i];
        max = lat[i] > max ? lat[i] : max;
    }
    fprintf(stderr,
            "webpush latency from the API request to the receiver: mean %.1f ms, max %.1f ms"
            " over %d pushes\n",
            sum / N * 1000, max * 1000, N);
    cleanup(&t);
}

Test(notify, webpush_5xx_is_retried_once_then_delivered_once, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, NULL);
    char sid[32], dev[40], refl[40];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    doubles_script(&t.d, sid, 503, 0);
    share_new(t.s.addr, &t.w, refl);
    expect_pushes(&t.d, sid, 1, 15000);
    cr_assert(outbox_drained(t.w.coach.id, 5000));
    cr_assert_eq(attempts_at(&t.d, sid), 2, "one 503, then one success");
    cr_assert_eq(metric(t.s.metrics_addr, "reflectd_outbox_retried_total"), 1);
    cr_assert_eq(metric(t.s.metrics_addr, "reflectd_outbox_sent_total"), 1);
    doubles_no_errors(&t.d);
    cleanup(&t);
}

/* A push service that answers 503 with Retry-After is not asked again
 * before then, although our own backoff here is at most one second. */
Test(notify, webpush_retry_after_is_honoured, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, NULL);
    char sid[32], dev[40], refl[40];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    json_decref(
        doubles_call(&t.d, "POST", "/script",
                     json_pack("{s:s,s:[i],s:i}", "key", sid, "statuses", 503, "retry_after", 3)));
    share_new(t.s.addr, &t.w, refl);
    expect_pushes(&t.d, sid, 1, 20000);
    json_t *st = doubles_state(&t.d);
    json_t *times = json_object_get(json_object_get(st, "attempt_times"), sid);
    cr_assert_eq(json_array_size(times), 2, "one 503, then one success: %s", jdump(times));
    double gap =
        json_real_value(json_array_get(times, 1)) - json_real_value(json_array_get(times, 0));
    cr_assert_geq(gap, 2.9, "retried %.2f s after a Retry-After of 3 s", gap);
    json_decref(st);
    doubles_no_errors(&t.d);
    cleanup(&t);
}

Test(notify, webpush_410_removes_the_subscription, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, NULL);
    char sid[32], dev[40], refl[40];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    doubles_script(&t.d, sid, 410, 0);
    share_new(t.s.addr, &t.w, refl);
    int gone = 0;
    for (int i = 0; i < 300 && !gone; i++, test_sleep_ms(50))
        gone = sql_long("SELECT count(*) FROM devices WHERE id = '%s'", dev) == 0;
    cr_assert(gone, "the dead subscription is still registered");
    cr_assert(outbox_drained(t.w.coach.id, 1000));
    /* The next event has nowhere to go: nothing is queued. */
    share_new(t.s.addr, &t.w, refl);
    cr_assert_eq(sql_long("SELECT count(*) FROM outbox WHERE user_id = '%s'", t.w.coach.id), 0);
    cr_assert_eq(metric(t.s.metrics_addr, "reflectd_outbox_dead_tokens_total"), 1);
    expect_pushes(&t.d, sid, 0, 0);
    cleanup(&t);
}

Test(notify, quiet_hours_hold_a_push_until_they_end, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, NULL);
    char sid[32], dev[40], refl[40], start[8], end[8];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    /* Quiet from an hour ago to an hour from now, in UTC. */
    time_t from = time(NULL) - 3600, until = time(NULL) + 3600;
    strftime(start, sizeof(start), "%H:%M", gmtime(&from));
    strftime(end, sizeof(end), "%H:%M", gmtime(&until));
    put_preferences(t.s.addr, &t.w.coach,
                    json_pack("{s:s,s:{s:s,s:s},s:{s:{s:s}}}", "time_zone", "UTC", "quiet_hours",
                              "start", start, "end", end, "kinds", "reminder_checkin", "delivery",
                              "off"));
    share_new(t.s.addr, &t.w, refl);
    cr_assert_eq(sql_long("SELECT count(*) FROM outbox WHERE user_id = '%s'"
                          " AND not_before > now() + interval '50 minutes'",
                          t.w.coach.id),
                 1, "the push must wait for the end of the quiet hours");
    /* The quiet hours end (as if an hour passed): it goes out. */
    sql_long("WITH u AS (UPDATE outbox SET not_before = now() WHERE user_id = '%s' RETURNING 1)"
             " SELECT count(*) FROM u",
             t.w.coach.id);
    expect_pushes(&t.d, sid, 1, 15000);
    /* Someone who works nights asks for pushes at any hour: at once. */
    put_preferences(t.s.addr, &t.w.coach,
                    json_pack("{s:s,s:n,s:{s:{s:s}}}", "time_zone", "UTC", "quiet_hours", "kinds",
                              "reminder_checkin", "delivery", "off"));
    share_new(t.s.addr, &t.w, refl);
    expect_pushes(&t.d, sid, 2, 15000);
    cleanup(&t);
}

Test(notify, two_instances_deliver_each_notification_once, .timeout = 120)
{
    struct notify_test t; /* t.s is the first instance */
    struct spawned b;
    notify_start(&t, NULL);
    notify_server(&b, &t.d);
    char sid[32], dev[40];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    enum { N = 30 };
    static char ids[N][40];
    for (int i = 0; i < N; i++)
        share_new(i % 2 ? t.s.addr : b.addr, &t.w, ids[i]);
    json_t *got = webpush_wait(&t.d, sid, N, 30000);
    cr_assert_eq(json_array_size(got), N, "got %zu of %d", json_array_size(got), N);
    cr_assert(outbox_drained(t.w.coach.id, 5000));
    json_decref(got);
    got = webpush_wait(&t.d, sid, N, 0);
    cr_assert_eq(json_array_size(got), N, "duplicates: %zu pushes for %d events",
                 json_array_size(got), N);
    for (int i = 0; i < N; i++) {
        int seen = 0;
        size_t k;
        json_t *m;
        json_array_foreach(got, k, m)
        {
            seen += strcmp(jstr(json_object_get(m, "message"), "reflection_id"), ids[i]) == 0;
        }
        cr_assert_eq(seen, 1, "reflection %d pushed %d times", i, seen);
    }
    json_decref(got);
    double sa = metric(t.s.metrics_addr, "reflectd_outbox_sent_total");
    double sb = metric(b.metrics_addr, "reflectd_outbox_sent_total");
    cr_assert_eq(sa + sb, N);
    fprintf(stderr, "two instances: %.0f and %.0f of %d pushes\n", sa, sb, N);
    doubles_no_errors(&t.d);
    cr_assert_eq(server_stop(&b), 0);
    cleanup(&t);
}

/* ---- APNs and FCM -----------------------------------------------------------------------------
 */

Test(notify, apns_and_fcm_are_authenticated_and_dead_tokens_removed, .timeout = 90)
{
    struct notify_test t;
    notify_start(&t, NULL);
    const char *apns_tok = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    const char *fcm_tok = "fcm-token_1:APA91bExample";
    char adev[40], fdev[40], refl[40];
    token_device(t.s.addr, &t.w.coach, "apns", apns_tok, adev);
    token_device(t.s.addr, &t.w.coach, "fcm", fcm_tok, fdev);
    char first[40];
    share_new(t.s.addr, &t.w, first);
    share_new(t.s.addr, &t.w, refl);
    json_t *st = NULL;
    for (int i = 0; i < 300; i++, test_sleep_ms(50)) {
        json_decref(st);
        st = doubles_state(&t.d);
        if (json_array_size(json_object_get(st, "apns")) >= 2 &&
            json_array_size(json_object_get(st, "fcm")) >= 2)
            break;
    }
    cr_assert_eq(json_array_size(json_object_get(st, "apns")), 2, "%s", jdump(st));
    cr_assert_eq(json_array_size(json_object_get(st, "fcm")), 2, "%s", jdump(st));
    /* The two shares' pushes may arrive in either order (the sender sends
     * a batch at once): find the second share's. */
    json_t *apns = json_object_get(st, "apns"), *fcm = json_object_get(st, "fcm");
    size_t ai = strcmp(jstr(json_object_get(json_array_get(apns, 0), "payload"), "reflection_id"),
                       refl) == 0
                    ? 0
                    : 1;
    json_t *ap = json_object_get(json_array_get(apns, ai), "payload");
    cr_assert_str_eq(jstr(json_object_get(json_object_get(ap, "aps"), "alert"), "body"),
                     "Er is een reflectie met je gedeeld");
    cr_assert_str_eq(jstr(ap, "reflection_id"), refl);
    cr_assert_str_eq(
        jstr(json_object_get(json_array_get(apns, 1 - ai), "payload"), "reflection_id"), first);
    size_t fi =
        strcmp(jstr(json_object_get(json_object_get(json_array_get(fcm, 0), "message"), "data"),
                    "reflection_id"),
               refl) == 0
            ? 0
            : 1;
    json_t *fm = json_object_get(json_array_get(fcm, fi), "message");
    cr_assert_str_eq(jstr(fm, "token"), fcm_tok);
    cr_assert_str_eq(jstr(json_object_get(fm, "data"), "reflection_id"), refl);
    /* One OAuth exchange for both sends: the access token is cached. */
    cr_assert_eq(json_integer_value(json_object_get(st, "fcm_tokens")), 1);
    json_decref(st);
    doubles_no_errors(&t.d);
    /* APNs 410 Unregistered and FCM 404 UNREGISTERED: both devices go. */
    doubles_script(&t.d, apns_tok, 410, 0);
    doubles_script(&t.d, fcm_tok, 404, 0);
    share_new(t.s.addr, &t.w, refl);
    cr_assert_eq(devices_below(t.w.coach.id, 1), 0, "dead tokens are still registered");
    /* The log names outbox ids and status codes, never a token or an address. */
    char *log = slurp(t.s.log);
    cr_assert(!strstr(log, apns_tok) && !strstr(log, fcm_tok) && !strstr(log, t.w.coach.email) &&
                  !strstr(log, t.w.coach.id),
              "personal data in the log:\n%s", log);
    cr_assert(strstr(log, "device removed"), "the removals are not logged:\n%s", log);
    free(log);
    cleanup(&t);
}

/* ---- e-mail digests
 * ------------------------------------------------------------------------------ */

/* The mails the SMTP double received for rcpt (new reference), waiting up
 * to timeout_ms for at least n. Other tests' people may get mail too (the
 * invitations of the run's imports, say), so tests count by recipient. */
static json_t *mails_to(struct doubles *d, const char *rcpt, size_t n, int timeout_ms)
{
    for (int waited = 0;; waited += 50) {
        json_t *s = doubles_state(d), *out = json_array(), *m;
        size_t i;
        json_array_foreach(json_object_get(s, "smtp"), i, m)
        {
            const char *to = json_string_value(json_array_get(json_object_get(m, "to"), 0));
            if (to && strcmp(to, rcpt) == 0)
                json_array_append(out, m);
        }
        json_decref(s);
        if (json_array_size(out) >= n || waited >= timeout_ms)
            return out;
        json_decref(out);
        test_sleep_ms(50);
    }
}

/* Today at 12:00 UTC, as SQL: the digest's hour in a UTC profile. */
static const char *noon(void)
{
    static char buf[40];
    time_t t = time(NULL);
    strftime(buf, sizeof(buf), "%Y-%m-%d 12:00:00+00", gmtime(&t));
    return buf;
}

Test(notify, smtp_digest_waits_for_the_server_and_arrives_once, .timeout = 90)
{
    struct notify_test t;
    notify_start(&t, NULL);
    put_preferences(t.s.addr, &t.w.coach,
                    json_pack("{s:s,s:n,s:{s:{s:s},s:{s:s}}}", "time_zone", "UTC", "quiet_hours",
                              "kinds", "reflection_shared", "delivery", "daily", "reminder_checkin",
                              "delivery", "off"));
    smtp_stop(&t.d);
    char refl[40];
    share_new(t.s.addr, &t.w, refl);
    share_new(t.s.addr, &t.w, refl);
    cr_assert_eq(sql_long("SELECT count(*) FROM digest_items WHERE user_id = '%s'", t.w.coach.id),
                 2);
    sql_long("SELECT digest_run('%s')", noon());
    cr_assert_eq(sql_long("SELECT count(*) FROM outbox WHERE user_id = '%s' AND channel = 'email'",
                          t.w.coach.id),
                 1, "one digest for both");
    /* The mail server is down: the digest is retried, not lost. */
    cr_assert(outbox_attempts_reach(t.w.coach.id, 2) >= 2, "the digest was not retried");
    double oldest = 0;
    for (int i = 0; i < 100 && oldest <= 0; i++, test_sleep_ms(50))
        oldest = metric(t.s.metrics_addr, "reflectd_outbox_oldest_waiting_seconds");
    cr_assert(oldest > 0, "the waiting digest is not in reflectd_outbox_oldest_waiting_seconds");
    smtp_start(&t.d);
    cr_assert(outbox_drained(t.w.coach.id, 20000), "the digest was not delivered");
    /* A second run the same day sends nothing more. */
    cr_assert_eq(sql_long("SELECT digest_run('%s')", noon()), 0);
    json_t *mails = mails_to(&t.d, t.w.coach.email, 1, 0);
    cr_assert_eq(json_array_size(mails), 1, "%s", jdump(mails));
    json_t *m = json_array_get(mails, 0);
    cr_assert(json_is_true(json_object_get(m, "tls")), "sent without STARTTLS");
    cr_assert(json_is_true(json_object_get(m, "authenticated")), "sent without AUTH");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "to"), 0)),
                     t.w.coach.email);
    const char *text = jstr(m, "data");
    cr_assert(strstr(text, "Subject: Je overzicht van Reflectie"), "%s", text);
    cr_assert(strstr(text, "Er is een reflectie met je gedeeld (2)"), "%s", text);
    cr_assert(!strstr(text, "GEHEIM"), "content leaked into the e-mail");
    json_decref(mails);
    cleanup(&t);
}

/* ---- invitation e-mails
 * ------------------------------------------------------------------------------ */

struct invitee {
    char email[128], name[96], id[40];
};

/* The admin of o imports a file with one new person (on addr). */
static void import_one(const char *addr, struct fix_org *o, struct invitee *p, const char *tag)
{
    char unique[64], csv[512];
    test_unique(unique, sizeof(unique), tag);
    snprintf(p->email, sizeof(p->email), "%s@test.example", unique);
    snprintf(p->name, sizeof(p->name), "Naam-%s", unique);
    snprintf(csv, sizeof(csv), "email,name\r\n%s,%s\r\n", p->email, p->name);
    struct http_resp r;
    cr_assert_eq(http_call(addr, "POST", "/v1/users/import?dry_run=false", o->admin.token, csv,
                           "Content-Type: text/csv\r\n", &r),
                 0);
    expect_status(&r, 200);
    http_resp_free(&r);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT id FROM users WHERE email = '%s'", p->email);
    cr_assert_eq(test_sql(sql, p->id, sizeof(p->id)), 0);
    cr_assert(strlen(p->id) == 36, "no user %s", p->email);
}

/* The one invitation p received (waiting up to 20 s): its text, checked
 * for the link and for no personal content; the token into token. */
static char *invitation_text(struct doubles *d, const struct invitee *p, char token[128])
{
    json_t *mails = mails_to(d, p->email, 1, 20000);
    cr_assert_eq(json_array_size(mails), 1, "%s", jdump(mails));
    json_t *m = json_array_get(mails, 0);
    cr_assert(json_is_true(json_object_get(m, "tls")), "sent without STARTTLS");
    cr_assert(json_is_true(json_object_get(m, "authenticated")), "sent without AUTH");
    char *text = strdup(jstr(m, "data"));
    json_decref(mails);
    cr_assert(text);
    const char *link = strstr(text, LINK_BASE "/set-password#token=");
    cr_assert(link, "no link in:\n%s", text);
    link += strlen(LINK_BASE "/set-password#token=");
    size_t n = strspn(link, "0123456789abcdef");
    cr_assert(n >= 32 && n < 128, "token of %zu characters:\n%s", n, text);
    memcpy(token, link, n);
    token[n] = '\0';
    cr_assert(!strstr(text, p->name) && !strstr(text, p->id), "personal content:\n%s", text);
    return text;
}

/* Delivered: sent_at is set, and the token is in neither table. */
static void expect_link_gone(const struct invitee *p, const char *token)
{
    cr_assert_eq(sql_long("SELECT count(*) FROM password_emails WHERE user_id = '%s'"
                          " AND sent_at IS NOT NULL AND token IS NULL",
                          p->id),
                 1, "the invitation is not marked sent");
    cr_assert_eq(sql_long("SELECT count(*) FROM password_emails WHERE token = '%s'", token), 0);
    cr_assert_eq(
        sql_long("SELECT count(*) FROM outbox WHERE strpos(payload::text, '%s') > 0", token), 0);
    cr_assert_eq(sql_long("SELECT count(*) FROM outbox WHERE user_id = '%s'", p->id), 0);
}

static void set_password_and_log_in(const char *addr, const struct invitee *p, const char *token)
{
    json_decref(fix_call(addr, "POST", "/v1/auth/set-password", NULL,
                         json_pack("{s:s,s:s}", "token", token, "password", FIX_PASSWORD), 204));
    struct fix_user u;
    cr_assert_eq(fix_login(p->email, FIX_PASSWORD, &u), 200, "cannot log in with the new password");
}

Test(notify, an_imported_user_gets_one_invitation_and_its_link_sets_the_password, .timeout = 60)
{
    struct notify_test t;
    struct fix_org o;
    struct invitee p;
    servers_start(&t, NULL);
    fix_org(&o);
    import_one(t.s.addr, &o, &p, "inv");
    char token[128];
    char *text = invitation_text(&t.d, &p, token);
    cr_assert(strstr(text, "Subject: Stel je wachtwoord in voor Reflectie"), "%s", text);
    cr_assert(strstr(text, "geldig tot"), "no expiry:\n%s", text);
    free(text);
    cr_assert(outbox_drained(p.id, 15000));
    expect_link_gone(&p, token);
    set_password_and_log_in(t.s.addr, &p, token);
    /* Nothing more goes to the person, and the log holds neither the token
     * nor the address. */
    json_t *again = mails_to(&t.d, p.email, 2, 0);
    cr_assert_eq(json_array_size(again), 1);
    json_decref(again);
    char *log = slurp(t.s.log);
    cr_assert(!strstr(log, token) && !strstr(log, p.email), "personal data in the log:\n%s", log);
    free(log);
    servers_stop(&t);
}

Test(notify, an_invitation_waits_for_the_mail_server_and_arrives_once, .timeout = 90)
{
    struct notify_test t;
    struct fix_org o;
    struct invitee p;
    servers_start(&t, NULL);
    fix_org(&o);
    /* An English-speaking organisation: its new people get the English text. */
    cr_assert_eq(sql_long("WITH u AS (UPDATE organisations SET notify_locale = 'en'"
                          " WHERE id = '%s' RETURNING 1) SELECT count(*) FROM u",
                          o.id),
                 1);
    smtp_stop(&t.d);
    import_one(t.s.addr, &o, &p, "inv-down");
    cr_assert(outbox_attempts_reach(p.id, 2) >= 2, "the invitation was not retried");
    cr_assert_eq(sql_long("SELECT count(*) FROM password_emails WHERE user_id = '%s'"
                          " AND sent_at IS NULL AND token IS NOT NULL",
                          p.id),
                 1, "the link went before it was sent");
    smtp_start(&t.d);
    cr_assert(outbox_drained(p.id, 20000), "the invitation was not delivered");
    char token[128];
    char *text = invitation_text(&t.d, &p, token);
    cr_assert(strstr(text, "Subject: Set your password for Reflection"), "%s", text);
    cr_assert(strstr(text, "valid until"), "no expiry:\n%s", text);
    free(text);
    expect_link_gone(&p, token);
    set_password_and_log_in(t.s.addr, &p, token);
    servers_stop(&t);
}

Test(notify, an_invitation_given_up_on_keeps_no_link, .timeout = 60)
{
    /* The mail server stays down past OUTBOX_MAX_ATTEMPTS: the row is kept
     * as failed for operators, and the link is gone from the database. */
    struct notify_test t;
    struct fix_org o;
    struct invitee p;
    servers_start(&t, "OUTBOX_MAX_ATTEMPTS=2");
    fix_org(&o);
    smtp_stop(&t.d);
    import_one(t.s.addr, &o, &p, "inv-fail");
    cr_assert(outbox_drained(p.id, 20000), "not given up");
    cr_assert_eq(sql_long("SELECT count(*) FROM outbox WHERE user_id = '%s' AND attempts = 2"
                          " AND failed_at IS NOT NULL AND payload ? 'password_email_id'"
                          " AND NOT payload ? 'token'",
                          p.id),
                 1);
    cr_assert_eq(sql_long("SELECT count(*) FROM password_emails WHERE user_id = '%s'"
                          " AND token IS NULL AND sent_at IS NULL",
                          p.id),
                 1, "the undeliverable link stayed");
    smtp_start(&t.d);
    cr_assert_eq(server_stop(&t.s), 0, "reflectd did not stop cleanly");
    json_t *none = mails_to(&t.d, p.email, 1, 0);
    cr_assert_eq(json_array_size(none), 0);
    json_decref(none);
    doubles_stop(&t.d);
}

/* ---- reminders
 * -------------------------------------------------------------------------------------- */

Test(notify, an_unanswered_feedback_request_is_reminded_twice_at_most, .timeout = 90)
{
    struct notify_test t;
    notify_start(&t, NULL);
    char sid[32], dev[40], refl[40], path[160];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    share_new(t.s.addr, &t.w, refl);
    snprintf(path, sizeof(path), "/v1/reflections/%s/feedback-requests", refl);
    json_decref(fix_call(t.s.addr, "POST", path, &t.w.student,
                         json_pack("{s:s}", "to_user_id", t.w.coach.id), 201));
    expect_pushes(&t.d, sid, 2, 15000); /* the share and the request */
    /* Days pass (the request is made older; reminders_run takes the time). */
    test_sqlf(NULL, 0,
              "UPDATE feedback_requests SET created_at = now() - interval '4 days'"
              " WHERE reflection_id = '%s'",
              refl);
    const char *days[] = {"0", "0", "1", "4", "8", "12", NULL};
    const size_t want[] = {3, 3, 3,
                           4, 4, 4}; /* pushes so far: at 0 d, again 3+ d later, then no more */
    for (int i = 0; days[i]; i++) {
        run_reminders(days[i]);
        cr_assert(outbox_drained(t.w.coach.id, 15000));
        json_t *got = webpush_wait(&t.d, sid, want[i], 0);
        cr_assert_eq(json_array_size(got), want[i], "after +%s days: %s", days[i], jdump(got));
        json_t *last = json_object_get(json_array_get(got, want[i] - 1), "message");
        if (want[i] > 2) {
            cr_assert_str_eq(jstr(last, "kind"), "reminder_feedback_request");
            cr_assert_str_eq(jstr(last, "body"), "Een feedbackvraag wacht nog op je antwoord");
        }
        json_decref(got);
    }
    doubles_no_errors(&t.d);
    cleanup(&t);
}

/* ---- other features' events -------------------------------------------------------------------
 */

Test(notify, feedback_from_an_external_colleague_is_pushed_too, .timeout = 60)
{
    /* Issue 16's invitations emit feedback.created through emit_event, so
     * the student's phone hears of it like of any feedback; feedback on a
     * moment (no reflection) carries no id at all. */
    struct notify_test t;
    notify_start(&t, NULL);
    put_preferences(t.s.addr, &t.w.student, json_pack("{s:n}", "quiet_hours"));
    char sid[32], dev[40];
    webpush_device(t.s.addr, &t.d, &t.w.student, sid, dev);
    json_t *inv = fix_call(t.s.addr, "POST", "/v1/feedback-invitations", &t.w.student,
                           json_pack("{s:s}", "line", "De tillift in kamer 12"), 201);
    const char *p = strstr(jstr(inv, "url"), "/f/");
    cr_assert(p, "no link in %s", jdump(inv));
    struct http_resp r;
    cr_assert_eq(http_call(t.s.addr, "POST", p, NULL,
                           "name=Ria&role=verpleegkundige&top=GEHEIM&tip=&question=",
                           "Content-Type: application/x-www-form-urlencoded\r\n", &r),
                 0);
    expect_status(&r, 200);
    http_resp_free(&r);
    json_decref(inv);
    json_t *got = webpush_wait(&t.d, sid, 1, 15000);
    cr_assert_eq(json_array_size(got), 1);
    json_t *m = json_object_get(json_array_get(got, 0), "message");
    cr_assert_str_eq(jstr(m, "type"), "feedback.created");
    cr_assert_str_eq(jstr(m, "body"), "Je hebt nieuwe feedback");
    cr_assert_eq(json_object_size(m), 4, "only type, kind, title and body: %s", jdump(m));
    cr_assert(!strstr(jdump(m), "GEHEIM") && !strstr(jdump(m), "Ria"));
    json_decref(got);
    doubles_no_errors(&t.d);
    cleanup(&t);
}

/* The pushes to sid of one kind so far. */
static size_t pushes_of(struct doubles *d, const char *sid, const char *kind)
{
    json_t *got = webpush_wait(d, sid, 0, 0), *m;
    size_t i, n = 0;
    json_array_foreach(got, i, m)
    {
        n += strcmp(jstr(json_object_get(m, "message"), "kind"), kind) == 0;
    }
    json_decref(got);
    return n;
}

/* Two reminder runs at the same moment (the janitors of two instances, or
 * a janitor and an operator) send one reminder, not two: run A holds its
 * transaction open after reminders_run, run B starts meanwhile and must
 * find A's reminder once A commits. Without the lock of migration 0015, B
 * waits only for A's reminder_log row and then counts a second sending. */
Test(notify, concurrent_reminder_runs_send_once, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, NULL);
    json_decref(fix_call(t.s.addr, "POST", "/v1/goals", &t.w.student,
                         json_pack("{s:s,s:s,s:s,s:s}", "what", "Overdracht SBAR", "why", "Veilig",
                                   "due_on", test_day(2), "status", "active"),
                         201));
    pid_t a = fork();
    cr_assert(a >= 0);
    if (a == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execlp("psql", "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", getenv("DATABASE_URL"),
               "-c", "BEGIN; SELECT reminders_run(now()); SELECT pg_sleep(1.5); COMMIT;",
               (char *)NULL);
        _exit(127);
    }
    test_sleep_ms(500);
    long long sent_b = test_sql_int("SELECT reminders_run(now())");
    int st;
    cr_assert_eq(waitpid(a, &st, 0), a);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "run A failed");
    cr_assert_eq(sent_b, 0, "the second run sent %lld reminders", sent_b);
    cr_assert_eq(test_sql_int("SELECT sent FROM reminder_log WHERE user_id = '%s'"
                              " AND kind = 'reminder_goal_due'",
                              t.w.student.id),
                 1);
    cleanup(&t);
}

Test(notify, reminders_for_goals_and_reflections_stop_once_done, .timeout = 90)
{
    struct notify_test t;
    notify_start(&t, NULL);
    put_preferences(t.s.addr, &t.w.student,
                    json_pack("{s:n,s:{s:{s:s}}}", "quiet_hours", "kinds", "reminder_checkin",
                              "delivery", "off"));
    char sid[32], dev[40], refl[40];
    webpush_device(t.s.addr, &t.d, &t.w.student, sid, dev);
    /* A goal due in two days is reminded once; an achieved one never. */
    json_t *g = fix_call(t.s.addr, "POST", "/v1/goals", &t.w.student,
                         json_pack("{s:s,s:s,s:s,s:s}", "what", "Overdracht SBAR", "why", "Veilig",
                                   "due_on", test_day(2), "status", "active"),
                         201);
    char goal[40];
    snprintf(goal, sizeof(goal), "%s", jstr(g, "id"));
    json_decref(g);
    json_decref(fix_call(t.s.addr, "POST", "/v1/goals", &t.w.student,
                         json_pack("{s:s,s:s,s:s,s:s}", "what", "Tillift", "why", "Rug", "due_on",
                                   test_day(1), "status", "achieved"),
                         201));
    run_reminders("0");
    run_reminders("0");
    cr_assert(outbox_drained(t.w.student.id, 15000));
    json_t *got = webpush_wait(&t.d, sid, 1, 15000);
    cr_assert_eq(json_array_size(got), 1, "%s", jdump(got));
    json_t *m = json_object_get(json_array_get(got, 0), "message");
    cr_assert_str_eq(jstr(m, "kind"), "reminder_goal_due");
    cr_assert_str_eq(jstr(m, "goal_id"), goal);
    json_decref(got);
    /* In the team for 8 days without a reflection: one gentle reminder,
     * not a second one. */
    test_sqlf(NULL, 0,
              "UPDATE team_members SET created_at = now() - interval '8 days' WHERE user_id = '%s'",
              t.w.student.id);
    run_reminders("0");
    run_reminders("0");
    cr_assert(outbox_drained(t.w.student.id, 15000));
    cr_assert_eq(pushes_of(&t.d, sid, "reminder_reflection"), 1);
    /* She reflects; a week passes for the throttle (last_at moved back), and
     * still nothing: the thing is done. */
    json_t *body = fix_reflection_body(t.w.team, test_day(0), "s", "final");
    json_t *x = fix_call(t.s.addr, "POST", "/v1/reflections", &t.w.student, body, 201);
    snprintf(refl, sizeof(refl), "%s", jstr(x, "id"));
    json_decref(x);
    test_sqlf(NULL, 0,
              "UPDATE reminder_log SET last_at = last_at - interval '8 days' WHERE user_id = '%s'",
              t.w.student.id);
    run_reminders("0");
    cr_assert(outbox_drained(t.w.student.id, 15000));
    cr_assert_eq(pushes_of(&t.d, sid, "reminder_reflection"), 1);
    cr_assert_eq(pushes_of(&t.d, sid, "reminder_goal_due"), 1);
    doubles_no_errors(&t.d);
    cleanup(&t);
}

Test(notify, a_refused_push_is_marked_failed_not_retried, .timeout = 60)
{
    /* A 400 from the push service will not change by retrying: the row is
     * kept as failed (with its code, for operators), the device stays. */
    struct notify_test t;
    notify_start(&t, NULL);
    char sid[32], dev[40], refl[40];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    doubles_script(&t.d, sid, 400, 0);
    share_new(t.s.addr, &t.w, refl);
    cr_assert(outbox_drained(t.w.coach.id, 15000));
    cr_assert_eq(sql_long("SELECT count(*) FROM outbox WHERE user_id = '%s' AND attempts = 1"
                          " AND last_error = 'http 400' AND failed_at IS NOT NULL",
                          t.w.coach.id),
                 1);
    cr_assert_eq(sql_long("SELECT count(*) FROM devices WHERE id = '%s'", dev), 1);
    cr_assert_eq(metric(t.s.metrics_addr, "reflectd_outbox_failed_total"), 1);
    cr_assert_eq(metric(t.s.metrics_addr, "reflectd_outbox_retried_total"), 0);
    /* The next one goes through. */
    share_new(t.s.addr, &t.w, refl);
    expect_pushes(&t.d, sid, 1, 15000);
    cleanup(&t);
}

Test(notify, a_push_that_keeps_failing_is_given_up_after_the_last_attempt, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, "OUTBOX_MAX_ATTEMPTS=3");
    char sid[32], dev[40], refl[40];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    json_decref(doubles_call(&t.d, "POST", "/script",
                             json_pack("{s:s,s:[i,i,i]}", "key", sid, "statuses", 503, 502, 500)));
    share_new(t.s.addr, &t.w, refl);
    cr_assert(outbox_drained(t.w.coach.id, 20000), "not given up");
    cr_assert_eq(sql_long("SELECT count(*) FROM outbox WHERE user_id = '%s' AND attempts = 3"
                          " AND last_error = 'http 500' AND failed_at IS NOT NULL",
                          t.w.coach.id),
                 1);
    cr_assert_eq(attempts_at(&t.d, sid), 3);
    cr_assert_eq(metric(t.s.metrics_addr, "reflectd_outbox_retried_total"), 2);
    cr_assert_eq(metric(t.s.metrics_addr, "reflectd_outbox_failed_total"), 1);
    cleanup(&t);
}

/* ---- the database goes away -------------------------------------------------------------------
 */

static void pg_up_again(void)
{
    if (test_pg("start") != 0)
        fprintf(stderr, "could not restart PostgreSQL in %s\n", getenv("PG_DIR"));
}

Test(notify, the_sender_reconnects_after_a_postgresql_restart, .timeout = 90, .fini = pg_up_again)
{
    struct notify_test t;
    notify_start(&t, NULL);
    char sid[32], dev[40], refl[40];
    webpush_device(t.s.addr, &t.d, &t.w.coach, sid, dev);
    cr_assert_eq(test_pg("stop"), 0, "could not stop PostgreSQL");
    test_sleep_ms(1000); /* the sender loses its connection and retries meanwhile */
    cr_assert_eq(test_pg("start"), 0, "PostgreSQL did not start again");
    cr_assert_eq(http_wait_status(t.s.addr, "/readyz", 200, 20000), 200, "not ready again");
    /* The API's pool and the fixtures' server need a moment too. */
    struct http_resp r;
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++, test_sleep_ms(100)) {
        cr_assert_eq(http_get(test_addr(), "/readyz", NULL, &r), 0);
        ok = r.status == 200;
        http_resp_free(&r);
    }
    share_new(t.s.addr, &t.w, refl);
    expect_pushes(&t.d, sid, 1, 20000);
    cleanup(&t);
}

Test(notify, a_check_in_reminder_before_the_month_closes_and_none_after_checking_in, .timeout = 60)
{
    struct notify_test t;
    notify_start(&t, NULL);
    put_preferences(t.s.addr, &t.w.student,
                    json_pack("{s:s,s:n}", "time_zone", "Europe/Amsterdam", "quiet_hours"));
    char sid[32], dev[40];
    webpush_device(t.s.addr, &t.d, &t.w.student, sid, dev);
    /* Noon on the month's last day, in the organisation's zone (Amsterdam):
     * the check-in period closes within 3 days. */
    const char *at =
        "((date_trunc('month', now() AT TIME ZONE 'Europe/Amsterdam')"
        " + interval '1 month' - interval '12 hours') AT TIME ZONE 'Europe/Amsterdam')";
    test_sqlf(NULL, 0, "SELECT reminders_run(%s)", at);
    test_sqlf(NULL, 0, "SELECT reminders_run(%s)", at);
    cr_assert(outbox_drained(t.w.student.id, 15000));
    cr_assert_eq(pushes_of(&t.d, sid, "reminder_checkin"), 1);
    json_t *got = webpush_wait(&t.d, sid, 1, 0), *m;
    size_t i;
    json_array_foreach(got, i, m)
    {
        json_t *msg = json_object_get(m, "message");
        if (strcmp(jstr(msg, "kind"), "reminder_checkin") == 0) {
            cr_assert_str_eq(jstr(msg, "team_id"), t.w.team);
            cr_assert_str_eq(jstr(msg, "body"), "De check-in van deze maand sluit binnenkort");
        }
    }
    json_decref(got);
    /* She checks in; even with the throttle forgotten (its row deleted),
     * nothing is reminded: the thing is done. */
    json_decref(fix_call(t.s.addr, "POST", "/v1/checkins", &t.w.student,
                         json_pack("{s:s,s:{s:i,s:i,s:i,s:i}}", "team_id", t.w.team, "scores",
                                   "absorptie", 6, "verbindend", 7, "opleidend", 8, "lerend", 7),
                         201));
    test_sqlf(NULL, 0,
              "DELETE FROM reminder_log WHERE user_id = '%s' AND kind = 'reminder_checkin'",
              t.w.student.id);
    test_sqlf(NULL, 0, "SELECT reminders_run(%s)", at);
    cr_assert(outbox_drained(t.w.student.id, 15000));
    cr_assert_eq(pushes_of(&t.d, sid, "reminder_checkin"), 1);
    cleanup(&t);
}
