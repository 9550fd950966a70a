/* webpush.c - what the Web Push protocol asks of an application server:
 * the message encrypted to the subscription (RFC 8291) and a VAPID JWT
 * (RFC 8292). All primitives are OpenSSL's EVP: ECDH over P-256, HKDF-SHA256
 * (EVP_KDF), AES-128-GCM, ECDSA. The sender (sender.c) posts the result. */
#include "notify/webpush.h"
#include "core/b64url.h"
#include "notify/jws.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WP_RS 4096 /* record size: one record always holds our small messages */

/* HKDF-SHA256 (extract and expand) of ikm with salt and info. */
static int wp_hkdf(const unsigned char *salt, size_t sl, const unsigned char *ikm, size_t il,
                   const unsigned char *info, size_t nl, unsigned char *out, size_t n)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, sl),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, il),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, nl),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx && EVP_KDF_derive(ctx, out, n, p) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

/* The user agent's public key as an EVP_PKEY. */
static EVP_PKEY *wp_peer_key(const unsigned char ua_public[65])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *peer = NULL;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)ua_public, 65),
        OSSL_PARAM_construct_end(),
    };
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, p) != 1)
        peer = NULL;
    EVP_PKEY_CTX_free(ctx);
    return peer;
}

/* ECDH between our ephemeral key and the user agent's: 32 bytes. */
static int wp_ecdh(EVP_PKEY *ours, const unsigned char ua_public[65], unsigned char secret[32])
{
    EVP_PKEY *peer = wp_peer_key(ua_public);
    EVP_PKEY_CTX *ctx = peer ? EVP_PKEY_CTX_new(ours, NULL) : NULL;
    size_t n = 32;
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
             EVP_PKEY_derive(ctx, secret, &n) == 1 && n == 32;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    return ok ? 0 : -1;
}

/* RFC 8291 section 3.4: IKM from the ECDH secret and auth, then the
 * content-encryption key and nonce from IKM and the salt. */
static int wp_keys(const unsigned char secret[32], const unsigned char auth[16],
                   const unsigned char ua_public[65], const unsigned char as_public[65],
                   const unsigned char salt[16], unsigned char cek[16], unsigned char nonce[12])
{
    static const char info_prefix[] = "WebPush: info"; /* sizeof includes the 0x00 */
    unsigned char info[sizeof(info_prefix) + 130], ikm[32];
    memcpy(info, info_prefix, sizeof(info_prefix));
    memcpy(info + sizeof(info_prefix), ua_public, 65);
    memcpy(info + sizeof(info_prefix) + 65, as_public, 65);
    static const char cek_info[] = "Content-Encoding: aes128gcm";
    static const char nonce_info[] = "Content-Encoding: nonce";
    if (wp_hkdf(auth, 16, secret, 32, info, sizeof(info), ikm, 32) < 0 ||
        wp_hkdf(salt, 16, ikm, 32, (const unsigned char *)cek_info, sizeof(cek_info), cek, 16) <
            0 ||
        wp_hkdf(salt, 16, ikm, 32, (const unsigned char *)nonce_info, sizeof(nonce_info), nonce,
                12) < 0)
        return -1;
    return 0;
}

/* AES-128-GCM of plain || 0x02 (the last record's delimiter), tag appended. */
static int wp_seal(const unsigned char cek[16], const unsigned char nonce[12],
                   const unsigned char *plain, size_t n, unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    static const unsigned char delimiter = 0x02;
    int l1 = 0, l2 = 0, l3 = 0;
    int ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, cek, nonce) == 1 &&
             EVP_EncryptUpdate(c, out, &l1, plain, (int)n) == 1 &&
             EVP_EncryptUpdate(c, out + l1, &l2, &delimiter, 1) == 1 &&
             EVP_EncryptFinal_ex(c, out + l1 + l2, &l3) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n + 1) == 1 &&
             (size_t)(l1 + l2 + l3) == n + 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

int webpush_encrypt(const unsigned char ua_public[65], const unsigned char auth[16],
                    const unsigned char *plain, size_t n, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    if (n + 17 > WP_RS)
        return -1;
    EVP_PKEY *eph = jws_p256_generate();
    unsigned char as_public[65], secret[32], salt[16], cek[16], nonce[12];
    size_t head = 16 + 4 + 1 + 65, total = head + n + 1 + 16;
    unsigned char *body = malloc(total);
    int rc = -1;
    if (eph && body && jws_p256_public(eph, as_public) == 0 && RAND_bytes(salt, 16) == 1 &&
        wp_ecdh(eph, ua_public, secret) == 0 &&
        wp_keys(secret, auth, ua_public, as_public, salt, cek, nonce) == 0 &&
        wp_seal(cek, nonce, plain, n, body + head) == 0) {
        memcpy(body, salt, 16);
        body[16] = 0, body[17] = 0, body[18] = WP_RS >> 8, body[19] = WP_RS & 0xff;
        body[20] = 65; /* keyid: our ephemeral public key */
        memcpy(body + 21, as_public, 65);
        *out = body;
        *out_len = total;
        rc = 0;
    } else {
        free(body);
    }
    EVP_PKEY_free(eph);
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(cek, sizeof(cek));
    return rc;
}

/* "https://host[:port]" of an endpoint: the JWT's audience. */
static int wp_origin(const char *endpoint, char *out, size_t n)
{
    const char *host = strstr(endpoint, "://");
    if (!host)
        return -1;
    size_t len = (size_t)(host + 3 - endpoint) + strcspn(host + 3, "/?#");
    if (len >= n)
        return -1;
    memcpy(out, endpoint, len);
    out[len] = '\0';
    return 0;
}

char *webpush_vapid_header(EVP_PKEY *vapid, const char *endpoint, const char *subject)
{
    char aud[300], claims[700], pub_b64[90];
    unsigned char pub[65];
    if (wp_origin(endpoint, aud, sizeof(aud)) < 0 || jws_p256_public(vapid, pub) < 0 ||
        strlen(subject) > 300 || strchr(subject, '"') || strchr(subject, '\\'))
        return NULL;
    snprintf(claims, sizeof(claims), "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}", aud,
             (long long)time(NULL) + 12 * 3600, subject);
    char *jwt = jws_sign(vapid, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}", claims);
    if (!jwt)
        return NULL;
    b64url_encode(pub, 65, pub_b64);
    size_t n = strlen(jwt) + strlen(pub_b64) + 32;
    char *h = malloc(n);
    if (h)
        snprintf(h, n, "vapid t=%s, k=%s", jwt, pub_b64);
    free(jwt);
    return h;
}
