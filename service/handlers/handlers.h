/* handlers.h - every route handler, one group per resource file.
 *
 * Return convention: a handler returns nothing; it answers the request (now
 * or after its database round trip), errors included, as a problem response. */
#ifndef REFLECTD_HANDLERS_H
#define REFLECTD_HANDLERS_H

#include "http/router.h"

struct req;

/* The routing table (routes.c). */
extern const struct route routes[];
extern const size_t routes_count;

/* ops.c */
void h_healthz(struct req *r);
void h_readyz(struct req *r);

/* sessions.c */
void h_login(struct req *r);
void h_refresh(struct req *r);
void h_logout(struct req *r);
/* set_password.c */
void h_set_password(struct req *r);
/* oidc.c */
void h_oidc_login(struct req *r);
void h_oidc_get(struct req *r);
void h_oidc_put(struct req *r);
void h_oidc_delete(struct req *r);
/* me.c */
void h_me(struct req *r);
void h_me_export(struct req *r);
void h_me_erase(struct req *r);
/* users.c */
void h_user_create(struct req *r);
void h_user_list(struct req *r);
/* imports.c */
void h_user_import(struct req *r);
void h_user_export(struct req *r);
/* teams.c */
void h_team_create(struct req *r);
void h_team_list(struct req *r);
void h_member_put(struct req *r);
void h_member_delete(struct req *r);
/* supervisions.c */
void h_supervision_put(struct req *r);
void h_supervision_delete(struct req *r);
/* organisation.c */
void h_org_get(struct req *r);
void h_org_patch(struct req *r);
/* reflections.c */
void h_reflection_create(struct req *r);
void h_reflection_list(struct req *r);
void h_reflection_get(struct req *r);
void h_reflection_patch(struct req *r);
void h_reflection_delete(struct req *r);
/* reflection_shares.c */
void h_reflection_share_put(struct req *r);
void h_reflection_share_delete(struct req *r);
/* students.c */
void h_students(struct req *r);
void h_student_reflections(struct req *r);
/* feedback.c */
void h_reflection_feedback_post(struct req *r);
void h_reflection_feedback_list(struct req *r);
void h_goal_feedback_post(struct req *r);
void h_goal_feedback_list(struct req *r);
void h_feedback_request_post(struct req *r);
void h_feedback_request_inbox(struct req *r);
void h_feedback_seen(struct req *r);
/* invitations.c */
void h_invitation_create(struct req *r);
void h_invitation_list(struct req *r);
void h_invitation_get(struct req *r);
void h_invitation_revoke(struct req *r);
/* invite_page.c */
void h_invite_page(struct req *r);
void h_invite_answer(struct req *r);
/* goals.c */
void h_goal_create(struct req *r);
void h_goal_list(struct req *r);
void h_goal_get(struct req *r);
void h_goal_patch(struct req *r);
void h_goal_delete(struct req *r);
void h_goal_share_put(struct req *r);
void h_goal_share_delete(struct req *r);
/* checkins.c */
void h_checkin_put(struct req *r);
/* summaries.c */
void h_team_summary(struct req *r);
void h_org_summary(struct req *r);
/* events.c */
void h_events(struct req *r);
/* audit.c */
void h_audit_list(struct req *r);
/* notify_api.c */
void h_device_create(struct req *r);
void h_device_list(struct req *r);
void h_device_delete(struct req *r);
void h_webpush_key(struct req *r);
void h_notify_prefs_get(struct req *r);
void h_notify_prefs_put(struct req *r);
void h_notify_defaults_get(struct req *r);
void h_notify_defaults_put(struct req *r);

#endif
