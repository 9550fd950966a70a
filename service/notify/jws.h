/* jws.h - signing JWTs with OpenSSL: ES256 (VAPID, APNs provider tokens)
 * and RS256 (the FCM service-account assertion). libjwt 1.10 can sign
 * ES256 too, but VAPID and APNs also need the raw public point and key
 * loading from PEM, which OpenSSL gives directly; one library for it all.
 *
 * Return convention: operations return 0 on success and -1 on failure;
 * constructors and signers return the result (malloc'd or a new reference),
 * or NULL on failure. */
#ifndef REFLECTD_JWS_H
#define REFLECTD_JWS_H

#include <openssl/evp.h>
#include <stddef.h>

/* A private key from a PEM file or a PEM string; NULL on failure. */
EVP_PKEY *jws_key_from_file(const char *path);
EVP_PKEY *jws_key_from_pem(const char *pem);
/* A fresh P-256 key (a development VAPID key, ephemeral Web Push keys). */
EVP_PKEY *jws_p256_generate(void);
/* The uncompressed public point (65 bytes: 04 || X || Y) of a P-256 key. */
int jws_p256_public(EVP_PKEY *k, unsigned char out[65]);
/* header.claims.signature for the given JSON texts: ES256 for an EC key
 * (the signature as R || S, RFC 7518 3.4), RS256 for RSA. malloc'd, or NULL. */
char *jws_sign(EVP_PKEY *k, const char *header_json, const char *claims_json);

#endif
