/* test_crash_recovery.c - what a client was told survives a PostgreSQL
 * crash, and an overloaded or stuck database answers 503 instead of a hang.
 *
 *   - acknowledged_writes_survive_a_killed_database: client threads create
 *     reflections with their own ids (retrying an id after a 503 or a lost
 *     answer, as the app does) while PostgreSQL is SIGKILLed and restarted.
 *     The server must stay up, answer 503 + Retry-After (never hang) while
 *     the database is gone, keep /healthz at 200, become ready again, and
 *     every id it ever answered 201 or 200 must exist afterwards.
 *   - saturated_pool_answers_503: one connection (DB_POOL_SIZE=1,
 *     WORKERS=1, DB_WAIT_MS=200) and many concurrent heavy list requests;
 *     those that cannot get the connection within DB_WAIT_MS must get a
 *     prompt 503 + Retry-After rather than queue until the socket gives up.
 *   - slow_statement_is_cancelled: no API call on a small database is slow
 *     enough to reach STATEMENT_TIMEOUT_MS by itself, so a second database
 *     session (psql) holds an ACCESS EXCLUSIVE lock on reflections, the way
 *     a migration or a VACUUM FULL would. The list statement then really
 *     runs for STATEMENT_TIMEOUT_MS (2 s) before PostgreSQL cancels it: 503
 *     + Retry-After; meanwhile the pool's only connection is taken, so other
 *     requests get 503 after DB_WAIT_MS; afterwards the connection works.
 *   - start_up_never_crashes: the server is started and stopped many times
 *     on one CPU shared with a busy loop (so worker threads start late), and
 *     must always exit cleanly: worker 0's event listener used to wake
 *     every worker's streams as soon as its LISTEN was acknowledged, reading
 *     app->workers[i]->events before worker i had set it (NULL: SIGSEGV).
 *
 * Suite "crash"; run with --jobs 1 (it kills the run's PostgreSQL, $PG_DIR,
 * through scripts/pg.sh). The fini restarts PostgreSQL whatever happened. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct spawned server;
static pid_t locker = -1; /* the psql session holding a lock, if any */
static pid_t hog = -1;    /* a busy loop competing for the CPU, if any */

static void crash_fini(void)
{
    if (hog > 0) {
        kill(hog, SIGKILL);
        waitpid(hog, NULL, 0);
        hog = -1;
    }
    if (locker > 0) {
        kill(locker, SIGTERM);
        waitpid(locker, NULL, 0);
        locker = -1;
    }
    if (test_pg("start") != 0)
        fprintf(stderr, "could not restart PostgreSQL in %s\n", getenv("PG_DIR"));
    http_set_timeout_ms(0);
    server_stop(&server);
}

TestSuite(crash, .fini = crash_fini, .timeout = 180);

static void spawn(const char *const *env)
{
    cr_assert_eq(server_spawn(&server, env), 0, "server did not start");
    cr_assert_eq(http_wait_status(server.addr, "/readyz", 200, 10000), 200,
                 "server never became ready");
}

static void expect_process_alive(const char *when)
{
    int st;
    cr_assert_eq(waitpid(server.pid, &st, WNOHANG), 0, "the server died %s", when);
}

/* A 503 with a positive Retry-After within max_ms. (Tests set the socket
 * timeout once, for every thread: the harness keeps one per process.) */
static void expect_503_within(const char *path, const char *token, long long max_ms)
{
    struct http_resp r;
    long long t0 = test_now_ms();
    int rc = http_get(server.addr, path, token, &r);
    long long took = test_now_ms() - t0;
    cr_assert_eq(rc, 0, "%s got no answer (%lld ms)", path, took);
    expect_problem(&r, 503);
    const char *ra = http_header(&r, "Retry-After");
    cr_assert(ra && atoi(ra) > 0, "503 without a positive Retry-After:\n%s", r.head);
    http_resp_free(&r);
    cr_assert_lt(took, max_ms, "%s: the 503 took %lld ms", path, took);
}

static void expect_healthz(void)
{
    struct http_resp r;
    long long t0 = test_now_ms();
    int rc = http_get(server.addr, "/healthz", NULL, &r);
    cr_assert_eq(rc, 0, "/healthz got no answer");
    expect_status(&r, 200);
    http_resp_free(&r);
    cr_assert_lt(test_now_ms() - t0, 1000, "/healthz took %lld ms", test_now_ms() - t0);
}

static void new_uuid(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        abort();
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* ---- writers under a database crash ------------------------------------------ */

#define WRITERS   4
#define MAX_ACKED 20000

struct writer {
    pthread_t thread;
    const char *addr;
    char token[1024];
    char team[40];
    atomic_int *stop;
    /* results (read by the main thread after join) */
    char (*acked)[37];
    int nacked, n201, n200, n503, n503_bad, hangs, others, other_status;
    long long max_ms;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char id[37] = "";
    while (!atomic_load(w->stop)) {
        if (!id[0])
            new_uuid(id);
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s\",\"team_id\":\"%s\",\"occurred_on\":\"%s\","
                 "\"status\":\"draft\",\"situation\":\"crash test %s\"}",
                 id, w->team, test_day(-10), id);
        struct http_resp r;
        long long t0 = test_now_ms();
        int rc = http_call(w->addr, "POST", "/v1/reflections", w->token, body, NULL, &r);
        long long took = test_now_ms() - t0;
        if (took > w->max_ms)
            w->max_ms = took;
        if (rc != 0) {
            w->hangs++; /* no answer within the socket timeout; retry the id */
        } else if (r.status == 201 || r.status == 200) {
            if (r.status == 201)
                w->n201++;
            else
                w->n200++;
            if (w->nacked < MAX_ACKED)
                memcpy(w->acked[w->nacked++], id, 37);
            id[0] = '\0';
        } else if (r.status == 503) {
            const char *ra = http_header(&r, "Retry-After");
            w->n503++;
            if (!ra || atoi(ra) <= 0)
                w->n503_bad++;
            test_sleep_ms(20); /* the id is retried, as the app would */
        } else {
            w->others++;
            w->other_status = r.status;
            id[0] = '\0'; /* not retryable */
        }
        http_resp_free(&r);
    }
    return NULL;
}

Test(crash, acknowledged_writes_survive_a_killed_database)
{
    spawn(NULL);
    struct fix_org o;
    char team[40];
    fix_org(&o);
    fix_team(&o, team);
    static struct writer ws[WRITERS];
    static struct fix_user students[WRITERS];
    static char acked[WRITERS][MAX_ACKED][37];
    atomic_int stop = 0;
    for (int i = 0; i < WRITERS; i++) {
        fix_user(&o, NULL, &students[i]);
        fix_member(&o, team, &students[i], "student");
        memset(&ws[i], 0, sizeof(ws[i]));
        ws[i].addr = server.addr;
        snprintf(ws[i].token, sizeof(ws[i].token), "%s", students[i].token);
        snprintf(ws[i].team, sizeof(ws[i].team), "%s", team);
        ws[i].stop = &stop;
        ws[i].acked = acked[i];
    }
    /* A request must be answered within 3 s, down or not. */
    http_set_timeout_ms(3000);
    for (int i = 0; i < WRITERS; i++)
        cr_assert_eq(pthread_create(&ws[i].thread, NULL, writer_main, &ws[i]), 0);

    test_sleep_ms(1500);
    pid_t pm = test_postmaster_pid();
    cr_assert_gt(pm, 0, "no postmaster.pid in $PG_DIR/data");
    cr_assert_eq(test_pg("kill"), 0, "could not kill PostgreSQL");
    for (int i = 0; i < 200 && kill(pm, 0) == 0; i++)
        test_sleep_ms(50);
    cr_assert(kill(pm, 0) != 0, "the killed postmaster %d is still there", (int)pm);
    long long down_at = test_now_ms();

    /* While it is down: alive, 503 + Retry-After promptly, /healthz 200. */
    while (test_now_ms() - down_at < 3000) {
        expect_process_alive("while PostgreSQL was down");
        expect_503_within("/readyz", NULL, 2000);
        expect_503_within("/v1/reflections", students[0].token, 2000);
        expect_healthz();
        test_sleep_ms(250);
    }

    cr_assert_eq(test_pg("start"), 0, "PostgreSQL did not start again");
    long long up_at = test_now_ms();
    cr_assert_eq(http_wait_status(server.addr, "/readyz", 200, 20000), 200,
                 "not ready within 20 s of the restart");
    long long ready_ms = test_now_ms() - up_at;
    test_sleep_ms(1500); /* writes go on after the recovery */
    atomic_store(&stop, 1);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(ws[i].thread, NULL);
    http_set_timeout_ms(0);
    expect_process_alive("after the outage");

    int total = 0, n201 = 0, n200 = 0, n503 = 0, bad503 = 0, hangs = 0, others = 0, other = 0;
    long long max_ms = 0;
    for (int i = 0; i < WRITERS; i++) {
        total += ws[i].nacked;
        n201 += ws[i].n201;
        n200 += ws[i].n200;
        n503 += ws[i].n503;
        bad503 += ws[i].n503_bad;
        hangs += ws[i].hangs;
        others += ws[i].others;
        if (ws[i].others)
            other = ws[i].other_status;
        if (ws[i].max_ms > max_ms)
            max_ms = ws[i].max_ms;
    }
    fprintf(stderr,
            "crash: %d creates acknowledged (%d x 201, %d x 200 on a retried id), %d x 503, "
            "%d unanswered, %d other (last %d); slowest answer %lld ms; ready %lld ms after "
            "the restart\n",
            total, n201, n200, n503, hangs, others, other, max_ms, ready_ms);
    cr_assert_eq(hangs, 0, "%d requests got no answer within 3 s", hangs);
    cr_assert_eq(bad503, 0, "%d answers were 503 without Retry-After", bad503);
    cr_assert_gt(n503, 0, "the writers never saw the outage (no 503)");
    cr_assert_eq(others, 0, "%d answers were neither 201/200 nor 503 (last: %d)", others, other);
    cr_assert_gt(total, 0, "no create was acknowledged");

    /* Every acknowledged id is there, for its owner. */
    int missing = 0;
    for (int i = 0; i < WRITERS; i++) {
        for (int k = 0; k < ws[i].nacked; k++) {
            char path[96];
            snprintf(path, sizeof(path), "/v1/reflections/%s", ws[i].acked[k]);
            struct http_resp r;
            cr_assert_eq(http_get(server.addr, path, students[i].token, &r), 0);
            if (r.status != 200) {
                missing++;
                fprintf(stderr, "acknowledged reflection %s: GET answered %d\n", ws[i].acked[k],
                        r.status);
            }
            http_resp_free(&r);
        }
    }
    fprintf(stderr, "crash: %d of %d acknowledged reflections present after the restart\n",
            total - missing, total);
    cr_assert_eq(missing, 0, "%d acknowledged creates were lost", missing);
    cr_assert_eq(server_stop(&server), 0, "server exited uncleanly after the crash");
}

/* ---- a saturated pool ------------------------------------------------------------ */

static const char *const one_connection[] = {"DB_POOL_SIZE=1", "DB_WAIT_MS=200", "WORKERS=1",
                                             "STATEMENT_TIMEOUT_MS=2000", NULL};

/* A student with n reflections of about 7.5 KB each, so that a page of 100
 * costs the database real work (created through the shared server). */
static void heavy_student(struct fix_user *u, int n)
{
    struct fix_org o;
    char team[40];
    fix_org(&o);
    fix_team(&o, team);
    fix_user(&o, NULL, u);
    fix_member(&o, team, u, "student");
    char *text = malloc(1501);
    cr_assert(text);
    for (int i = 0; i < 1500; i++)
        text[i] = (char)('a' + i % 26);
    text[1500] = '\0';
    for (int i = 0; i < n; i++) {
        json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "team_id", team,
                              "occurred_on", test_day(-10), "status", "final", "situation", text,
                              "task", text, "action", text, "result", text, "reflection", text);
        struct http_resp r;
        cr_assert_eq(http_call_json(test_addr(), "POST", "/v1/reflections", u->token, b, NULL, &r),
                     0);
        json_decref(b);
        expect_status(&r, 201);
        http_resp_free(&r);
    }
    free(text);
}

#define FLOODERS    48
#define PER_FLOODER 4

struct flooder {
    pthread_t thread;
    const char *addr;
    const char *token;
    pthread_barrier_t *start;
    int n200, n503, n503_bad, hangs, others, other_status;
    long long max_ms, max_503_ms;
};

static void *flooder_main(void *arg)
{
    struct flooder *f = arg;
    pthread_barrier_wait(f->start);
    for (int i = 0; i < PER_FLOODER; i++) {
        struct http_resp r;
        long long t0 = test_now_ms();
        int rc = http_get(f->addr, "/v1/reflections?limit=100", f->token, &r);
        long long took = test_now_ms() - t0;
        if (took > f->max_ms)
            f->max_ms = took;
        if (rc != 0) {
            f->hangs++;
        } else if (r.status == 200) {
            f->n200++;
        } else if (r.status == 503) {
            f->n503++;
            if (took > f->max_503_ms)
                f->max_503_ms = took;
            const char *ra = http_header(&r, "Retry-After");
            if (!ra || atoi(ra) <= 0)
                f->n503_bad++;
        } else {
            f->others++;
            f->other_status = r.status;
        }
        http_resp_free(&r);
    }
    return NULL;
}

Test(crash, saturated_pool_answers_503)
{
    spawn(one_connection);
    struct fix_user u;
    heavy_student(&u, 100);
    /* How long one page takes alone. */
    struct http_resp r;
    long long t0 = test_now_ms();
    cr_assert_eq(http_get(server.addr, "/v1/reflections?limit=100", u.token, &r), 0);
    long long one_ms = test_now_ms() - t0;
    expect_status(&r, 200);
    http_resp_free(&r);

    static struct flooder fs[FLOODERS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, FLOODERS);
    http_set_timeout_ms(10000);
    for (int i = 0; i < FLOODERS; i++) {
        memset(&fs[i], 0, sizeof(fs[i]));
        fs[i].addr = server.addr;
        fs[i].token = u.token;
        fs[i].start = &start;
        cr_assert_eq(pthread_create(&fs[i].thread, NULL, flooder_main, &fs[i]), 0);
    }
    for (int i = 0; i < FLOODERS; i++)
        pthread_join(fs[i].thread, NULL);
    pthread_barrier_destroy(&start);
    http_set_timeout_ms(0);

    int n200 = 0, n503 = 0, bad = 0, hangs = 0, others = 0, other = 0;
    long long max_ms = 0, max_503 = 0;
    for (int i = 0; i < FLOODERS; i++) {
        n200 += fs[i].n200;
        n503 += fs[i].n503;
        bad += fs[i].n503_bad;
        hangs += fs[i].hangs;
        others += fs[i].others;
        if (fs[i].others)
            other = fs[i].other_status;
        if (fs[i].max_ms > max_ms)
            max_ms = fs[i].max_ms;
        if (fs[i].max_503_ms > max_503)
            max_503 = fs[i].max_503_ms;
    }
    fprintf(stderr,
            "pool: one page alone %lld ms; %d concurrent clients x %d: %d x 200, %d x 503, "
            "%d unanswered, %d other; slowest answer %lld ms, slowest 503 %lld ms\n",
            one_ms, FLOODERS, PER_FLOODER, n200, n503, hangs, others, max_ms, max_503);
    cr_assert_eq(hangs, 0, "%d requests got no answer within 10 s", hangs);
    cr_assert_eq(others, 0, "%d answers were neither 200 nor 503 (last %d)", others, other);
    cr_assert_lt(max_503, 1500, "a 503 took %lld ms (DB_WAIT_MS=200)", max_503);
    cr_assert_gt(n503, 0, "one connection served %d concurrent heavy requests without a 503",
                 FLOODERS * PER_FLOODER);
    cr_assert_eq(bad, 0, "%d answers were 503 without Retry-After", bad);
    cr_assert_gt(n200, 0, "nothing was served at all");
    expect_process_alive("after the flood");
    cr_assert_eq(http_wait_status(server.addr, "/readyz", 200, 5000), 200);
    cr_assert_eq(server_stop(&server), 0, "server exited uncleanly after the flood");
}

/* ---- a statement that runs too long ------------------------------------------------ */

/* The number of granted ACCESS EXCLUSIVE locks on reflections (psql). */
static int reflections_locked(const char *url)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "psql -X -At -d '%s' -c \"SELECT count(*) FROM pg_locks l JOIN pg_class c"
             " ON c.oid = l.relation WHERE c.relname = 'reflections'"
             " AND l.mode = 'AccessExclusiveLock' AND l.granted\"",
             url);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

/* A second database session (psql, in the background) that holds ACCESS
 * EXCLUSIVE on reflections for hold_s seconds; returns once it is held. */
static void hold_reflections_lock(int hold_s)
{
    const char *url = getenv("DATABASE_URL");
    cr_assert(url && *url, "DATABASE_URL is not set");
    char sleep_sql[64];
    snprintf(sleep_sql, sizeof(sleep_sql), "SELECT pg_sleep(%d)", hold_s);
    locker = fork();
    cr_assert(locker >= 0);
    if (locker == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execlp("psql", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", "BEGIN", "-c",
               "LOCK TABLE reflections IN ACCESS EXCLUSIVE MODE", "-c", sleep_sql, "-c", "COMMIT",
               (char *)NULL);
        _exit(127);
    }
    int held = 0;
    for (int i = 0; i < 100 && !held; i++) {
        held = reflections_locked(url) == 1;
        if (!held)
            test_sleep_ms(50);
    }
    cr_assert(held, "psql did not take the lock on reflections");
}

struct slow_call {
    pthread_t thread;
    const char *addr, *token;
    int rc, status, retry_after;
    long long ms;
};

static void *slow_call_main(void *arg)
{
    struct slow_call *c = arg;
    struct http_resp r;
    long long t0 = test_now_ms();
    c->rc = http_get(c->addr, "/v1/reflections", c->token, &r);
    c->ms = test_now_ms() - t0;
    c->status = r.status;
    const char *ra = http_header(&r, "Retry-After");
    c->retry_after = ra ? atoi(ra) : 0;
    http_resp_free(&r);
    return NULL;
}

Test(crash, slow_statement_is_cancelled)
{
    spawn(one_connection);
    struct fix_org o;
    struct fix_user u;
    char team[40];
    fix_org(&o);
    fix_team(&o, team);
    fix_user(&o, NULL, &u);
    fix_member(&o, team, &u, "student");

    hold_reflections_lock(4);
    http_set_timeout_ms(5000);
    struct slow_call slow = {.addr = server.addr, .token = u.token};
    cr_assert_eq(pthread_create(&slow.thread, NULL, slow_call_main, &slow), 0);
    test_sleep_ms(300);
    /* The pool's only connection now waits for the lock: other requests
     * needing the database get 503 once DB_WAIT_MS (200 ms) has passed. */
    for (int i = 0; i < 3; i++)
        expect_503_within("/v1/me", u.token, 1000);
    expect_healthz();
    pthread_join(slow.thread, NULL);
    http_set_timeout_ms(0);
    fprintf(stderr, "slow: the locked statement answered %d after %lld ms\n", slow.status, slow.ms);
    cr_assert_eq(slow.rc, 0, "the blocked request got no answer within 5 s");
    cr_assert_eq(slow.status, 503, "a statement over STATEMENT_TIMEOUT_MS answered %d",
                 slow.status);
    cr_assert_gt(slow.retry_after, 0, "503 without a positive Retry-After");
    cr_assert(slow.ms >= 1800 && slow.ms < 4000,
              "cancelled after %lld ms, expected about STATEMENT_TIMEOUT_MS (2000)", slow.ms);

    /* The lock goes (psql commits); the same connection serves again. */
    int st = 0;
    waitpid(locker, &st, 0);
    locker = -1;
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the psql session failed (%d)", st);
    struct http_resp r;
    int ok = 0;
    for (int i = 0; i < 50 && !ok; i++) {
        cr_assert_eq(http_get(server.addr, "/v1/reflections", u.token, &r), 0);
        ok = r.status == 200;
        http_resp_free(&r);
        if (!ok)
            test_sleep_ms(100);
    }
    cr_assert(ok, "the pool did not serve again after the lock was released");
    cr_assert_eq(server_stop(&server), 0, "server exited uncleanly");
}

/* ---- start-up under CPU contention --------------------------------------------- */

Test(crash, start_up_never_crashes)
{
    /* The servers run on one CPU at low priority (through a wrapper: the
     * harness execs $REFLECTD_BIN), next to a busy loop at normal priority:
     * a new worker thread then often waits milliseconds for its first time
     * slice. The test itself keeps every CPU. */
    if (system("command -v taskset >/dev/null 2>&1") != 0)
        cr_skip_test("taskset (util-linux) is missing");
    /* The first CPU this process may use (a container may not offer 0). */
    cpu_set_t mine;
    int cpu = 0;
    cr_assert_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
    while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &mine))
        cpu++;
    const char *bin = getenv("REFLECTD_BIN");
    char real[4096], wrapper[] = "/tmp/reflectd-wrap-XXXXXX";
    cr_assert(realpath(bin && *bin ? bin : "bin/reflectd", real), "no server binary");
    int fd = mkstemp(wrapper);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    cr_assert(f);
    fprintf(f, "#!/bin/sh\nexec taskset -c %d nice -n 10 '%s'\n", cpu, real);
    fclose(f);
    cr_assert_eq(chmod(wrapper, 0755), 0);
    setenv("REFLECTD_BIN", wrapper, 1);

    hog = fork();
    cr_assert(hog >= 0);
    if (hog == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof(one), &one) != 0)
            _exit(1);
        for (;;)
            ;
    }
    static const char *const env[] = {"WORKERS=8", NULL};
    int failed = 0, runs = 0, last = 0;
    long long t0 = test_now_ms();
    for (runs = 0; runs < 80 && test_now_ms() - t0 < 45000; runs++) {
        int rc = server_spawn(&server, env);
        int st = rc == 0 ? (test_sleep_ms(100), server_stop(&server)) : server.exit_status;
        if (st != 0) { /* a signal (128+n), or 1 from a sanitizer report */
            failed++;
            last = st;
        }
    }
    kill(hog, SIGKILL);
    waitpid(hog, NULL, 0);
    hog = -1;
    unlink(wrapper);
    fprintf(stderr, "start-up: %d of %d starts failed (last status %d)\n", failed, runs, last);
    cr_assert_eq(failed, 0,
                 "%d of %d starts ended with status %d (139: SIGSEGV; 1 under ASan/UBSan: see "
                 "the logs above)",
                 failed, runs, last);
}
