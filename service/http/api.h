/* api.h - helpers every resource handler shares.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count.
 * Functions that take r and return -1 have already answered the client. */
#ifndef REFLECTD_API_H
#define REFLECTD_API_H

#include "http/pagination.h"
#include "http/request.h"
#include "http/validate.h"

struct jsonw;

/* The ETag of a row, from its updated_at: strong, quoted. */
/* clang-format off */
#define SQL_ETAG(ts) "('\"' || (extract(epoch FROM " ts ") * 1000000)::bigint || '\"')"

/* The condition of a conditional write: the row's ETag (from its updated_at
 * ts) equals the If-Match value in parameter param ("$5"), or If-Match is
 * "*" (any version). The handler gets the value from api_if_match. */
#define SQL_IF_MATCH(ts, param) "(" SQL_ETAG(ts) " = " param " OR " param " = '*')"

/* A deleted row as a sync list shows it (a tombstone): its id, deleted:
 * true and when it was deleted, so a phone can drop its copy. x is the
 * row's alias. */
#define SQL_TOMBSTONE(x)                                                                           \
    "json_build_object('id', " x ".id, 'deleted', true, 'updated_at', " SQL_TS(x ".updated_at") ")"

/* Every timestamp the API sends, in one fixed form: RFC 3339 UTC with 'Z'
 * and always six fraction digits (2026-12-01T09:32:27.123456Z).
 * json_build_object would give "+00:00" and drop trailing zeros of the
 * fraction (19 to 26 characters). Six digits, because PostgreSQL keeps
 * microseconds: a value sent back (?updated_since=) loses nothing. A macro,
 * not a SQL function, so no migration is needed and nothing costs a call. */
#define SQL_TS(t) "to_char((" t ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
/* The same for a table row as JSON (the export sends rows as they are):
 * each top-level key ending in "_at" is a timestamptz column by this
 * schema's naming rule. Only keys decide, never values (a reflection's text
 * may contain anything that looks like a time). */
#define SQL_TS_ROW(j)                                                                              \
    "(SELECT coalesce(jsonb_object_agg(k, CASE WHEN k LIKE '%\\_at' AND jsonb_typeof(v) ="     \
    " 'string' THEN to_jsonb(" SQL_TS("(v #>> '{}')::timestamptz") ") ELSE v END), '{}'::jsonb)"     \
    " FROM jsonb_each(" j ") AS e(k, v))"
/* clang-format on */

/* Reading a statement's result: handlers read rows only through these, never
 * libpq. Columns are by index, in the statement's SELECT order (api_col_index
 * finds one by name, for statements whose columns are many). Each asserts
 * that res is DB_OK and that row and column exist: reading a row that is not
 * there is a bug, not bad input. Values stay valid until the callback
 * returns; copy what must live longer. */
/* 1 when res is DB_OK with exactly one row (the usual answer), else 0. */
int api_one_row_ok(const struct db_result *res);
/* The number of rows of a DB_OK result. */
int api_rows(const struct db_result *res);
/* The column's text; "" for SQL NULL (as libpq gives it). */
const char *api_col(const struct db_result *res, int row, int col);
/* The length of the column's text in bytes (0 for SQL NULL). */
size_t api_col_len(const struct db_result *res, int row, int col);
/* The number of columns of a DB_OK result. */
int api_cols(const struct db_result *res);
/* The column's text, or NULL for SQL NULL. */
const char *api_col_opt(const struct db_result *res, int row, int col);
/* 1 when the column is SQL NULL. */
int api_col_is_null(const struct db_result *res, int row, int col);
/* The column as a number (atoi/atoll of its text; 0 for SQL NULL).
 * api_col_int also reads an int4 in binary format (req_db_binary), so
 * that a binary result's status column reads as a text one's does. */
int api_col_int(const struct db_result *res, int row, int col);
long long api_col_ll(const struct db_result *res, int row, int col);
/* The index of the column called name; asserts that there is one. */
int api_col_index(const struct db_result *res, const char *name);
/* 1 when the column came in binary format (req_db_binary), 0 for text. */
int api_col_binary(const struct db_result *res, int col);

/* The parameters of one statement, numbered as they are added, so that the
 * n-th api_param call fills $n and the count passed to the database is
 * always the number filled: none can be skipped, doubled or miscounted.
 * Handlers add them in the order of the "$n:" list in the comment above
 * the statement. Generic: no statement-specific names live here. */
#define API_PARAMS_MAX 24
struct api_params {
    const char *v[API_PARAMS_MAX];
    int n; /* how many are filled: $1..$n */
};

/* Starts p with the caller: $1 user, $2 organisation, $3 session (the
 * parameters SQL_ACTOR in handlers/policy.h expects). */
void api_params_actor(struct api_params *p, struct req *r);
/* Starts p empty, for statements that run without a caller. */
void api_params_none(struct api_params *p);
/* Adds value (NULL is SQL NULL) as the next parameter; returns the n of
 * the $n it filled. More than API_PARAMS_MAX is a programming error
 * (assert). */
int api_param(struct api_params *p, const char *value);
/* Adds ?limit and ?cursor as the next three parameters (limit, cursor time
 * in microseconds, cursor id: the arguments of SQL_AFTER and
 * SQL_PAGE_BODY). 0, or -1 (and 422 sent) when either is invalid. */
int api_params_page(struct api_params *p, struct req *r);
/* req_db with the statement's parameters. */
void api_db(struct req *r, const char *sql, const struct api_params *p, req_db_continue next);

/* Runs sql with the caller ($1..$3) and the path's first parameter, a
 * UUID, as $4, and answers with its row (api_reply_row); 404 for an id
 * that is not a UUID. For the routes whose whole work is one statement
 * about one thing. */
void api_by_id(struct req *r, const char *sql);

/* The If-Match header; NULL (and 428 sent) when the client did not send one. */
const char *api_if_match(struct req *r);
/* Fills params[0..2] with the caller ($1 user, $2 organisation, $3 session). */
void api_actor_params(struct req *r, const char **params);
/* Answers from a statement that returns one row (status, body[, etag[,
 * detail]]): status is the HTTP status; body is JSON text (ignored for
 * 204/304 and errors); etag, when not NULL, becomes the ETag header. An
 * error status gets a problem body with detail, or a standard one. */
void api_reply_row(struct req *r, struct db_result *res);
/* Sends the validator's 422 when it failed and returns -1; 0 when valid. */
int api_reject_invalid(struct req *r, struct validator *v);
/* A path parameter that must be a UUID: NULL (and 404 sent) otherwise. */
const char *api_uuid_param(struct req *r, int i);
/* Parses the body, then checks it has only the allowed fields. */
json_t *api_body(struct req *r, struct validator *v, const char *const *fields);
/* Reads ?limit and ?cursor: 0, or -1 (and 422 sent) when either is invalid. */
int api_page(struct req *r, struct page *pg);
/* Reads ?updated_since (RFC 3339); *since stays NULL when absent. 0, or -1
 * (and 422 sent) when it is not a valid timestamp. */
int api_sync_since(struct req *r, const char **since);
/* Seconds a sync looks back before updated_since (see api.c). */
const char *api_sync_overlap(struct req *r);
/* A query parameter that must be one of allowed; NULL (and 422 sent)
 * otherwise. */
const char *api_enum_query(struct req *r, const char *name, const char *value,
                           const char *const *allowed);
/* req_db for a create that carries a client-chosen id. Two copies of the
 * same create can race; the loser's ON CONFLICT only covers the primary
 * key, so it may trip the (organisation_id, id) unique index instead
 * (23505). Run once more, the original is committed by then and the
 * statement answers as for any retry. Uses r->state. */
void api_db_create(struct req *r, const char *sql, int n, const char **params,
                   req_db_continue next);
/* api_db_create with an optimistic first statement: sql is a plain INSERT
 * (no ON CONFLICT, the cheap common case of a new id), and only when it
 * fails with 23505 (the id exists) does replay run: a statement with the
 * same parameters that answers for an existing id as api_db_create's
 * statement does (and may itself be run once more, as above). sql must
 * change nothing when it fails, which a single statement guarantees. */
void api_db_create_replay(struct req *r, const char *sql, const char *replay, int n,
                          const char **params, req_db_continue next);
/* The parameters api_db_create_replay was given (its copy), for the
 * continuation of a create that renders its answer from them. */
const char *const *api_create_params(struct req *r);
/* Fills p[0..5]: the caller, then limit, cursor time and cursor id from
 * ?limit and ?cursor. 0, or -1 (and 422 sent) when they are invalid. */
int api_page_params(struct req *r, const char **p);
/* A keyset-paged list: sql takes the caller ($1..$3), then limit, cursor
 * time and cursor id ($4..$6), and answers with api_reply_row's row. */
void api_list(struct req *r, const char *sql);
/* The same, or with ?updated_since= the sync variant, which also takes the
 * time ($7) and the overlap in seconds ($8). */
void api_sync_list(struct req *r, const char *list_sql, const char *sync_sql);
/* Does an If-None-Match header name this ETag ("*", one, or a list)? */
int api_etag_matches(const char *header, const char *etag);
/* Replies with a JSON text produced by the database (no re-parsing). */
void api_reply_json_text(struct req *r, int status, const char *json);
/* Replies with the text of a finished JSON writer, which it takes over
 * (w is left empty); a writer that failed is the caller's to check first. */
void api_reply_jsonw(struct req *r, int status, struct jsonw *w);
/* The bytes of all the values of a result: what a JSON text of it needs,
 * before quotes, keys and escapes. */
size_t api_result_bytes(const struct db_result *res);
/* 200 with json and an ETag made from its bytes, or 304 when If-None-Match
 * names that ETag: for answers computed in the service rather than read
 * from a row with an updated_at (summaries). */
void api_reply_json_etagged(struct req *r, const char *json);
/* Sets etag (strong, quoted) as the ETag header and, when If-None-Match
 * names it, sends 304: returns 1 then, 0 when the caller must answer. */
int api_not_modified(struct req *r, const char *etag);

/* Named parameters, so that none can be misnumbered (issue 14). A
 * statement with more than the caller and an id names its parameters once,
 * at its top, in order from $4: "args AS (SELECT $4::uuid AS id,
 * $5::uuid AS team_id, ...)", and uses args.<name> everywhere else. The
 * handler declares the same names in the same order as an X-macro list,
 *   #define CREATE_ARGS(X, P) X(P, id) X(P, team_id) ...
 * from which API_ARG_INDEX makes the indices it fills (p[CREATE_team_id])
 * and API_ARG_NAME the names api_args_check compares with the statement
 * (tests/unit/test_api_args.c runs it on every such statement). */
#define API_ARG_INDEX(prefix, name) prefix##_##name,
#define API_ARG_NAME(prefix, name)  #name,
/* The first index: p[0..2] are the caller's (api_actor_params). */
#define API_ARGS_FIRST 3

struct api_args {
    const char *name; /* the statement's */
    const char *sql;
    const char *const *args; /* NULL-terminated */
};
/* 0 when sql's args CTE lists exactly a->args, as $4, $5, ... in order,
 * and no parameter past $3 appears outside it; otherwise -1, and why (a
 * message of at most n bytes). */
int api_args_check(const struct api_args *a, char *why, size_t n);

#endif
