/* idtoken.c - verifying OpenID Connect ID tokens with OpenSSL 3.
 *
 * An ID token is a compact JWS: header.payload.signature, each base64url.
 * Only RS256 and ES256 are accepted, whatever the header says: "none" has
 * no signature, and HS256 would let anyone who has the provider's public
 * key (everyone) sign tokens with it as the HMAC secret. The algorithm also
 * has to fit the key's type, so an EC key is never used for RS256 or the
 * other way round. Keys come from the provider's JWKS, built into OpenSSL
 * keys once per fetch (EVP_PKEY_fromdata), not per token.
 *
 * Claims follow OpenID Connect Core 3.1.3.7: iss exactly the configured
 * issuer; aud contains one of the organisation's client ids; when azp is
 * there (or aud has several values) it is one of them; exp in the future,
 * iat not in the future and not too old (with a small clock skew); nonce
 * exactly the app's; sub present. */
#include "auth/idtoken.h"
#include "core/b64url.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#define IDTOKEN_MAX_LEN 16384
#define IDTOKEN_KID_MAX 256
/* Unpadded base64url, one spelling per value. */
#define ID_B64 (B64_URLSAFE | B64_CANONICAL)

enum key_type { KEY_RSA, KEY_EC };

struct jwk {
    char kid[IDTOKEN_KID_MAX]; /* "" when the key has none */
    enum key_type type;
    EVP_PKEY *pkey;
};

struct jwks {
    struct jwk *keys;
    size_t n;
};

/* A base64url member of a JWK, decoded into malloc'd memory. */
static unsigned char *jwk_bytes(const json_t *k, const char *name, size_t max, size_t *len)
{
    const char *s = json_string_value(json_object_get(k, name));
    size_t sl = s ? strlen(s) : 0;
    if (!s || sl == 0 || sl > max)
        return NULL;
    unsigned char *out = malloc(sl * 3 / 4 + 3);
    long n = out ? b64_decode(s, sl, out, sl * 3 / 4 + 3, ID_B64) : -1;
    if (n <= 0) {
        free(out);
        return NULL;
    }
    *len = (size_t)n;
    return out;
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *jwk_rsa(const json_t *k)
{
    size_t nl = 0, el = 0;
    unsigned char *n = jwk_bytes(k, "n", 2048, &nl), *e = jwk_bytes(k, "e", 16, &el);
    BIGNUM *bn_n = n ? BN_bin2bn(n, (int)nl, NULL) : NULL;
    BIGNUM *bn_e = e ? BN_bin2bn(e, (int)el, NULL) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    /* Under 2048 bits RSA is breakable; such a key is never trusted. */
    if (bn_n && bn_e && bld && BN_num_bits(bn_n) >= 2048 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
        pkey = pkey_from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    free(n);
    free(e);
    return pkey;
}

/* A point on P-256 (EVP_PKEY_public_check refuses one off the curve). */
static EVP_PKEY *jwk_ec(const json_t *k)
{
    const char *crv = json_string_value(json_object_get(k, "crv"));
    size_t xl = 0, yl = 0;
    unsigned char *x = jwk_bytes(k, "x", 64, &xl), *y = jwk_bytes(k, "y", 64, &yl);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (crv && strcmp(crv, "P-256") == 0 && x && y && xl == 32 && yl == 32 && bld) {
        unsigned char point[65];
        point[0] = 0x04; /* uncompressed */
        memcpy(point + 1, x, 32);
        memcpy(point + 33, y, 32);
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ==
                1 &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 65) == 1)
            pkey = pkey_from_params("EC", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    EVP_PKEY_CTX *check = pkey ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
    if (pkey && (!check || EVP_PKEY_public_check(check) != 1)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(check);
    return pkey;
}

/* One usable signing key from k into out; 0, or -1 to skip it. */
static int jwk_load(const json_t *k, struct jwk *out)
{
    const char *kty = json_string_value(json_object_get(k, "kty"));
    const char *use = json_string_value(json_object_get(k, "use"));
    const char *alg = json_string_value(json_object_get(k, "alg"));
    const char *kid = json_string_value(json_object_get(k, "kid"));
    if (!kty || (use && strcmp(use, "sig") != 0) || (kid && strlen(kid) >= IDTOKEN_KID_MAX))
        return -1;
    memset(out, 0, sizeof(*out));
    if (kid)
        strcpy(out->kid, kid);
    if (strcmp(kty, "RSA") == 0 && (!alg || strcmp(alg, "RS256") == 0)) {
        out->type = KEY_RSA;
        out->pkey = jwk_rsa(k);
    } else if (strcmp(kty, "EC") == 0 && (!alg || strcmp(alg, "ES256") == 0)) {
        out->type = KEY_EC;
        out->pkey = jwk_ec(k);
    }
    return out->pkey ? 0 : -1;
}

struct jwks *jwks_parse(const char *json, size_t len)
{
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    struct jwks *ks = json_is_array(keys) ? calloc(1, sizeof(*ks)) : NULL;
    size_t n = json_array_size(keys);
    if (ks && n > 0 && n <= 100)
        ks->keys = calloc(n, sizeof(struct jwk));
    if (!ks || (n > 0 && !ks->keys)) {
        free(ks);
        json_decref(doc);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (jwk_load(json_array_get(keys, i), &ks->keys[ks->n]) == 0)
            ks->n++;
    json_decref(doc);
    return ks;
}

void jwks_free(struct jwks *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++)
        EVP_PKEY_free(ks->keys[i].pkey);
    free(ks->keys);
    free(ks);
}

size_t jwks_count(const struct jwks *ks)
{
    return ks ? ks->n : 0;
}

/* A base64url part of JSON, as an object. */
static json_t *part_json(const char *s, size_t len)
{
    unsigned char *buf = malloc(len * 3 / 4 + 3);
    long n = buf ? b64_decode(s, len, buf, len * 3 / 4 + 3, ID_B64) : -1;
    json_t *j =
        n > 0 ? json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(buf);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* The two dots of a compact JWS; 0, or -1 when it is not one. */
static int split_token(const char *token, const char **dot1, const char **dot2)
{
    size_t len = strnlen(token, IDTOKEN_MAX_LEN + 1);
    if (len == 0 || len > IDTOKEN_MAX_LEN)
        return -1;
    *dot1 = strchr(token, '.');
    *dot2 = *dot1 ? strchr(*dot1 + 1, '.') : NULL;
    if (!*dot2 || strchr(*dot2 + 1, '.') || *dot1 == token || *dot2 == *dot1 + 1)
        return -1;
    return 0;
}

enum idtoken_status idtoken_peek(const char *token, json_t **header, json_t **payload)
{
    const char *d1, *d2;
    *header = *payload = NULL;
    if (split_token(token, &d1, &d2) < 0)
        return IDTOKEN_MALFORMED;
    *header = part_json(token, (size_t)(d1 - token));
    *payload = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!*header || !*payload) {
        json_decref(*header);
        json_decref(*payload);
        *header = *payload = NULL;
        return IDTOKEN_MALFORMED;
    }
    return IDTOKEN_OK;
}

/* The key for kid (NULL: the only key of that type). */
static const struct jwk *jwks_find(const struct jwks *ks, enum key_type type, const char *kid)
{
    const struct jwk *found = NULL;
    for (size_t i = 0; i < ks->n; i++) {
        if (ks->keys[i].type != type)
            continue;
        if (kid && strcmp(ks->keys[i].kid, kid) == 0)
            return &ks->keys[i];
        if (!kid) {
            if (found)
                return NULL; /* ambiguous */
            found = &ks->keys[i];
        }
    }
    return found;
}

/* ES256 signatures are r || s (32 bytes each); OpenSSL wants DER. Returns
 * the DER length, or -1. */
static int es256_to_der(const unsigned char *sig, size_t len, unsigned char **der)
{
    if (len != 64)
        return -1;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return -1;
    }
    *der = NULL;
    int n = i2d_ECDSA_SIG(es, der);
    ECDSA_SIG_free(es);
    return n > 0 ? n : -1;
}

static int verify_sig(const struct jwk *k, const char *data, size_t dlen, const unsigned char *sig,
                      size_t slen)
{
    unsigned char *der = NULL;
    if (k->type == KEY_EC) {
        int n = es256_to_der(sig, slen, &der);
        if (n < 0)
            return 0;
        sig = der;
        slen = (size_t)n;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
             EVP_DigestVerify(md, sig, slen, (const unsigned char *)data, dlen) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

/* The key the header asks for, or why there is none. */
static enum idtoken_status header_key(const struct jwks *ks, const json_t *header,
                                      const struct jwk **key)
{
    const char *alg = json_string_value(json_object_get(header, "alg"));
    json_t *kidj = json_object_get(header, "kid");
    if (kidj && !json_is_string(kidj))
        return IDTOKEN_MALFORMED;
    enum key_type type;
    if (alg && strcmp(alg, "RS256") == 0)
        type = KEY_RSA;
    else if (alg && strcmp(alg, "ES256") == 0)
        type = KEY_EC;
    else
        return IDTOKEN_BAD_ALG;
    if (json_object_get(header, "crit"))
        return IDTOKEN_MALFORMED; /* no extension is understood here */
    *key = ks ? jwks_find(ks, type, json_string_value(kidj)) : NULL;
    return *key ? IDTOKEN_OK : IDTOKEN_UNKNOWN_KEY;
}

enum idtoken_status idtoken_verify(const struct jwks *ks, const char *token, json_t **payload)
{
    json_t *header;
    const char *d1, *d2;
    enum idtoken_status st = idtoken_peek(token, &header, payload);
    if (st != IDTOKEN_OK)
        return st;
    const struct jwk *key = NULL;
    st = header_key(ks, header, &key);
    json_decref(header);
    split_token(token, &d1, &d2);
    size_t slen = strlen(d2 + 1);
    unsigned char *sig = st == IDTOKEN_OK ? malloc(slen * 3 / 4 + 3) : NULL;
    long n = sig ? b64_decode(d2 + 1, slen, sig, slen * 3 / 4 + 3, ID_B64) : -1;
    if (st == IDTOKEN_OK && n <= 0)
        st = IDTOKEN_MALFORMED;
    if (st == IDTOKEN_OK && !verify_sig(key, token, (size_t)(d2 - token), sig, (size_t)n))
        st = IDTOKEN_BAD_SIGNATURE;
    free(sig);
    if (st != IDTOKEN_OK) {
        json_decref(*payload);
        *payload = NULL;
    }
    return st;
}

static int client_listed(const struct idtoken_expect *e, const char *id)
{
    for (size_t i = 0; id && i < e->nclients; i++)
        if (strcmp(e->client_ids[i], id) == 0)
            return 1;
    return 0;
}

/* aud (a string or an array of strings) and azp. */
static const char *check_audience(const json_t *claims, const struct idtoken_expect *e)
{
    const json_t *aud = json_object_get(claims, "aud");
    const json_t *azp = json_object_get(claims, "azp");
    int listed = 0;
    size_t naud = 1;
    if (json_is_string(aud)) {
        listed = client_listed(e, json_string_value(aud));
    } else if (json_is_array(aud) && json_array_size(aud) > 0) {
        naud = json_array_size(aud);
        for (size_t i = 0; i < naud; i++) {
            const json_t *a = json_array_get(aud, i);
            if (!json_is_string(a))
                return "aud holds a non-string";
            listed |= client_listed(e, json_string_value(a));
        }
    } else {
        return "aud missing";
    }
    if (!listed)
        return "aud names none of the organisation's apps";
    if (azp && !json_is_string(azp))
        return "azp is not a string";
    if ((azp || naud > 1) && !client_listed(e, json_string_value(azp)))
        return "azp names none of the organisation's apps";
    return NULL;
}

static const char *check_times(const json_t *claims, const struct idtoken_expect *e)
{
    const json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    if (!json_is_integer(exp) || !json_is_integer(iat))
        return "exp or iat missing";
    if (json_integer_value(exp) + e->skew_s <= e->now)
        return "expired";
    if (json_integer_value(iat) > e->now + e->skew_s)
        return "issued in the future";
    if (json_integer_value(iat) < e->now - e->max_age_s)
        return "issued too long ago";
    return NULL;
}

const char *idtoken_check_claims(const json_t *claims, const struct idtoken_expect *e)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *nonce = json_string_value(json_object_get(claims, "nonce"));
    if (!iss || strcmp(iss, e->issuer) != 0)
        return "wrong issuer";
    const char *why = check_audience(claims, e);
    if (why)
        return why;
    if ((why = check_times(claims, e)))
        return why;
    if (!nonce || !e->nonce || strcmp(nonce, e->nonce) != 0)
        return "nonce differs";
    if (!sub || !*sub || strlen(sub) > 255)
        return "sub missing";
    return NULL;
}
