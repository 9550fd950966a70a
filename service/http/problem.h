/* problem.h - RFC 9457 problem details, built as JSON values (no I/O).
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_PROBLEM_H
#define REFLECTD_PROBLEM_H

#include <jansson.h>

/* The standard reason phrase for a status we use ("Not Found"). */
const char *problem_title(int status);
/* {type, title, status, detail}; detail may be NULL. type is a stable URI
 * naming the kind of error, derived from the status unless given. */
json_t *problem_new(int status, const char *type, const char *detail);
/* A problem with a stable machine-readable code (lower_snake_case) for a
 * refusal clients tell apart (business rules: not your team, not your
 * supervisor...): "code" is added and the type URI is derived from it
 * (not_team_member: .../problems/not-team-member). */
json_t *problem_new_code(int status, const char *code, const char *detail);
/* Adds {field, message} to the problem's "errors" array. */
void problem_add_error(json_t *problem, const char *field, const char *message);

#endif
