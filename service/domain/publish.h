/* publish.h - publishing closed months as frozen summary figures. */
#ifndef REFLECTD_PUBLISH_H
#define REFLECTD_PUBLISH_H

struct db_pool;

/* What an asynchronous round needs: the pool it runs on, and the delay. */
struct publish_ctx {
    struct db_pool *db;
    int delay_h;
};

/* At most this many months are published by one statement, so that a
 * catch-up after long downtime stays inside the statement timeout; the
 * callers repeat while a statement publishes this many. */
#define PUBLISH_BATCH 12

/* `reflectd publish`: publishes every month that is due, blocking.
 * Returns the number published, or -1 on a database error. */
int publish_command(const char *conninfo, int delay_h);
/* One asynchronous round on ctx->db (the janitor's loop); repeats itself
 * while there is more to publish. ctx must outlive the round. */
void publish_tick(const struct publish_ctx *ctx);

#endif
