/* reflections_sql.h - a reflection as the statements return it, and as
 * the API sends it: the columns (SQL_REFLECTION_COLS) that every statement
 * returning reflections selects, and the functions that render rows of
 * them as JSON in C (reflections_json.c). Shared by reflections.c and
 * students.c.
 *
 * PostgreSQL returns plain columns and the service writes the JSON:
 * building it with json_build_object and json_agg was most of the
 * database's work for a page (issue 18). goal_ids and shared_with are
 * arrays on the row, kept by migration 0017's triggers.
 *
 * Return convention: render functions return 0, or -1 when out of memory. */
#ifndef REFLECTD_REFLECTIONS_SQL_H
#define REFLECTD_REFLECTIONS_SQL_H

#include "core/pgbin.h"
#include "http/api.h"
#include "http/request.h"

/* The columns, in the order reflection_json reads them; x is the row's
 * alias. deleted_at last: only a sync renders tombstones. */
/* clang-format off */
#define SQL_REFLECTION_COLS(x)                                                                     \
    x ".id, " x ".owner_id, " x ".team_id, " x ".occurred_on, " x ".situation, " x ".task, "       \
    x ".action, " x ".result, " x ".reflection, " x ".transfer, " x ".status, " x ".vermogens, "   \
    x ".dimensions, " x ".goal_ids, " x ".shared_with, " x ".created_at, " x ".updated_at, "       \
    x ".deleted_at"
/* clang-format on */
#define REFLECTION_NCOLS 18

struct jsonw;

/* What a reflection's row gives besides its JSON: the sort keys and ETag. */
struct reflection_key {
    char id[PGBIN_UUID_LEN];
    long long created_micros, updated_micros;
};

/* Writes the reflection whose columns start at column col of row; a
 * deleted one as a tombstone when tombstones is set. Fills *key. Returns
 * 0, or -1 when a value is not what the schema gives. */
int reflection_json(struct jsonw *w, const struct db_result *res, int row, int col, int tombstones,
                    struct reflection_key *key);

/* Answers a statement returning one reflection in one row: (status, NULL,
 * NULL, detail, SQL_REFLECTION_COLS...). The first four are
 * api_reply_row's, which answers when there is no reflection (its id is
 * NULL: the status and detail say why); otherwise the reflection is sent
 * with its ETag, honouring If-None-Match. */
void reflection_reply_one(struct req *r, struct db_result *res);
/* Sends one reflection that w holds (finished) with status and its ETag
 * (from updated_micros), a 304 for a 200 whose If-None-Match matches, and
 * frees w. */
void reflection_reply_written(struct req *r, int status, struct jsonw *w, long long updated_micros);
/* The writer failed on a row the schema should not allow: a 500 that
 * says which, rather than a body that lies. Frees w. */
void reflection_render_failed(struct req *r, struct jsonw *w);

/* Answers a keyset page: rows of (status, SQL_REFLECTION_COLS...), in
 * text or binary format (the status an int4), in
 * any order (it sorts them by the page's key: created_at or updated_at,
 * then id), at most limit + 1 (the extra one says there is a next page);
 * a row with a NULL id carries only the status (an empty page, or a
 * refusal). by_updated: the page is ordered by updated_at (a sync, with
 * tombstones), otherwise by created_at. */
void reflection_reply_page(struct req *r, struct db_result *res, int limit, int by_updated);

/* Writes the body of such a page, {"items": [...], "next_cursor": ...},
 * from its rows (the status is not looked at). Returns 0, or -1 when a
 * row is not what the schema gives. Exposed for tests. */
int reflection_page_json(struct jsonw *w, const struct db_result *pg, int limit, int by_updated);

/* Runs a page statement (params[3] is the limit, as api_page_params
 * fills it) with its result in binary format (req_db_binary) and answers
 * with reflection_reply_page. Uses r->state (reflection_page). */
void reflection_page_query(struct req *r, const char *sql, int n, const char *const *params,
                           int by_updated);

/* The statements of reflections.c that name their parameters (api.h). */
extern const struct api_args reflections_args[];

#endif
