/* test_auth.c - attacks on login, access tokens, refresh tokens and logout.
 *
 * Tokens are forged here with libjwt and the test key the server runs with
 * ($JWT_KEY), so each claim and algorithm can be varied on its own: a
 * token that differs from a valid one in exactly one way must be refused. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *auth_key(void)
{
    const char *k = getenv("JWT_KEY");
    cr_assert(k && strlen(k) >= 32, "JWT_KEY must be exported to the tests");
    return k;
}

/* Reads the session id claim of a token the server issued. */
static void token_claim(const char *token, const char *claim, char *out, size_t n)
{
    jwt_t *jwt = NULL;
    cr_assert(jwt_decode(&jwt, token, (const unsigned char *)auth_key(), (int)strlen(auth_key())) ==
              0);
    snprintf(out, n, "%s", jwt_get_grant(jwt, claim));
    jwt_free(jwt);
}

struct forge {
    const char *iss, *aud, *sub, *org, *sid;
    long iat, nbf, exp;
    jwt_alg_t alg;
    const char *key;
};

/* A token exactly like the server's for user u, before any tampering. */
static struct forge forge_like(const struct fix_user *u, char *org, char *sid)
{
    token_claim(u->token, "org", org, 40);
    token_claim(u->token, "sid", sid, 40);
    long now = (long)time(NULL);
    struct forge f = {"reflectd", "reflect-app", u->id,     org,           sid,
                      now,        now,           now + 600, JWT_ALG_HS256, auth_key()};
    return f;
}

static char *forge_token(const struct forge *f)
{
    jwt_t *jwt = NULL;
    cr_assert(jwt_new(&jwt) == 0);
    if (f->iss)
        jwt_add_grant(jwt, "iss", f->iss);
    if (f->aud)
        jwt_add_grant(jwt, "aud", f->aud);
    jwt_add_grant(jwt, "sub", f->sub);
    jwt_add_grant(jwt, "org", f->org);
    jwt_add_grant(jwt, "sid", f->sid);
    jwt_add_grant_int(jwt, "iat", f->iat);
    jwt_add_grant_int(jwt, "nbf", f->nbf);
    jwt_add_grant_int(jwt, "exp", f->exp);
    cr_assert(jwt_set_alg(jwt, f->alg, (const unsigned char *)f->key, (int)strlen(f->key)) == 0);
    char *s = jwt_encode_str(jwt);
    jwt_free(jwt);
    cr_assert(s);
    return s;
}

static void b64url(const char *in, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = a[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

static int me_status(const char *token)
{
    struct http_resp r;
    cr_assert(http_get(test_addr(), "/v1/me", token, &r) == 0);
    int st = r.status;
    if (st == 401) {
        expect_problem(&r, 401);
        const char *www = http_header(&r, "WWW-Authenticate");
        cr_assert(www && strncmp(www, "Bearer", 6) == 0, "401 without WWW-Authenticate");
    }
    http_resp_free(&r);
    return st;
}

static void expect_forged_refused(const struct forge *f, const char *what)
{
    char *t = forge_token(f);
    cr_expect_eq(me_status(t), 401, "accepted a token with %s", what);
    free(t);
}

Test(auth, login_returns_token_pair_and_profile)
{
    struct fix_org o;
    fix_org(&o);
    json_t *body = json_pack("{s:s, s:s}", "email", o.admin.email, "password", FIX_PASSWORD);
    struct http_resp r;
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/login", NULL, body, NULL, &r) == 0);
    json_decref(body);
    expect_status(&r, 200);
    cr_expect_str_eq(json_string_value(json_object_get(r.json, "token_type")), "Bearer");
    cr_expect_gt(json_integer_value(json_object_get(r.json, "expires_in")), 0);
    json_t *user = json_object_get(r.json, "user");
    cr_expect_str_eq(json_string_value(json_object_get(user, "email")), o.admin.email);
    cr_expect_str_eq(json_string_value(json_object_get(user, "organisation_id")), o.id);
    cr_expect(json_is_array(json_object_get(user, "roles")));
    cr_expect(strstr(r.body, "password") == NULL, "a password field leaked");
    http_resp_free(&r);
}

Test(auth, unknown_email_and_wrong_password_look_the_same)
{
    struct fix_org o;
    fix_org(&o);
    struct http_resp a, b;
    json_t *wrong = json_pack("{s:s, s:s}", "email", o.admin.email, "password", "not it at all");
    json_t *unknown =
        json_pack("{s:s, s:s}", "email", "nobody-xyz@test.example", "password", FIX_PASSWORD);
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/login", NULL, wrong, NULL, &a) == 0);
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/login", NULL, unknown, NULL, &b) == 0);
    expect_problem(&a, 401);
    expect_problem(&b, 401);
    cr_expect_str_eq(json_string_value(json_object_get(a.json, "detail")),
                     json_string_value(json_object_get(b.json, "detail")));
    cr_expect_eq(a.body_len, b.body_len);
    json_decref(wrong);
    json_decref(unknown);
    http_resp_free(&a);
    http_resp_free(&b);
}

Test(auth, login_rejects_malformed_bodies)
{
    struct http_resp r;
    cr_assert(http_call(test_addr(), "POST", "/v1/auth/login", NULL, "{\"email\":", NULL, &r) == 0);
    expect_problem(&r, 400);
    http_resp_free(&r);
    cr_assert(http_call(test_addr(), "POST", "/v1/auth/login", NULL, "[1,2]", NULL, &r) == 0);
    expect_problem(&r, 400);
    http_resp_free(&r);
    cr_assert(http_call(test_addr(), "POST", "/v1/auth/login", NULL, "{\"email\":\"a@b.c\"}",
                        "Content-Type: text/plain\r\n", &r) == 0);
    expect_problem(&r, 415);
    http_resp_free(&r);
    cr_assert(http_call(test_addr(), "POST", "/v1/auth/login", NULL,
                        "{\"email\":\"a@b.c\",\"email\":\"d@e.f\",\"password\":\"x\"}", NULL,
                        &r) == 0);
    expect_problem(&r, 400); /* duplicate keys */
    http_resp_free(&r);
    cr_assert(http_call(test_addr(), "POST", "/v1/auth/login", NULL,
                        "{\"email\":\"a\\u0000@b.c\",\"password\":\"x\"}", NULL, &r) == 0);
    expect_problem(&r, 400); /* NUL inside a string */
    http_resp_free(&r);
    cr_assert(
        http_call(test_addr(), "POST", "/v1/auth/login", NULL, "{\"admin\":true}", NULL, &r) == 0);
    expect_problem(&r, 422);
    json_t *errors = json_object_get(r.json, "errors");
    cr_expect_eq(json_array_size(errors), 3, "unknown field, email and password: %s", r.body);
    http_resp_free(&r);
}

Test(auth, invalid_utf8_is_refused)
{
    const char body[] = "{\"email\":\"a\xff\xfe@b.c\",\"password\":\"x\"}";
    struct http_resp r;
    cr_assert(http_call(test_addr(), "POST", "/v1/auth/login", NULL, body, NULL, &r) == 0);
    expect_problem(&r, 400);
    http_resp_free(&r);
}

Test(auth, missing_or_malformed_authorization_is_401)
{
    cr_expect_eq(me_status(NULL), 401);
    cr_expect_eq(me_status("not-a-jwt"), 401);
    cr_expect_eq(me_status("a.b.c"), 401);
    struct http_resp r;
    cr_assert(http_call(test_addr(), "GET", "/v1/me", NULL, NULL,
                        "Authorization: Basic YWRtaW46YWRtaW4=\r\n", &r) == 0);
    expect_problem(&r, 401);
    http_resp_free(&r);
}

Test(auth, forged_tokens_are_refused)
{
    struct fix_org o;
    fix_org(&o);
    char org[40], sid[40];
    struct forge good = forge_like(&o.admin, org, sid);
    char *t = forge_token(&good);
    cr_assert_eq(me_status(t), 200, "the control token must be accepted");
    /* Tampered signature: flip the last character. */
    size_t n = strlen(t);
    t[n - 1] = t[n - 1] == 'A' ? 'B' : 'A';
    cr_expect_eq(me_status(t), 401, "accepted a tampered signature");
    free(t);

    struct forge f = good;
    f.key = "another-key-that-is-long-enough-0123456789";
    expect_forged_refused(&f, "another signing key");
    f = good;
    f.exp = good.iat - 3600;
    expect_forged_refused(&f, "an expiry an hour ago");
    f = good;
    f.nbf = good.iat + 3600;
    expect_forged_refused(&f, "a start time an hour ahead");
    f = good;
    f.iss = "someone-else";
    expect_forged_refused(&f, "a wrong issuer");
    f = good;
    f.iss = NULL;
    expect_forged_refused(&f, "no issuer");
    f = good;
    f.aud = "another-app";
    expect_forged_refused(&f, "a wrong audience");
    f = good;
    f.alg = JWT_ALG_HS512;
    expect_forged_refused(&f, "HS512 (only HS256 is configured)");
    f = good;
    f.alg = JWT_ALG_HS384;
    expect_forged_refused(&f, "HS384");
    f = good;
    f.sid = "00000000-0000-4000-8000-000000000000";
    expect_forged_refused(&f, "a session that does not exist");
    f = good;
    f.org = "00000000-0000-4000-8000-000000000001";
    expect_forged_refused(&f, "an organisation that is not the user's");
}

Test(auth, alg_none_and_algorithm_confusion_are_refused)
{
    struct fix_org o;
    fix_org(&o);
    char org[40], sid[40];
    struct forge good = forge_like(&o.admin, org, sid);
    char payload[512], p64[800], h64[200], token[1200];
    long now = (long)time(NULL);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"reflectd\",\"aud\":\"reflect-app\",\"sub\":\"%s\",\"org\":\"%s\","
             "\"sid\":\"%s\",\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld}",
             good.sub, org, sid, now, now, now + 600);
    b64url(payload, p64);
    const char *headers[] = {"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}",
                             "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "{\"typ\":\"JWT\"}"};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        b64url(headers[i], h64);
        snprintf(token, sizeof(token), "%s.%s.", h64, p64);
        cr_expect_eq(me_status(token), 401, "accepted header %s without signature", headers[i]);
        /* The same header with the payload signed by the real key's HS256
         * signature of another token: the signature must not transfer. */
        char *real = forge_token(&good);
        snprintf(token, sizeof(token), "%s.%s.%s", h64, p64, strrchr(real, '.') + 1);
        cr_expect_eq(me_status(token), 401, "accepted header %s with a borrowed signature",
                     headers[i]);
        free(real);
    }
}

Test(auth, refresh_rotates_and_reuse_revokes_the_session)
{
    struct fix_org o;
    fix_org(&o);
    char first[128];
    snprintf(first, sizeof(first), "%s", o.admin.refresh);
    json_t *body = json_pack("{s:s}", "refresh_token", first);
    struct http_resp r;
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/refresh", NULL, body, NULL, &r) == 0);
    expect_status(&r, 200);
    const char *second = json_string_value(json_object_get(r.json, "refresh_token"));
    const char *access = json_string_value(json_object_get(r.json, "access_token"));
    cr_assert(second && access);
    cr_expect_str_neq(second, first, "refresh token did not rotate");
    char second_copy[128], access_copy[1024];
    snprintf(second_copy, sizeof(second_copy), "%s", second);
    snprintf(access_copy, sizeof(access_copy), "%s", access);
    http_resp_free(&r);
    cr_expect_eq(me_status(access_copy), 200);

    /* The first token again: theft detected, the whole session dies. */
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/refresh", NULL, body, NULL, &r) == 0);
    expect_problem(&r, 401);
    http_resp_free(&r);
    json_decref(body);
    body = json_pack("{s:s}", "refresh_token", second_copy);
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/refresh", NULL, body, NULL, &r) == 0);
    expect_problem(&r, 401);
    http_resp_free(&r);
    json_decref(body);
    cr_expect_eq(me_status(access_copy), 401, "access token outlived its revoked session");
    cr_expect_eq(me_status(o.admin.token), 401);
}

Test(auth, refresh_rejects_unknown_tokens)
{
    struct http_resp r;
    cr_assert(http_call(test_addr(), "POST", "/v1/auth/refresh", NULL,
                        "{\"refresh_token\":\"made-up-token\"}", NULL, &r) == 0);
    expect_problem(&r, 401);
    http_resp_free(&r);
    cr_assert(http_call(test_addr(), "POST", "/v1/auth/refresh", NULL, "{}", NULL, &r) == 0);
    expect_problem(&r, 422);
    http_resp_free(&r);
}

Test(auth, logout_ends_the_session)
{
    struct fix_org o;
    fix_org(&o);
    cr_assert_eq(me_status(o.admin.token), 200);
    json_t *body = json_pack("{s:s}", "refresh_token", o.admin.refresh);
    struct http_resp r;
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/logout", NULL, body, NULL, &r) == 0);
    expect_status(&r, 204);
    http_resp_free(&r);
    cr_expect_eq(me_status(o.admin.token), 401, "access token still works after logout");
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/refresh", NULL, body, NULL, &r) == 0);
    expect_problem(&r, 401);
    http_resp_free(&r);
    /* Logging out twice is harmless. */
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/logout", NULL, body, NULL, &r) == 0);
    expect_status(&r, 204);
    http_resp_free(&r);
    json_decref(body);
    /* Other sessions of the same user live on. */
    struct fix_user again;
    cr_expect_eq(fix_login(o.admin.email, FIX_PASSWORD, &again), 200);
    cr_expect_eq(me_status(again.token), 200);
}

/* ---- stored hashes made with other argon2id parameters (issue 12) ------ */

/* FIX_PASSWORD hashed by libargon2 with t=1, m=512 KiB: cheaper than what
 * the test servers are configured with (ARGON2_M_COST_KIB=1024). */
#define CHEAP_HASH                                                                                 \
    "$argon2id$v=19$m=512,t=1,p=1$cmVmbGVjdGQtY2hlYXAtMQ$aHIIntBR/"                                \
    "aXlIlhRfnzL7MPBqaKThmDQeHD9EctLiR4"

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

static void stored_hash(const struct fix_user *u, char *out, size_t n)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT password_hash FROM users WHERE id = '%s'", u->id);
    cr_assert_eq(test_sql(sql, out, n), 0, "cannot read the stored hash");
}

static void store_cheap_hash(const struct fix_user *u)
{
    char sql[512], now[256];
    snprintf(sql, sizeof(sql), "UPDATE users SET password_hash = '%s' WHERE id = '%s'", CHEAP_HASH,
             u->id);
    cr_assert_eq(test_sql(sql, NULL, 0), 0, "cannot store the cheap hash");
    stored_hash(u, now, sizeof(now));
    cr_assert_str_eq(now, CHEAP_HASH);
}

Test(auth, login_rehashes_a_hash_made_with_other_parameters)
{
    struct fix_org o;
    struct fix_user u;
    fix_org(&o);
    fix_user(&o, NULL, &u);
    store_cheap_hash(&u);
    struct fix_user in;
    cr_assert_eq(fix_login(u.email, FIX_PASSWORD, &in), 200, "the cheap hash did not verify");
    char want[128], now[256];
    snprintf(want, sizeof(want), "$argon2id$v=19$m=%d,t=%d,p=%d$",
             env_int("ARGON2_M_COST_KIB", 65536), env_int("ARGON2_T_COST", 3),
             env_int("ARGON2_PARALLELISM", 1));
    stored_hash(&u, now, sizeof(now));
    cr_assert_eq(strncmp(now, want, strlen(want)), 0, "stored %s, want the prefix %s", now, want);
    /* then a 16-byte salt and a 32-byte hash in unpadded base64 */
    cr_assert_eq(strlen(now), strlen(want) + 22 + 1 + 43, "salt or hash length: %s", now);
    /* The new hash is the password's: the next login verifies it. */
    cr_assert_eq(fix_login(u.email, FIX_PASSWORD, &in), 200, "the new hash did not verify");
    char again[256];
    stored_hash(&u, again, sizeof(again));
    cr_assert_str_eq(again, now, "a hash with the current parameters was replaced again");
}

Test(auth, wrong_password_on_a_cheap_hash_is_the_same_401)
{
    struct fix_org o;
    struct fix_user u;
    fix_org(&o);
    fix_user(&o, NULL, &u);
    store_cheap_hash(&u);
    struct http_resp a, b;
    json_t *wrong = json_pack("{s:s, s:s}", "email", u.email, "password", "not it at all");
    json_t *unknown =
        json_pack("{s:s, s:s}", "email", "nobody-cheap@test.example", "password", FIX_PASSWORD);
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/login", NULL, wrong, NULL, &a) == 0);
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/login", NULL, unknown, NULL, &b) == 0);
    expect_problem(&a, 401);
    expect_problem(&b, 401);
    cr_expect_str_eq(jstr(a.json, "detail"), jstr(b.json, "detail"));
    cr_expect_eq(a.body_len, b.body_len);
    json_decref(wrong);
    json_decref(unknown);
    http_resp_free(&a);
    http_resp_free(&b);
    char now[256];
    stored_hash(&u, now, sizeof(now));
    cr_assert_str_eq(now, CHEAP_HASH, "a wrong password changed the stored hash");
}

Test(auth, brute_force_on_one_account_reaches_429)
{
    struct fix_org o;
    fix_org(&o);
    struct fix_user u;
    int limited = 0;
    for (int i = 0; i < 12 && !limited; i++) {
        int st = fix_login(o.admin.email, "wrong password!", &u);
        cr_assert(st == 401 || st == 429, "unexpected status %d", st);
        limited = st == 429;
    }
    cr_assert(limited, "12 wrong passwords never reached 429");
    /* Now even the right password is refused, with Retry-After. */
    json_t *body = json_pack("{s:s, s:s}", "email", o.admin.email, "password", FIX_PASSWORD);
    struct http_resp r;
    cr_assert(http_call_json(test_addr(), "POST", "/v1/auth/login", NULL, body, NULL, &r) == 0);
    json_decref(body);
    expect_problem(&r, 429);
    const char *ra = http_header(&r, "Retry-After");
    cr_assert(ra && atoi(ra) > 0, "429 without a positive Retry-After");
    http_resp_free(&r);
}

Test(auth, me_describes_roles_and_teams)
{
    struct fix_org o;
    fix_org(&o);
    struct fix_user s;
    fix_user(&o, NULL, &s);
    char team[40];
    fix_team(&o, team);
    fix_member(&o, team, &s, "student");
    struct http_resp r;
    cr_assert(http_get(test_addr(), "/v1/me", s.token, &r) == 0);
    expect_status(&r, 200);
    json_t *teams = json_object_get(r.json, "teams");
    cr_assert_eq(json_array_size(teams), 1);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(teams, 0), "id")), team);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(teams, 0), "role")),
                     "student");
    cr_expect_eq(json_array_size(json_object_get(r.json, "roles")), 0);
    http_resp_free(&r);
}
