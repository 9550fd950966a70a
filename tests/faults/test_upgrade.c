/* test_upgrade.c - an installation from before published periods upgrades
 * and publishes its closed months by itself.
 *
 * A database of its own is brought to schema version 8 (the last one with
 * live aggregates) by running migrations 0001-0008 as an older reflectd
 * would have, and gets an organisation with three months of history. Then a
 * current server starts on it: it must apply the newer migrations and, from
 * its janitor's first round at start-up, publish every closed month that is
 * due, exactly once, with the check-ins of the month counted. */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dbname[64];
static char url[1024];

/* psql -c sql against the upgrade database; returns its exit status. */
static int upgrade_sql(const char *sql, char *out, size_t n)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "psql -X -qAt -v ON_ERROR_STOP=1 -d '%s' -c \"%s\"", url, sql);
    FILE *f = popen(cmd, "r");
    cr_assert(f, "psql did not start");
    size_t got = out ? fread(out, 1, n - 1, f) : 0;
    if (out) {
        out[got] = '\0';
        while (got && out[got - 1] == '\n')
            out[--got] = '\0';
    }
    return pclose(f);
}

static void upgrade_init(void)
{
    const char *base = getenv("DATABASE_URL");
    cr_assert(base && strncmp(base, "postgres", 8) != 0,
              "DATABASE_URL is not a keyword/value string: %s", base ? base : "(unset)");
    snprintf(dbname, sizeof(dbname), "upgrade_%d", (int)getpid());
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
    cr_assert_eq(test_sql(sql, NULL, 0), 0, "CREATE DATABASE failed");
    /* A later keyword wins in a libpq connection string. */
    snprintf(url, sizeof(url), "%s dbname=%s", base, dbname);
}

static void upgrade_fini(void)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    test_sql(sql, NULL, 0);
}

TestSuite(upgrade, .init = upgrade_init, .fini = upgrade_fini, .timeout = 90);

/* Schema version 8, exactly as migrate.c records it. */
static void migrate_to_8(void)
{
    cr_assert_eq(upgrade_sql("CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                             " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                             NULL, 0),
                 0);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "for f in migrations/000[1-8]_*.sql; do psql -X -q -v ON_ERROR_STOP=1 -1 -d '%s'"
             " -f \"$f\" >/dev/null || exit 1; done",
             url);
    cr_assert_eq(system(cmd), 0, "migrations 0001-0008 did not apply");
    cr_assert_eq(upgrade_sql("INSERT INTO schema_migrations (version, name)"
                             " SELECT v, 'before-0009' FROM generate_series(1, 8) v",
                             NULL, 0),
                 0);
}

/* An organisation made four months ago with one team of six students who
 * checked in two months ago (varied scores); returns the month "YYYY-MM". */
static void history(char month[8])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int m = (tm.tm_year + 1900) * 12 + tm.tm_mon - 2;
    snprintf(month, 8, "%04u-%02u", (unsigned)(m / 12) % 10000u, (unsigned)(m % 12 + 1) % 100u);
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "WITH o AS (INSERT INTO organisations (name, created_at)"
             " VALUES ('Oud', now() - interval '4 months') RETURNING id),"
             " t AS (INSERT INTO teams (organisation_id, name) SELECT id, 'Afdeling' FROM o"
             " RETURNING id, organisation_id),"
             " u AS (INSERT INTO users (organisation_id, email, name, created_at)"
             " SELECT o.id, 'oud' || i || '-%s@example.org', 'Student ' || i,"
             " now() - interval '4 months' FROM o, generate_series(1, 6) i RETURNING id),"
             " m AS (INSERT INTO team_members (organisation_id, team_id, user_id, role)"
             " SELECT t.organisation_id, t.id, u.id, 'student' FROM t, u RETURNING *)"
             " INSERT INTO checkins (organisation_id, team_id, user_id, period, absorptie,"
             " verbindend, opleidend, lerend)"
             " SELECT m.organisation_id, m.team_id, m.user_id, '%s-01',"
             " 3 + (row_number() OVER ())::int, 5, 6 + (row_number() OVER ())::int %% 2, 7"
             " FROM m",
             dbname, month);
    cr_assert_eq(upgrade_sql(sql, NULL, 0), 0, "history did not load");
}

/* Polls until the organisation has published month (or timeout_ms). */
static int wait_published(const char *month, int timeout_ms)
{
    char sql[256], out[64];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM published_figures f JOIN teams t ON t.id = f.team_id"
             " WHERE f.period = '%s-01'",
             month);
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (upgrade_sql(sql, out, sizeof(out)) == 0 && atoi(out) == 1)
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

Test(upgrade, a_running_server_publishes_the_closed_months_of_an_old_installation)
{
    migrate_to_8();
    char month[8];
    history(month);
    char env_url[1100];
    snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", url);
    /* A janitor round an hour away: only the one at start-up can publish. */
    const char *env[] = {env_url, "JANITOR_INTERVAL_S=3600", NULL};
    struct spawned s;
    cr_assert_eq(server_spawn(&s, env), 0, "the server did not start on the old database");
    cr_assert_eq(http_wait_status(s.addr, "/readyz", 200, 10000), 200, "never ready");
    int published = wait_published(month, 10000);
    char out[256];
    cr_assert_eq(upgrade_sql("SELECT max(version) FROM schema_migrations", out, sizeof(out)), 0);
    int version = atoi(out);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT f.people || ' ' || array_to_string(f.hist[1:10], ',')"
             " FROM published_figures f WHERE f.team_id IS NOT NULL AND f.period = '%s-01'",
             month);
    cr_assert_eq(upgrade_sql(sql, out, sizeof(out)), 0);
    cr_assert_eq(server_stop(&s), 0, "the server did not stop cleanly");
    cr_assert(version > 8, "the newer migrations were not applied (version %d)", version);
    cr_assert(published, "month %s was not published by the server's first janitor round", month);
    /* Six students, absorptie 4..9 (3 + row number): one each. */
    cr_assert_str_eq(out, "6 0,0,0,1,1,1,1,1,1,0", "the published month: %s", out);
    /* Every closed month since the organisation was made, once each. */
    cr_assert_eq(upgrade_sql("SELECT count(*) = count(DISTINCT period) AND count(*) >= 3"
                             " FROM published_periods",
                             out, sizeof(out)),
                 0);
    cr_assert_str_eq(out, "t", "months published more than once, or missing");
}
