/* routes.c - the routing table: every path the service serves, in one place.
 *
 * api-spec/openapi.yaml must document exactly these; `reflectd --routes`
 * prints them and CI compares the two sets. */
#include "handlers.h"

const struct route routes[] = {
    {M_GET, "/healthz", h_healthz, ROUTE_PUBLIC},
    {M_GET, "/readyz", h_readyz, ROUTE_PUBLIC},
    {M_GET, "/metrics", h_metrics, ROUTE_PUBLIC},
    {M_POST, "/v1/auth/login", h_login, ROUTE_PUBLIC},
    {M_POST, "/v1/auth/refresh", h_refresh, ROUTE_PUBLIC},
    {M_POST, "/v1/auth/logout", h_logout, ROUTE_PUBLIC},
    {M_GET, "/v1/me", h_me, ROUTE_AUTH},
    {M_GET, "/v1/organisation", h_org_get, ROUTE_AUTH},
    {M_PATCH, "/v1/organisation", h_org_patch, ROUTE_AUTH},
    {M_POST, "/v1/users", h_user_create, ROUTE_AUTH},
    {M_GET, "/v1/users", h_user_list, ROUTE_AUTH},
    {M_POST, "/v1/teams", h_team_create, ROUTE_AUTH},
    {M_GET, "/v1/teams", h_team_list, ROUTE_AUTH},
    {M_PUT, "/v1/teams/{team_id}/members/{user_id}", h_member_put, ROUTE_AUTH},
    {M_DELETE, "/v1/teams/{team_id}/members/{user_id}", h_member_delete, ROUTE_AUTH},
    {M_PUT, "/v1/students/{student_id}/supervisors/{user_id}", h_supervision_put, ROUTE_AUTH},
    {M_DELETE, "/v1/students/{student_id}/supervisors/{user_id}", h_supervision_delete,
     ROUTE_AUTH},
    {M_GET, "/v1/audit", h_audit_list, ROUTE_AUTH},
    {M_POST, "/v1/reflections", h_reflection_create, ROUTE_AUTH},
    {M_GET, "/v1/reflections", h_reflection_list, ROUTE_AUTH},
    {M_GET, "/v1/reflections/{id}", h_reflection_get, ROUTE_AUTH},
    {M_PATCH, "/v1/reflections/{id}", h_reflection_patch, ROUTE_AUTH},
    {M_DELETE, "/v1/reflections/{id}", h_reflection_delete, ROUTE_AUTH},
    {M_PUT, "/v1/reflections/{id}/shares/{user_id}", h_reflection_share_put, ROUTE_AUTH},
    {M_DELETE, "/v1/reflections/{id}/shares/{user_id}", h_reflection_share_delete, ROUTE_AUTH},
    {M_POST, "/v1/reflections/{id}/feedback", h_reflection_feedback_post, ROUTE_AUTH},
    {M_GET, "/v1/reflections/{id}/feedback", h_reflection_feedback_list, ROUTE_AUTH},
    {M_POST, "/v1/reflections/{id}/feedback-requests", h_feedback_request_post, ROUTE_AUTH},
    {M_GET, "/v1/feedback-requests", h_feedback_request_inbox, ROUTE_AUTH},
    {M_POST, "/v1/goals/{id}/feedback", h_goal_feedback_post, ROUTE_AUTH},
    {M_GET, "/v1/goals/{id}/feedback", h_goal_feedback_list, ROUTE_AUTH},
    {M_GET, "/v1/students", h_students, ROUTE_AUTH},
    {M_GET, "/v1/students/{student_id}/reflections", h_student_reflections, ROUTE_AUTH},
};
const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
