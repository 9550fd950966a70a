/* fuzz_idtoken.c - libFuzzer target: ID tokens and key sets
 * (service/auth/idtoken.c).
 *
 * The input goes through jwks_parse (as a provider's JWKS), idtoken_peek
 * and idtoken_verify against a key set made at start-up, whose private
 * keys the fuzzer never sees, and the claims check. Invariants (a
 * violation aborts): no input verifies against that key set (it cannot be
 * forged), a refusal hands back no claims, and a token peek accepts has an
 * object for header and payload.
 * Build and run: scripts/fuzz.sh idtoken (seeds in tests/fuzz/corpus/idtoken/). */
#include "auth/idtoken.h"
#include "fuzz_check.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct jwks *keys;

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        v |= i + 1 < n ? (unsigned long)in[i + 1] << 8 : 0;
        v |= i + 2 < n ? in[i + 2] : 0;
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = tab[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = tab[v & 63];
    }
    out[o] = '\0';
}

static void make_keys(void)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    BIGNUM *n = NULL, *e = NULL;
    CHECK(rsa && EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
          EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e) == 1);
    unsigned char bn[256], be[8];
    char sn[400], se[16], doc[1024];
    int ln = BN_bn2bin(n, bn), le = BN_bn2bin(e, be);
    b64url(bn, (size_t)ln, sn);
    b64url(be, (size_t)le, se);
    snprintf(doc, sizeof(doc),
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\",\"e\":\"%s\"}]}", sn, se);
    keys = jwks_parse(doc, strlen(doc));
    CHECK(jwks_count(keys) == 1);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(rsa);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!keys)
        make_keys();
    jwks_free(jwks_parse((const char *)data, size));
    char *s = malloc(size + 1);
    CHECK(s);
    memcpy(s, data, size);
    s[size] = '\0';
    json_t *h = NULL, *p = NULL;
    if (idtoken_peek(s, &h, &p) == IDTOKEN_OK) {
        CHECK(json_is_object(h) && json_is_object(p));
        static const char *const clients[] = {"app"};
        struct idtoken_expect e = {"https://idp.example", clients, 1, "n", 1000, 60, 3600};
        (void)idtoken_check_claims(p, &e);
    }
    json_decref(h);
    json_decref(p);
    json_t *claims = NULL;
    CHECK(idtoken_verify(keys, s, &claims) != IDTOKEN_OK);
    CHECK(claims == NULL);
    free(s);
    return 0;
}
