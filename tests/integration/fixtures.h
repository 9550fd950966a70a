/* fixtures.h - organisations, users, teams and logins for integration tests.
 *
 * Every test builds its own world through the real product paths: an
 * organisation and its first admin come from `reflectd bootstrap` (the same
 * command an operator runs), everything else from the HTTP API as an admin
 * would do it. Names and addresses are unique per call, so tests running in
 * parallel against one server never see each other's data. All helpers end
 * the test with a criterion failure when a step does not succeed. */
#ifndef REFLECTD_TEST_FIXTURES_H
#define REFLECTD_TEST_FIXTURES_H

#include <jansson.h>

#define FIX_PASSWORD "correct horse battery staple"

struct fix_user {
    char id[40];
    char email[128];
    char token[1024];  /* access token */
    char refresh[128]; /* refresh token */
};

struct fix_org {
    char id[40];
    struct fix_user admin;
};

/* A new organisation with a logged-in admin. */
void fix_org(struct fix_org *o);
/* A new user of o (roles: NULL, "admin" or "praktijkopleider"), logged in. */
void fix_user(struct fix_org *o, const char *role, struct fix_user *u);
/* A new team of o; writes its id. */
void fix_team(struct fix_org *o, char team_id[40]);
/* Puts u in team with role (student, werkbegeleider, teammanager, member). */
void fix_member(struct fix_org *o, const char *team_id, const struct fix_user *u, const char *role);
/* Assigns supervisor to student (must be allowed). */
void fix_supervise(struct fix_org *o, const struct fix_user *student,
                   const struct fix_user *supervisor);
/* A new team of o with two new users: student in it as "student", coach as
 * "werkbegeleider" who supervises her. */
void fix_student_and_coach(struct fix_org *o, char team_id[40], struct fix_user *student,
                           struct fix_user *coach);
/* The body of a reflection in team_id with all five parts ("t", "a", "r",
 * "x" after situation) and status (a new reference). */
json_t *fix_reflection_body(const char *team_id, const char *occurred_on, const char *situation,
                            const char *status);
/* One request to addr as u (NULL: without a token) with a JSON body, which
 * is stolen (may be NULL); ends the test unless the status is want.
 * Returns the parsed JSON body (a new reference, may be NULL). */
json_t *fix_call(const char *addr, const char *method, const char *path, const struct fix_user *u,
                 json_t *body, int want);
/* GET path on the shared server as u: a 200 list answer (items[]), as a
 * new reference. */
json_t *fix_list(const struct fix_user *u, const char *path);
/* Logs in; returns the HTTP status and fills u's tokens on 200. */
int fix_login(const char *email, const char *password, struct fix_user *u);

#endif
