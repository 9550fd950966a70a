/* oidc.c - signing in with the organisation's OpenID Connect provider
 * (POST /v1/auth/oidc) and its configuration by admins
 * (GET|PUT|DELETE /v1/organisation/oidc).
 *
 * The app signs in at the provider itself (Authorization Code + PKCE, RFC
 * 8252) and hands the ID token here with the nonce it generated. Sign-in
 * is four steps:
 *   1. the token's issuer (read before anything is verified) must be one
 *      an organisation configured, so no token makes the service fetch a
 *      URL an attacker chose; the statement also answers the client ids;
 *   2. the signature, with the provider's keys (oidc_keys.c, off the loop);
 *   3. the claims (idtoken.c), against those client ids and the nonce;
 *   4. one statement links the token to a user - by (issuer, sub) once
 *      linked; the first time only by a verified e-mail address of an
 *      allowed domain of an organisation using that provider - records the
 *      nonce (a second use is a replay), and opens the login session.
 * Every refusal is the same 401: which check failed is logged, not told. */
#include "http/api.h"
#include "app.h"
#include "handlers/sessions.h"
#include "handlers/handlers.h"
#include "auth/idtoken.h"
#include "core/log.h"
#include "auth/oidc_keys.h"
#include "handlers/policy.h"
#include "db/statements.h"
#include "auth/tokens.h"
#include "handlers/users_sql.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define OIDC_SKEW_S    120
#define OIDC_MAX_AGE_S 3600 /* an ID token older than this is not a fresh sign-in */

struct oidc_login {
    const char *token, *nonce, *issuer;
    const char **clients;
    size_t nclients;
    char refresh[44];
};

/* clang-format off */
/* Step 1: the client ids of every organisation configured with issuer.
 * $1 issuer.
 * Returns one row (JSON array of client ids, or NULL: none). */
static const char SQL_OIDC_CLIENTS[] =
    "SELECT json_agg(DISTINCT c)"
    " FROM oidc_providers p, unnest(p.client_ids) c"
    " WHERE p.issuer = $1";

/* Step 4: the user the verified token names (linked by (issuer, sub), or
 * the first time by a verified address), the nonce spent, the identity
 * linked, the name brought up to date, and a login session opened.
 * $1 issuer, $2 sub, $3 the claims (JSON), $4 nonce, $5 the token's exp
 * (seconds since the epoch), $6 refresh token, $7 its lifetime in seconds.
 * Returns one row ('ok' | 'unknown' | 'replayed', session id, user id,
 * organisation id, profile JSON). */
static const char SQL_OIDC_SIGN_IN[] =
    "WITH c AS (SELECT $3::jsonb AS j),"
    " aud AS (SELECT CASE jsonb_typeof(j->'aud')"
    "                WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(j->'aud'))"
    "                ELSE ARRAY[j->>'aud'] END AS ids"
    "         FROM c),"
    " p AS (SELECT p.* FROM oidc_providers p, aud"
    "       WHERE p.issuer = $1 AND p.client_ids && aud.ids),"
    " linked AS (SELECT u.id, u.organisation_id FROM user_identities i"
    "            JOIN p ON p.organisation_id = i.organisation_id"
    "            JOIN users u ON u.id = i.user_id AND u.deleted_at IS NULL"
    "            WHERE i.issuer = $1 AND i.subject = $2),"
    /* First sign-in: an address the provider says it verified, of an
     * allowed domain, of a user not yet linked to another account there. */
    " matched AS (SELECT u.id, u.organisation_id FROM p, c, users u"
    "             WHERE NOT EXISTS (SELECT 1 FROM user_identities i"
    "                               WHERE i.issuer = $1 AND i.subject = $2)"
    "               AND jsonb_typeof(c.j -> p.email_verified_claim) = 'boolean'"
    "               AND (c.j ->> p.email_verified_claim)::boolean"
    "               AND u.email = lower(c.j ->> p.email_claim)"
    "               AND u.organisation_id = p.organisation_id"
    "               AND u.deleted_at IS NULL"
    "               AND (cardinality(p.email_domains) = 0"
    "                    OR split_part(u.email, '@', 2) = ANY (p.email_domains))"
    "               AND NOT EXISTS (SELECT 1 FROM user_identities i"
    "                               WHERE i.user_id = u.id AND i.issuer = $1)),"
    " who AS (SELECT * FROM linked UNION ALL SELECT * FROM matched LIMIT 1),"
    " used AS (INSERT INTO oidc_nonces (issuer, nonce_hash, expires_at)"
    "          SELECT $1, sha256(convert_to($4, 'UTF8')),"
    "                 to_timestamp($5::bigint) + interval '2 minutes'"
    "          FROM who"
    "          ON CONFLICT DO NOTHING"
    "          RETURNING 1),"
    " ok AS (SELECT who.* FROM who WHERE EXISTS (SELECT 1 FROM used)),"
    " link AS (INSERT INTO user_identities (issuer, subject, organisation_id, user_id,"
    "                                       last_login_at)"
    "          SELECT $1, $2, ok.organisation_id, ok.id, now() FROM ok"
    "          ON CONFLICT (issuer, subject) DO UPDATE SET last_login_at = now()),"
    " s AS (INSERT INTO sessions (organisation_id, user_id, expires_at)"
    "       SELECT ok.organisation_id, ok.id, now() + make_interval(secs => $7) FROM ok"
    "       RETURNING id, user_id, organisation_id),"
    " rt AS (INSERT INTO refresh_tokens (token_hash, session_id, organisation_id, user_id,"
    "                                    expires_at)"
    "        SELECT sha256(convert_to($6, 'UTF8')), s.id, s.organisation_id, s.user_id,"
    "               now() + make_interval(secs => $7)"
    "        FROM s),"
    /* The provider is where names are kept up to date. */
    " nm AS (UPDATE users u SET name = c.j ->> p.name_claim, updated_at = now()"
    "        FROM ok, p, c"
    "        WHERE u.id = ok.id AND p.organisation_id = ok.organisation_id"
    "          AND (c.j ->> p.name_claim) ~ '^[^[:cntrl:]]{1,200}$'"
    "          AND btrim(c.j ->> p.name_claim) = c.j ->> p.name_claim"
    "          AND u.name IS DISTINCT FROM c.j ->> p.name_claim),"
    " aud_log AS (INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id,"
    "                                    object_type, object_id)"
    "             SELECT s.organisation_id, s.user_id, 'auth.oidc', s.user_id, 'session', s.id"
    "             FROM s),"
    " gc AS (DELETE FROM oidc_nonces WHERE expires_at < now() - interval '1 hour')"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM who) THEN 'unknown'"
    "             WHEN NOT EXISTS (SELECT 1 FROM used) THEN 'replayed'"
    "             ELSE 'ok' END,"
    "        s.id, s.user_id, s.organisation_id, " SQL_ME_JSON("s.user_id")
    " FROM (SELECT 1) AS one LEFT JOIN s ON true";

/* The organisation's provider configuration, as JSON (the answer of
 * SQL_OIDC_GET and SQL_OIDC_PUT). */
#define SQL_OIDC_JSON(p)                                                                           \
    "json_build_object('issuer', " p ".issuer, 'client_ids', to_json(" p ".client_ids),"           \
    " 'email_domains', to_json(" p ".email_domains), 'email_claim', " p ".email_claim,"            \
    " 'email_verified_claim', " p ".email_verified_claim, 'name_claim', " p ".name_claim,"        \
    " 'password_login', " p ".password_login, 'updated_at', " SQL_TS(p ".updated_at") ")"

/* An admin reads the organisation's provider configuration.
 * $1..$3 the caller.
 * Returns (200 | 401 | 404, configuration JSON). */
static const char SQL_OIDC_GET[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             WHEN p.organisation_id IS NULL THEN 404"
    "             ELSE 200 END,"
    "        " SQL_OIDC_JSON("p")
    " FROM (SELECT 1) AS one"
    " LEFT JOIN oidc_providers p ON p.organisation_id = $2";

/* An admin sets the organisation's provider configuration.
 * $1..$3 the caller, $4 issuer, $5 client ids (JSON array), $6 e-mail
 * domains (JSON array), $7 e-mail claim, $8 e-mail-verified claim, $9 name
 * claim, $10 whether password login stays allowed.
 * Returns (200 | 401 | 404, configuration JSON). */
static const char SQL_OIDC_PUT[] =
    "WITH " SQL_ACTOR ","
    " up AS (INSERT INTO oidc_providers (organisation_id, issuer, client_ids, email_domains,"
    "                                    email_claim, email_verified_claim, name_claim,"
    "                                    password_login)"
    "        SELECT $2, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),"
    "               ARRAY(SELECT lower(jsonb_array_elements_text($6::jsonb))), $7, $8, $9,"
    "               $10::boolean"
    "        WHERE " SQL_IS_ADMIN
    "        ON CONFLICT (organisation_id) DO UPDATE"
    "        SET issuer = EXCLUDED.issuer, client_ids = EXCLUDED.client_ids,"
    "            email_domains = EXCLUDED.email_domains, email_claim = EXCLUDED.email_claim,"
    "            email_verified_claim = EXCLUDED.email_verified_claim,"
    "            name_claim = EXCLUDED.name_claim, password_login = EXCLUDED.password_login,"
    "            updated_at = now()"
    "        RETURNING *),"
    " aud AS (" SQL_AUDIT("'organisation.oidc_update'", "NULL::uuid", "'organisation'", "$2::uuid")
    "         FROM up)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             ELSE 200 END,"
    "        (SELECT " SQL_OIDC_JSON("up") " FROM up)";

/* An admin removes the provider configuration.
 * $1..$3 the caller.
 * Returns (204 | 401 | 404). */
static const char SQL_OIDC_DELETE[] =
    "WITH " SQL_ACTOR ","
    " del AS (DELETE FROM oidc_providers"
    "         WHERE organisation_id = $2 AND " SQL_IS_ADMIN
    "         RETURNING 1),"
    " aud AS (" SQL_AUDIT("'organisation.oidc_delete'", "NULL::uuid", "'organisation'", "$2::uuid")
    "         FROM del)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             WHEN NOT EXISTS (SELECT 1 FROM del) THEN 404"
    "             ELSE 204 END";
/* clang-format on */

static void oidc_refuse(struct req *r, const char *why)
{
    log_info("oidc: request %s: token refused: %s", r->id, why);
    req_problem(r, 401, "The sign-in could not be verified; sign in again.");
}

static void oidc_signed_in(struct req *r, struct db_result *res)
{
    struct oidc_login *l = req_state_get(r, oidc);
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    const char *outcome = api_col(res, 0, 0);
    if (strcmp(outcome, "ok") != 0) {
        oidc_refuse(r, strcmp(outcome, "replayed") == 0
                           ? "nonce already used"
                           : "no user for this account (or e-mail not verified)");
        return;
    }
    auth_reply_pair(r, api_col(res, 0, 2), api_col(res, 0, 3), api_col(res, 0, 1), l->refresh,
                    api_col(res, 0, 4));
}

/* Step 4, with verified claims. */
static void oidc_sign_in(struct req *r, json_t *claims)
{
    struct oidc_login *l = req_state_get(r, oidc);
    char exp[24], ttl[16];
    char *claims_text = json_dumps(claims, JSON_COMPACT);
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!claims_text || tokens_new_refresh(l->refresh) < 0) {
        free(claims_text);
        req_problem(r, 500, "Something went wrong on our side.");
        return;
    }
    snprintf(exp, sizeof(exp), "%lld",
             (long long)json_integer_value(json_object_get(claims, "exp")));
    snprintf(ttl, sizeof(ttl), "%d", r->app->cfg.refresh_ttl_s);
    struct api_params p;
    api_params_none(&p);
    api_param(&p, l->issuer);
    api_param(&p, arena_strdup(&r->arena, sub));
    api_param(&p, arena_strdup(&r->arena, claims_text));
    api_param(&p, l->nonce);
    api_param(&p, exp);
    api_param(&p, l->refresh);
    api_param(&p, ttl);
    free(claims_text);
    api_db(r, SQL_OIDC_SIGN_IN, &p, oidc_signed_in);
}

static const char *oidc_status_reason(int status)
{
    switch (status) {
    case IDTOKEN_MALFORMED:
        return "malformed";
    case IDTOKEN_BAD_ALG:
        return "algorithm not accepted";
    case IDTOKEN_UNKNOWN_KEY:
        return "unknown signing key";
    default:
        return "bad signature";
    }
}

/* Steps 2 and 3: on the worker's loop, from oidc_keys. */
static void oidc_verified(int status, json_t *claims, void *arg)
{
    struct req *r = arg;
    struct oidc_login *l = req_state_get(r, oidc);
    if (status == OIDC_KEYS_UNAVAILABLE) {
        json_decref(claims);
        req_set_header(r, "Retry-After", "10");
        req_problem(r, 503, "The identity provider cannot be reached; try again shortly.");
        return;
    }
    if (status != IDTOKEN_OK) {
        json_decref(claims);
        oidc_refuse(r, oidc_status_reason(status));
        return;
    }
    struct idtoken_expect e = {l->issuer,  l->clients,  l->nclients,   l->nonce,
                               time(NULL), OIDC_SKEW_S, OIDC_MAX_AGE_S};
    const char *why = idtoken_check_claims(claims, &e);
    if (why)
        oidc_refuse(r, why);
    else
        oidc_sign_in(r, claims);
    json_decref(claims);
}

/* Step 1 answered: the issuer's client ids, or NULL (not configured). */
static void oidc_clients_found(struct req *r, struct db_result *res)
{
    struct oidc_login *l = req_state_get(r, oidc);
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    json_t *ids = api_col_is_null(res, 0, 0) ? NULL : json_loads(api_col(res, 0, 0), 0, NULL);
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        json_decref(ids);
        oidc_refuse(r, "issuer not configured");
        return;
    }
    l->nclients = json_array_size(ids);
    l->clients = arena_alloc(&r->arena, l->nclients * sizeof(char *));
    for (size_t i = 0; i < l->nclients; i++)
        l->clients[i] = arena_strdup(&r->arena, json_string_value(json_array_get(ids, i)));
    json_decref(ids);
    if (oidc_keys_verify(r->app->oidc_keys, req_base(r), l->issuer, l->token, oidc_verified, r) < 0)
        req_busy(r, "Too many sign-ins at once; try again shortly.");
}

/* The issuer of a token, unverified; NULL (and 401 sent) when the token
 * is no JWS or asks for an algorithm that is never accepted. */
static const char *oidc_peek_issuer(struct req *r, const char *token)
{
    json_t *header, *payload;
    if (idtoken_peek(token, &header, &payload) != IDTOKEN_OK) {
        oidc_refuse(r, "malformed");
        return NULL;
    }
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *iss = json_string_value(json_object_get(payload, "iss"));
    const char *out = NULL;
    if (!alg || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0))
        oidc_refuse(r, "algorithm not accepted");
    else if (!iss || !oidc_url_allowed(iss))
        oidc_refuse(r, "no usable issuer");
    else
        out = arena_strdup(&r->arena, iss);
    json_decref(header);
    json_decref(payload);
    return out;
}

void h_oidc_login(struct req *r)
{
    static const char *const fields[] = {"id_token", "nonce", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    struct oidc_login *l = arena_alloc(&r->arena, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->token = v_text(&v, "id_token", V_REQUIRED, 1, 16384, 0);
    l->nonce = v_text(&v, "nonce", V_REQUIRED, 16, 255, 0);
    if (api_reject_invalid(r, &v))
        return;
    req_state_set(r, oidc, l);
    const char *issuer = oidc_peek_issuer(r, l->token);
    if (!issuer)
        return; /* answered: l is gone with the request */
    l->issuer = issuer;
    struct api_params p;
    api_params_none(&p);
    api_param(&p, l->issuer);
    api_db(r, SQL_OIDC_CLIENTS, &p, oidc_clients_found);
}

void h_oidc_get(struct req *r)
{
    struct api_params p;
    api_params_actor(&p, r);
    api_db(r, SQL_OIDC_GET, &p, api_reply_row);
}

void h_oidc_delete(struct req *r)
{
    struct api_params p;
    api_params_actor(&p, r);
    api_db(r, SQL_OIDC_DELETE, &p, api_reply_row);
}

/* A claim name: letters, digits, _ - . : (no JSON path tricks). */
static int oidc_claim_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 100 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:") == n;
}

static int oidc_domain_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 3 && n <= 253 && strchr(s, '.') && s[0] != '.' && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}

static int oidc_client_id_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 200 && valid_utf8_text(s, 0);
}

/* An array of distinct strings that pass ok(), as JSON text; "[]" when
 * absent and optional; NULL (error recorded) when invalid. */
static const char *oidc_string_array(struct validator *v, const char *field, int required,
                                     size_t max, int (*ok)(const char *))
{
    json_t *a = json_object_get(v->body, field);
    if (!a || json_is_null(a)) {
        if (required)
            v_error(v, field, "is required");
        return required ? NULL : "[]";
    }
    size_t i, n = json_array_size(a);
    json_t *el;
    if (!json_is_array(a) || n > max || (required && n == 0)) {
        v_error(v, field, "must be an array of 1 to 10 values (domains: up to 50)");
        return NULL;
    }
    json_array_foreach(a, i, el)
    {
        if (!json_is_string(el) || !ok(json_string_value(el))) {
            v_error(v, field, "contains a value that is not allowed");
            return NULL;
        }
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(a, k), el)) {
                v_error(v, field, "contains a value twice");
                return NULL;
            }
    }
    char *s = json_dumps(a, JSON_COMPACT);
    const char *out = s ? arena_strdup(v->arena, s) : NULL;
    free(s);
    return out;
}

static const char *oidc_claim_field(struct validator *v, const char *field, const char *def)
{
    const char *s = v_text(v, field, V_OPTIONAL, 1, 100, 0);
    if (s && !oidc_claim_name_ok(s)) {
        v_error(v, field, "must be a claim name (letters, digits, _ - . :)");
        return NULL;
    }
    return s ? s : def;
}

void h_oidc_put(struct req *r)
{
    static const char *const fields[] = {"issuer",
                                         "client_ids",
                                         "email_domains",
                                         "email_claim",
                                         "email_verified_claim",
                                         "name_claim",
                                         "password_login",
                                         NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    const char *issuer = v_text(&v, "issuer", V_REQUIRED, 8, 500, 0);
    if (issuer && !oidc_url_allowed(issuer))
        v_error(&v, "issuer", "must be an https URL (http only on a loopback address)");
    const char *clients = oidc_string_array(&v, "client_ids", 1, 10, oidc_client_id_ok);
    const char *domains = oidc_string_array(&v, "email_domains", 0, 50, oidc_domain_ok);
    const char *email_claim = oidc_claim_field(&v, "email_claim", "email");
    const char *verified_claim = oidc_claim_field(&v, "email_verified_claim", "email_verified");
    const char *name_claim = oidc_claim_field(&v, "name_claim", "name");
    int password_login = 1;
    v_bool(&v, "password_login", V_OPTIONAL, &password_login);
    if (api_reject_invalid(r, &v))
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, issuer);
    api_param(&p, clients);
    api_param(&p, domains);
    api_param(&p, email_claim);
    api_param(&p, verified_claim);
    api_param(&p, name_claim);
    api_param(&p, password_login ? "true" : "false");
    api_db(r, SQL_OIDC_PUT, &p, api_reply_row);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement oidc_statements[] = {
    STATEMENT(SQL_OIDC_CLIENTS), STATEMENT(SQL_OIDC_SIGN_IN), STATEMENT(SQL_OIDC_GET),
    STATEMENT(SQL_OIDC_PUT),     STATEMENT(SQL_OIDC_DELETE),  {NULL, NULL},
};
