/* b64url.c - base64 and base64url encoding and decoding (see b64url.h). */
#include "core/b64url.h"

#include <string.h>

static const char B64_STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64_len(size_t n, unsigned flags)
{
    if (flags & B64_PAD)
        return (n + 2) / 3 * 4;
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t b64_encode(const unsigned char *in, size_t n, char *out, unsigned flags)
{
    const char *abc = flags & B64_URLSAFE ? B64_URL : B64_STD;
    int pad = (flags & B64_PAD) != 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = abc[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (i + 2 < n)
            out[o++] = abc[v & 63];
        else if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

long b64_decode(const char *s, size_t len, unsigned char *out, size_t cap, unsigned flags)
{
    int url = (flags & B64_URLSAFE) != 0;
    if (flags & B64_PAD)
        while (len && s[len - 1] == '=')
            len--;
    if (len % 4 == 1 && !(flags & B64_ANY_LENGTH))
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(s[i], url);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    /* Stray bits: one value, one spelling. */
    if ((flags & B64_CANONICAL) && acc != 0)
        return -1;
    return (long)o;
}

size_t b64url_len(size_t n)
{
    return b64_len(n, 0);
}

size_t b64url_encode(const unsigned char *in, size_t n, char *out)
{
    return b64_encode(in, n, out, B64_URLSAFE);
}

long b64url_decode(const char *s, unsigned char *out, size_t max)
{
    return b64_decode(s, strlen(s), out, max, B64_URLSAFE | B64_PAD);
}
