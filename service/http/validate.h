/* validate.h - checking request input, collecting every error at once.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count.
 * v_int and v_bool are predicates: 1 when a valid value was set. */
#ifndef REFLECTD_VALIDATE_H
#define REFLECTD_VALIDATE_H

#include "core/arena.h"

#include <jansson.h>
#include <stddef.h>

/* Walks a JSON body; each v_* call checks one field and records an error
 * (field, message) on failure, so a client learns everything wrong with a
 * request in one 422. Strings come back trimmed, in the arena. */
struct validator {
    json_t *body;
    json_t *problem; /* created on the first error */
    struct arena *arena;
};

enum v_presence { V_OPTIONAL = 0, V_REQUIRED = 1 };

void v_init(struct validator *v, json_t *body, struct arena *a);
void v_error(struct validator *v, const char *field, const char *message);
/* Refuses fields not in allowed (NULL-terminated). */
void v_known_fields(struct validator *v, const char *const *allowed);
/* Text of min..max characters (code points) after trimming. Multi-line
 * text allows \n and \t; single-line text allows no control characters.
 * Returns NULL when absent, null or invalid. */
const char *v_text(struct validator *v, const char *field, enum v_presence p, size_t min,
                   size_t max, int multiline);
const char *v_email(struct validator *v, const char *field, enum v_presence p);
const char *v_uuid(struct validator *v, const char *field, enum v_presence p);
/* One of allowed (NULL-terminated); returns the matching static string. */
const char *v_enum(struct validator *v, const char *field, enum v_presence p,
                   const char *const *allowed);
/* Returns 1 and sets out when present and valid. */
int v_int(struct validator *v, const char *field, enum v_presence p, long min, long max, long *out);
int v_bool(struct validator *v, const char *field, enum v_presence p, int *out);
/* An array of distinct enum values; returns a PostgreSQL array literal
 * ("{a,b}") in the arena, "{}" when absent, NULL when invalid. */
const char *v_enum_array(struct validator *v, const char *field, const char *const *allowed);
/* A calendar date YYYY-MM-DD (years 1900-2999). */
const char *v_date(struct validator *v, const char *field, enum v_presence p);
/* A date no earlier than lo and no later than hi (both YYYY-MM-DD). */
const char *v_date_between(struct validator *v, const char *field, enum v_presence p,
                           const char *lo, const char *hi);
/* An array of distinct UUIDs (at most max); a PostgreSQL array literal,
 * "{}" when absent (or NULL with *present = 0 when absent and present is
 * given), NULL when invalid. */
const char *v_uuid_array(struct validator *v, const char *field, size_t max, int *present);
int v_ok(const struct validator *v);
int valid_date(const char *s);
/* RFC 3339 date-time with a zone ("2026-11-25T12:00:00Z", "...+01:00"). */
int valid_timestamp(const char *s);

/* Pure checks, also used for path and query parameters. */
int valid_uuid(const char *s);
int valid_utf8_text(const char *s, int multiline);
size_t utf8_chars(const char *s);

#endif
