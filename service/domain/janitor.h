/* janitor.h - periodic maintenance, on one loop (loop 0).
 *
 * Return convention: janitor_start never returns NULL (out of memory at
 * start-up aborts); the janitor's work logs its own failures and runs again
 * on the next tick. */
#ifndef REFLECTD_JANITOR_H
#define REFLECTD_JANITOR_H

struct config;
struct db_pool;
struct event_base;
struct janitor;

/* Runs the first round at once, then every cfg->janitor_interval_s on base,
 * with db. cfg must outlive the janitor. Never NULL (aborts when out of
 * memory, at start-up). */
struct janitor *janitor_start(struct event_base *base, struct db_pool *db,
                              const struct config *cfg);
/* Stops the timer (shutdown began); on j's loop. A round already sent may
 * still answer, so j lives on until janitor_free. NULL is ignored. */
void janitor_stop(struct janitor *j);
/* After j's loop ended (its pool answered everything). NULL is ignored. */
void janitor_free(struct janitor *j);

#endif
