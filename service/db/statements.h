/* statements.h - every SQL statement the service prepares, by name.
 *
 * Each file that runs statements lists them at its end (STATEMENT(SQL_X)),
 * next to the code that uses them; statements.c collects those lists for
 * `reflectd --statements` (print them) and `reflectd --check-statements`
 * (PREPARE each against the migrated schema: CI runs it, so a statement
 * that drifted from the schema fails there, not in production).
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_STATEMENTS_H
#define REFLECTD_STATEMENTS_H

#include <stddef.h>

struct statement {
    const char *name;
    const char *sql;
};

#define STATEMENT(s)                                                                               \
    {                                                                                              \
#s, s                                                                                      \
    }

extern const struct statement audit_statements[];
extern const struct statement auth_statements[];
extern const struct statement bootstrap_statements[];
extern const struct statement checkins_statements[];
extern const struct statement events_statements[];
extern const struct statement feedback_statements[];
extern const struct statement goals_statements[];
extern const struct statement imports_statements[];
extern const struct statement invitations_statements[];
extern const struct statement invite_page_statements[];
extern const struct statement me_statements[];
extern const struct statement notify_api_statements[];
extern const struct statement oidc_statements[];
extern const struct statement organisation_statements[];
extern const struct statement publish_statements[];
extern const struct statement reflection_shares_statements[];
extern const struct statement reflections_statements[];
extern const struct statement sender_statements[];
extern const struct statement set_password_statements[];
extern const struct statement students_statements[];
extern const struct statement summaries_statements[];
extern const struct statement supervisions_statements[];
extern const struct statement teams_statements[];
extern const struct statement users_statements[];

/* Prints "name<TAB>statement" lines, one per statement. */
void statements_print(void);
/* PREPAREs every statement on a connection to conninfo and reports each
 * that fails; returns the number of failures, or -1 when the database
 * cannot be reached. Blocking: command line only. */
int statements_check(const char *conninfo);

#endif
