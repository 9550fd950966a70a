/* reflections_sql.h - JSON shapes of a reflection, shared by the statements
 * that return one (reflections.c, students.c).
 *
 * Return convention: none (SQL text only). */
#ifndef REFLECTD_REFLECTIONS_SQL_H
#define REFLECTD_REFLECTIONS_SQL_H

/* goals: an expression giving the goal ids as a json array. */
/* clang-format off */
#define SQL_REFLECTION_JSON(x, goals)                                                              \
    "json_build_object('id', " x ".id, 'owner_id', " x ".owner_id, 'team_id', " x ".team_id,"     \
    " 'occurred_on', " x ".occurred_on, 'situation', " x ".situation, 'task', " x ".task,"        \
    " 'action', " x ".action, 'result', " x ".result, 'reflection', " x ".reflection,"           \
    " 'transfer', " x ".transfer, 'status', " x ".status, 'vermogens', to_json(" x ".vermogens),"  \
    " 'dimensions', to_json(" x ".dimensions), 'goal_ids', " goals ", 'shared_with',"              \
    " coalesce((SELECT json_agg(sw.user_id ORDER BY sw.user_id) FROM reflection_shares sw"        \
    " WHERE sw.reflection_id = " x ".id), '[]'::json), 'created_at', " SQL_TS(x ".created_at") ","            \
    " 'updated_at', " SQL_TS(x ".updated_at") ")"
#define SQL_STORED_GOALS(x)                                                                        \
    "coalesce((SELECT json_agg(rg.goal_id ORDER BY rg.goal_id) FROM reflection_goals rg"          \
    " WHERE rg.reflection_id = " x ".id), '[]'::json)"
#define SQL_GIVEN_GOALS(param)                                                                     \
    "coalesce((SELECT json_agg(g ORDER BY g) FROM unnest(" param "::uuid[]) g), '[]'::json)"
#define SQL_TOMBSTONE(x)                                                                           \
    "json_build_object('id', " x ".id, 'deleted', true, 'updated_at', " SQL_TS(x ".updated_at") ")"
/* clang-format on */

#endif
