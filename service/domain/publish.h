/* publish.h - publishing closed months as frozen summary figures. */
#ifndef REFLECTD_PUBLISH_H
#define REFLECTD_PUBLISH_H

struct worker;

/* At most this many months are published by one statement, so that a
 * catch-up after long downtime stays inside the statement timeout; the
 * callers repeat while a statement publishes this many. */
#define PUBLISH_BATCH 12

/* `reflectd publish`: publishes every month that is due, blocking.
 * Returns the number published, or -1 on a database error. */
int publish_command(const char *conninfo, int delay_h);
/* One asynchronous round on w's pool (the janitor's); repeats itself while
 * there is more to publish. */
void publish_tick(struct worker *w);

#endif
