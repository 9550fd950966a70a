/* publish.c - when months are published (the rules are in
 * migrations/0009_published_periods.sql, publish_due and publish_period).
 *
 * A month is published once it has closed in the organisation's time zone
 * and PUBLISH_DELAY_H has passed (time for the reflections about its last
 * shifts). Two callers run the same statement: the janitor, on worker 0 of
 * every instance, and the operator command `reflectd publish`. Any number
 * of them may run at once: the primary key of published_periods makes each
 * month's publication happen exactly once, and a second publisher of the
 * same month waits for the first and then skips it. Nothing here is
 * per-instance state, so a restart simply catches up. */
#include "db/statements.h"
#include "domain/publish.h"
#include "db/db.h"
#include "core/log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

static const char SQL_PUBLISH_DUE[] = "SELECT publish_due($1::int, $2::int)";

/* The statement's parameters: the delay and the batch size. */
static void publish_params(int delay_h, char delay[16], char batch[16], const char *p[2])
{
    snprintf(delay, 16, "%d", delay_h);
    snprintf(batch, 16, "%d", PUBLISH_BATCH);
    p[0] = delay;
    p[1] = batch;
}

int publish_command(const char *conninfo, int delay_h)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        log_error("publish: cannot connect to the database: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    char delay[16], batch[16];
    const char *p[2];
    publish_params(delay_h, delay, batch, p);
    int total = 0, n;
    do {
        PGresult *r = PQexecParams(c, SQL_PUBLISH_DUE, 2, NULL, p, NULL, NULL, 0);
        n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0))
                                                                      : -1;
        if (n < 0)
            log_error("publish: %s", PQerrorMessage(c));
        PQclear(r);
        total += n > 0 ? n : 0;
    } while (n == PUBLISH_BATCH);
    PQfinish(c);
    return n < 0 ? -1 : total;
}

static void publish_done(struct db_result *res, void *arg)
{
    const struct publish_ctx *ctx = arg;
    if (res->status == DB_ERROR) {
        log_warn("publish: database error %s", res->sqlstate);
        return;
    }
    if (res->status != DB_OK || PQntuples(res->res) != 1)
        return;
    int n = atoi(PQgetvalue(res->res, 0, 0));
    if (n > 0)
        log_info("publish: %d month(s) published", n);
    if (n == PUBLISH_BATCH)
        publish_tick(ctx);
}

void publish_tick(const struct publish_ctx *ctx)
{
    char delay[16], batch[16];
    const char *p[2];
    publish_params(ctx->delay_h, delay, batch, p);
    db_query(ctx->db, SQL_PUBLISH_DUE, 2, p, publish_done, (void *)ctx);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement publish_statements[] = {
    STATEMENT(SQL_PUBLISH_DUE),
    {NULL, NULL},
};
