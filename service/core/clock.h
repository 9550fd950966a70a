/* clock.h - the clocks the service reads, in the units their callers
 * want. Monotonic, so intervals survive the wall clock being set; wall
 * clock time (time(NULL)) is for timestamps people or tokens see.
 *
 * Return convention: each returns the time; none can fail (CLOCK_MONOTONIC
 * and CLOCK_MONOTONIC_COARSE exist on every Linux this runs on). */
#ifndef REFLECTD_CLOCK_H
#define REFLECTD_CLOCK_H

#include <stdint.h>

/* Seconds on the monotonic clock (pacing, cache ages). */
double clock_mono_s(void);
/* Microseconds on the monotonic clock (request durations). */
uint64_t clock_mono_us(void);
/* Milliseconds on the coarse monotonic clock: a few ms of resolution and
 * no system call, for deadlines checked per connection. */
int64_t clock_coarse_ms(void);

#endif
