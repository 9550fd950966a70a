/* api.c - what every resource handler shares: the caller's parameters, the
 * "status + body" row convention, and the common rejections.
 *
 * Most statements answer with one row: (status, body[, etag[, detail]]). The statement
 * decides the status because it is where authorization and existence are
 * checked; the handler only turns that row into a response. Bodies are
 * built by PostgreSQL (json_build_object) and sent as they come, so a
 * response is never parsed and re-serialised on the way out. */
#include "http/api.h"
#include "app.h"
#include "http/problem.h"

#include <stdlib.h>
#include <string.h>

void api_actor_params(struct req *r, const char **params)
{
    params[0] = r->actor.user_id;
    params[1] = r->actor.org_id;
    params[2] = r->actor.session_id;
}

void api_reply_json_text(struct req *r, int status, const char *json)
{
    req_reply_text(r, status, "application/json", json);
}

static const char *api_detail(int status)
{
    switch (status) {
    case 401:
        return "The login session has ended; log in again.";
    case 404:
        return "No such resource.";
    case 409:
        return "This conflicts with an existing resource.";
    case 412:
        return "The resource has changed since you read it.";
    case 422:
        return "The request cannot be applied.";
    default:
        return NULL;
    }
}

/* A statement's detail may start with a machine-readable code, as
 * "not_team_member|team_id is not a team you belong to.": the code goes
 * into the problem ("code", and its type URI), the rest is the detail. The
 * SQL is where the rule is checked, so it is where the rule is named. */
static void api_reply_refusal(struct req *r, int status, const char *detail)
{
    size_t n = detail ? strspn(detail, "abcdefghijklmnopqrstuvwxyz_") : 0;
    if (n == 0 || n >= 48 || detail[n] != '|') {
        if (status == 422)
            req_problem_code(r, status, "rule_violated", detail);
        else
            req_problem(r, status, detail);
        return;
    }
    char code[48];
    memcpy(code, detail, n);
    code[n] = '\0';
    req_problem_code(r, status, code, detail + n + 1);
}

const char *api_if_match(struct req *r)
{
    const char *m = req_header(r, "If-Match");
    if (!m || !*m) {
        req_problem(r, 428, "Send If-Match with the ETag you last read.");
        return NULL;
    }
    return m;
}

/* Does an If-None-Match header name this ETag ("*", one, or a list)? */
static int api_etag_matches(const char *header, const char *etag)
{
    if (!header)
        return 0;
    if (strcmp(header, "*") == 0)
        return 1;
    size_t n = strlen(etag);
    for (const char *p = header; (p = strstr(p, etag)); p += n) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ')
            return 1;
    }
    return 0;
}

/* FNV-1a, 64 bits: an ETag only has to change when the bytes do; nobody
 * gains from forging one (a match only saves the caller a download). */
static unsigned long long api_body_hash(const char *s)
{
    unsigned long long h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

int api_not_modified(struct req *r, const char *etag)
{
    req_set_header(r, "ETag", etag);
    if (!api_etag_matches(req_header(r, "If-None-Match"), etag))
        return 0;
    req_reply_empty(r, 304);
    return 1;
}

void api_reply_json_etagged(struct req *r, const char *json)
{
    char etag[24];
    snprintf(etag, sizeof(etag), "\"%016llx\"", api_body_hash(json));
    if (!api_not_modified(r, etag))
        api_reply_json_text(r, 200, json);
}

void api_reply_row(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK || PQntuples(res->res) != 1) {
        req_db_failed(r, res);
        return;
    }
    PGresult *pg = res->res;
    int status = atoi(PQgetvalue(pg, 0, 0));
    int has_body = PQnfields(pg) > 1 && !PQgetisnull(pg, 0, 1);
    if (PQnfields(pg) > 2 && !PQgetisnull(pg, 0, 2)) {
        const char *etag = PQgetvalue(pg, 0, 2);
        req_set_header(r, "ETag", etag);
        if (status == 200 && api_etag_matches(req_header(r, "If-None-Match"), etag))
            status = 304;
    }
    if (status >= 400) {
        /* A statement may explain a refusal in a fourth column. */
        int has_detail = PQnfields(pg) > 3 && !PQgetisnull(pg, 0, 3);
        api_reply_refusal(r, status, has_detail ? PQgetvalue(pg, 0, 3) : api_detail(status));
    } else if (status == 204 || status == 304 || !has_body) {
        req_reply_empty(r, status);
    } else {
        api_reply_json_text(r, status, PQgetvalue(pg, 0, 1));
    }
}

int api_reject_invalid(struct req *r, struct validator *v)
{
    if (v_ok(v))
        return 0;
    json_t *p = v->problem;
    v->problem = NULL;
    req_reply_problem(r, p);
    return 1;
}

const char *api_uuid_param(struct req *r, int i)
{
    const char *s = req_param(r, i);
    if (!s || !valid_uuid(s)) {
        req_problem(r, 404, "No such resource.");
        return NULL;
    }
    char *lower = arena_strdup(&r->arena, s);
    for (char *c = lower; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    return lower;
}

/* The parsed body is kept alive by the arena's owner: we register it for
 * release when the request ends by stashing it in the validator. */
json_t *api_body(struct req *r, struct validator *v, const char *const *fields)
{
    json_t *body = req_json_body(r);
    if (!body)
        return NULL;
    req_keep_json(r, body);
    v_init(v, body, &r->arena);
    if (fields)
        v_known_fields(v, fields);
    return body;
}

int api_page(struct req *r, struct page *pg)
{
    const char *bad = page_parse(&r->arena, req_query(r, "limit"), req_query(r, "cursor"), pg);
    if (!bad)
        return 1;
    struct validator v;
    v_init(&v, NULL, &r->arena);
    v_error(&v, bad,
            strcmp(bad, "limit") == 0 ? "must be an integer from 1 to 100"
                                      : "is not a cursor this service gave out");
    api_reject_invalid(r, &v);
    return 0;
}

int api_sync_since(struct req *r, const char **since)
{
    const char *s = req_query(r, "updated_since");
    *since = NULL;
    if (!s)
        return 1;
    if (!valid_timestamp(s)) {
        struct validator v;
        v_init(&v, NULL, &r->arena);
        v_error(&v, "updated_since", "must be an RFC 3339 date-time with a time zone");
        api_reject_invalid(r, &v);
        return 0;
    }
    *since = s;
    return 1;
}

/* A row's updated_at is the start time of the transaction that wrote it,
 * which may commit after rows with later timestamps have been read. No
 * write runs longer than the statement timeout, so looking back that far
 * (plus a second) before updated_since catches every late commit: a sync
 * may see a row twice, never miss one. Clients apply changes idempotently. */
const char *api_sync_overlap(struct req *r)
{
    return arena_printf(&r->arena, "%d", r->app->cfg.statement_timeout_ms / 1000 + 1);
}

const char *api_enum_query(struct req *r, const char *name, const char *value,
                           const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(value, allowed[i]) == 0)
            return allowed[i];
    struct validator v;
    v_init(&v, NULL, &r->arena);
    v_error(&v, name, "is not one of the allowed values");
    api_reject_invalid(r, &v);
    return NULL;
}

struct api_create {
    const char *sql;
    int n;
    const char **params;
    req_db_continue next;
    int tried;
};

static void api_create_done(struct req *r, struct db_result *res)
{
    struct api_create *c = r->state;
    if (res->status == DB_ERROR && strcmp(res->sqlstate, "23505") == 0 && !c->tried) {
        c->tried = 1;
        req_db(r, c->sql, c->n, c->params, api_create_done);
        return;
    }
    c->next(r, res);
}

void api_db_create(struct req *r, const char *sql, int n, const char **params, req_db_continue next)
{
    struct api_create *c = arena_alloc(&r->arena, sizeof(*c));
    c->sql = sql;
    c->n = n;
    c->params = arena_alloc(&r->arena, (size_t)n * sizeof(char *));
    memcpy(c->params, params, (size_t)n * sizeof(char *));
    c->next = next;
    c->tried = 0;
    r->state = c;
    req_db(r, sql, n, params, api_create_done);
}

int api_page_params(struct req *r, const char **p)
{
    struct page *pg = arena_alloc(&r->arena, sizeof(*pg));
    if (!api_page(r, pg))
        return 0;
    api_actor_params(r, p);
    p[3] = pg->limit;
    p[4] = pg->after_ts;
    p[5] = pg->after_id;
    return 1;
}

void api_list(struct req *r, const char *sql)
{
    const char *p[6];
    if (api_page_params(r, p))
        req_db(r, sql, 6, p, api_reply_row);
}

void api_sync_list(struct req *r, const char *list_sql, const char *sync_sql)
{
    const char *p[8], *since = NULL;
    if (!api_page_params(r, p) || !api_sync_since(r, &since))
        return;
    if (!since) {
        req_db(r, list_sql, 6, p, api_reply_row);
        return;
    }
    p[6] = since;
    p[7] = api_sync_overlap(r);
    req_db(r, sync_sql, 8, p, api_reply_row);
}
