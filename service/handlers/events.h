/* events.h - the live event streams' per-worker life cycle.
 *
 * Return convention: none; these cannot fail (out of memory at start-up
 * aborts). */
#ifndef REFLECTD_EVENTS_H
#define REFLECTD_EVENTS_H

struct loop;

/* Before any worker loop runs: timers, and on worker 0 the LISTEN
 * connection. */
void events_worker_start(struct loop *l);
/* Shutdown began: end every stream (clients reconnect elsewhere). */
void events_worker_drain(struct loop *l);
/* After every worker loop has ended. */
void events_worker_free(struct loop *l);

#endif
