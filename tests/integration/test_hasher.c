/* test_hasher.c - the hasher process (issue 18): argon2id runs in a child
 * of reflectd, in a session of its own at the lowest priority, and when it
 * dies logins are answered 503 (never a wrong verdict) until a new child,
 * which reflectd starts by itself, takes over.
 *
 * On a private server: killing the shared server's hasher would turn other
 * tests' logins into 503s. Its argon2 cost is higher than the test default
 * so that a login is likely (not required) to be in flight at the kill.
 * No criterion .timeout: every step is bounded by the harness (HTTP_TIMEOUT_S
 * per request, server_spawn and server_stop wait a bounded time, the retry
 * loop a bounded count), and with one the runner reported a 48-byte leak of
 * its own (libcriterion) at exit under ASan. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const hasher_env[] = {"ARGON2_T_COST=3", "ARGON2_M_COST_KIB=32768",
                                         "HASH_THREADS=1", "LOGIN_MAX_FAILURES_ADDR=1000000", NULL};

/* A series of the private server's /metrics page (the test fails if absent). */
static long long hasher_metric(const struct spawned *s, const char *series)
{
    struct http_resp r;
    cr_assert_eq(http_get(s->metrics_addr, "/metrics", NULL, &r), 0);
    expect_status(&r, 200);
    char needle[128];
    snprintf(needle, sizeof(needle), "\n%s ", series);
    const char *p = strstr(r.body, needle);
    cr_assert(p, "series %s missing from /metrics", series);
    long long v = strtoll(p + strlen(needle), NULL, 10);
    http_resp_free(&r);
    return v;
}

/* Field n (1-based, after the command) of /proc/pid/stat, as a number. */
static long long proc_stat_field(pid_t pid, int n)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s: %s", path, strerror(errno));
    cr_assert(fgets(line, sizeof(line), f));
    fclose(f);
    const char *p = strrchr(line, ')'); /* the command may hold spaces */
    cr_assert(p);
    p += 2; /* field 3, the state */
    for (int i = 3; i < n; i++) {
        p = strchr(p, ' ');
        cr_assert(p);
        p++;
    }
    return strtoll(p, NULL, 10);
}

/* Does the open file f hold needle (read from its start)? Closes f. The
 * server's log is opened before server_stop, which unlinks it. */
static int log_contains(FILE *f, const char *needle)
{
    char line[2048];
    int found = 0;
    rewind(f);
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static int login_status(const struct spawned *s, const char *email, struct http_resp *r)
{
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", FIX_PASSWORD);
    int rc = http_call_json(s->addr, "POST", "/v1/auth/login", NULL, body, NULL, r);
    json_decref(body);
    cr_assert_eq(rc, 0, "no answer to a login");
    return r->status;
}

/* 200, or a 503 problem with Retry-After: nothing else while the hasher restarts. */
static int expect_ok_or_unavailable(const struct spawned *s, const char *email)
{
    struct http_resp r;
    int status = login_status(s, email, &r);
    cr_assert(status == 200 || status == 503, "login answered %d: %s", status, r.body);
    if (status == 503) {
        expect_problem(&r, 503);
        cr_assert(http_header(&r, "Retry-After"), "a 503 without Retry-After");
    }
    http_resp_free(&r);
    return status;
}

/* Logs in until a 200 (at most tries, 50 ms apart), accepting only 503
 * meanwhile; the last status. */
static int login_until_ok(const struct spawned *s, const char *email, int tries)
{
    int status = 0;
    for (int i = 0; i < tries && status != 200; i++) {
        status = expect_ok_or_unavailable(s, email);
        if (status != 200)
            test_sleep_ms(50);
    }
    return status;
}

struct in_flight {
    const struct spawned *s;
    const char *email;
    int status;
};

static void *login_thread(void *arg)
{
    struct in_flight *f = arg;
    struct http_resp r;
    json_t *body = json_pack("{s:s, s:s}", "email", f->email, "password", FIX_PASSWORD);
    f->status = http_call_json(f->s->addr, "POST", "/v1/auth/login", NULL, body, NULL, &r) == 0
                    ? r.status
                    : -1;
    json_decref(body);
    http_resp_free(&r);
    return NULL;
}

/* The hasher lowers its priority before it serves anything, so once it
 * has hashed one password it must be found there. (Read right after the
 * start instead, the fields can still be the parent's: the new process may
 * not have run yet.) */
Test(hasher, runs_apart_at_the_lowest_priority)
{
    struct fix_org o;
    fix_org(&o);
    struct spawned s;
    cr_assert_eq(server_spawn(&s, hasher_env), 0, "server did not start");
    struct http_resp r;
    cr_assert_eq(login_status(&s, o.admin.email, &r), 200, "%s", r.body);
    http_resp_free(&r);
    pid_t h = (pid_t)hasher_metric(&s, "reflectd_hasher_pid");
    cr_assert_gt(h, 0);
    cr_assert_eq(proc_stat_field(h, 4), s.pid, "the hasher is a child of reflectd");
    cr_assert_eq(proc_stat_field(h, 6), h, "the hasher leads a session of its own");
    cr_assert_eq(proc_stat_field(h, 19), 19, "the hasher runs at nice 19");
    cr_assert_eq(proc_stat_field(h, 41), 5, "the hasher runs at SCHED_IDLE");
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/autogroup", (long)h);
    FILE *f = fopen(path, "r");
    if (f) { /* only with autogroups in the kernel */
        char line[128] = "";
        cr_assert(fgets(line, sizeof(line), f));
        fclose(f);
        cr_assert(strstr(line, "nice 19"), "the hasher's autogroup: %s", line);
    }
    cr_assert_eq(server_stop(&s), 0);
    cr_assert_eq(kill(h, 0), -1, "the hasher outlived reflectd");
}

Test(hasher, a_killed_hasher_is_replaced_and_logins_work_again)
{
    struct fix_org o;
    fix_org(&o);
    struct spawned s;
    cr_assert_eq(server_spawn(&s, hasher_env), 0, "server did not start");
    struct http_resp r;
    cr_assert_eq(login_status(&s, o.admin.email, &r), 200, "%s", r.body);
    http_resp_free(&r);
    pid_t old = (pid_t)hasher_metric(&s, "reflectd_hasher_pid");
    cr_assert_gt(old, 0);
    cr_assert_eq(hasher_metric(&s, "reflectd_hasher_restarts_total"), 0);

    /* A login on its way, then the hasher killed under it. */
    struct in_flight f = {&s, o.admin.email, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, login_thread, &f), 0);
    test_sleep_ms(20);
    cr_assert_eq(kill(old, SIGKILL), 0);
    pthread_join(t, NULL);
    cr_assert(f.status == 200 || f.status == 503, "the login in flight got %d", f.status);
    /* Right after, and until the new hasher answers: 200 or 503 only. */
    int status = login_until_ok(&s, o.admin.email, 200);
    cr_assert_eq(status, 200, "logins never worked again after the hasher was killed");
    pid_t now = (pid_t)hasher_metric(&s, "reflectd_hasher_pid");
    cr_assert(now > 0 && now != old, "no new hasher process (%ld, was %ld)", (long)now, (long)old);
    cr_assert_eq(hasher_metric(&s, "reflectd_hasher_restarts_total"), 1);
    cr_assert_neq(proc_stat_field(now, 4), 0);
    /* The killed one was reaped: no zombie child left behind. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)old);
    FILE *z = fopen(path, "r");
    if (z) { /* the pid may have been reused by another process meanwhile */
        fclose(z);
        cr_assert_neq(proc_stat_field(old, 4), s.pid, "the killed hasher was not reaped");
    }
    /* A wrong password is still refused (a verdict, not a 503). */
    json_t *bad = json_pack("{s:s, s:s}", "email", o.admin.email, "password", "wrong password!");
    cr_assert_eq(http_call_json(s.addr, "POST", "/v1/auth/login", NULL, bad, NULL, &r), 0);
    json_decref(bad);
    expect_problem(&r, 401);
    http_resp_free(&r);
    FILE *log = fopen(s.log, "r");
    cr_assert(log, "%s: %s", s.log, strerror(errno));
    cr_assert_eq(server_stop(&s), 0, "SIGTERM after a restart must still exit 0");
    /* The new child was forked by the reader thread, whose end would fire
     * its parent-death signal: it must be stopped before that thread. */
    cr_assert_not(log_contains(log, "while stopping"), "the restarted hasher did not stop cleanly");
}

/* A hasher that lives but does not answer (here: stopped) holds no login
 * beyond HASH_TIMEOUT_MS: 503 with Retry-After. Its late reply, once it
 * runs again, is dropped without a restart, and logins work again. */
Test(hasher, a_stopped_hasher_gets_503_at_the_deadline)
{
    struct fix_org o;
    fix_org(&o);
    static const char *const env[] = {"ARGON2_T_COST=1", "ARGON2_M_COST_KIB=1024",
                                      "HASH_TIMEOUT_MS=300", "LOGIN_MAX_FAILURES_ADDR=1000000",
                                      NULL};
    struct spawned s;
    cr_assert_eq(server_spawn(&s, env), 0, "server did not start");
    pid_t h = (pid_t)hasher_metric(&s, "reflectd_hasher_pid");
    cr_assert_gt(h, 0);
    cr_assert_eq(kill(h, SIGSTOP), 0);
    struct http_resp r;
    int status = login_status(&s, o.admin.email, &r);
    cr_assert_eq(kill(h, SIGCONT), 0);
    cr_assert_eq(status, 503, "a login while the hasher is stopped got %d: %s", status, r.body);
    expect_problem(&r, 503);
    cr_assert(http_header(&r, "Retry-After"), "a 503 without Retry-After");
    http_resp_free(&r);
    status = login_until_ok(&s, o.admin.email, 100);
    cr_assert_eq(status, 200, "logins never worked again after the hasher continued");
    cr_assert_eq(hasher_metric(&s, "reflectd_hasher_pid"), h, "the late reply restarted it");
    cr_assert_eq(hasher_metric(&s, "reflectd_hasher_restarts_total"), 0);
    cr_assert_eq(server_stop(&s), 0);
}
