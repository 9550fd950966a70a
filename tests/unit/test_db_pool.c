/* test_db_pool.c - db/db.c's pool against the run's throwaway PostgreSQL
 * (DATABASE_URL, which scripts/test.sh exports; skipped without it).
 *
 * Pipeline mode: many statements on a pool of one connection with depth 4
 * all answer, correctly and in the order sent; an error in the middle of a
 * pipeline fails only its own statement; a statement that does not prepare
 * gets its own error, also when the same statement is behind it in the
 * pipeline, and the statements around it still run; a connection killed
 * (pg_terminate_backend) with several statements in flight fails each of
 * them with DB_UNAVAILABLE exactly once, and the pool heals; a schema
 * change under a prepared statement (0A000) fails the statements already
 * sent, and the connection comes back with the statement prepared afresh.
 * Depth 1 (no
 * pipeline) gives the same answers. Every callback is checked to come from
 * the loop, never from inside db_query.
 *
 * Group commit: DB_GROUP statements of one turn share one transaction (one
 * txid), up to group_max, and a statement without the flag does not join
 * them; a group in which one statement fails is rolled back, the failing
 * statement runs again alone (its own answer) and the others in groups
 * again, their rows committed once; a schema change under a group's
 * prepared statement drains the connection and every statement of the group
 * then succeeds on a new one; a group on a killed connection fails each of
 * its statements with DB_UNAVAILABLE once. */
#include "db/db.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NQ 40

static const char SQL_ECHO[] = "SELECT $1::int AS n";
static const char SQL_BIN[] = "SELECT $1::int4 AS n";
static const char SQL_DIV[] = "SELECT 10 / $1::int";
static const char SQL_BAD[] = "SELECT nope FROM no_such_table_here WHERE $1::int = 1";
/* 0: no sleep (to prepare it); else 2 s, long past the kill. */
static const char SQL_SLEEP[] = "SELECT $1::int, pg_sleep(least($1::int, 1) * 2)";

struct answer {
    int calls;
    enum db_status status;
    char sqlstate[6];
    int value;   /* the first column as an integer, when DB_OK */
    int value2;  /* the second, when there is one (text results) */
    int nfields; /* columns, when DB_OK */
    int order;   /* when it arrived, 1, 2, ... */
};

static struct event_base *base;
static struct db_pool *pool;
static struct answer ans[NQ];
static int answered, expected, arrivals, inside_db_query;

static void on_result(struct db_result *r, void *arg)
{
    struct answer *a = arg;
    cr_assert(!inside_db_query, "a callback ran from inside db_query");
    a->calls++;
    a->status = r->status;
    snprintf(a->sqlstate, sizeof(a->sqlstate), "%s", r->sqlstate);
    a->order = ++arrivals;
    if (r->status == DB_OK)
        a->nfields = PQnfields(r->res);
    if (r->status == DB_OK && PQntuples(r->res) == 1) {
        const char *v = PQgetvalue(r->res, 0, 0);
        if (PQfformat(r->res, 0) == 1) {
            uint32_t n;
            cr_assert_eq(PQgetlength(r->res, 0, 0), 4);
            memcpy(&n, v, 4);
            a->value = (int)ntohl(n);
        } else {
            a->value = atoi(v);
            if (PQnfields(r->res) > 1)
                a->value2 = atoi(PQgetvalue(r->res, 0, 1));
        }
    }
    if (++answered == expected)
        event_base_loopbreak(base);
}

/* flags: DB_BINARY, DB_GROUP (1 is DB_BINARY). */
static void query(const char *sql, int n, int flags, struct answer *a)
{
    char v[16];
    snprintf(v, sizeof(v), "%d", n);
    const char *values[] = {v};
    inside_db_query = 1;
    db_query_fmt(pool, sql, 1, values, flags, on_result, a);
    inside_db_query = 0;
}

static void hang_guard(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    cr_assert_fail("no answer to %d of %d statements", expected - answered, expected);
}

/* Runs the loop until `expected` answers have arrived. */
static void run(void)
{
    struct event *guard = evtimer_new(base, hang_guard, NULL);
    struct timeval tv = {60, 0};
    evtimer_add(guard, &tv);
    if (answered < expected)
        event_base_dispatch(base);
    event_free(guard);
}

static void reset(int n)
{
    memset(ans, 0, sizeof(ans));
    answered = arrivals = 0;
    expected = n;
}

static void wait_connected(void)
{
    struct db_stats st;
    for (int i = 0; i < 1000; i++) {
        db_pool_stats(pool, &st);
        if (st.idle == st.size)
            return;
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    cr_assert_fail("the pool did not connect");
}

static void open_pool_grouped(int depth, int group_max, int size, const char *app)
{
    const char *url = getenv("DATABASE_URL");
    if (!url)
        cr_skip_test("DATABASE_URL is not set (scripts/test.sh sets it)");
    base = event_base_new();
    cr_assert(base);
    struct db_pool_config cfg = {.conninfo = url,
                                 .size = size,
                                 .queue_max = 1000,
                                 .wait_ms = 30000,
                                 .statement_timeout_ms = 10000,
                                 .application_name = app,
                                 .pipeline_depth = depth,
                                 .group_max = group_max};
    pool = db_pool_new(base, &cfg);
    cr_assert(pool);
    wait_connected();
}

static void open_pool(int depth, const char *app)
{
    open_pool_grouped(depth, 0, 1, app);
}

static void close_pool(void)
{
    db_pool_free(pool);
    pool = NULL;
    event_base_free(base);
    base = NULL;
}

static void many_in_order(int depth)
{
    open_pool(depth, "test-db-pool");
    reset(NQ);
    for (int i = 0; i < NQ; i++)
        query(i % 3 == 2 ? SQL_BIN : SQL_ECHO, 1000 + i, i % 3 == 2, &ans[i]);
    struct db_stats st;
    db_pool_stats(pool, &st);
    cr_assert_eq(st.busy, 1);
    cr_assert_eq(st.inflight, depth);
    cr_assert_eq(st.waiting, NQ - depth);
    run();
    for (int i = 0; i < NQ; i++) {
        cr_assert_eq(ans[i].calls, 1, "statement %d answered %d times", i, ans[i].calls);
        cr_assert_eq(ans[i].status, DB_OK, "statement %d: status %d (%s)", i, ans[i].status,
                     ans[i].sqlstate);
        cr_assert_eq(ans[i].value, 1000 + i, "statement %d gave %d", i, ans[i].value);
        cr_assert_eq(ans[i].order, i + 1, "statement %d arrived as %d", i, ans[i].order);
    }
    db_pool_stats(pool, &st);
    cr_assert_eq(st.idle, 1);
    cr_assert_eq(st.inflight, 0);
    cr_assert_eq(st.waiting, 0);
    close_pool();
}

Test(db_pool, pipeline_answers_many_in_order)
{
    many_in_order(4);
}

Test(db_pool, depth_one_answers_many_in_order)
{
    many_in_order(1);
}

/* ok, 10/0, ok, 10/0, ok in one pipeline: only the divisions fail. */
static void error_fails_only_itself(int depth)
{
    open_pool(depth, "test-db-pool");
    reset(6);
    query(SQL_ECHO, 1, 0, &ans[0]);
    query(SQL_DIV, 0, 0, &ans[1]);
    query(SQL_DIV, 5, 0, &ans[2]);
    query(SQL_DIV, 0, 0, &ans[3]);
    query(SQL_ECHO, 4, 0, &ans[4]);
    query(SQL_DIV, 2, 1, &ans[5]);
    run();
    int want_ok[] = {1, 0, 1, 0, 1, 1};
    int want_value[] = {1, 0, 2, 0, 4, 5};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(ans[i].calls, 1);
        cr_assert_eq(ans[i].order, i + 1);
        if (want_ok[i]) {
            cr_assert_eq(ans[i].status, DB_OK, "statement %d: %d (%s)", i, ans[i].status,
                         ans[i].sqlstate);
            cr_assert_eq(ans[i].value, want_value[i]);
        } else {
            cr_assert_eq(ans[i].status, DB_ERROR, "statement %d: %d", i, ans[i].status);
            cr_assert_str_eq(ans[i].sqlstate, "22012"); /* division_by_zero */
        }
    }
    close_pool();
}

Test(db_pool, pipeline_error_fails_only_its_statement)
{
    error_fails_only_itself(4);
}

Test(db_pool, depth_one_error_fails_only_its_statement)
{
    error_fails_only_itself(1);
}

/* A statement that does not prepare: its error is the query's (42P01),
 * the same statement right behind it gets the same error, not one about a
 * missing prepared statement, and those around them run. The next use,
 * later, tries to prepare it again. */
static void prepare_failure(int depth)
{
    open_pool(depth, "test-db-pool");
    reset(4);
    query(SQL_ECHO, 7, 0, &ans[0]);
    query(SQL_BAD, 1, 0, &ans[1]);
    query(SQL_BAD, 1, 0, &ans[2]);
    query(SQL_ECHO, 8, 0, &ans[3]);
    run();
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(ans[i].calls, 1);
        cr_assert_eq(ans[i].order, i + 1);
    }
    cr_assert_eq(ans[0].status, DB_OK);
    cr_assert_eq(ans[0].value, 7);
    cr_assert_eq(ans[1].status, DB_ERROR);
    cr_assert_str_eq(ans[1].sqlstate, "42P01"); /* undefined_table */
    cr_assert_eq(ans[2].status, DB_ERROR);
    cr_assert_str_eq(ans[2].sqlstate, "42P01");
    cr_assert_eq(ans[3].status, DB_OK);
    cr_assert_eq(ans[3].value, 8);
    reset(2);
    query(SQL_BAD, 1, 0, &ans[0]);
    query(SQL_ECHO, 9, 0, &ans[1]);
    run();
    cr_assert_eq(ans[0].status, DB_ERROR);
    cr_assert_str_eq(ans[0].sqlstate, "42P01");
    cr_assert_eq(ans[1].status, DB_OK);
    cr_assert_eq(ans[1].value, 9);
    close_pool();
}

Test(db_pool, pipeline_statement_that_does_not_prepare)
{
    prepare_failure(4);
}

Test(db_pool, depth_one_statement_that_does_not_prepare)
{
    prepare_failure(1);
}

static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs one statement on a connection of the test's own. */
static void exec_own(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("DATABASE_URL"));
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, no_notices, NULL); /* "does not exist, skipping" */
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* The statement's table gains a column under the prepared statement: the
 * statements sent meanwhile fail ("cached plan must not change result
 * type"), the connection reconnects, and the statement then works with
 * the new shape. */
static void stale_plan(int depth, const char *create, const char *alter, const char *drop,
                       const char *sql)
{
    open_pool(depth, "test-db-pool");
    exec_own(drop);
    exec_own(create);
    reset(1);
    query(sql, 3, 0, &ans[0]);
    run();
    cr_assert_eq(ans[0].status, DB_OK, "%s", ans[0].sqlstate);
    cr_assert_eq(ans[0].nfields, 1);
    exec_own(alter);
    int n = depth + 1;
    reset(n);
    for (int i = 0; i < n; i++)
        query(sql, 3, 0, &ans[i]);
    run();
    cr_assert_eq(ans[0].status, DB_ERROR);
    cr_assert_str_eq(ans[0].sqlstate, "0A000");
    for (int i = 0; i < n; i++)
        cr_assert_eq(ans[i].calls, 1);
    /* Those sent after the connection was found stale ran on a new one, or
     * failed with it; the next one certainly runs, with two columns. */
    for (int i = 0; i < 200; i++) {
        reset(1);
        query(sql, 3, 0, &ans[0]);
        run();
        if (ans[0].status == DB_OK)
            break;
        struct timeval tv = {0, 50000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    cr_assert_eq(ans[0].status, DB_OK, "status %d (%s)", ans[0].status, ans[0].sqlstate);
    cr_assert_eq(ans[0].nfields, 2);
    exec_own(drop);
    close_pool();
}

static const char SQL_STALE4[] = "SELECT * FROM db_pool_stale4 WHERE $1::int > 0";
static const char SQL_STALE1[] = "SELECT * FROM db_pool_stale1 WHERE $1::int > 0";

Test(db_pool, pipeline_schema_change_under_a_prepared_statement)
{
    stale_plan(4, "CREATE TABLE db_pool_stale4 (a int)",
               "ALTER TABLE db_pool_stale4 ADD COLUMN b int", "DROP TABLE IF EXISTS db_pool_stale4",
               SQL_STALE4);
}

/* A schema change under a grouped prepared statement: the group fails
 * (0A000) and rolls back, the connection drains and reconnects, and every
 * statement of the group runs on the other one, prepared afresh. */
Test(db_pool, group_schema_change_under_a_prepared_statement)
{
    static const char SQL_STALEG[] = "SELECT * FROM db_pool_staleg WHERE $1::int > 0";
    open_pool_grouped(1, 8, 2, "test-db-pool"); /* one to drain, one to take over */
    exec_own("DROP TABLE IF EXISTS db_pool_staleg");
    exec_own("CREATE TABLE db_pool_staleg (a int)");
    exec_own("INSERT INTO db_pool_staleg VALUES (1)");
    reset(1);
    query(SQL_STALEG, 3, 0, &ans[0]); /* prepared on the pool's one connection */
    run();
    cr_assert_eq(ans[0].status, DB_OK, "%s", ans[0].sqlstate);
    exec_own("ALTER TABLE db_pool_staleg ADD COLUMN b int");
    reset(5);
    for (int i = 0; i < 5; i++)
        query(SQL_STALEG, 3, DB_GROUP, &ans[i]);
    run();
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ans[i].calls, 1);
        cr_assert_eq(ans[i].status, DB_OK, "statement %d: %d (%s)", i, ans[i].status,
                     ans[i].sqlstate);
        cr_assert_eq(ans[i].nfields, 2, "statement %d ran on the old plan", i);
    }
    struct db_stats st;
    db_pool_stats(pool, &st);
    cr_assert_eq(st.group_failures, 1);
    exec_own("DROP TABLE db_pool_staleg");
    close_pool();
}

Test(db_pool, depth_one_schema_change_under_a_prepared_statement)
{
    stale_plan(1, "CREATE TABLE db_pool_stale1 (a int)",
               "ALTER TABLE db_pool_stale1 ADD COLUMN b int", "DROP TABLE IF EXISTS db_pool_stale1",
               SQL_STALE1);
}

/* Terminates the pool's backend, found by its application_name, from a
 * connection of the test's own. */
static void terminate(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    const char *app = arg;
    PGconn *c = PQconnectdb(getenv("DATABASE_URL"));
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    const char *values[] = {app};
    PGresult *r = PQexecParams(c,
                               "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE application_name = $1 AND state = 'active'",
                               1, NULL, values, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "1", "backends of %s terminated", app);
    PQclear(r);
    PQfinish(c);
}

/* Waits (through the loop) until the pool answers a statement again. */
static void heal(void)
{
    for (int i = 0; i < 200; i++) {
        reset(1);
        query(SQL_ECHO, 42, 0, &ans[0]);
        run();
        if (ans[0].status == DB_OK) {
            cr_assert_eq(ans[0].value, 42);
            return;
        }
        cr_assert_eq(ans[0].status, DB_UNAVAILABLE, "status %d while healing", ans[0].status);
        struct timeval tv = {0, 50000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    cr_assert_fail("the pool did not heal");
}

/* group_max 0: depth statements in a pipeline; else a group of depth. */
static void killed_in_flight(int depth, int group_max)
{
    static char app[] = "test-db-pool-kill-0-0";
    app[sizeof(app) - 4] = (char)('0' + depth % 10);
    app[sizeof(app) - 2] = (char)('0' + group_max % 10);
    open_pool_grouped(group_max ? 1 : depth, group_max, 1, app);
    /* Prepared first, so the kill finds the sleep itself running. */
    reset(1);
    query(SQL_SLEEP, 0, 0, &ans[0]);
    run();
    cr_assert_eq(ans[0].status, DB_OK);
    int n = depth + 2; /* a full pipeline, and two waiting */
    reset(n);
    for (int i = 0; i < n; i++)
        query(SQL_SLEEP, i + 1, group_max ? DB_GROUP : 0, &ans[i]);
    struct event *kill = evtimer_new(base, terminate, app);
    struct timeval tv = {0, 300000};
    evtimer_add(kill, &tv);
    run();
    event_free(kill);
    int unavailable = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(ans[i].calls, 1, "statement %d answered %d times", i, ans[i].calls);
        unavailable += ans[i].status == DB_UNAVAILABLE;
    }
    /* Those in the pipeline were on the broken connection; those waiting
     * failed with it only if it was the pool's last (it is: size 1). */
    cr_assert_eq(unavailable, n, "%d of %d unavailable", unavailable, n);
    heal();
    struct db_stats st;
    db_pool_stats(pool, &st);
    cr_assert_eq(st.idle, 1);
    cr_assert_eq(st.inflight, 0);
    close_pool();
}

Test(db_pool, pipeline_connection_killed_with_statements_in_flight, .timeout = 120)
{
    killed_in_flight(4, 0);
}

Test(db_pool, depth_one_connection_killed, .timeout = 120)
{
    killed_in_flight(1, 0);
}

Test(db_pool, group_on_a_killed_connection, .timeout = 120)
{
    killed_in_flight(4, 8); /* a group of 6: none waits */
}

/* ---- group commit ------------------------------------------------------ */

/* The pool's group counters since it opened; its stats. */
static struct db_stats expect_groups(long groups, long grouped, long failures)
{
    struct db_stats st;
    db_pool_stats(pool, &st);
    cr_assert_eq(st.groups, groups, "groups committed");
    cr_assert_eq(st.grouped, grouped, "statements committed in groups");
    cr_assert_eq(st.group_failures, failures, "groups that failed");
    return st;
}

/* The statement's argument and its transaction's id. */
static const char SQL_TXID[] = "SELECT $1::int, (txid_current() % 1000000000)::int";

Test(db_pool, group_commit_shares_one_transaction_per_turn)
{
    open_pool_grouped(1, 8, 2, "test-db-pool-group");
    reset(10);
    for (int i = 0; i < 10; i++) /* the sixth without DB_GROUP */
        query(SQL_TXID, 100 + i, i == 5 ? 0 : DB_GROUP, &ans[i]);
    run();
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(ans[i].calls, 1, "statement %d answered %d times", i, ans[i].calls);
        cr_assert_eq(ans[i].status, DB_OK, "statement %d: %d (%s)", i, ans[i].status,
                     ans[i].sqlstate);
        cr_assert_eq(ans[i].value, 100 + i);
        cr_assert_gt(ans[i].value2, 0);
    }
    /* The first eight DB_GROUP statements: one transaction (group_max 8),
     * answered in the order sent. */
    static const int group[] = {0, 1, 2, 3, 4, 6, 7, 8};
    for (int k = 1; k < 8; k++) {
        cr_assert_eq(ans[group[k]].value2, ans[0].value2, "statement %d: txid %d, not %d", group[k],
                     ans[group[k]].value2, ans[0].value2);
        cr_assert_gt(ans[group[k]].order, ans[group[k - 1]].order);
    }
    /* The one without the flag ran alone, and the ninth, past group_max,
     * in a group of its own. */
    cr_assert_neq(ans[5].value2, ans[0].value2);
    cr_assert_neq(ans[9].value2, ans[0].value2);
    cr_assert_neq(ans[9].value2, ans[5].value2);
    struct db_stats st = expect_groups(2, 9, 0);
    cr_assert_eq(st.inflight, 0);
    cr_assert_eq(st.idle, 2);
    close_pool();
}

/* 3 is there already: the group of 1..5 fails on it and rolls back; 3 runs
 * again alone and gets its own 23505, and the others, in order, form groups
 * again around it (1 and 2, then 4 and 5) and commit, once. */
Test(db_pool, a_failed_group_reruns_the_failing_statement_alone)
{
    exec_own("DROP TABLE IF EXISTS db_pool_group");
    exec_own("CREATE TABLE db_pool_group (n int PRIMARY KEY)");
    exec_own("INSERT INTO db_pool_group VALUES (3)");
    static const char SQL_INSERT[] = "INSERT INTO db_pool_group VALUES ($1::int)"
                                     " RETURNING n, (txid_current() % 1000000000)::int";
    open_pool_grouped(1, 8, 1, "test-db-pool-group");
    reset(5);
    for (int i = 0; i < 5; i++)
        query(SQL_INSERT, i + 1, DB_GROUP, &ans[i]);
    run();
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ans[i].calls, 1, "statement %d answered %d times", i, ans[i].calls);
        cr_assert_eq(ans[i].order, i + 1);
        if (i == 2) {
            cr_assert_eq(ans[i].status, DB_ERROR);
            cr_assert_str_eq(ans[i].sqlstate, "23505");
            continue;
        }
        cr_assert_eq(ans[i].status, DB_OK, "statement %d: %d (%s)", i, ans[i].status,
                     ans[i].sqlstate);
        cr_assert_eq(ans[i].value, i + 1);
    }
    cr_assert_eq(ans[0].value2, ans[1].value2, "1 and 2 in one group again");
    cr_assert_eq(ans[3].value2, ans[4].value2, "4 and 5 in one group again");
    cr_assert_neq(ans[0].value2, ans[3].value2);
    expect_groups(2, 4, 1);
    close_pool();
    PGconn *c = PQconnectdb(getenv("DATABASE_URL"));
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *r = PQexec(c, "SELECT string_agg(n::text, ',' ORDER BY n) FROM db_pool_group");
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "1,2,3,4,5");
    PQclear(r);
    PQfinish(c);
    exec_own("DROP TABLE db_pool_group");
}
