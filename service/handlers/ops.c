/* ops.c - operations endpoints: /healthz, /readyz (/metrics has a listener of
 * its own: metrics_http.c).
 *
 * /healthz says the process is up and answering (no database involved, so an
 * orchestrator does not restart us because PostgreSQL is down). /readyz says
 * whether this instance can do useful work: the database answers and its
 * schema is the one this binary migrated to. */
#include "app.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "http/api.h"
#include "http/request.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>

void h_healthz(struct req *r)
{
    req_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void readyz_result(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_set_header(r, "Retry-After", "1");
        req_problem(r, 503, "The database is not answering.");
        return;
    }
    int version = api_col_int(res, 0, 0);
    if (version != r->app->schema_version) {
        req_set_header(r, "Retry-After", "5");
        req_problem(r, 503, "The database schema is not the one this version expects.");
        return;
    }
    req_reply_json(r, 200, json_pack("{s:s, s:i}", "status", "ready", "schema_version", version));
}

void h_readyz(struct req *r)
{
    /* Ready means every worker can reach the database, not just the one
     * that happens to answer this probe. */
    struct db_stats sum;
    if (server_pool_stats(r->app, &sum) > 0) {
        req_set_header(r, "Retry-After", "1");
        req_problem(r, 503, "The database is not answering.");
        return;
    }
    req_db(r, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, readyz_result);
}
