/* form.h - strict parsing of application/x-www-form-urlencoded bodies.
 *
 * Return convention: form_parse returns 0 on success and -1 on failure; the
 * predicate utf8_ok returns 1 for true, 0 for false. */
#ifndef REFLECTD_FORM_H
#define REFLECTD_FORM_H

#include "core/arena.h"

#include <stddef.h>

/* Parses body (len bytes, not NUL-terminated) into values[i] for each
 * fields[i] (NULL-terminated list); a field that is absent stays NULL.
 * Refuses (returns -1): a malformed or truncated %-escape, a field not in
 * fields, a field given twice, a NUL byte, invalid UTF-8 (overlong forms,
 * surrogates, beyond U+10FFFF). '+' is a space; CRs before an LF are dropped
 * (browsers send textarea lines as CR LF). Values live in the arena. 0 on success. */
int form_parse(struct arena *a, const char *body, size_t len, const char *const *fields,
               const char **values);
/* Is s (n bytes) well-formed UTF-8? */
int utf8_ok(const char *s, size_t n);

#endif
