/* test_oidc.c - signing in with an organisation's identity provider
 * (POST /v1/auth/oidc), end to end against a real OpenID Connect provider.
 *
 * scripts/test.sh starts oidc-provider on loopback (tests/oidc/provider.mjs)
 * and exports OIDC_TEST_ISSUER and OIDC_TEST_KEYS. Good tokens come only
 * from the provider, through the flow an app runs (tests/oidc/flow.mjs
 * signin: authorization request with PKCE, login, consent, code exchange).
 * Attack tokens are made by flow.mjs forge: "none" and HS256 (with the
 * provider's public key as the secret) need no key; tokens the provider's
 * own key signed but the provider never issued (expired, issued in the
 * future, another issuer) are signed with its private key. Every organisation
 * of the run uses the same provider, as schools share SURFconext. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *oidc_issuer(void)
{
    const char *iss = getenv("OIDC_TEST_ISSUER");
    cr_assert(iss && *iss, "OIDC_TEST_ISSUER is not set: run through scripts/test.sh");
    return iss;
}

static const char *oidc_keys_file(void)
{
    const char *k = getenv("OIDC_TEST_KEYS");
    cr_assert(k && *k, "OIDC_TEST_KEYS is not set: run through scripts/test.sh");
    return k;
}

/* Runs `node tests/oidc/flow.mjs ARGS` and returns its one line of output
 * (malloc'd); the test fails when it fails. */
static char *flow(const char *fmt, ...)
{
    char args[4096], cmd[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "node tests/oidc/flow.mjs %s", args);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    char *line = calloc(1, 20000);
    cr_assert(line);
    if (!fgets(line, 20000, p))
        line[0] = '\0';
    int rc = pclose(p);
    cr_assert_eq(rc, 0, "flow.mjs failed: %s", args);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static void nonce_new(char *buf, size_t n)
{
    test_unique(buf, n, "nonce-0123456789");
}

/* A sign-in at the provider as login for client with a new nonce (into
 * nonce): the ID token. */
static char *signin(const char *client, const char *login, char nonce[96])
{
    nonce_new(nonce, 96);
    return flow("signin '%s' '%s' '%s' '%s'", oidc_issuer(), client, login, nonce);
}

/* Configures o's provider: the test provider unless issuer is given. */
static void configure(struct fix_org *o, const char *issuer, const char *domains_json,
                      int password_login)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"issuer\":\"%s\",\"client_ids\":[\"reflect-app\",\"reflect-app-es\"],"
             "\"email_domains\":%s,\"password_login\":%s}",
             issuer ? issuer : oidc_issuer(), domains_json, password_login ? "true" : "false");
    struct http_resp r;
    cr_assert(http_call(test_addr(), "PUT", "/v1/organisation/oidc", o->admin.token, body, NULL,
                        &r) == 0);
    expect_status(&r, 200);
    http_resp_free(&r);
}

/* POST /v1/auth/oidc to addr; returns the status, r filled. */
static int post_token_to(const char *addr, const char *token, const char *nonce,
                         struct http_resp *r)
{
    json_t *body = json_pack("{s:s, s:s}", "id_token", token, "nonce", nonce);
    cr_assert(http_call_json(addr, "POST", "/v1/auth/oidc", NULL, body, NULL, r) == 0);
    json_decref(body);
    return r->status;
}

/* The same on the shared server. */
static int post_token(const char *token, const char *nonce, struct http_resp *r)
{
    return post_token_to(test_addr(), token, nonce, r);
}

/* token signs in (on the shared server). */
static void expect_signed_in(const char *token, const char *nonce)
{
    struct http_resp r;
    cr_assert_eq(post_token(token, nonce, &r), 200, "%s", r.body);
    http_resp_free(&r);
}

/* token signs in as u. */
static void expect_signed_in_as(const char *token, const char *nonce, const struct fix_user *u)
{
    struct http_resp r;
    cr_assert_eq(post_token(token, nonce, &r), 200, "%s", r.body);
    cr_assert_str_eq(jstr(json_object_get(r.json, "user"), "id"), u->id);
    http_resp_free(&r);
}

static void expect_refused(const char *token, const char *nonce)
{
    struct http_resp r;
    post_token(token, nonce, &r);
    expect_problem(&r, 401);
    http_resp_free(&r);
}

/* An organisation using issuer (NULL: the test provider) for domains, with
 * password login, and one of its users. */
static void world_with(struct fix_org *o, struct fix_user *u, const char *issuer,
                       const char *domains_json)
{
    fix_org(o);
    configure(o, issuer, domains_json, 1);
    fix_user(o, NULL, u);
}

/* An organisation using the test provider, and one of its users. */
static void world(struct fix_org *o, struct fix_user *u)
{
    world_with(o, u, NULL, "[\"test.example\"]");
}

/* Claims as the provider would issue them for u, for forged tokens. */
static char *claims_for(const struct fix_user *u, const char *iss, const char *nonce, long iat,
                        long exp)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"iss\":\"%s\",\"sub\":\"forged-%s\",\"aud\":\"reflect-app\",\"email\":\"%s\","
             "\"email_verified\":true,\"nonce\":\"%s\",\"iat\":%ld,\"exp\":%ld}",
             iss, u->id, u->email, nonce, iat, exp);
    return buf;
}

Test(oidc, signin_with_rs256_answers_a_login_and_links_by_sub)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    char nonce[96];
    char *tok = signin("reflect-app", u.email, nonce);
    struct http_resp r;
    cr_assert_eq(post_token(tok, nonce, &r), 200, "%s", r.body);
    cr_assert_str_eq(jstr(r.json, "token_type"), "Bearer");
    cr_assert_str_eq(jstr(json_object_get(r.json, "user"), "id"), u.id);
    cr_assert(jstr(r.json, "refresh_token"));
    char access[1024];
    snprintf(access, sizeof(access), "%s", jstr(r.json, "access_token"));
    http_resp_free(&r);
    cr_assert(http_get(test_addr(), "/v1/me", access, &r) == 0);
    expect_status(&r, 200);
    cr_assert_str_eq(jstr(r.json, "email"), u.email);
    /* The provider keeps the name: "Test <local part>" for its test accounts. */
    char name[160];
    snprintf(name, sizeof(name), "Test %.*s", (int)(strchr(u.email, '@') - u.email), u.email);
    cr_assert_str_eq(jstr(r.json, "name"), name);
    http_resp_free(&r);
    /* The link is the user's data: it is in their export. */
    cr_assert(http_get(test_addr(), "/v1/me/export", access, &r) == 0);
    expect_status(&r, 200);
    json_t *links = json_object_get(r.json, "identity_links");
    cr_assert_eq(json_array_size(links), 1, "%s", r.body);
    cr_assert_str_eq(jstr(json_array_get(links, 0), "issuer"), oidc_issuer());
    http_resp_free(&r);
    free(tok);
    /* Linked now: the identity is stored by (issuer, sub). */
    char sql[256], out[64];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM user_identities WHERE user_id = '%s'", u.id);
    cr_assert_eq(test_sql(sql, out, sizeof(out)), 0);
    cr_assert_str_eq(out, "1");
    tok = signin("reflect-app", u.email, nonce);
    expect_signed_in_as(tok, nonce, &u);
    free(tok);
}

Test(oidc, signin_with_es256)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    char nonce[96];
    char *tok = signin("reflect-app-es", u.email, nonce);
    expect_signed_in_as(tok, nonce, &u);
    free(tok);
}

Test(oidc, a_replayed_token_is_refused)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    char nonce[96];
    char *tok = signin("reflect-app", u.email, nonce);
    expect_signed_in(tok, nonce);
    expect_refused(tok, nonce);
    free(tok);
}

Test(oidc, a_token_for_another_nonce_is_refused)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    char nonce[96], other[96];
    char *tok = signin("reflect-app", u.email, nonce);
    nonce_new(other, sizeof(other));
    expect_refused(tok, other);
    free(tok);
}

Test(oidc, a_token_for_another_app_is_refused)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    char nonce[96];
    char *tok = signin("other-app", u.email, nonce); /* signed by the provider, aud other-app */
    expect_refused(tok, nonce);
    free(tok);
}

Test(oidc, an_unverified_email_is_never_matched)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    char nonce[96], login[160];
    snprintf(login, sizeof(login), "unverified.%s", u.email);
    char *tok = signin("reflect-app", login, nonce);
    expect_refused(tok, nonce);
    free(tok);
}

Test(oidc, an_email_outside_the_allowed_domains_is_not_matched)
{
    struct fix_org o;
    struct fix_user u;
    world_with(&o, &u, NULL, "[\"elsewhere.example\"]");
    char nonce[96];
    char *tok = signin("reflect-app", u.email, nonce);
    expect_refused(tok, nonce);
    free(tok);
}

Test(oidc, an_account_without_a_user_is_refused)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    char nonce[96], login[128];
    test_unique(login, sizeof(login), "nobody");
    strcat(login, "@test.example");
    char *tok = signin("reflect-app", login, nonce);
    expect_refused(tok, nonce);
    free(tok);
}

Test(oidc, forged_tokens_are_refused)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    char nonce[96];
    long now = (long)time(NULL);
    const char *keys = oidc_keys_file();
    const char *modes[] = {"none", "hs256"};
    for (int i = 0; i < 2; i++) {
        nonce_new(nonce, sizeof(nonce));
        char *tok = flow("forge %s '%s' '%s'", modes[i], keys,
                         claims_for(&u, oidc_issuer(), nonce, now, now + 600));
        expect_refused(tok, nonce);
        free(tok);
    }
    /* Signed with the provider's own key, but never issued by it. */
    struct {
        long iat, exp;
        const char *iss;
    } cases[] = {
        {now - 1200, now - 600, NULL},            /* expired */
        {now + 3600, now + 7200, NULL},           /* issued in the future */
        {now - 86400, now + 600, NULL},           /* issued a day ago */
        {now, now + 600, "https://evil.example"}, /* an issuer nobody configured */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nonce_new(nonce, sizeof(nonce));
        char *tok = flow("forge rs256 '%s' '%s'", keys,
                         claims_for(&u, cases[i].iss ? cases[i].iss : oidc_issuer(), nonce,
                                    cases[i].iat, cases[i].exp));
        expect_refused(tok, nonce);
        free(tok);
    }
    /* The control: the same forge with sound claims does sign in, so the
     * refusals above are the claims', not the forge's. */
    nonce_new(nonce, sizeof(nonce));
    char *tok =
        flow("forge rs256 '%s' '%s'", keys, claims_for(&u, oidc_issuer(), nonce, now, now + 600));
    expect_signed_in(tok, nonce);
    free(tok);
}

Test(oidc, a_tampered_token_is_refused)
{
    struct fix_org o;
    struct fix_user u, victim;
    world(&o, &u);
    fix_user(&o, "admin", &victim);
    char nonce[96];
    char *tok = signin("reflect-app", u.email, nonce);
    /* Swap the payload for one naming the admin, keep the signature. */
    long now = (long)time(NULL);
    char *forged = flow("forge none '%s' '%s'", oidc_keys_file(),
                        claims_for(&victim, oidc_issuer(), nonce, now, now + 600));
    char *p1 = strchr(forged, '.'), *t1 = strchr(tok, '.');
    char *t2 = strchr(t1 + 1, '.');
    char spliced[20000];
    snprintf(spliced, sizeof(spliced), "%.*s%.*s%s", (int)(t1 - tok), tok,
             (int)(strchr(p1 + 1, '.') - p1), p1, t2);
    expect_refused(spliced, nonce);
    free(forged);
    free(tok);
}

Test(oidc, malformed_input)
{
    const char *bad[] = {"not-a-token", "a.b.c", "..", "eyJhbGciOiJSUzI1NiJ9.e30.", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_resp r;
        post_token(bad[i], "nonce-0123456789abcdef", &r);
        cr_assert(r.status == 401 || r.status == 422, "%s: %d", bad[i], r.status);
        http_resp_free(&r);
    }
    struct http_resp r;
    http_send("POST", "/v1/auth/oidc", NULL, json_pack("{s:s}", "id_token", "x"), NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
}

Test(oidc, a_provider_that_is_down_gives_503)
{
    struct fix_org o;
    struct fix_user u;
    world_with(&o, &u, "http://127.0.0.1:1", "[]"); /* nothing listens on port 1 */
    char nonce[96];
    nonce_new(nonce, sizeof(nonce));
    long now = (long)time(NULL);
    char *tok = flow("forge rs256 '%s' '%s'", oidc_keys_file(),
                     claims_for(&u, "http://127.0.0.1:1", nonce, now, now + 600));
    struct http_resp r;
    post_token(tok, nonce, &r);
    expect_problem(&r, 503);
    cr_assert(http_header(&r, "Retry-After"));
    http_resp_free(&r);
    /* The loop is not stuck: the server answers at once. */
    cr_assert(http_get(test_addr(), "/healthz", NULL, &r) == 0);
    expect_status(&r, 200);
    http_resp_free(&r);
    free(tok);
}

Test(oidc, password_login_off_leaves_only_the_provider)
{
    struct fix_org o;
    struct fix_user u, again;
    world(&o, &u);
    configure(&o, NULL, "[\"test.example\"]", 0);
    cr_assert_eq(fix_login(u.email, FIX_PASSWORD, &again), 401);
    char nonce[96];
    char *tok = signin("reflect-app", u.email, nonce);
    expect_signed_in(tok, nonce);
    free(tok);
}

Test(oidc, configuration_is_for_admins_and_validated)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    struct http_resp r;
    cr_assert(http_get(test_addr(), "/v1/organisation/oidc", o.admin.token, &r) == 0);
    expect_status(&r, 200);
    cr_assert_str_eq(jstr(r.json, "issuer"), oidc_issuer());
    cr_assert_str_eq(jstr(r.json, "email_claim"), "email");
    http_resp_free(&r);
    cr_assert(http_get(test_addr(), "/v1/organisation/oidc", u.token, &r) == 0);
    expect_problem(&r, 404);
    http_resp_free(&r);
    const char *bad[] = {
        "{\"issuer\":\"http://idp.example\",\"client_ids\":[\"a\"]}",
        "{\"issuer\":\"https://idp.example\",\"client_ids\":[]}",
        "{\"issuer\":\"https://idp.example\",\"client_ids\":[\"a\"],\"email_claim\":\"a b\"}",
        "{\"issuer\":\"https://idp.example\",\"client_ids\":[\"a\",\"a\"]}",
        "{\"issuer\":\"http://127.0.0.1.evil.example\",\"client_ids\":[\"a\"]}",
        "{\"issuer\":\"https://idp.example\",\"client_ids\":[\"a\"],\"email_domains\":[\"x\"]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert(http_call(test_addr(), "PUT", "/v1/organisation/oidc", o.admin.token, bad[i],
                            NULL, &r) == 0);
        expect_problem(&r, 422);
        http_resp_free(&r);
    }
    cr_assert(http_call(test_addr(), "PUT", "/v1/organisation/oidc", u.token,
                        "{\"issuer\":\"https://idp.example\",\"client_ids\":[\"a\"]}", NULL,
                        &r) == 0);
    expect_problem(&r, 404);
    http_resp_free(&r);
    cr_assert(http_call(test_addr(), "DELETE", "/v1/organisation/oidc", o.admin.token, NULL, NULL,
                        &r) == 0);
    expect_status(&r, 204);
    http_resp_free(&r);
    cr_assert(http_get(test_addr(), "/v1/organisation/oidc", o.admin.token, &r) == 0);
    expect_problem(&r, 404);
    http_resp_free(&r);
}

/* The provider rotates its key: a token with a kid the server has not seen
 * makes it fetch the keys again - at most every OIDC_KEYS_MIN_REFRESH_S.
 * A server of its own with the default minimum shows the limit; the shared
 * server (minimum 0 in this run) shows the refresh. */
Test(oidc, an_unknown_kid_refetches_the_keys_rate_limited)
{
    struct fix_org o;
    struct fix_user u;
    world(&o, &u);
    struct spawned s;
    const char *env[] = {"OIDC_KEYS_MIN_REFRESH_S=60", NULL};
    cr_assert_eq(server_spawn(&s, env), 0);
    char nonce[96];
    char *tok = signin("reflect-app", u.email, nonce);
    struct http_resp r;
    post_token_to(s.addr, tok, nonce, &r);
    expect_status(&r, 200);
    http_resp_free(&r);
    free(tok);
    free(flow("rotate '%s'", oidc_issuer()));
    tok = signin("reflect-app", u.email, nonce);
    post_token_to(s.addr, tok, nonce, &r);
    expect_problem(&r, 401); /* keys fetched under 60 s ago: not again */
    http_resp_free(&r);
    cr_assert_eq(server_stop(&s), 0);
    expect_signed_in(tok, nonce);
    free(tok);
}
