/* test_idtoken.c - ID token verification (idtoken.c): keys from a JWKS,
 * signatures, algorithm confusion, and every claim rule.
 *
 * Keys are made here with OpenSSL and published as a JWKS exactly as a
 * provider would; tokens are signed here, so each part can be varied on its
 * own. (End to end against a real provider: tests/integration/test_oidc.c.) */
#include "core/b64url.h"
#include "auth/idtoken.h"
#include "auth/oidc_keys.h"

#include <criterion/criterion.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bn_b64(EVP_PKEY *k, const char *param, size_t pad, char *out)
{
    BIGNUM *bn = NULL;
    cr_assert(EVP_PKEY_get_bn_param(k, param, &bn) == 1);
    unsigned char buf[512];
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    cr_assert(BN_bn2binpad(bn, buf, (int)n) == (int)n);
    b64url_encode(buf, n, out);
    BN_free(bn);
}

struct keys {
    EVP_PKEY *rsa, *ec;
    char jwks[4096];
};

static void make_keys(struct keys *k, int rsa_bits)
{
    k->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
    k->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cr_assert(k->rsa && k->ec);
    char n[700], e[16], x[64], y[64];
    bn_b64(k->rsa, OSSL_PKEY_PARAM_RSA_N, 0, n);
    bn_b64(k->rsa, OSSL_PKEY_PARAM_RSA_E, 0, e);
    bn_b64(k->ec, OSSL_PKEY_PARAM_EC_PUB_X, 32, x);
    bn_b64(k->ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y);
    snprintf(k->jwks, sizeof(k->jwks),
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\",\"alg\":\"RS256\","
             "\"n\":\"%s\",\"e\":\"%s\"},{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\","
             "\"x\":\"%s\",\"y\":\"%s\"}]}",
             n, e, x, y);
}

static void free_keys(struct keys *k)
{
    EVP_PKEY_free(k->rsa);
    EVP_PKEY_free(k->ec);
}

/* header.payload signed with key (RSA: RS256, EC: ES256 as r||s). */
static char *sign_token(EVP_PKEY *key, const char *header, const char *payload)
{
    char *tok = malloc(8192);
    char h[1024], p[2048];
    b64url_encode((const unsigned char *)header, strlen(header), h);
    b64url_encode((const unsigned char *)payload, strlen(payload), p);
    int n = snprintf(tok, 8192, "%s.%s", h, p);
    unsigned char sig[512];
    size_t sl = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    cr_assert(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1);
    cr_assert(EVP_DigestSign(md, sig, &sl, (unsigned char *)tok, (size_t)n) == 1);
    EVP_MD_CTX_free(md);
    if (EVP_PKEY_is_a(key, "EC")) {
        const unsigned char *q = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)sl);
        cr_assert(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
        ECDSA_SIG_free(es);
        sl = 64;
    }
    tok[n++] = '.';
    b64url_encode(sig, sl, tok + n);
    return tok;
}

static const char *CLAIMS = "{\"iss\":\"https://idp.example\",\"sub\":\"s1\",\"aud\":\"app\","
                            "\"nonce\":\"n1\",\"iat\":1000,\"exp\":2000}";

Test(idtoken, rs256_and_es256_verify)
{
    struct keys k;
    make_keys(&k, 2048);
    struct jwks *ks = jwks_parse(k.jwks, strlen(k.jwks));
    cr_assert_eq(jwks_count(ks), 2);
    json_t *claims = NULL;
    char *t = sign_token(k.rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", CLAIMS);
    cr_assert_eq(idtoken_verify(ks, t, &claims), IDTOKEN_OK);
    cr_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "s1");
    json_decref(claims);
    free(t);
    t = sign_token(k.ec, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", CLAIMS);
    cr_assert_eq(idtoken_verify(ks, t, &claims), IDTOKEN_OK);
    json_decref(claims);
    free(t);
    /* No kid: the only key of the type. */
    t = sign_token(k.ec, "{\"alg\":\"ES256\"}", CLAIMS);
    cr_assert_eq(idtoken_verify(ks, t, &claims), IDTOKEN_OK);
    json_decref(claims);
    free(t);
    jwks_free(ks);
    free_keys(&k);
}

Test(idtoken, algorithm_confusion_and_tampering_are_refused)
{
    struct keys k;
    make_keys(&k, 2048);
    struct jwks *ks = jwks_parse(k.jwks, strlen(k.jwks));
    json_t *claims = NULL;
    /* The EC key's kid with RS256, the RSA kid with ES256. */
    char *t = sign_token(k.rsa, "{\"alg\":\"RS256\",\"kid\":\"e1\"}", CLAIMS);
    cr_assert_eq(idtoken_verify(ks, t, &claims), IDTOKEN_UNKNOWN_KEY);
    free(t);
    t = sign_token(k.ec, "{\"alg\":\"ES256\",\"kid\":\"r1\"}", CLAIMS);
    cr_assert_eq(idtoken_verify(ks, t, &claims), IDTOKEN_UNKNOWN_KEY);
    free(t);
    const char *algs[] = {"none", "HS256", "PS256", "RS512", "ES384", "EdDSA", "rs256"};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char h[64];
        snprintf(h, sizeof(h), "{\"alg\":\"%s\",\"kid\":\"r1\"}", algs[i]);
        t = sign_token(k.rsa, h, CLAIMS);
        cr_assert_eq(idtoken_verify(ks, t, &claims), IDTOKEN_BAD_ALG, "%s", algs[i]);
        free(t);
    }
    t = sign_token(k.rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", CLAIMS);
    char *dot = strrchr(t, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A'; /* one signature character */
    cr_assert_eq(idtoken_verify(ks, t, &claims), IDTOKEN_BAD_SIGNATURE);
    *strrchr(t, '.') = '\0'; /* no signature part at all */
    cr_assert_neq(idtoken_verify(ks, t, &claims), IDTOKEN_OK);
    free(t);
    t = sign_token(k.rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"x\"]}", CLAIMS);
    cr_assert_eq(idtoken_verify(ks, t, &claims), IDTOKEN_MALFORMED);
    free(t);
    cr_assert_null(claims);
    jwks_free(ks);
    free_keys(&k);
}

Test(idtoken, weak_and_unusable_keys_are_skipped)
{
    struct keys k;
    make_keys(&k, 1024);
    struct jwks *ks = jwks_parse(k.jwks, strlen(k.jwks));
    cr_assert_eq(jwks_count(ks), 1, "a 1024-bit RSA key must not be trusted");
    jwks_free(ks);
    free_keys(&k);
    const char *docs[] = {
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
        "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}", /* not on the curve */
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}]}",
        "{\"keys\":[1, null, \"x\", {}]}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        ks = jwks_parse(docs[i], strlen(docs[i]));
        cr_assert(ks, "%s", docs[i]);
        cr_assert_eq(jwks_count(ks), 0, "%s", docs[i]);
        jwks_free(ks);
    }
    cr_assert_null(jwks_parse("[]", 2));
    cr_assert_null(jwks_parse("{\"keys\":{}}", 11));
    cr_assert_null(jwks_parse("{\"keys\":[], \"keys\":[]}", 22));
}

Test(idtoken, peek_refuses_what_is_not_a_jws)
{
    const char *bad[] = {"",       "a",       "a.b",      "a.b.c.d",  ".e30.x",
                         "e30..x", "e30.e30", "!!.e30.x", "W10.e30.x" /* header is an array */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *h, *p;
        cr_assert_eq(idtoken_peek(bad[i], &h, &p), IDTOKEN_MALFORMED, "%s", bad[i]);
    }
    json_t *h, *p;
    cr_assert_eq(idtoken_peek("e30.e30.", &h, &p), IDTOKEN_OK);
    json_decref(h);
    json_decref(p);
}

Test(idtoken, base64url_is_strict)
{
    unsigned char out[16];
    cr_assert_eq(b64_decode("TWFu", 4, out, sizeof(out), B64_URLSAFE | B64_CANONICAL), 3);
    cr_assert_eq(memcmp(out, "Man", 3), 0);
    cr_assert_eq(b64_decode("TWE", 3, out, sizeof(out), B64_URLSAFE | B64_CANONICAL), 2);
    cr_assert_eq(b64_decode("TQ", 2, out, sizeof(out), B64_URLSAFE | B64_CANONICAL), 1);
    cr_assert_eq(b64_decode("T", 1, out, sizeof(out), B64_URLSAFE | B64_CANONICAL), -1);
    cr_assert_eq(b64_decode("TR", 2, out, sizeof(out), B64_URLSAFE | B64_CANONICAL), -1,
                 "non-zero padding bits");
    cr_assert_eq(b64_decode("TWE=", 4, out, sizeof(out), B64_URLSAFE | B64_CANONICAL), -1,
                 "no padding in base64url");
    cr_assert_eq(b64_decode("T+/a", 4, out, sizeof(out), B64_URLSAFE | B64_CANONICAL), -1,
                 "not the url alphabet");
}

static const char *check(const char *claims_json, const char *nonce)
{
    static const char *const clients[] = {"app", "app2"};
    struct idtoken_expect e = {"https://idp.example", clients, 2, nonce, 1500, 60, 3600};
    json_t *c = json_loads(claims_json, 0, NULL);
    cr_assert(c, "%s", claims_json);
    const char *why = idtoken_check_claims(c, &e);
    json_decref(c);
    return why;
}

Test(idtoken, claims)
{
    cr_assert_null(check(CLAIMS, "n1"));
    cr_assert_not_null(check(CLAIMS, "n2"));
    cr_assert_not_null(check(CLAIMS, NULL));
#define C(extra) "{\"sub\":\"s1\",\"nonce\":\"n1\"," extra "}"
    const char *good[] = {
        C("\"iss\":\"https://idp.example\",\"aud\":[\"app\"],\"iat\":1000,\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":[\"app\",\"x\"],\"azp\":\"app\",\"iat\":1000,"
          "\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":\"app\",\"azp\":\"app2\",\"iat\":1540,"
          "\"exp\":1460"), /* within the skew */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert_null(check(good[i], "n1"), "%s", good[i]);
    const char *bad[] = {
        C("\"iss\":\"https://idp.example/\",\"aud\":\"app\",\"iat\":1000,\"exp\":2000"),
        C("\"iss\":\"https://other.example\",\"aud\":\"app\",\"iat\":1000,\"exp\":2000"),
        C("\"aud\":\"app\",\"iat\":1000,\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":\"other\",\"iat\":1000,\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":[],\"iat\":1000,\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":[\"app\",\"x\"],\"iat\":1000,\"exp\":2000"),
        C("\"iss\":\"https://"
          "idp.example\",\"aud\":\"app\",\"azp\":\"x\",\"iat\":1000,\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":[\"app\",1],\"azp\":\"app\",\"iat\":1000,"
          "\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":\"app\",\"iat\":1000,\"exp\":1440"),
        C("\"iss\":\"https://idp.example\",\"aud\":\"app\",\"iat\":1561,\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":\"app\",\"iat\":-3000,\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":\"app\",\"exp\":2000"),
        C("\"iss\":\"https://idp.example\",\"aud\":\"app\",\"iat\":1000,\"exp\":\"2000\""),
        "{\"iss\":\"https://idp.example\",\"aud\":\"app\",\"nonce\":\"n1\",\"iat\":1000,"
        "\"exp\":2000}",
        "{\"iss\":\"https://idp.example\",\"aud\":\"app\",\"sub\":\"\",\"nonce\":\"n1\","
        "\"iat\":1000,\"exp\":2000}",
    };
#undef C
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not_null(check(bad[i], "n1"), "%s", bad[i]);
}

/* Which URLs the key fetcher may call (oidc_keys.c): https, or http on a
 * loopback host only - exactly, not as a prefix of another host name. */
Test(idtoken, fetchable_urls)
{
    const char *ok[] = {"https://login.microsoftonline.com/t/v2.0", "https://connect.surfconext.nl",
                        "http://127.0.0.1:8080", "http://localhost/x", "http://[::1]:9"};
    const char *bad[] = {"http://idp.example",
                         "http://127.0.0.1.evil.example",
                         "http://localhost.evil/",
                         "https://",
                         "ftp://idp.example",
                         "https://idp.example/a b",
                         "https:///path",
                         "file:///etc/passwd",
                         "https://idp.example\r\nX: y",
                         ""};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        cr_assert(oidc_url_allowed(ok[i]), "%s", ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(oidc_url_allowed(bad[i]), "%s", bad[i]);
    cr_assert_not(oidc_url_allowed(NULL));
}
