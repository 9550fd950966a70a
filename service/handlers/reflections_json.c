/* reflections_json.c - reflections rendered as the API's JSON, in C,
 * straight from the rows of SQL_REFLECTION_COLS (reflections_sql.h):
 * one reflection with its ETag, and keyset pages with their next cursor.
 *
 * The shape is the one PostgreSQL's json_build_object gave before
 * (issue 18), field for field and in the same order: timestamps as
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" (jsonw_pg_ts; the pool's sessions run in
 * UTC), dates as PostgreSQL writes them in DateStyle ISO, SQL NULL as
 * null, arrays sorted as they are stored.
 *
 * The rows may come in either format, column by column as libpq says
 * (api_col_binary): text, as a single reflection's statements return it,
 * or binary, as the page statements ask for it (req_db_binary). In binary
 * PostgreSQL skips uuid_out, timestamptz_out, date_out and array_out, a
 * good part of its CPU for a page (issue 18), and core/pgbin.c writes the
 * same text here; a value that does not decode is a 500, as a text value
 * that does not parse is. */
#include "handlers/reflections_sql.h"
#include "core/b64url.h"
#include "core/jsonw.h"
#include "core/pgbin.h"
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most rows a page statement returns: the largest limit (pagination.h)
 * plus the one that says there is a next page. */
#define PAGE_ROWS_MAX 101

/* Column offsets within SQL_REFLECTION_COLS. */
enum {
    RC_ID,
    RC_OWNER,
    RC_TEAM,
    RC_OCCURRED,
    RC_SITUATION,
    RC_TASK,
    RC_ACTION,
    RC_RESULT,
    RC_REFLECTION,
    RC_TRANSFER,
    RC_STATUS,
    RC_VERMOGENS,
    RC_DIMENSIONS,
    RC_GOALS,
    RC_SHARED,
    RC_CREATED,
    RC_UPDATED,
    RC_DELETED,
    RC_N
};
_Static_assert(RC_N == REFLECTION_NCOLS, "SQL_REFLECTION_COLS and RC_* disagree");

/* A column's SQL type, which decides how its binary form is read (its text
 * form is sent as it is, or parsed by jsonw_pg_array and jsonw_pg_ts). */
enum col_kind { K_TEXT, K_UUID, K_DATE };

/* Scalar members, by column, in the order they are sent. */
static const struct {
    const char *name;
    int col;
    enum col_kind kind;
} text_fields[] = {
    {"id", RC_ID, K_UUID},
    {"owner_id", RC_OWNER, K_UUID},
    {"team_id", RC_TEAM, K_UUID},
    {"occurred_on", RC_OCCURRED, K_DATE},
    {"situation", RC_SITUATION, K_TEXT},
    {"task", RC_TASK, K_TEXT},
    {"action", RC_ACTION, K_TEXT},
    {"result", RC_RESULT, K_TEXT},
    {"reflection", RC_REFLECTION, K_TEXT},
    {"transfer", RC_TRANSFER, K_TEXT},
    {"status", RC_STATUS, K_TEXT},
};
/* Array members: text[] or uuid[]. */
static const struct {
    const char *name;
    int col;
    enum col_kind elem;
} array_fields[] = {
    {"vermogens", RC_VERMOGENS, K_TEXT},
    {"dimensions", RC_DIMENSIONS, K_TEXT},
    {"goal_ids", RC_GOALS, K_UUID},
    {"shared_with", RC_SHARED, K_UUID},
};

/* A binary value that does not decode: the writer fails, so the reply is
 * a 500 (reflection_render_failed). Returns -1. */
static int bin_failed(struct jsonw *w)
{
    w->failed = 1;
    return -1;
}

/* A uuid column as text into out, in either format; 0, or -1. */
static int col_uuid(const struct db_result *res, int row, int col, char out[PGBIN_UUID_LEN])
{
    const char *v = api_col_opt(res, row, col);
    size_t n = v ? api_col_len(res, row, col) : 0;
    if (!v)
        return -1;
    if (api_col_binary(res, col))
        return pgbin_uuid(v, n, out);
    if (n != PGBIN_UUID_LEN - 1)
        return -1;
    memcpy(out, v, n + 1);
    return 0;
}

/* A scalar member's value (not NULL) from its binary form. */
static void bin_scalar(struct jsonw *w, const char *v, size_t n, enum col_kind kind)
{
    char out[PGBIN_DATE_LEN > PGBIN_UUID_LEN ? PGBIN_DATE_LEN : PGBIN_UUID_LEN];
    if (kind == K_TEXT)
        jsonw_str(w, v, n); /* text's binary form is its bytes */
    else if (kind == K_UUID && pgbin_uuid(v, n, out) == 0)
        jsonw_str(w, out, PGBIN_UUID_LEN - 1);
    else if (kind == K_DATE && pgbin_date(v, n, out) == 0)
        jsonw_cstr(w, out);
    else
        bin_failed(w);
}

static void scalar_json(struct jsonw *w, const struct db_result *res, int row, int c,
                        enum col_kind kind)
{
    if (api_col_is_null(res, row, c))
        jsonw_null(w);
    else if (api_col_binary(res, c))
        bin_scalar(w, api_col(res, row, c), api_col_len(res, row, c), kind);
    else
        jsonw_str(w, api_col(res, row, c), api_col_len(res, row, c));
}

/* A text[] or uuid[] in binary form as a JSON array of strings and nulls. */
static int bin_array_json(struct jsonw *w, const char *v, size_t n, enum col_kind elem)
{
    struct pgbin_array a;
    if (pgbin_array_open(&a, v, n, elem == K_UUID ? PGBIN_UUIDOID : PGBIN_TEXTOID) < 0)
        return bin_failed(w);
    jsonw_arr_begin(w);
    const char *e;
    size_t len;
    int more;
    while ((more = pgbin_array_next(&a, &e, &len)) == 1) {
        if (!e)
            jsonw_null(w);
        else
            bin_scalar(w, e, len, elem);
    }
    if (more < 0)
        return bin_failed(w);
    jsonw_arr_end(w);
    return w->failed ? -1 : 0;
}

static int array_json(struct jsonw *w, const struct db_result *res, int row, int c,
                      enum col_kind elem)
{
    const char *v = api_col_opt(res, row, c);
    if (v && api_col_binary(res, c))
        return bin_array_json(w, v, api_col_len(res, row, c), elem);
    return jsonw_pg_array(w, v); /* NULL fails there too: the schema says NOT NULL */
}

/* A timestamptz column (not NULL) as the API's timestamp, in either
 * format: into out when not NULL, *micros since the epoch. 0, or -1. */
static int col_ts(const struct db_result *res, int row, int c, char out[PGBIN_TS_LEN],
                  long long *micros)
{
    const char *v = api_col_opt(res, row, c);
    if (v && api_col_binary(res, c))
        return pgbin_ts(v, api_col_len(res, row, c), out, micros);
    return pg_ts_parse(v, out, micros);
}

static int ts_json(struct jsonw *w, const struct db_result *res, int row, int c, long long *micros)
{
    char out[PGBIN_TS_LEN];
    if (col_ts(res, row, c, out, micros) < 0)
        return bin_failed(w);
    jsonw_str(w, out, PGBIN_TS_LEN - 1);
    return w->failed ? -1 : 0;
}

static int tombstone_json(struct jsonw *w, const struct db_result *res, int row, int col,
                          struct reflection_key *key)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_str(w, key->id, PGBIN_UUID_LEN - 1);
    jsonw_key(w, "deleted");
    jsonw_bool(w, 1);
    jsonw_key(w, "updated_at");
    int rc = ts_json(w, res, row, col + RC_UPDATED, &key->updated_micros);
    jsonw_obj_end(w);
    return rc < 0 || w->failed ? -1 : 0;
}

int reflection_json(struct jsonw *w, const struct db_result *res, int row, int col, int tombstones,
                    struct reflection_key *key)
{
    if (col_uuid(res, row, col + RC_ID, key->id) < 0)
        return bin_failed(w);
    if (tombstones && !api_col_is_null(res, row, col + RC_DELETED))
        return tombstone_json(w, res, row, col, key);
    jsonw_obj_begin(w);
    for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
        jsonw_key(w, text_fields[i].name);
        scalar_json(w, res, row, col + text_fields[i].col, text_fields[i].kind);
    }
    for (size_t i = 0; i < sizeof(array_fields) / sizeof(array_fields[0]); i++) {
        jsonw_key(w, array_fields[i].name);
        array_json(w, res, row, col + array_fields[i].col, array_fields[i].elem);
    }
    jsonw_key(w, "created_at");
    ts_json(w, res, row, col + RC_CREATED, &key->created_micros);
    jsonw_key(w, "updated_at");
    ts_json(w, res, row, col + RC_UPDATED, &key->updated_micros);
    jsonw_obj_end(w);
    return w->failed ? -1 : 0;
}

void reflection_render_failed(struct req *r, struct jsonw *w)
{
    jsonw_free(w);
    struct db_result bad = {.status = DB_ERROR, .res = NULL, .sqlstate = "XX000"};
    req_db_failed(r, &bad);
}

void reflection_reply_one(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK || api_rows(res) != 1 || api_cols(res) != 4 + REFLECTION_NCOLS ||
        api_col_is_null(res, 0, 4)) {
        api_reply_row(r, res); /* no reflection: the status (and detail) say it all */
        return;
    }
    struct jsonw w;
    struct reflection_key key;
    jsonw_init(&w);
    if (reflection_json(&w, res, 0, 4, 0, &key) < 0 || !jsonw_finish(&w)) {
        reflection_render_failed(r, &w);
        return;
    }
    reflection_reply_written(r, api_col_int(res, 0, 0), &w, key.updated_micros);
}

void reflection_reply_written(struct req *r, int status, struct jsonw *w, long long updated_micros)
{
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%lld\"", updated_micros);
    req_set_header(r, "ETag", etag);
    if (status == 200 && api_etag_matches(req_header(r, "If-None-Match"), etag))
        req_reply_empty(r, 304);
    else
        api_reply_jsonw(r, status, w);
    jsonw_free(w);
}

/* The cursor naming a row by its sort key, as SQL_CURSOR makes it
 * (pagination.h): base64url of "<micros>|<uuid>". */
static void reflection_cursor(struct jsonw *w, long long micros, const char *id)
{
    char key[80], out[112];
    int n = snprintf(key, sizeof(key), "%lld|%s", micros, id);
    if (n < 0 || (size_t)n >= sizeof(key) || b64url_len((size_t)n) >= sizeof(out)) {
        w->failed = 1;
        return;
    }
    b64url_encode((const unsigned char *)key, (size_t)n, out);
    jsonw_cstr(w, out);
}

/* A row of a page and its sort key. */
struct page_row {
    int row;
    long long micros;
    char id[PGBIN_UUID_LEN];
};

static int page_row_before(const struct page_row *a, const struct page_row *b)
{
    /* uuid text is lowercase hex at fixed places: strcmp orders it as
     * PostgreSQL orders uuids (bytewise). */
    return a->micros < b->micros || (a->micros == b->micros && strcmp(a->id, b->id) < 0);
}

/* The page's reflection rows (non-NULL id) in page order, into out (room
 * for max). The statements select the page with ORDER BY ... LIMIT inside
 * and leave the final order to this function: an ORDER BY on the outer
 * query was a Sort of every wide row in PostgreSQL, about a fifth of its
 * CPU for a page (issue 18). The rows nearly always arrive in order
 * already, so an insertion sort is one pass. Returns the count, or -1
 * when a row's sort key is not what the schema gives or there are more
 * than max. */
static int page_rows_sorted(const struct db_result *pg, int by_updated, struct page_row *out,
                            int max)
{
    int rows = api_rows(pg), n = 0;
    for (int i = 0; i < rows; i++) {
        if (api_col_is_null(pg, i, 1 + RC_ID))
            continue;
        if (n == max)
            return -1;
        struct page_row k = {.row = i};
        int ts = 1 + (by_updated ? RC_UPDATED : RC_CREATED);
        if (col_uuid(pg, i, 1 + RC_ID, k.id) < 0 || col_ts(pg, i, ts, NULL, &k.micros) < 0)
            return -1;
        int j = n++;
        for (; j > 0 && page_row_before(&k, &out[j - 1]); j--)
            out[j] = out[j - 1];
        out[j] = k;
    }
    return n;
}

int reflection_page_json(struct jsonw *w, const struct db_result *pg, int limit, int by_updated)
{
    struct page_row order[PAGE_ROWS_MAX];
    int n = page_rows_sorted(pg, by_updated, order, PAGE_ROWS_MAX);
    if (n < 0)
        return -1;
    int shown = n < limit ? n : limit;
    struct reflection_key key = {0};
    jsonw_obj_begin(w);
    jsonw_key(w, "items");
    jsonw_arr_begin(w);
    for (int i = 0; i < shown; i++)
        if (reflection_json(w, pg, order[i].row, 1, by_updated, &key) < 0)
            return -1;
    jsonw_arr_end(w);
    jsonw_key(w, "next_cursor");
    if (n > limit)
        reflection_cursor(w, order[limit - 1].micros, order[limit - 1].id);
    else
        jsonw_null(w);
    jsonw_obj_end(w);
    return w->failed ? -1 : 0;
}

void reflection_reply_page(struct req *r, struct db_result *res, int limit, int by_updated)
{
    if (res->status != DB_OK || api_rows(res) < 1 || api_cols(res) != 1 + REFLECTION_NCOLS) {
        req_db_failed(r, res);
        return;
    }
    if (api_col_int(res, 0, 0) != 200) {
        api_reply_row(r, res); /* a refusal: one row, only the status */
        return;
    }
    struct jsonw w;
    jsonw_init(&w);
    /* The values, plus keys and quotes (about 300 bytes a row) and what
     * the binary forms grow by as text (uuids 16 -> 36 bytes, timestamps
     * 8 -> 27: about 100 more), plus room for the writer's worst-case
     * reservation of one more string (6 bytes for each of its bytes): one
     * allocation for a whole page. */
    size_t expect = api_result_bytes(res) + 400 * (size_t)api_rows(res) + 16384;
    if (jsonw_expect(&w, expect) < 0 || reflection_page_json(&w, res, limit, by_updated) < 0 ||
        !jsonw_finish(&w)) {
        reflection_render_failed(r, &w);
        return;
    }
    api_reply_jsonw(r, 200, &w);
}

struct reflection_page {
    int limit, by_updated;
};

static void reflection_page_done(struct req *r, struct db_result *res)
{
    struct reflection_page *pg = req_state_get(r, reflection_page);
    reflection_reply_page(r, res, pg->limit, pg->by_updated);
}

void reflection_page_query(struct req *r, const char *sql, int n, const char *const *params,
                           int by_updated)
{
    struct reflection_page *pg = arena_alloc(&r->arena, sizeof(*pg));
    pg->limit = atoi(params[3]);
    pg->by_updated = by_updated;
    req_state_set(r, reflection_page, pg);
    req_db_binary(r, sql, n, params, reflection_page_done);
}
