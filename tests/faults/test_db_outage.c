/* test_db_outage.c - the server while PostgreSQL is gone, and after it returns.
 *
 * Stops (or SIGKILLs) the run's PostgreSQL cluster ($PG_DIR, through
 * scripts/pg.sh) under a private server and checks that requests needing the
 * database get a prompt 503 with Retry-After instead of hanging, that the
 * process stays up and /healthz keeps answering, and that the pool
 * reconnects by itself once the database is back. The fixture restarts
 * PostgreSQL whatever happens, so later runs find it up. Run with --jobs 1:
 * these tests take the shared database away from everyone. */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct spawned server;

static void outage_init(void)
{
    cr_assert_eq(server_spawn(&server, NULL), 0, "server did not start");
    cr_assert_eq(http_wait_status(server.addr, "/readyz", 200, 10000), 200,
                 "server never became ready");
}

static void outage_fini(void)
{
    if (test_pg("start") != 0)
        fprintf(stderr, "could not restart PostgreSQL in %s\n", getenv("PG_DIR"));
    server_stop(&server);
}

TestSuite(db_outage, .init = outage_init, .fini = outage_fini, .timeout = 90);

/* Requests needing the database must fail fast: the 2 s socket timeout is
 * the bound (a generous one: the answer takes milliseconds). */
static void expect_unavailable(const char *path)
{
    struct http_resp r;
    http_set_timeout_ms(2000);
    int rc = http_get(server.addr, path, NULL, &r);
    http_set_timeout_ms(0);
    cr_assert_eq(rc, 0, "%s did not answer within 2 s", path);
    expect_problem(&r, 503);
    expect_common_headers(&r);
    const char *ra = http_header(&r, "Retry-After");
    cr_assert(ra && atoi(ra) > 0, "503 needs a positive Retry-After:\n%s", r.head);
    http_resp_free(&r);
}

static void expect_healthy(void)
{
    struct http_resp r;
    cr_assert_eq(http_get(server.addr, "/healthz", NULL, &r), 0, "/healthz did not answer");
    expect_status(&r, 200);
    http_resp_free(&r);
}

static double pool_gauge(const char *state)
{
    struct http_resp r;
    char series[80];
    snprintf(series, sizeof(series), "reflectd_db_pool_connections{state=\"%s\"} ", state);
    cr_assert_eq(http_get(server.metrics_addr, "/metrics", NULL, &r), 0);
    expect_status(&r, 200);
    const char *line = strstr(r.body, series);
    cr_assert(line, "%s missing from /metrics", series);
    double v = strtod(line + strlen(series), NULL);
    http_resp_free(&r);
    return v;
}

/* Shared by both outages: what must hold while the database is away, and
 * that the pool heals when it is back. */
static void check_outage_and_recovery(void)
{
    for (int i = 0; i < 5; i++)
        expect_unavailable("/readyz");
    expect_healthy();
    cr_assert_gt(pool_gauge("down") + pool_gauge("connecting"), 0,
                 "the pool should report lost connections");
    cr_assert_eq(test_pg("start"), 0, "PostgreSQL did not start again");
    cr_assert_eq(http_wait_status(server.addr, "/readyz", 200, 15000), 200,
                 "the pool did not reconnect within 15 s");
    /* One connection suffices for /readyz; the others follow within their
     * reconnect back-off. */
    int waited = 0;
    while (pool_gauge("down") > 0 && waited++ < 100)
        usleep(100 * 1000);
    cr_assert_eq(pool_gauge("down"), 0, "connections still down 10 s after recovery");
    expect_healthy();
}

Test(db_outage, clean_stop_gives_503_then_recovers)
{
    cr_assert_eq(test_pg("stop"), 0, "could not stop PostgreSQL");
    check_outage_and_recovery();
    cr_assert_eq(server_stop(&server), 0, "server exited uncleanly after the outage");
}

/* The start time of process pid (field 22 of /proc/pid/stat), or 0 when
 * there is no such process. Together with the pid it names one process. */
static unsigned long long start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long t = 0;
    for (int field = 2; p && *p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (p && sscanf(p, " %llu", &t) != 1)
        t = 0;
    return t;
}

/* A SIGKILLed postmaster stays a zombie until init reaps it, and pg_ctl
 * takes a zombie for a running server: wait until it is really gone (its
 * pid may be reused meanwhile, hence the start time). */
static void wait_postmaster_gone(pid_t pid, unsigned long long started)
{
    for (int i = 0; start_time(pid) == started && i < 200; i++)
        usleep(50 * 1000);
    cr_assert_neq(start_time(pid), started, "killed postmaster %d still exists", (int)pid);
}

Test(db_outage, killed_database_gives_503_then_recovers)
{
    pid_t pid = test_postmaster_pid();
    cr_assert_gt(pid, 0, "no postmaster.pid in $PG_DIR/data");
    unsigned long long started = start_time(pid);
    cr_assert_gt(started, 0, "postmaster %d is not running", (int)pid);
    cr_assert_eq(test_pg("kill"), 0, "could not kill PostgreSQL");
    wait_postmaster_gone(pid, started);
    check_outage_and_recovery();
    cr_assert_eq(server_stop(&server), 0, "server exited uncleanly after the outage");
}
