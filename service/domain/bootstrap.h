/* bootstrap.h - creating the first organisation and admin, and demo data.
 *
 * Return convention: operations return 0 on success (or nothing to do) and
 * -1 on failure. */
#ifndef REFLECTD_BOOTSTRAP_H
#define REFLECTD_BOOTSTRAP_H

struct config;

/* When BOOTSTRAP_ORG_NAME, _ADMIN_EMAIL and _ADMIN_PASSWORD are all set and
 * no user has that address, creates the organisation and its admin. Never
 * changes an existing user. 0 on success or nothing to do, -1 on error. */
int bootstrap_from_config(const struct config *cfg);
/* Seeds the demo organisation (README lists the logins); idempotent. */
int bootstrap_demo(const struct config *cfg);

#endif
