/* migrate.c - forward-only schema migrations, applied at start-up.
 *
 * The SQL files in migrations/ are compiled into the binary (the build
 * generates build/migrations.c), so a deployed binary always carries exactly
 * the schema it was written for. Start-up takes a session advisory lock so
 * that several instances starting together apply each migration once; each
 * migration runs in its own transaction together with its row in
 * schema_migrations, so a failure leaves the database at the previous
 * version, never half-way. Blocking libpq, like the other code that runs
 * before the event loops start or outside them (bootstrap.c, the
 * `reflectd publish` and `--check-statements` commands in publish.c and
 * statements.c, and the outbox sender's own thread, sender.c); nothing on
 * an event loop blocks (db.c). */
#include "db/migrate.h"
#include "core/log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Any constant will do; it names "reflectd migrations" among advisory locks. */
#define MIGRATE_LOCK_KEY "727165"

static PGconn *migrate_connect(const char *conninfo, int wait_s)
{
    for (int i = 0;; i++) {
        PGconn *c = PQconnectdb(conninfo);
        if (PQstatus(c) == CONNECTION_OK)
            return c;
        if (i >= wait_s * 2) {
            log_error("cannot connect to the database: %s", PQerrorMessage(c));
            PQfinish(c);
            return NULL;
        }
        if (i == 0)
            log_warn("waiting for the database: %s", PQerrorMessage(c));
        PQfinish(c);
        usleep(500 * 1000);
    }
}

static int migrate_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        log_error("migration statement failed: %s", PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

static int migrate_current(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    int v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static int migrate_apply(PGconn *c, const struct migration *m)
{
    char ver[16];
    snprintf(ver, sizeof(ver), "%d", m->version);
    const char *params[] = {ver, m->name};
    if (migrate_exec(c, "BEGIN") < 0)
        return -1;
    if (migrate_exec(c, m->sql) < 0) {
        migrate_exec(c, "ROLLBACK");
        return -1;
    }
    PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                               2, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || migrate_exec(c, "COMMIT") < 0) {
        migrate_exec(c, "ROLLBACK");
        return -1;
    }
    log_info("applied migration %s", m->name);
    return 0;
}

static int migrate_locked(PGconn *c)
{
    if (migrate_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version integer PRIMARY KEY,"
                        " name text NOT NULL,"
                        " applied_at timestamptz NOT NULL DEFAULT now())") < 0)
        return -1;
    int current = migrate_current(c);
    if (current < 0)
        return -1;
    if (current > migrations_count) {
        log_error("the database has migration %d but this binary knows only %d: "
                  "refusing to start an older binary on a newer schema",
                  current, migrations_count);
        return -1;
    }
    for (int i = 0; i < migrations_count; i++)
        if (migrations[i].version > current && migrate_apply(c, &migrations[i]) < 0)
            return -1;
    return 0;
}

int migrate_run(const char *conninfo, int wait_s)
{
    PGconn *c = migrate_connect(conninfo, wait_s);
    if (!c)
        return -1;
    int rc = migrate_exec(c, "SET client_min_messages = warning");
    if (rc == 0)
        rc = migrate_exec(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")");
    if (rc == 0) {
        rc = migrate_locked(c);
        migrate_exec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
    }
    PQfinish(c);
    return rc;
}
