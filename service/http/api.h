/* api.h - helpers every resource handler shares. */
#ifndef REFLECTD_API_H
#define REFLECTD_API_H

#include "http/pagination.h"
#include "http/request.h"
#include "http/validate.h"

/* The ETag of a row, from its updated_at: strong, quoted. */
/* clang-format off */
#define SQL_ETAG(ts) "('\"' || (extract(epoch FROM " ts ") * 1000000)::bigint || '\"')"

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

/* The If-Match header; NULL (and 428 sent) when the client did not send one. */
const char *api_if_match(struct req *r);
/* Fills params[0..2] with the caller ($1 user, $2 organisation, $3 session). */
void api_actor_params(struct req *r, const char **params);
/* Answers from a statement that returns one row (status, body[, etag[,
 * detail]]): status is the HTTP status; body is JSON text (ignored for
 * 204/304 and errors); etag, when not NULL, becomes the ETag header. An
 * error status gets a problem body with detail, or a standard one. */
void api_reply_row(struct req *r, struct db_result *res);
/* Sends the validator's 422 when it failed; returns 1 when it did. */
int api_reject_invalid(struct req *r, struct validator *v);
/* A path parameter that must be a UUID: NULL (and 404 sent) otherwise. */
const char *api_uuid_param(struct req *r, int i);
/* Parses the body, then checks it has only the allowed fields. */
json_t *api_body(struct req *r, struct validator *v, const char *const *fields);
/* Reads ?limit and ?cursor; 0 (and 422 sent) when either is invalid. */
int api_page(struct req *r, struct page *pg);
/* Reads ?updated_since (RFC 3339); *since stays NULL when absent. 0 (and
 * 422 sent) when it is not a valid timestamp. */
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
/* Fills p[0..5]: the caller, then limit, cursor time and cursor id from
 * ?limit and ?cursor. 0 (and 422 sent) when they are invalid. */
int api_page_params(struct req *r, const char **p);
/* A keyset-paged list: sql takes the caller ($1..$3), then limit, cursor
 * time and cursor id ($4..$6), and answers with api_reply_row's row. */
void api_list(struct req *r, const char *sql);
/* The same, or with ?updated_since= the sync variant, which also takes the
 * time ($7) and the overlap in seconds ($8). */
void api_sync_list(struct req *r, const char *list_sql, const char *sync_sql);
/* Replies with a JSON text produced by the database (no re-parsing). */
void api_reply_json_text(struct req *r, int status, const char *json);
/* 200 with json and an ETag made from its bytes, or 304 when If-None-Match
 * names that ETag: for answers computed in the service rather than read
 * from a row with an updated_at (summaries). */
void api_reply_json_etagged(struct req *r, const char *json);
/* Sets etag (strong, quoted) as the ETag header and, when If-None-Match
 * names it, sends 304: returns 1 then, 0 when the caller must answer. */
int api_not_modified(struct req *r, const char *etag);

#endif
