/* webpush.h - Web Push message encryption (RFC 8291, aes128gcm content
 * coding of RFC 8188) and VAPID authorization (RFC 8292).
 *
 * Return convention: operations return 0 on success and -1 on failure;
 * builders return a malloc'd result, or NULL on failure. */
#ifndef REFLECTD_WEBPUSH_H
#define REFLECTD_WEBPUSH_H

#include <openssl/evp.h>
#include <stddef.h>

/* Encrypts plain for the subscription keys (p256dh: the user agent's
 * uncompressed P-256 point; auth: its 16-byte secret) with a fresh
 * ephemeral key and salt. *out is malloc'd; returns 0 or -1. */
int webpush_encrypt(const unsigned char ua_public[65], const unsigned char auth[16],
                    const unsigned char *plain, size_t n, unsigned char **out, size_t *out_len);
/* "vapid t=<JWT>, k=<public key>" for endpoint, valid for 12 hours;
 * malloc'd, or NULL. */
char *webpush_vapid_header(EVP_PKEY *vapid, const char *endpoint, const char *subject);

#endif
