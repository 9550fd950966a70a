/* jws.c - JWT signing with OpenSSL's EVP (see jws.h). No hand-rolled
 * crypto: the digest, the signature and the key handling are OpenSSL's;
 * this file only frames them as RFC 7515 compact serialisation. */
#include "notify/jws.h"
#include "core/b64url.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *jws_key_from_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

EVP_PKEY *jws_key_from_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b)
        return NULL;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    return k;
}

EVP_PKEY *jws_p256_generate(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

int jws_p256_public(EVP_PKEY *k, unsigned char out[65])
{
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &len) != 1 ||
        len != 65 || out[0] != 0x04)
        return -1;
    return 0;
}

/* DER ECDSA-Sig-Value -> R || S, 32 bytes each. */
static int jws_der_to_raw(const unsigned char *der, size_t n, unsigned char raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (!sig)
        return -1;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

/* The signature over input, base64url-encoded into out (room for 350). */
static int jws_signature(EVP_PKEY *k, const char *input, char *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[512];
    size_t n = sizeof(sig);
    int rc = -1;
    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
        EVP_DigestSign(md, sig, &n, (const unsigned char *)input, strlen(input)) == 1) {
        if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
            unsigned char raw[64];
            if (jws_der_to_raw(sig, n, raw) == 0) {
                b64url_encode(raw, 64, out);
                rc = 0;
            }
        } else if (n <= 256) {
            b64url_encode(sig, n, out);
            rc = 0;
        }
    }
    EVP_MD_CTX_free(md);
    return rc;
}

char *jws_sign(EVP_PKEY *k, const char *header_json, const char *claims_json)
{
    size_t hl = strlen(header_json), cl = strlen(claims_json);
    char *out = malloc(b64url_len(hl) + b64url_len(cl) + 400);
    if (!out)
        return NULL;
    size_t o = b64url_encode((const unsigned char *)header_json, hl, out);
    out[o++] = '.';
    o += b64url_encode((const unsigned char *)claims_json, cl, out + o);
    char sig[400];
    if (jws_signature(k, out, sig) < 0) {
        free(out);
        return NULL;
    }
    out[o++] = '.';
    strcpy(out + o, sig);
    return out;
}
