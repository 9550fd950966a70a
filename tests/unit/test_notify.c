/* test_notify.c - the pure pieces of the notification channels: base64url,
 * the Web Push endpoint guard (the server must never post to an address a
 * user picked), JWS signatures (verified back with OpenSSL), the aes128gcm
 * header layout, the texts and the channel settings.
 *
 * Decrypting Web Push messages is tested end to end against an independent
 * implementation (tests/faults/doubles.py, Python's cryptography), not here
 * against this code's own inverse. */
#include "core/b64url.h"
#include "notify/jws.h"
#include "notify/notify_config.h"
#include "notify/notify_text.h"
#include "notify/webpush.h"

#include <criterion/criterion.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const char *env_none(const char *name)
{
    (void)name;
    return NULL;
}

Test(b64url, round_trips_every_length_and_refuses_bad_input)
{
    unsigned char in[64], out[64];
    char text[100];
    for (size_t n = 0; n < sizeof(in); n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)(i * 37 + n);
        size_t len = b64url_encode(in, n, text);
        cr_assert_eq(len, b64url_len(n));
        cr_assert_null(strpbrk(text, "+/="), "base64url, unpadded: %s", text);
        cr_assert_eq(b64url_decode(text, out, sizeof(out)), (long)n);
        cr_assert_eq(memcmp(in, out, n), 0);
    }
    b64url_encode((const unsigned char *)"\xfb\xff", 2, text);
    cr_assert_str_eq(text, "-_8");
    cr_assert_eq(b64url_decode("ab+c", out, sizeof(out)), -1);
    cr_assert_eq(b64url_decode("abcde", out, sizeof(out)), -1); /* 4n+1 characters */
    cr_assert_eq(b64url_decode("AAAAAAAA", out, 5), -1);        /* 6 bytes do not fit */
    cr_assert_eq(b64url_decode("AAAA==", out, sizeof(out)), 3);
}

Test(notify_config, webpush_endpoints_only_at_the_configured_push_services)
{
    struct notify_config c;
    char err[128];
    cr_assert_eq(notify_config_load(&c, env_none, err, sizeof(err)), 0, "%s", err);
    cr_assert(notify_webpush_endpoint_ok(&c, "https://fcm.googleapis.com/fcm/send/abc"));
    cr_assert(
        notify_webpush_endpoint_ok(&c, "https://updates.push.services.mozilla.com/wpush/v2/x"));
    cr_assert(notify_webpush_endpoint_ok(&c, "https://web.push.apple.com/QGx"));
    cr_assert(!notify_webpush_endpoint_ok(&c, "http://fcm.googleapis.com/fcm/send/abc"));
    cr_assert(!notify_webpush_endpoint_ok(&c, "https://evilpush.apple.com/x"));
    cr_assert(!notify_webpush_endpoint_ok(&c, "https://push.apple.com.evil.example/x"));
    cr_assert(!notify_webpush_endpoint_ok(&c, "https://push.apple.com@169.254.169.254/x"));
    cr_assert(!notify_webpush_endpoint_ok(&c, "https://127.0.0.1/x"));
    cr_assert(!notify_webpush_endpoint_ok(&c, "https:///x"));
    /* Only the platforms with credentials can be registered. */
    cr_assert(notify_platform_is_configured(&c, "webpush"));
    cr_assert(!notify_platform_is_configured(&c, "apns"));
    cr_assert(!notify_platform_is_configured(&c, "fcm"));
    notify_config_free(&c);
}

static const char *env_bad_lease(const char *name)
{
    if (strcmp(name, "OUTBOX_LEASE_S") == 0)
        return "10";
    if (strcmp(name, "NOTIFY_TIMEOUT_S") == 0)
        return "20";
    return NULL;
}

Test(notify_config, a_lease_shorter_than_an_attempt_is_refused)
{
    /* Or a second instance could send what the first is still sending. */
    struct notify_config c;
    char err[128];
    cr_assert_eq(notify_config_load(&c, env_bad_lease, err, sizeof(err)), -1);
    cr_assert(strstr(err, "OUTBOX_LEASE_S"));
    notify_config_free(&c);
}

/* Verifies an ES256 JWS with the key's public half, as a receiver would. */
static int verify_es256(EVP_PKEY *k, const char *jws)
{
    const char *dot = strrchr(jws, '.');
    unsigned char raw[64];
    if (!dot || b64url_decode(dot + 1, raw, sizeof(raw)) != 64)
        return 0;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    ECDSA_SIG_set0(sig, r, s);
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(sig, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok =
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
        EVP_DigestVerify(md, der, (size_t)dl, (const unsigned char *)jws, (size_t)(dot - jws)) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ok;
}

Test(jws, es256_signatures_are_raw_r_s_and_verify)
{
    EVP_PKEY *k = jws_p256_generate();
    cr_assert(k);
    char *t = jws_sign(k, "{\"alg\":\"ES256\",\"kid\":\"K\"}", "{\"iss\":\"T\",\"iat\":1}");
    cr_assert(t);
    cr_assert(verify_es256(k, t), "the signature does not verify: %s", t);
    t[strlen(t) - 2] ^= 1; /* a changed signature must not */
    cr_assert(!verify_es256(k, t));
    free(t);
    EVP_PKEY_free(k);
}

Test(webpush, aes128gcm_header_and_size)
{
    EVP_PKEY *ua = jws_p256_generate();
    unsigned char pub[65], auth[16] = {1, 2, 3}, *body = NULL;
    size_t len = 0;
    cr_assert_eq(jws_p256_public(ua, pub), 0);
    const char *msg = "{\"type\":\"feedback.created\"}";
    cr_assert_eq(webpush_encrypt(pub, auth, (const unsigned char *)msg, strlen(msg), &body, &len),
                 0);
    /* salt(16) rs(4) idlen(1) keyid(65) ciphertext(n + 1 delimiter) tag(16) */
    cr_assert_eq(len, 16 + 4 + 1 + 65 + strlen(msg) + 1 + 16);
    cr_assert_eq(body[16] << 24 | body[17] << 16 | body[18] << 8 | body[19], 4096);
    cr_assert_eq(body[20], 65);
    cr_assert_eq(body[21], 0x04, "the key id is an uncompressed point");
    free(body);
    /* A point that is not on the curve is refused. */
    pub[10] ^= 0xff;
    cr_assert_eq(webpush_encrypt(pub, auth, (const unsigned char *)msg, strlen(msg), &body, &len),
                 -1);
    cr_assert_null(body);
    EVP_PKEY_free(ua);
}

Test(webpush, vapid_header_names_the_endpoint_origin)
{
    EVP_PKEY *k = jws_p256_generate();
    char *h = webpush_vapid_header(k, "https://push.example:8443/send/abc?x", "mailto:a@b.example");
    cr_assert(h);
    cr_assert_eq(strncmp(h, "vapid t=", 8), 0);
    const char *kpos = strstr(h, ", k=");
    cr_assert(kpos);
    cr_assert_eq(strlen(kpos + 4), 87);
    char jwt[1024];
    size_t n = (size_t)(kpos - (h + 8));
    memcpy(jwt, h + 8, n);
    jwt[n] = '\0';
    cr_assert(verify_es256(k, jwt));
    char *claims_b64 = strchr(jwt, '.') + 1;
    *strchr(claims_b64, '.') = '\0';
    char claims[512] = {0};
    cr_assert(b64url_decode(claims_b64, (unsigned char *)claims, sizeof(claims) - 1) > 0);
    cr_assert(strstr(claims, "\"aud\":\"https://push.example:8443\""), "%s", claims);
    cr_assert(strstr(claims, "\"sub\":\"mailto:a@b.example\""), "%s", claims);
    free(h);
    /* A subject that would break out of the JSON is refused. */
    cr_assert_null(webpush_vapid_header(k, "https://push.example/x", "mailto:\"}"));
    EVP_PKEY_free(k);
}

Test(notify_text, dutch_by_default_english_on_request)
{
    cr_assert_str_eq(notify_text("feedback_received", NULL), "Je hebt nieuwe feedback");
    cr_assert_str_eq(notify_text("feedback_received", "de"), "Je hebt nieuwe feedback");
    cr_assert_str_eq(notify_text("feedback_received", "en"), "You have new feedback");
    cr_assert_str_eq(notify_title("nl"), "Reflectie");
    cr_assert(notify_text("no_such_kind", "nl")[0] != '\0');
}
