/* janitor.h - periodic maintenance, on worker 0.
 *
 * Return convention: none; start and stop cannot fail (out of memory
 * aborts), and the janitor's work logs its own failures and runs again on
 * the next tick. */
#ifndef REFLECTD_JANITOR_H
#define REFLECTD_JANITOR_H

struct worker;

void janitor_start(struct worker *w);
void janitor_stop(struct worker *w);

#endif
