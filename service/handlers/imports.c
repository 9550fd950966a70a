/* imports.c - loading an organisation's people in one go:
 * POST /v1/users/import (text/csv) and GET /v1/users/export.
 *
 * The file has one row per person, with a header naming the columns (any
 * order, any case): email and name (required), external_id, roles
 * ("admin|praktijkopleider"), teams ("Afdeling Zon:student|Afdeling
 * Maan:member") and supervisors (e-mail addresses, "|"-separated). This
 * file reads and checks every cell - encodings, quoting and separators in
 * csv.c - and reports every wrong cell by row and column at once; what
 * needs the database (who exists, who may supervise whom) is checked by
 * the one statement that then plans and applies the file (imports_sql.h).
 * ?dry_run=true (the default) reports what would change; ?dry_run=false
 * applies it, all or nothing.
 *
 * Cells that a spreadsheet would run as a formula (= + - @) are refused:
 * an export opened in Excel must not execute what someone typed into a
 * name. The export writes the same columns, so export, edit, import is a
 * round trip; formula-like values are defused there with an apostrophe. */
#include "http/api.h"
#include "app.h"
#include "core/csv.h"
#include "handlers/handlers.h"
#include "handlers/imports_sql.h"
#include "http/problem.h"
#include "db/statements.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMPORT_MAX_ROWS     50000
#define IMPORT_MAX_ERRORS   500
#define IMPORT_ANALYZE_ROWS 1000

enum import_col {
    COL_EMAIL,
    COL_NAME,
    COL_EXTERNAL_ID,
    COL_ROLES,
    COL_TEAMS,
    COL_SUPERVISORS,
    NCOL
};

static const char *const col_names[NCOL] = {"email", "name",  "external_id",
                                            "roles", "teams", "supervisors"};
static const char *const org_roles[] = {"admin", "praktijkopleider", NULL};
static const char *const team_roles[] = {"student", "werkbegeleider", "teammanager", "member",
                                         NULL};

struct import {
    json_t *problem; /* the 422 being collected */
    size_t nerrors;
    int col[NCOL]; /* the file's column of each, -1 when absent */
    json_t *rows;
    json_t *emails, *external_ids; /* seen in the file: row numbers */
};

static void import_error(struct import *im, size_t row, const char *field, const char *msg)
{
    if (!im->problem)
        im->problem =
            problem_new_code(422, "validation_failed", "The file has errors; nothing was changed.");
    im->nerrors++;
    if (im->nerrors > IMPORT_MAX_ERRORS)
        return;
    json_t *errors = json_object_get(im->problem, "errors");
    if (!errors) {
        errors = json_array();
        json_object_set_new(im->problem, "errors", errors);
    }
    json_array_append_new(errors, json_pack("{s:I, s:s, s:s}", "row", (json_int_t)row, "field",
                                            field ? field : "", "message", msg));
}

/* Trims spaces in place (cells are the parser's, writable). */
static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

static int import_header(struct import *im, const struct csv *c)
{
    for (int k = 0; k < NCOL; k++)
        im->col[k] = -1;
    for (size_t j = 0; j < c->ncols[0]; j++) {
        char *h = trim(c->cells[0][j]);
        int k = 0;
        while (k < NCOL && strcasecmp(h, col_names[k]) != 0)
            k++;
        if (k == NCOL)
            import_error(im, 1, h,
                         "Unknown column (email, name, external_id, roles, teams, "
                         "supervisors).");
        else if (im->col[k] >= 0)
            import_error(im, 1, col_names[k], "The column appears twice.");
        else
            im->col[k] = (int)j;
    }
    if (im->col[COL_EMAIL] < 0)
        import_error(im, 1, "email", "The column email is required.");
    if (im->col[COL_NAME] < 0)
        import_error(im, 1, "name", "The column name is required.");
    return im->problem ? -1 : 0;
}

static int email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s);
    return n >= 3 && n <= 254 && at && at != s && at[1] && !strchr(at + 1, '@') &&
           strchr(at + 1, '.') && !strpbrk(s, " ,;|:\"<>()[]\\") && valid_utf8_text(s, 0);
}

static char *lower(char *s)
{
    for (char *c = s; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return s;
}

static int in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* roles: "admin|praktijkopleider" -> JSON array. */
static json_t *parse_roles(struct import *im, size_t row, char *cell)
{
    json_t *out = json_array();
    for (char *save = NULL, *t = strtok_r(cell, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
        t = lower(trim(t));
        if (!*t)
            continue;
        json_t *v = json_string(t);
        if (!in_list(t, org_roles))
            import_error(im, row, "roles", "A role is admin or praktijkopleider.");
        else if (json_array_size(out) && json_equal(json_array_get(out, 0), v))
            import_error(im, row, "roles", "A role is listed twice.");
        json_array_append_new(out, v);
    }
    return out;
}

/* teams: "Team name:role|..." (the role after the last colon). */
static json_t *parse_teams(struct import *im, size_t row, char *cell)
{
    json_t *out = json_array();
    for (char *save = NULL, *t = strtok_r(cell, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
        t = trim(t);
        if (!*t)
            continue;
        char *colon = strrchr(t, ':');
        char *role = colon ? lower(trim(colon + 1)) : NULL;
        if (colon)
            *colon = '\0';
        char *team = trim(t);
        size_t n = utf8_chars(team);
        if (!role || !in_list(role, team_roles) || n < 1 || n > 200) {
            import_error(im, row, "teams",
                         "Each team is \"Team name:role\", role student, werkbegeleider, "
                         "teammanager or member.");
            continue;
        }
        for (size_t i = 0; i < json_array_size(out); i++)
            if (strcasecmp(json_string_value(json_object_get(json_array_get(out, i), "team")),
                           team) == 0)
                import_error(im, row, "teams", "A team is listed twice.");
        json_array_append_new(out, json_pack("{s:s, s:s}", "team", team, "role", role));
    }
    return out;
}

static json_t *parse_supervisors(struct import *im, size_t row, char *cell, const char *self)
{
    json_t *out = json_array();
    for (char *save = NULL, *t = strtok_r(cell, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
        t = lower(trim(t));
        if (!*t)
            continue;
        if (!email_ok(t))
            import_error(im, row, "supervisors", "A supervisor is an e-mail address.");
        else if (self && strcmp(t, self) == 0)
            import_error(im, row, "supervisors", "Nobody supervises themselves.");
        json_array_append_new(out, json_string(t));
    }
    return out;
}

/* Cell k of a record, trimmed ("" when the column is absent or short). */
static char *cell(const struct import *im, const struct csv *c, size_t i, int k)
{
    static char empty[1] = "";
    int j = im->col[k];
    return j >= 0 && (size_t)j < c->ncols[i] ? trim(c->cells[i][j]) : empty;
}

/* Unique in the file: e-mail addresses and external ids. */
static void import_unique(struct import *im, json_t *seen, size_t row, const char *field,
                          const char *v)
{
    json_t *first = json_object_get(seen, v);
    if (first) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Row %lld has the same %s.",
                 (long long)json_integer_value(first), field);
        import_error(im, row, field, msg);
    } else {
        json_object_set_new(seen, v, json_integer((json_int_t)row));
    }
}

static int import_cells_ok(struct import *im, const struct csv *c, size_t i, size_t row)
{
    if (c->ncols[i] > c->ncols[0]) {
        import_error(im, row, NULL, "The row has more cells than the header.");
        return 0;
    }
    int ok = 1;
    for (size_t j = 0; j < c->ncols[i]; j++)
        if (csv_is_formula(trim(c->cells[i][j]))) {
            import_error(im, row, trim(c->cells[0][j]),
                         "A cell starts with =, +, - or @: spreadsheet formulas are not "
                         "imported.");
            ok = 0;
        }
    return ok;
}

static void import_row(struct import *im, const struct csv *c, size_t i)
{
    size_t row = c->line[i];
    if (!import_cells_ok(im, c, i, row))
        return;
    char *email = lower(cell(im, c, i, COL_EMAIL));
    char *name = cell(im, c, i, COL_NAME);
    char *ext = cell(im, c, i, COL_EXTERNAL_ID);
    size_t nl = utf8_chars(name), el = utf8_chars(ext);
    if (!email_ok(email))
        import_error(im, row, "email", "Not an e-mail address.");
    else
        import_unique(im, im->emails, row, "email", email);
    if (nl < 1 || nl > 200 || !valid_utf8_text(name, 0))
        import_error(im, row, "name", "A name is 1 to 200 characters on one line.");
    if (el > 100 || !valid_utf8_text(ext, 0))
        import_error(im, row, "external_id", "An external id is at most 100 characters.");
    else if (el > 0)
        import_unique(im, im->external_ids, row, "external_id", ext);
    json_t *r = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "row", (json_int_t)row, "email",
                          email, "name", name, "external_id", el ? json_string(ext) : json_null(),
                          "roles", parse_roles(im, row, cell(im, c, i, COL_ROLES)), "teams",
                          parse_teams(im, row, cell(im, c, i, COL_TEAMS)), "supervisors",
                          parse_supervisors(im, row, cell(im, c, i, COL_SUPERVISORS), email));
    if (r)
        json_array_append_new(im->rows, r);
}

/* The rows as JSON for the statement; NULL (and 422 or 413 sent) when the
 * file cannot be imported. */
static json_t *import_read(struct req *r, const char *data, size_t len, enum csv_encoding enc)
{
    struct csv c;
    struct csv_error err;
    struct import im = {0};
    if (csv_parse(data, len, enc, IMPORT_MAX_ROWS + 1, &c, &err) < 0) {
        csv_free(&c);
        json_t *p = problem_new_code(422, "validation_failed",
                                     "The file cannot be read as CSV; nothing was changed.");
        json_object_set_new(p, "errors",
                            json_pack("[{s:I, s:I, s:s, s:s}]", "row", (json_int_t)err.line,
                                      "column", (json_int_t)err.column, "field", "", "message",
                                      err.message));
        req_reply_problem(r, p);
        return NULL;
    }
    im.rows = json_array();
    im.emails = json_object();
    im.external_ids = json_object();
    if (c.nrows < 2)
        import_error(&im, 1, NULL, "The file needs a header and at least one row.");
    else if (import_header(&im, &c) == 0)
        for (size_t i = 1; i < c.nrows; i++)
            import_row(&im, &c, i);
    csv_free(&c);
    json_decref(im.emails);
    json_decref(im.external_ids);
    if (im.problem) {
        if (im.nerrors > IMPORT_MAX_ERRORS)
            json_object_set_new(im.problem, "errors_total", json_integer((json_int_t)im.nerrors));
        json_decref(im.rows);
        req_reply_problem(r, im.problem);
        return NULL;
    }
    return im.rows;
}

/* text/csv, with charset utf-8 (the default) or windows-1252; 0 and 415
 * sent otherwise. */
static int import_content_type(struct req *r, enum csv_encoding *enc)
{
    const char *ct = req_header(r, "Content-Type");
    *enc = CSV_UTF8;
    if (!ct || strncasecmp(ct, "text/csv", 8) != 0 || (ct[8] && ct[8] != ';' && ct[8] != ' ')) {
        req_problem(r, 415, "The body must be text/csv.");
        return 0;
    }
    const char *cs = strcasestr(ct, "charset=");
    if (!cs)
        return 1;
    cs += 8;
    if (*cs == '"')
        cs++;
    if (strncasecmp(cs, "utf-8", 5) == 0 || strncasecmp(cs, "us-ascii", 8) == 0)
        return 1;
    if (strncasecmp(cs, "windows-1252", 12) == 0 || strncasecmp(cs, "iso-8859-1", 10) == 0 ||
        strncasecmp(cs, "cp1252", 6) == 0) {
        *enc = CSV_WINDOWS_1252;
        return 1;
    }
    req_problem(r, 415, "The charset must be utf-8 or windows-1252.");
    return 0;
}

static const char SQL_IMPORT_ANALYZE[] = "ANALYZE users, teams, team_members, supervisions";

static void import_analyzed(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    api_reply_json_text(r, 200, req_state_get(r, text));
}

/* A bulk load leaves the planner's statistics behind by thousands of rows
 * until autovacuum catches up (a minute), and with them every statement on
 * these tables picks nested loops: 10,000 rows exported took 3.9 s instead
 * of 0.2 s. So a large import refreshes them before it answers. */
static int import_needs_analyze(const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *s = json_object_get(j, "summary");
    json_int_t changed = json_integer_value(json_object_get(s, "created")) +
                         json_integer_value(json_object_get(s, "updated"));
    int applied = json_is_true(json_object_get(j, "applied"));
    json_decref(j);
    return applied && changed >= IMPORT_ANALYZE_ROWS;
}

static void import_done(struct req *r, struct db_result *res)
{
    if (res->status == DB_ERROR && strcmp(res->sqlstate, "23505") == 0) {
        req_problem(r, 409, "The organisation changed during the import; run it again.");
        return;
    }
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    int status = api_col_int(res, 0, 0);
    if (status == 200 && import_needs_analyze(api_col(res, 0, 1))) {
        req_state_set(r, text, arena_strdup(&r->arena, api_col(res, 0, 1)));
        req_db(r, SQL_IMPORT_ANALYZE, 0, NULL, import_analyzed);
        return;
    }
    if (status != 422) {
        api_reply_row(r, res);
        return;
    }
    json_t *body = json_loads(api_col(res, 0, 1), 0, NULL);
    json_t *p =
        problem_new_code(422, "validation_failed", "The file has errors; nothing was changed.");
    json_object_set(p, "errors", json_object_get(body, "errors"));
    json_decref(body);
    req_reply_problem(r, p);
}

void h_user_import(struct req *r)
{
    enum csv_encoding enc;
    const char *dry = req_query(r, "dry_run");
    if (dry && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
        json_t *p = problem_new_code(422, "validation_failed", "The request has invalid fields.");
        problem_add_error(p, "dry_run", "must be true or false");
        req_reply_problem(r, p);
        return;
    }
    if (!import_content_type(r, &enc))
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    size_t len = evbuffer_get_length(in);
    if (len > (size_t)r->app->cfg.import_max_kib * 1024) {
        req_problem(r, 413, "The file is too large.");
        return;
    }
    const char *data = (const char *)evbuffer_pullup(in, -1);
    json_t *rows = import_read(r, data ? data : "", len, enc);
    if (!rows)
        return;
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    if (!text) {
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, arena_strdup(&r->arena, text));
    free(text);
    api_param(&p, dry && strcmp(dry, "false") == 0 ? "true" : "false");
    api_param(&p, arena_printf(&r->arena, "%d", r->app->cfg.invitation_ttl_h));
    api_db(r, SQL_USER_IMPORT, &p, import_done);
}

static void export_done(struct req *r, struct db_result *res)
{
    if (!api_one_row_ok(res) || strcmp(api_col(res, 0, 0), "200") != 0) {
        api_reply_row(r, res);
        return;
    }
    json_t *rows = json_loads(api_col(res, 0, 1), 0, NULL);
    struct buf o = BUF_INIT;
    for (int k = 0; k < NCOL; k++)
        csv_put_cell(&o, col_names[k], k == 0);
    csv_end_row(&o);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        for (size_t j = 0; j < json_array_size(row); j++) {
            const char *v = json_string_value(json_array_get(row, j));
            csv_put_cell(&o, v ? v : "", j == 0);
        }
        csv_end_row(&o);
    }
    json_decref(rows);
    if (o.failed || !rows) {
        buf_free(&o);
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    req_set_header(r, "Content-Disposition", "attachment; filename=\"users.csv\"");
    req_reply_text(r, 200, "text/csv; charset=utf-8", o.data);
    buf_free(&o);
}

void h_user_export(struct req *r)
{
    struct api_params p;
    api_params_actor(&p, r);
    api_db(r, SQL_USER_EXPORT, &p, export_done);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement imports_statements[] = {
    STATEMENT(SQL_USER_IMPORT),
    STATEMENT(SQL_IMPORT_ANALYZE),
    STATEMENT(SQL_USER_EXPORT),
    {NULL, NULL},
};
