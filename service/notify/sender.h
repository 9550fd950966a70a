/* sender.h - the outbox sender of this instance (one thread).
 *
 * Return convention: sender_start returns the sender, or NULL on failure;
 * the rest cannot fail. */
#ifndef REFLECTD_SENDER_H
#define REFLECTD_SENDER_H

#include <stddef.h>

struct notify_config;
struct sender;

/* Loads the channels' keys and, unless OUTBOX_SENDER=0, starts the thread.
 * NULL (logged) when a key cannot be read or the thread cannot start. */
struct sender *sender_start(const char *conninfo, const struct notify_config *cfg);
/* Wakes the thread, lets it finish the attempts under way, joins, frees. */
void sender_stop(struct sender *s);
/* The VAPID public key (base64url) browsers subscribe with. */
const char *sender_vapid_public(const struct sender *s);
/* Prometheus text of the counters and the oldest waiting row into buf. */
void sender_metrics(struct sender *s, char *buf, size_t n);

#endif
