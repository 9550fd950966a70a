/* bootstrap.c - the first admin of an organisation, and the demo data set.
 *
 * Blocking libpq, used only at start-up and from the command line, before
 * the event loops run. Both operations hold an advisory lock and check for
 * the e-mail address first, so running them twice, or from two instances
 * at once, creates nothing twice and never touches an existing user. */
#include "db/statements.h"
#include "domain/bootstrap.h"
#include "core/config.h"
#include "auth/hasher.h"
#include "core/log.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#define BOOTSTRAP_LOCK "SELECT pg_advisory_lock(727166)"

/* clang-format off */
static const char SQL_BOOTSTRAP[] =
    "WITH existing AS (SELECT 1 FROM users WHERE email = lower($2) AND deleted_at IS NULL),"
    " org AS (INSERT INTO organisations (name) SELECT $1 WHERE NOT EXISTS"
    " (SELECT 1 FROM existing) RETURNING id),"
    " usr AS (INSERT INTO users (organisation_id, email, name, password_hash, roles)"
    " SELECT org.id, lower($2), 'Administrator', $3, '{admin}' FROM org RETURNING id)"
    " SELECT count(*) FROM usr";

/* The demo: one organisation, one team, an admin, a praktijkopleider, a
 * teammanager, a werkbegeleider and six students, all with one password. */
static const char SQL_DEMO[] =
    "WITH existing AS (SELECT 1 FROM users WHERE email = 'admin@demo.example'),"
    " org AS (INSERT INTO organisations (name) SELECT 'Zorggroep Demo' WHERE NOT EXISTS"
    " (SELECT 1 FROM existing) RETURNING id),"
    " team AS (INSERT INTO teams (organisation_id, name) SELECT id, 'Afdeling Zonnebloem'"
    " FROM org RETURNING id, organisation_id),"
    " people (email, name, roles, team_role) AS (VALUES"
    " ('admin@demo.example', 'Anna Admin', '{admin}'::text[], NULL),"
    " ('opleider@demo.example', 'Pieter Praktijkopleider', '{praktijkopleider}', NULL),"
    " ('manager@demo.example', 'Tessa Teammanager', '{}', 'teammanager'),"
    " ('begeleider@demo.example', 'Wim Werkbegeleider', '{}', 'werkbegeleider'),"
    " ('student1@demo.example', 'Sanne Student', '{}', 'student'),"
    " ('student2@demo.example', 'Daan Student', '{}', 'student'),"
    " ('student3@demo.example', 'Fatima Student', '{}', 'student'),"
    " ('student4@demo.example', 'Lucas Student', '{}', 'student'),"
    " ('student5@demo.example', 'Noor Student', '{}', 'student'),"
    " ('student6@demo.example', 'Yusuf Student', '{}', 'student')),"
    " usr AS (INSERT INTO users (organisation_id, email, name, password_hash, roles)"
    " SELECT org.id, p.email, p.name, $1, p.roles FROM org, people p RETURNING id, email),"
    " mem AS (INSERT INTO team_members (organisation_id, team_id, user_id, role)"
    " SELECT team.organisation_id, team.id, usr.id, p.team_role FROM team, usr"
    " JOIN people p USING (email) WHERE p.team_role IS NOT NULL),"
    " sup AS (INSERT INTO supervisions (organisation_id, student_id, supervisor_id)"
    " SELECT team.organisation_id, s.id, b.id FROM team, usr s, usr b"
    " WHERE s.email LIKE 'student%' AND b.email IN ('begeleider@demo.example',"
    " 'opleider@demo.example'))"
    " SELECT count(*) FROM usr";
/* clang-format on */

static int bootstrap_exec(const char *conninfo, const char *sql, int n, const char *const *p,
                          long *created)
{
    PGconn *c = PQconnectdb(conninfo);
    int rc = -1;
    if (PQstatus(c) != CONNECTION_OK) {
        log_error("bootstrap: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *lock = PQexec(c, BOOTSTRAP_LOCK);
    if (PQresultStatus(lock) == PGRES_TUPLES_OK) {
        PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            *created = atol(PQgetvalue(r, 0, 0));
            rc = 0;
        } else {
            log_error("bootstrap failed: %s", PQerrorMessage(c));
        }
        PQclear(r);
    }
    PQclear(lock);
    PQfinish(c);
    return rc;
}

static struct hasher_params bootstrap_params(const struct config *cfg)
{
    struct hasher_params hp = {cfg->argon2_t_cost, cfg->argon2_m_cost_kib, cfg->argon2_parallelism};
    return hp;
}

int bootstrap_from_config(const struct config *cfg)
{
    if (!cfg->bootstrap_org || !cfg->bootstrap_email || !cfg->bootstrap_password)
        return 0;
    if (strlen(cfg->bootstrap_password) < 12) {
        log_error("BOOTSTRAP_ADMIN_PASSWORD must be at least 12 characters");
        return -1;
    }
    struct hasher_params hp = bootstrap_params(cfg);
    char *hash = hasher_hash_now(&hp, cfg->bootstrap_password);
    if (!hash)
        return -1;
    const char *p[] = {cfg->bootstrap_org, cfg->bootstrap_email, hash};
    long created = 0;
    int rc = bootstrap_exec(cfg->database_url, SQL_BOOTSTRAP, 3, p, &created);
    free(hash);
    if (rc == 0 && created)
        log_info("bootstrap: created organisation \"%s\" with admin %s", cfg->bootstrap_org,
                 cfg->bootstrap_email);
    return rc;
}

int bootstrap_demo(const struct config *cfg)
{
    struct hasher_params hp = bootstrap_params(cfg);
    char *hash = hasher_hash_now(&hp, "demo-wachtwoord");
    if (!hash)
        return -1;
    const char *p[] = {hash};
    long created = 0;
    int rc = bootstrap_exec(cfg->database_url, SQL_DEMO, 1, p, &created);
    free(hash);
    if (rc == 0 && created)
        log_info("demo data: %ld users, password \"demo-wachtwoord\" (see README)", created);
    return rc;
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement bootstrap_statements[] = {
    STATEMENT(SQL_BOOTSTRAP),
    STATEMENT(SQL_DEMO),
    {NULL, NULL},
};
