/* janitor.c - periodic maintenance (pgbouncer's janitor.c is the model).
 *
 * Every JANITOR_INTERVAL_S (a minute), on loop 0 only (one instance's worth of work per
 * instance; the statements are idempotent, so several instances doing it
 * is harmless), one statement runs janitor_run (migrations/0007, 0009): the
 * reflection retention period, events past their retention, expired refresh
 * tokens and old login-throttle windows; reminders and e-mail digests are
 * queued (reminders_run, digest_run in 0011); and publish.c publishes the months
 * that are due. The first round runs right at start-up, so an instance that
 * was down when a month closed publishes it at once. */
#include "domain/janitor.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/publish.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

struct janitor {
    struct event *ev;
    struct db_pool *db;
    const struct config *cfg;
    struct publish_ctx publish;
};

static void janitor_done(struct db_result *res, void *arg)
{
    (void)arg;
    if (res->status == DB_ERROR)
        log_warn("janitor: database error %s", res->sqlstate);
    else if (res->status == DB_OK && PQntuples(res->res) == 1)
        log_info("janitor: removed %s", PQgetvalue(res->res, 0, 0));
}

/* Reminders and digests (migrations/0011): both throttled in SQL, so a
 * second instance's janitor in the same minute queues nothing again. */
static void janitor_notify_done(struct db_result *res, void *arg)
{
    (void)arg;
    if (res->status == DB_ERROR)
        log_warn("janitor: reminders: database error %s", res->sqlstate);
    else if (res->status == DB_OK && PQntuples(res->res) == 1 &&
             (atoi(PQgetvalue(res->res, 0, 0)) || atoi(PQgetvalue(res->res, 0, 1))))
        log_info("janitor: reminders sent %s, digests queued %s", PQgetvalue(res->res, 0, 0),
                 PQgetvalue(res->res, 0, 1));
}

static void janitor_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct janitor *j = arg;
    const struct config *cfg = j->cfg;
    char days[16], hours[16], window[16];
    snprintf(days, sizeof(days), "%d", cfg->retention_days);
    snprintf(hours, sizeof(hours), "%d", cfg->events_retention_h);
    snprintf(window, sizeof(window), "%d", cfg->login_window_s);
    const char *p[] = {days, hours, window};
    db_query(j->db, "SELECT janitor_run($1::int, $2::int, $3::int)", 3, p, janitor_done, NULL);
    db_query(j->db, "SELECT reminders_run(now()), digest_run(now()), notify_cleanup(now())", 0,
             NULL, janitor_notify_done, NULL);
    publish_tick(&j->publish);
}

struct janitor *janitor_start(struct event_base *base, struct db_pool *db, const struct config *cfg)
{
    struct janitor *j = calloc(1, sizeof(*j));
    if (!j)
        abort();
    j->db = db;
    j->cfg = cfg;
    j->publish.db = db;
    j->publish.delay_h = cfg->publish_delay_h;
    j->ev = event_new(base, -1, EV_PERSIST, janitor_tick, j);
    struct timeval tv = {cfg->janitor_interval_s, 0};
    if (!j->ev || event_add(j->ev, &tv) < 0)
        abort();
    janitor_tick(-1, 0, j);
    return j;
}

void janitor_stop(struct janitor *j)
{
    if (j)
        event_del(j->ev);
}

void janitor_free(struct janitor *j)
{
    if (!j)
        return;
    event_free(j->ev);
    free(j);
}
