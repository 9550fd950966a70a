/* b64url.h - base64 (RFC 4648): the standard alphabet (section 4) and the
 * URL-safe one (section 5), the only encoder and decoder of the service.
 *
 * Each caller has its own rules, chosen with flags:
 *   Web Push keys, VAPID, JWTs  b64url_*(): URL-safe, unpadded; decoding
 *                               tolerates trailing '=' (b64url_decode);
 *   OpenID Connect ID tokens    B64_URLSAFE | B64_CANONICAL;
 *   pagination cursors          B64_URLSAFE | B64_ANY_LENGTH;
 *   PHC strings (argon2id)      B64_CANONICAL (standard alphabet);
 *   QR images in JSON           B64_PAD (standard, padded).
 *
 * Return convention: encoders return the length written; decoders return the
 * byte count, or -1 on bad input. */
#ifndef REFLECTD_B64URL_H
#define REFLECTD_B64URL_H

#include <stddef.h>

enum {
    B64_URLSAFE = 1,    /* '-' and '_' for 62 and 63, instead of '+' and '/' */
    B64_PAD = 2,        /* encode: '=' to a multiple of 4; decode: trailing '=' tolerated */
    B64_CANONICAL = 4,  /* decode: the unused bits of the last character must be 0 */
    B64_ANY_LENGTH = 8, /* decode: a length of 4n+1 is taken (its last 6 bits dropped) */
};

/* The characters b64_encode writes for n bytes (without the NUL). */
size_t b64_len(size_t n, unsigned flags);
/* Writes the encoding of n bytes and a NUL into out (room for
 * b64_len(n, flags) + 1); returns its length. */
size_t b64_encode(const unsigned char *in, size_t n, char *out, unsigned flags);
/* Decodes the len characters at s into out (room for cap); returns the
 * byte count, or -1 on a character outside the alphabet (a NUL included),
 * a length of 4n+1 (unless B64_ANY_LENGTH), stray bits (B64_CANONICAL) or
 * more than cap bytes. Without B64_PAD any '=' is a bad character. */
long b64_decode(const char *s, size_t len, unsigned char *out, size_t cap, unsigned flags);

/* URL-safe and unpadded. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);
size_t b64url_len(size_t n);
/* Decodes the string s (padding '=' tolerated at the end) into out (room
 * for max); returns the byte count, or -1 on a bad character, length or
 * overflow. Stray bits in the last character are not checked. */
long b64url_decode(const char *s, unsigned char *out, size_t max);

#endif
