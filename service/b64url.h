/* b64url.h - base64url without padding (RFC 4648 section 5), as Web Push
 * keys, VAPID and JWTs spell binary. */
#ifndef REFLECTD_B64URL_H
#define REFLECTD_B64URL_H

#include <stddef.h>

/* Writes the encoding of n bytes and a NUL into out (room for
 * b64url_len(n) + 1); returns its length. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);
size_t b64url_len(size_t n);
/* Decodes s (padding '=' tolerated at the end) into out (room for max);
 * returns the byte count, or -1 on a bad character, length or overflow. */
long b64url_decode(const char *s, unsigned char *out, size_t max);

#endif
