/* feedback_sql.h - one feedback item as JSON, for every statement that
 * shows feedback (threads in feedback.c, invitations in invitations.c).
 * Needs api.h (SQL_TS).
 *
 * Return convention: none (SQL text only). */
#ifndef REFLECTD_FEEDBACK_SQL_H
#define REFLECTD_FEEDBACK_SQL_H

/* Feedback from an invitation (invitations.c) has no author account:
 * author_type "external", author_id null, author_name and author_role as
 * the colleague typed them, author_verified false. Clients that predate
 * these fields still see a name. seen_at: when a supervisor marked
 * external feedback seen. */
/* clang-format off */
#define SQL_FEEDBACK_JSON(f)                                                                       \
    "json_build_object('id', " f ".id, 'reflection_id', " f ".reflection_id, 'goal_id', " f       \
    ".goal_id, 'author_id', " f ".author_id, 'author_name', coalesce(" f ".external_name,"         \
    " (SELECT au.name FROM users au WHERE au.id = " f ".author_id AND au.deleted_at IS NULL)),"    \
    " 'author_type', CASE WHEN " f ".invitation_id IS NULL THEN 'user' ELSE 'external' END,"       \
    " 'author_role', " f ".external_role, 'author_verified', " f ".invitation_id IS NULL,"         \
    " 'invitation_id', " f ".invitation_id, 'seen_at', " SQL_TS(f ".seen_at") ", 'by_owner', " f ".by_owner," \
    " 'kind', " f ".kind, 'body', " f ".body, 'created_at', " SQL_TS(f ".created_at") ")"
/* clang-format on */

#endif
