/* test_import.c - bulk import and export of users (POST /v1/users/import,
 * GET /v1/users/export): dry run, apply, idempotence, matching by
 * external id, errors by row and column, and hostile files that must get a
 * clear 4xx and change nothing. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* POSTs body as the CSV file (raw, so any bytes and type can be sent);
 * returns the status. */
static int upload(const struct fix_org *o, const char *token, const char *body, size_t len,
                  const char *ctype, int apply, struct http_resp *r)
{
    (void)o;
    size_t cap = 2048 + len;
    char *req = malloc(cap);
    cr_assert(req);
    int n = snprintf(req, cap,
                     "POST /v1/users/import?dry_run=%s HTTP/1.1\r\nHost: t\r\n"
                     "Connection: close\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     apply ? "false" : "true", token, ctype, len);
    memcpy(req + n, body, len);
    cr_assert(http_raw(test_addr(), req, (size_t)n + len, r) == 0);
    free(req);
    return r->status;
}

/* A text file, through the harness's client (so the response is recorded
 * for the contract check of scripts/test.sh). */
static int upload_csv(const struct fix_org *o, const char *csv, int apply, struct http_resp *r)
{
    cr_assert(http_call(test_addr(), "POST",
                        apply ? "/v1/users/import?dry_run=false" : "/v1/users/import?dry_run=true",
                        o->admin.token, csv, "Content-Type: text/csv\r\n", r) == 0);
    return r->status;
}

static long summary(const struct http_resp *r, const char *key)
{
    json_t *s = json_object_get(r->json, "summary");
    cr_assert(s, "no summary: %s", r->body);
    return (long)json_integer_value(json_object_get(s, key));
}

static long sql_count(const char *fmt, const char *arg)
{
    char sql[512], out[32];
    snprintf(sql, sizeof(sql), fmt, arg);
    cr_assert_eq(test_sql(sql, out, sizeof(out)), 0, "%s", sql);
    return atol(out);
}

/* The rows of table that belong to o. */
static long org_rows(const char *table, const struct fix_org *o)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE organisation_id = '%%s'", table);
    return sql_count(sql, o->id);
}

/* Imports csv into o (applied), which must succeed. */
static void import_ok(const struct fix_org *o, const char *csv)
{
    struct http_resp r;
    cr_assert_eq(upload_csv(o, csv, 1, &r), 200, "%s", r.body);
    http_resp_free(&r);
}

/* POST /v1/auth/set-password: 204, or the problem want. */
static void set_password(const char *token, const char *password, int want)
{
    struct http_resp r;
    http_send("POST", "/v1/auth/set-password", NULL,
              json_pack("{s:s, s:s}", "token", token, "password", password), NULL, &r);
    if (want == 204)
        expect_status(&r, 204);
    else
        expect_problem(&r, want);
    http_resp_free(&r);
}

/* Does the 422 list an error for row and field? */
static int has_error(const struct http_resp *r, long row, const char *field)
{
    json_t *errors = json_object_get(r->json, "errors"), *e;
    size_t i;
    json_array_foreach(errors, i, e)
    {
        if (json_integer_value(json_object_get(e, "row")) == row &&
            strcmp(jstr(e, "field"), field) == 0)
            return 1;
    }
    return 0;
}

/* A file of three people in a team, with unique addresses. */
static char *people(char *buf, size_t n, const char *tag, const char *sep)
{
    snprintf(buf, n,
             "email%sname%sexternal_id%sroles%steams%ssupervisors\r\n"
             "st-%s@test.example%sStudent %s%sS-%s%s%sZon %s:student%sbg-%s@test.example\r\n"
             "bg-%s@test.example%s\"Begeleider, %s\"%sB-%s%s%sZon %s:werkbegeleider%s\r\n"
             "po-%s@test.example%sOpleider %s%s%spraktijkopleider%s%s\r\n",
             sep, sep, sep, sep, sep, tag, sep, tag, sep, tag, sep, sep, tag, sep, tag, tag, sep,
             tag, sep, tag, sep, sep, tag, sep, tag, sep, tag, sep, sep, sep, sep);
    return buf;
}

Test(import, dry_run_reports_and_changes_nothing)
{
    struct fix_org o;
    fix_org(&o);
    char tag[64], csv[2048];
    test_unique(tag, sizeof(tag), "dry");
    people(csv, sizeof(csv), tag, ",");
    struct http_resp r;
    cr_assert_eq(upload_csv(&o, csv, 0, &r), 200, "%s", r.body);
    cr_assert(json_is_true(json_object_get(r.json, "dry_run")));
    cr_assert(json_is_false(json_object_get(r.json, "applied")));
    cr_assert_eq(summary(&r, "created"), 3);
    json_t *rows = json_object_get(r.json, "rows");
    cr_assert_eq(json_array_size(rows), 3);
    cr_assert_str_eq(jstr(json_array_get(rows, 0), "action"), "create");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "row")), 2);
    http_resp_free(&r);
    cr_assert_eq(org_rows("users", &o), 1);
    cr_assert_eq(org_rows("teams", &o), 0);
}

Test(import, apply_is_complete_and_a_second_run_changes_nothing)
{
    struct fix_org o;
    fix_org(&o);
    char tag[64], csv[2048];
    test_unique(tag, sizeof(tag), "apply");
    people(csv, sizeof(csv), tag, ";");
    struct http_resp r;
    cr_assert_eq(upload_csv(&o, csv, 1, &r), 200, "%s", r.body);
    cr_assert(json_is_true(json_object_get(r.json, "applied")));
    cr_assert_eq(summary(&r, "created"), 3);
    http_resp_free(&r);
    cr_assert_eq(org_rows("users", &o), 4);
    cr_assert_eq(org_rows("team_members", &o), 2);
    cr_assert_eq(org_rows("supervisions", &o), 1);
    cr_assert_eq(sql_count("SELECT count(*) FROM users WHERE organisation_id = '%s'"
                           " AND password_hash IS NULL",
                           o.id),
                 3, "no passwords come from a file");
    cr_assert_eq(sql_count("SELECT count(*) FROM password_emails WHERE organisation_id = '%s'"
                           " AND sent_at IS NULL AND token IS NOT NULL",
                           o.id),
                 3, "every new user gets an invitation");
    cr_assert_eq(org_rows("password_tokens", &o), 3);
    cr_assert_eq(upload_csv(&o, csv, 1, &r), 200, "%s", r.body);
    cr_assert_eq(summary(&r, "unchanged"), 3, "%s", r.body);
    cr_assert_eq(summary(&r, "created"), 0);
    http_resp_free(&r);
    cr_assert_eq(org_rows("password_emails", &o), 3, "no second invitation");
    cr_assert_eq(sql_count("SELECT count(*) FROM audit_log WHERE organisation_id = '%s'"
                           " AND action LIKE 'user.import%%'",
                           o.id),
                 3);
}

Test(import, rows_match_by_external_id_and_updates_are_reported)
{
    struct fix_org o;
    fix_org(&o);
    char tag[64], csv[2048];
    test_unique(tag, sizeof(tag), "ext");
    snprintf(csv, sizeof(csv), "external_id,email,name\nX-%s,old-%s@test.example,Piet\n", tag, tag);
    struct http_resp r;
    import_ok(&o, csv);
    snprintf(csv, sizeof(csv),
             "external_id,email,name,roles\nX-%s,new-%s@test.example,Piet Jansen,admin\n", tag,
             tag);
    cr_assert_eq(upload_csv(&o, csv, 1, &r), 200, "%s", r.body);
    cr_assert_eq(summary(&r, "updated"), 1, "%s", r.body);
    json_t *row = json_array_get(json_object_get(r.json, "rows"), 0);
    cr_assert_str_eq(jstr(row, "action"), "update");
    cr_assert_eq(json_array_size(json_object_get(row, "changes")), 3, "%s", r.body);
    http_resp_free(&r);
    char email[128];
    snprintf(email, sizeof(email), "new-%s@test.example", tag);
    cr_assert_eq(sql_count("SELECT count(*) FROM users WHERE email = '%s' AND name = 'Piet Jansen'"
                           " AND roles = '{admin}'",
                           email),
                 1);
}

Test(import, every_wrong_cell_is_reported_by_row_and_column)
{
    struct fix_org o;
    fix_org(&o);
    char tag[64], csv[2048];
    test_unique(tag, sizeof(tag), "bad");
    snprintf(csv, sizeof(csv),
             "email,name,roles,teams,supervisors\n"
             "not-an-address,Piet,,,\n"                                     /* 2 */
             "a-%s@test.example,\"=HYPERLINK(\"\"http://x\"\")\",,,\n"      /* 3 */
             "b-%s@test.example,Jan,boss,,\n"                               /* 4 */
             "c-%s@test.example,Kees,,Zon:chef,\n"                          /* 5 */
             "c-%s@test.example,Kees,,,\n"                                  /* 6 */
             "d-%s@test.example,Anna,,Zon:student,nobody-%s@test.example\n" /* 7 */
             "e-%s@test.example,,,,\n",                                     /* 8 */
             tag, tag, tag, tag, tag, tag, tag);
    struct http_resp r;
    cr_assert_eq(upload_csv(&o, csv, 1, &r), 422, "%s", r.body);
    expect_problem(&r, 422);
    cr_assert(has_error(&r, 2, "email"), "%s", r.body);
    cr_assert(has_error(&r, 3, "name"), "%s", r.body);
    cr_assert(has_error(&r, 4, "roles"), "%s", r.body);
    cr_assert(has_error(&r, 5, "teams"), "%s", r.body);
    cr_assert(has_error(&r, 6, "email"), "%s", r.body);
    cr_assert(has_error(&r, 8, "name"), "%s", r.body);
    http_resp_free(&r);
    /* The database's checks: an unknown supervisor, an address of another
     * organisation. */
    struct fix_org other;
    fix_org(&other);
    snprintf(csv, sizeof(csv),
             "email,name,teams,supervisors\n"
             "d-%s@test.example,Anna,Zon:student,nobody-%s@test.example\n%s,Taken,,\n",
             tag, tag, other.admin.email);
    cr_assert_eq(upload_csv(&o, csv, 1, &r), 422, "%s", r.body);
    cr_assert(has_error(&r, 2, "supervisors"), "%s", r.body);
    cr_assert(has_error(&r, 3, "email"), "%s", r.body);
    http_resp_free(&r);
    cr_assert_eq(org_rows("users", &o), 1);
}

Test(import, hostile_files_get_a_4xx_and_change_nothing)
{
    struct fix_org o;
    struct fix_user student;
    fix_org(&o);
    fix_user(&o, NULL, &student);
    struct http_resp r;
    static const char binary[] = "email,name\n\x7f"
                                 "ELF\x02\x01\x01\0\0\0\0";
    cr_assert_eq(upload(&o, o.admin.token, binary, sizeof(binary) - 1, "text/csv", 1, &r), 422);
    http_resp_free(&r);
    static const char utf16[] = "\xFF\xFE"
                                "e\0m\0a\0i\0l\0";
    cr_assert_eq(upload(&o, o.admin.token, utf16, sizeof(utf16) - 1, "text/csv", 1, &r), 422);
    http_resp_free(&r);
    const char *bad[] = {
        "email,name\n\"a@test.example,Piet\n",  /* never closed */
        "email,name\na@test.example,Pi\"et\n",  /* a stray quote */
        "email,name\n",                         /* no rows */
        "mail,naam\nx@test.example,Piet\n",     /* unknown columns */
        "email,name\na@test.example,Jos\xE9\n", /* Latin-1 sent as UTF-8 */
        "email,name,email\na@test.example,P,b@test.example\n",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(upload_csv(&o, bad[i], 1, &r), 422, "%s: %s", bad[i], r.body);
        expect_problem(&r, 422);
        http_resp_free(&r);
    }
    cr_assert_eq(upload(&o, o.admin.token, "{}", 2, "application/json", 1, &r), 415);
    http_resp_free(&r);
    cr_assert_eq(upload(&o, o.admin.token, "a,b\n", 4, "text/csv; charset=koi8-r", 1, &r), 415);
    http_resp_free(&r);
    /* Deeply wrong: more rows than 50,000, more cells than the header. */
    size_t rows = 50002, cap = rows * 8 + 32, n = 0;
    char *many = malloc(cap);
    cr_assert(many);
    n += (size_t)snprintf(many, cap, "email,name\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(many + n, cap - n, "a,b\n");
    cr_assert_eq(upload_csv(&o, many, 1, &r), 422, "%s", r.body);
    http_resp_free(&r);
    free(many);
    cr_assert_eq(upload_csv(&o, "email,name\nx@test.example,P,extra\n", 1, &r), 422);
    cr_assert(has_error(&r, 2, ""), "%s", r.body);
    http_resp_free(&r);
    /* Larger than IMPORT_MAX_KIB (8 MiB by default). */
    size_t big = 8 * 1024 * 1024 + 1024;
    char *huge = malloc(big);
    cr_assert(huge);
    memset(huge, 'a', big);
    cr_assert_eq(upload(&o, o.admin.token, huge, big, "text/csv", 1, &r), 413);
    http_resp_free(&r);
    free(huge);
    /* Not an admin: as if the route did not exist. */
    cr_assert_eq(upload(&o, student.token, "email,name\na@test.example,P\n", 28, "text/csv", 1, &r),
                 404);
    http_resp_free(&r);
    cr_assert_eq(org_rows("users", &o), 2);
}

Test(import, windows_1252_and_a_bom)
{
    struct fix_org o;
    fix_org(&o);
    char tag[64], csv[512];
    test_unique(tag, sizeof(tag), "enc");
    snprintf(csv, sizeof(csv), "email;name\r\nj-%s@test.example;Jos\xE9 M\xFCller\r\n", tag);
    struct http_resp r;
    cr_assert_eq(
        upload(&o, o.admin.token, csv, strlen(csv), "text/csv; charset=windows-1252", 1, &r), 200,
        "%s", r.body);
    http_resp_free(&r);
    char email[128];
    snprintf(email, sizeof(email), "j-%s@test.example", tag);
    cr_assert_eq(sql_count("SELECT count(*) FROM users WHERE email = '%s'"
                           " AND name = 'Jos\xC3\xA9 M\xC3\xBCller'",
                           email),
                 1);
    snprintf(csv, sizeof(csv),
             "\xEF\xBB\xBF"
             "email,name\nj-%s@test.example,Jos\xC3\xA9 M\xC3\xBCller\n",
             tag);
    cr_assert_eq(upload_csv(&o, csv, 1, &r), 200, "%s", r.body);
    cr_assert_eq(summary(&r, "unchanged"), 1, "%s", r.body);
    http_resp_free(&r);
}

Test(import, export_reads_back_as_unchanged)
{
    struct fix_org o;
    fix_org(&o);
    char tag[64], csv[2048];
    test_unique(tag, sizeof(tag), "exp");
    people(csv, sizeof(csv), tag, ",");
    struct http_resp r;
    import_ok(&o, csv);
    cr_assert(http_get(test_addr(), "/v1/users/export", o.admin.token, &r) == 0);
    expect_status(&r, 200);
    cr_assert(strncmp(http_header(&r, "Content-Type"), "text/csv", 8) == 0);
    cr_assert(strncmp(r.body, "email,name,external_id,roles,teams,supervisors\r\n", 48) == 0, "%s",
              r.body);
    cr_assert(strstr(r.body, "\"Begeleider, "), "%s", r.body);
    char *exported = strdup(r.body);
    http_resp_free(&r);
    cr_assert_eq(upload_csv(&o, exported, 1, &r), 200, "%s", r.body);
    cr_assert_eq(summary(&r, "unchanged"), 4, "%s", r.body); /* with the admin */
    http_resp_free(&r);
    free(exported);
    struct fix_user student;
    fix_user(&o, NULL, &student);
    cr_assert(http_get(test_addr(), "/v1/users/export", student.token, &r) == 0);
    expect_problem(&r, 404);
    http_resp_free(&r);
}

/* Two thousand rows in one transaction (the 10,000-row timing is in the
 * README: wall-clock figures are measured, not asserted). */
Test(import, two_thousand_rows)
{
    struct fix_org o;
    fix_org(&o);
    char tag[64];
    test_unique(tag, sizeof(tag), "bulk");
    size_t cap = 2000 * 160 + 128, n = 0;
    char *csv = malloc(cap);
    cr_assert(csv);
    n += (size_t)snprintf(csv + n, cap - n, "email,name,external_id,teams\n");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(csv + n, cap - n, "u%d-%s@test.example,Person %d,E%d,Team %d:%s\n", i,
                              tag, i, i, i % 40, i % 10 ? "student" : "werkbegeleider");
    struct http_resp r;
    cr_assert_eq(upload_csv(&o, csv, 1, &r), 200, "%s", r.body);
    cr_assert_eq(summary(&r, "created"), 2000);
    http_resp_free(&r);
    cr_assert_eq(upload_csv(&o, csv, 1, &r), 200, "%s", r.body);
    cr_assert_eq(summary(&r, "unchanged"), 2000);
    http_resp_free(&r);
    free(csv);
    cr_assert_eq(org_rows("teams", &o), 40);
}

Test(import, an_invitation_link_sets_the_password_once)
{
    struct fix_org o;
    fix_org(&o);
    char tag[64], csv[512], email[128];
    test_unique(tag, sizeof(tag), "inv");
    snprintf(email, sizeof(email), "new-%s@test.example", tag);
    snprintf(csv, sizeof(csv), "email,name\n%s,Nieuw\n", email);
    import_ok(&o, csv);
    char sql[512], token[128];
    snprintf(sql, sizeof(sql),
             "SELECT e.token FROM password_emails e JOIN users u ON u.id = e.user_id"
             " WHERE u.email = '%s'",
             email);
    cr_assert_eq(test_sql(sql, token, sizeof(token)), 0);
    cr_assert(strlen(token) >= 32, "token '%s'", token);
    struct fix_user u;
    cr_assert_eq(fix_login(email, FIX_PASSWORD, &u), 401, "no password before the link");
    set_password(token, "short", 422);
    set_password("not-a-token", FIX_PASSWORD, 400);
    set_password(token, FIX_PASSWORD, 204);
    cr_assert_eq(fix_login(email, FIX_PASSWORD, &u), 200);
    set_password(token, "another long password", 400); /* good once */
    cr_assert_eq(sql_count("SELECT count(*) FROM password_emails e JOIN users u ON u.id = e.user_id"
                           " WHERE u.email = '%s' AND e.token IS NULL",
                           email),
                 1, "the spent link is gone from the queue");
}
