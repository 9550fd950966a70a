/* pagination.h - keyset pagination: ?limit=, opaque ?cursor=.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_PAGINATION_H
#define REFLECTD_PAGINATION_H

#include "core/arena.h"

/* A cursor names the last row of the previous page by its sort key: a
 * timestamp (microseconds since the epoch) and a UUID tie-breaker. The
 * client sees only base64url; the statements decode nothing themselves.
 *
 * SQL_CURSOR(ts, id) renders the cursor for a row, inside a statement;
 * SQL_AFTER(ts, id, micros_param, id_param) is the keyset condition.
 *
 * Without a cursor both parameters are NULL and SQL_AFTER compares with
 * (-infinity, nil uuid), which every row passes (sort keys are NOT NULL
 * timestamps). It is written as one row comparison, not "$n IS NULL OR
 * ...", because a prepared statement soon runs on its generic plan, where
 * the OR cannot be folded away: it stayed a Filter, and a page after a
 * cursor read every earlier row of the index range. The row comparison is
 * an Index Cond on (.., ts, id) indexes, so such a page starts where the
 * cursor points (issue 18). */
/* clang-format off */
#define SQL_CURSOR(ts, id)                                                                         \
    "rtrim(translate(encode(convert_to((extract(epoch FROM " ts ") * 1000000)::bigint::text"      \
    " || '|' || " id "::text, 'UTF8'), 'base64'), '+/', '-_'), '=')"
#define SQL_AFTER(ts, id, micros, uuid)                                                            \
    "(" ts ", " id ") > (coalesce('epoch'::timestamptz + " micros "::bigint"                       \
    " * interval '1 microsecond', '-infinity'), coalesce(" uuid "::uuid,"                          \
    " '00000000-0000-0000-0000-000000000000'))"

/* The body of a list answer, from two CTEs of the statement: "page" (up
 * to limit + 1 rows after the cursor) and "shown" (the first limit of
 * them). item renders one row of shown; ts and id are its sort key. */
#define SQL_PAGE_BODY(item, ts, id, limit)                                                         \
    "json_build_object('items', coalesce((SELECT json_agg(" item " ORDER BY " ts ", " id ")"       \
    " FROM shown), '[]'::json), 'next_cursor', CASE WHEN (SELECT count(*) FROM page) > " limit    \
    "::int THEN (SELECT " SQL_CURSOR(ts, id) " FROM shown ORDER BY " ts " DESC, " id              \
    " DESC LIMIT 1) END)"
/* clang-format on */

struct page {
    char limit[8];  /* decimal, 1..100 */
    char *after_ts; /* micros as text, or NULL for the first page */
    char *after_id; /* uuid, or NULL */
};

/* Reads ?limit and ?cursor. Returns NULL, or the name of the bad parameter. */
const char *page_parse(struct arena *a, const char *limit, const char *cursor, struct page *out);
/* Decodes a cursor made by SQL_CURSOR; 0 or -1. Exposed for tests. */
int cursor_decode(struct arena *a, const char *cursor, char **micros, char **uuid);

#endif
