/* janitor.h - periodic maintenance, on worker 0. */
#ifndef REFLECTD_JANITOR_H
#define REFLECTD_JANITOR_H

struct worker;

void janitor_start(struct worker *w);
void janitor_stop(struct worker *w);

#endif
