/* statements.c - the list of every statement (statements.h), and the
 * commands that print them and check them against the schema. */
#include "db/statements.h"
#include "core/log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

/* One list per line, so that adding one is a one-line change. */
/* clang-format off */
static const struct statement *const statement_lists[] = {
    audit_statements,
    auth_statements,
    bootstrap_statements,
    checkins_statements,
    events_statements,
    feedback_statements,
    goals_statements,
    imports_statements,
    invitations_statements,
    invite_page_statements,
    me_statements,
    oidc_statements,
    organisation_statements,
    publish_statements,
    reflection_shares_statements,
    reflections_statements,
    set_password_statements,
    students_statements,
    summaries_statements,
    supervisions_statements,
    teams_statements,
    notify_api_statements,
    sender_statements,
    users_statements,
};
/* clang-format on */

#define NLISTS (sizeof(statement_lists) / sizeof(statement_lists[0]))

void statements_print(void)
{
    for (size_t i = 0; i < NLISTS; i++)
        for (const struct statement *s = statement_lists[i]; s->name; s++)
            printf("%s\t%s\n", s->name, s->sql);
}

/* PREPARE and DEALLOCATE one statement; 0 when PostgreSQL accepts it. */
static int statements_prepare(PGconn *c, const struct statement *s)
{
    PGresult *r = PQprepare(c, "reflectd_check", s->sql, 0, NULL);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", s->name, PQresultErrorMessage(r));
    PQclear(r);
    PQclear(PQexec(c, "DEALLOCATE reflectd_check"));
    return ok ? 0 : 1;
}

int statements_check(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        log_error("statements: cannot connect to the database: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    int failed = 0, n = 0;
    for (size_t i = 0; i < NLISTS; i++)
        for (const struct statement *s = statement_lists[i]; s->name; s++, n++)
            failed += statements_prepare(c, s);
    PQfinish(c);
    printf("statements: %d prepared, %d failed\n", n - failed, failed);
    return failed;
}
