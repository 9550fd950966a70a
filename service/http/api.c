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
#include "core/jsonw.h"
#include "core/pgbin.h"
#include "core/uuid.h"
#include "http/problem.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading results ---------------------------------------------------- */

int api_one_row_ok(const struct db_result *res)
{
    return res->status == DB_OK && PQntuples(res->res) == 1;
}

int api_rows(const struct db_result *res)
{
    assert(res->status == DB_OK && res->res);
    return PQntuples(res->res);
}

static void api_check_cell(const struct db_result *res, int row, int col)
{
    assert(res->status == DB_OK && res->res);
    assert(row >= 0 && row < PQntuples(res->res));
    assert(col >= 0 && col < PQnfields(res->res));
    (void)res, (void)row, (void)col; /* with NDEBUG */
}

const char *api_col(const struct db_result *res, int row, int col)
{
    api_check_cell(res, row, col);
    return PQgetvalue(res->res, row, col);
}

size_t api_col_len(const struct db_result *res, int row, int col)
{
    api_check_cell(res, row, col);
    return (size_t)PQgetlength(res->res, row, col);
}

int api_cols(const struct db_result *res)
{
    assert(res->status == DB_OK && res->res);
    return PQnfields(res->res);
}

const char *api_col_opt(const struct db_result *res, int row, int col)
{
    api_check_cell(res, row, col);
    return PQgetisnull(res->res, row, col) ? NULL : PQgetvalue(res->res, row, col);
}

int api_col_is_null(const struct db_result *res, int row, int col)
{
    api_check_cell(res, row, col);
    return PQgetisnull(res->res, row, col);
}

int api_col_int(const struct db_result *res, int row, int col)
{
    int32_t v;
    if (!api_col_binary(res, col))
        return atoi(api_col(res, row, col));
    if (api_col_is_null(res, row, col) ||
        pgbin_int4(api_col(res, row, col), api_col_len(res, row, col), &v) < 0)
        return 0; /* as atoi of "" or of what is not a number */
    return (int)v;
}

long long api_col_ll(const struct db_result *res, int row, int col)
{
    return atoll(api_col(res, row, col));
}

int api_col_index(const struct db_result *res, const char *name)
{
    assert(res->status == DB_OK && res->res);
    int i = PQfnumber(res->res, name);
    assert(i >= 0);
    return i;
}

int api_col_binary(const struct db_result *res, int col)
{
    assert(res->status == DB_OK && res->res);
    assert(col >= 0 && col < PQnfields(res->res));
    return PQfformat(res->res, col) == 1;
}

/* ---- the caller and the common replies ---------------------------------- */

void api_actor_params(struct req *r, const char **params)
{
    params[0] = r->actor.user_id;
    params[1] = r->actor.org_id;
    params[2] = r->actor.session_id;
}

void api_params_none(struct api_params *p)
{
    p->n = 0;
}

void api_params_actor(struct api_params *p, struct req *r)
{
    api_params_none(p);
    api_param(p, r->actor.user_id);
    api_param(p, r->actor.org_id);
    api_param(p, r->actor.session_id);
}

int api_param(struct api_params *p, const char *value)
{
    assert(p->n < API_PARAMS_MAX);
    p->v[p->n++] = value;
    return p->n;
}

int api_params_page(struct api_params *p, struct req *r)
{
    struct page *pg = arena_alloc(&r->arena, sizeof(*pg));
    if (api_page(r, pg) < 0)
        return -1;
    api_param(p, pg->limit);
    api_param(p, pg->after_ts);
    api_param(p, pg->after_id);
    return 0;
}

void api_db(struct req *r, const char *sql, const struct api_params *p, req_db_continue next)
{
    req_db(r, sql, p->n, p->v, next);
}

void api_reply_json_text(struct req *r, int status, const char *json)
{
    req_reply_text(r, status, "application/json", json);
}

void api_reply_jsonw(struct req *r, int status, struct jsonw *w)
{
    size_t len = 0;
    char *text = jsonw_take(w, &len);
    if (!text) { /* the caller should have checked jsonw_finish */
        req_problem(r, 500, "The answer could not be written.");
        return;
    }
    req_reply_owned(r, status, "application/json", text, len);
}

size_t api_result_bytes(const struct db_result *res)
{
    size_t n = 0;
    int rows = PQntuples(res->res), cols = PQnfields(res->res);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            n += (size_t)PQgetlength(res->res, i, j);
    return n;
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

int api_etag_matches(const char *header, const char *etag)
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
    int status = api_col_int(res, 0, 0); /* text, or a binary int4 (req_db_binary) */
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
    return -1;
}

const char *api_uuid_param(struct req *r, int i)
{
    const char *s = req_param(r, i);
    if (!s || !valid_uuid(s)) {
        req_problem(r, 404, "No such resource.");
        return NULL;
    }
    return uuid_lower(arena_strdup(&r->arena, s));
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
        return 0;
    struct validator v;
    v_init(&v, NULL, &r->arena);
    v_error(&v, bad,
            strcmp(bad, "limit") == 0 ? "must be an integer from 1 to 100"
                                      : "is not a cursor this service gave out");
    api_reject_invalid(r, &v);
    return -1;
}

int api_sync_since(struct req *r, const char **since)
{
    const char *s = req_query(r, "updated_since");
    *since = NULL;
    if (!s)
        return 0;
    if (!valid_timestamp(s)) {
        struct validator v;
        v_init(&v, NULL, &r->arena);
        v_error(&v, "updated_since", "must be an RFC 3339 date-time with a time zone");
        api_reject_invalid(r, &v);
        return -1;
    }
    *since = s;
    return 0;
}

/* A row's updated_at is the start time of the transaction that wrote it,
 * which may commit after rows with later timestamps have been read. No
 * statement runs longer than the statement timeout, and a transaction holds
 * one statement, or a group commit's DB_GROUP_COMMIT of them (PostgreSQL
 * times each Execute of a pipeline on its own: measured on 15, three
 * 0.6 s statements before one Sync pass a 1 s timeout). Looking back that
 * long (plus a second) before updated_since catches every late commit: a
 * sync may see a row twice, never miss one. Clients apply changes
 * idempotently, and a student's own changes of a minute are few. */
const char *api_sync_overlap(struct req *r)
{
    const struct config *cfg = &r->app->cfg; /* DB_GROUP_COMMIT is at least 1 */
    long ms = (long)cfg->statement_timeout_ms * cfg->db_group_commit;
    return arena_printf(&r->arena, "%ld", ms / 1000 + 1);
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
    const char *sql, *replay;
    int n;
    const char **params;
    req_db_continue next;
    int tries; /* 23505s answered by running replay */
};

/* Each 23505 runs the replay statement, at most twice: the first after an
 * optimistic plain INSERT met the id, the second when the replay's own
 * ON CONFLICT lost a race on the other unique index (api.h). */
static void api_create_done(struct req *r, struct db_result *res)
{
    struct api_create *c = req_state_get(r, create);
    if (res->status == DB_ERROR && strcmp(res->sqlstate, "23505") == 0 && c->tries < 2) {
        c->tries++;
        req_db(r, c->replay, c->n, c->params, api_create_done);
        return;
    }
    c->next(r, res);
}

void api_db_create_replay(struct req *r, const char *sql, const char *replay, int n,
                          const char **params, req_db_continue next)
{
    struct api_create *c = arena_alloc(&r->arena, sizeof(*c));
    c->sql = sql;
    c->replay = replay;
    c->n = n;
    c->params = arena_alloc(&r->arena, (size_t)n * sizeof(char *));
    memcpy(c->params, params, (size_t)n * sizeof(char *));
    c->next = next;
    /* The same statement as replay has had its one optimistic try. */
    c->tries = sql == replay;
    req_state_set(r, create, c);
    /* The optimistic try is a plain INSERT: it may share a commit with
     * other creates (group commit). A replay takes a row lock (ON
     * CONFLICT DO UPDATE) and runs alone. */
    if (sql != replay)
        req_db_group(r, sql, n, params, api_create_done);
    else
        req_db(r, sql, n, params, api_create_done);
}

const char *const *api_create_params(struct req *r)
{
    return req_state_get(r, create)->params;
}

void api_db_create(struct req *r, const char *sql, int n, const char **params, req_db_continue next)
{
    api_db_create_replay(r, sql, sql, n, params, next);
}

int api_page_params(struct req *r, const char **p)
{
    struct api_params b;
    api_params_actor(&b, r);
    if (api_params_page(&b, r) < 0)
        return -1;
    memcpy(p, b.v, (size_t)b.n * sizeof(*p));
    return 0;
}

void api_by_id(struct req *r, const char *sql)
{
    const char *id = api_uuid_param(r, 0);
    if (!id)
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, id);
    api_db(r, sql, &p, api_reply_row);
}

void api_list(struct req *r, const char *sql)
{
    struct api_params p;
    api_params_actor(&p, r);
    if (api_params_page(&p, r) == 0)
        api_db(r, sql, &p, api_reply_row);
}

void api_sync_list(struct req *r, const char *list_sql, const char *sync_sql)
{
    struct api_params p;
    const char *since = NULL;
    api_params_actor(&p, r);
    if (api_params_page(&p, r) < 0 || api_sync_since(r, &since) < 0)
        return;
    if (!since) {
        api_db(r, list_sql, &p, api_reply_row);
        return;
    }
    api_param(&p, since);
    api_param(&p, api_sync_overlap(r));
    api_db(r, sync_sql, &p, api_reply_row);
}

/* The args CTE's entries: "$<k>::<type> AS <name>", separated by commas
 * (and any spaces: the SQL is laid out over lines). */
static int api_args_entries(const struct api_args *a, const char *p, char *why, size_t n)
{
    int k = API_ARGS_FIRST + 1;
    for (const char *const *name = a->args; *name; name++, k++) {
        if (name != a->args && *p++ != ',')
            p = "";
        p += strspn(p, " ");
        char num[16];
        int len = snprintf(num, sizeof(num), "$%d::", k);
        const char *as = strncmp(p, num, (size_t)len) == 0 ? strstr(p, " AS ") : NULL;
        size_t nl = strlen(*name);
        if (!as || memchr(p, ',', (size_t)(as - p)) || strncmp(as + 4, *name, nl) != 0 ||
            !strchr(",)", as[4 + nl]) || !as[4 + nl]) {
            snprintf(why, n, "%s: args entry %d is not $%d::<type> AS %s", a->name, k, k, *name);
            return -1;
        }
        p = as + 4 + nl;
    }
    if (*p != ')') {
        snprintf(why, n, "%s: args lists more than the %d names", a->name, k - 4);
        return -1;
    }
    return 0;
}

int api_args_check(const struct api_args *a, char *why, size_t n)
{
    const char *start = strstr(a->sql, "args AS (SELECT ");
    if (!start) {
        snprintf(why, n, "%s: no args CTE", a->name);
        return -1;
    }
    const char *p = start + strlen("args AS (SELECT ");
    if (api_args_entries(a, p, why, n) < 0)
        return -1;
    const char *end = strchr(p, ')');
    for (const char *d = a->sql; (d = strchr(d, '$')); d++) {
        if (atoi(d + 1) > API_ARGS_FIRST && (d < p || d > end)) {
            snprintf(why, n, "%s: $%d outside args", a->name, atoi(d + 1));
            return -1;
        }
    }
    return 0;
}
