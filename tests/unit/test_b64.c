/* test_b64.c - the base64 module (b64url.c), exhaustively over short
 * inputs, against two references: OpenSSL's EVP_EncodeBlock for the
 * encodings, and, for decoding, the decoders each caller had before they
 * were folded into b64url.c (kept here verbatim, renamed), so that every
 * caller still takes and refuses exactly the strings it did. */
#include "core/b64url.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

/* ---- the references: the callers' decoders as they were ---- */

static int ref_url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

static int ref_std_value(char c)
{
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return c == '-' || c == '_' ? -1 : ref_url_value(c);
}

/* idtoken.c: base64url_decode() */
static long ref_idtoken(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 == 1)
        return -1;
    unsigned long acc = 0;
    int bits = 0;
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = ref_url_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
        acc &= (1UL << bits) - 1;
    }
    return acc == 0 ? n : -1;
}

/* pagination.c: b64url_decode() */
static int ref_cursor(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = in; *p; p++) {
        int v = ref_url_value(*p);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= outlen)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out[n] = '\0';
    return (int)n;
}

/* phc.c: b64_decode() */
static long ref_phc(const char *s, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t len = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = ref_std_value(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len == cap)
                return -1;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1))
        return -1;
    return (long)len;
}

/* b64url.c: b64url_decode() (Web Push keys, VAPID, JWTs) */
static long ref_webpush(const char *s, unsigned char *out, size_t max)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t len = strlen(s);
    while (len && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = s[i] ? strchr(abc, s[i]) : NULL;
        if (!p)
            return -1;
        acc = (acc << 6) | (unsigned)(p - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= max)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)o;
}

/* ---- every caller's decoding, new against old, on one string ---- */

static void check_string(const char *s, size_t len, size_t cap)
{
    unsigned char a[64], b[64];
    char ca[64], cb[64];
    long r, e;

    r = b64_decode(s, len, a, sizeof(a), B64_URLSAFE | B64_CANONICAL);
    e = ref_idtoken(s, len, b);
    cr_assert_eq(r, e, "idtoken \"%s\": %ld, was %ld", s, r, e);
    cr_assert(r < 0 || memcmp(a, b, (size_t)r) == 0, "idtoken \"%s\"", s);

    r = b64_decode(s, len, (unsigned char *)ca, cap - 1, B64_URLSAFE | B64_ANY_LENGTH);
    e = ref_cursor(s, cb, cap);
    cr_assert_eq(r, e, "cursor \"%s\" (cap %zu): %ld, was %ld", s, cap, r, e);
    cr_assert(r < 0 || memcmp(ca, cb, (size_t)r) == 0, "cursor \"%s\"", s);

    r = b64_decode(s, len, a, cap, B64_CANONICAL);
    e = ref_phc(s, len, b, cap);
    cr_assert_eq(r, e, "phc \"%s\" (cap %zu): %ld, was %ld", s, cap, r, e);
    cr_assert(r < 0 || memcmp(a, b, (size_t)r) == 0, "phc \"%s\"", s);

    r = b64url_decode(s, a, cap);
    e = ref_webpush(s, b, cap);
    cr_assert_eq(r, e, "b64url \"%s\" (cap %zu): %ld, was %ld", s, cap, r, e);
    cr_assert(r < 0 || memcmp(a, b, (size_t)r) == 0, "b64url \"%s\"", s);
}

/* Every string of up to max characters from set, at each capacity. */
static void exhaust(const char *set, size_t max)
{
    size_t k = strlen(set);
    char s[8];
    size_t idx[8] = {0};
    for (size_t len = 0; len <= max; len++) {
        memset(idx, 0, sizeof(idx));
        for (;;) {
            for (size_t i = 0; i < len; i++)
                s[i] = set[idx[i]];
            s[len] = '\0';
            for (size_t cap = 1; cap <= 5; cap++)
                check_string(s, len, cap);
            size_t i = 0;
            while (i < len && ++idx[i] == k)
                idx[i++] = 0;
            if (i == len)
                break;
        }
    }
}

Test(b64, every_callers_decoding_as_before_all_strings_of_up_to_3_characters)
{
    exhaust("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.! \x80\xff", 3);
}

Test(b64, every_callers_decoding_as_before_all_strings_of_up_to_6_characters)
{
    /* 0, 1, 16, 32, 48, 62 and 63 in both alphabets, padding and junk:
     * every combination of zero and stray trailing bits. */
    exhaust("ABQgw-_+/=!", 6);
}

Test(b64, every_callers_decoding_as_before_at_every_capacity)
{
    static const char *const s[] = {"AAAA",   "AAAAAA", "AAAAAAA",      "AAAAAAAA",    "AAAAAAAAA",
                                    "AAAA==", "AAAAA=", "AAAAAAAAAAAA", "_-_-_-_-_-_", "////////"};
    unsigned char a[16], b[16];
    char ca[16], cb[16];
    for (size_t i = 0; i < sizeof(s) / sizeof(*s); i++) {
        size_t len = strlen(s[i]);
        for (size_t cap = 1; cap <= 12; cap++) {
            cr_assert_eq(b64url_decode(s[i], a, cap), ref_webpush(s[i], b, cap));
            cr_assert_eq(b64_decode(s[i], len, a, cap, B64_CANONICAL), ref_phc(s[i], len, b, cap));
            cr_assert_eq(
                b64_decode(s[i], len, (unsigned char *)ca, cap - 1, B64_URLSAFE | B64_ANY_LENGTH),
                ref_cursor(s[i], cb, cap), "%s %zu", s[i], cap);
        }
    }
}

/* ---- encoding against OpenSSL, every input of up to 2 bytes ---- */

static void check_encoding(const unsigned char *in, size_t n)
{
    char ref[16], got[16], url[16];
    EVP_EncodeBlock((unsigned char *)ref, in, (int)n); /* standard, padded */
    size_t len = b64_encode(in, n, got, B64_PAD);
    cr_assert_str_eq(got, ref);
    cr_assert_eq(len, strlen(ref));
    cr_assert_eq(b64_len(n, B64_PAD), len);

    char *eq = strchr(ref, '=');
    if (eq)
        *eq = '\0';
    len = b64_encode(in, n, got, 0);
    cr_assert_str_eq(got, ref);
    cr_assert_eq(b64_len(n, 0), len);

    for (char *c = ref; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    len = b64url_encode(in, n, url);
    cr_assert_str_eq(url, ref);
    cr_assert_eq(b64url_len(n), len);
    b64_encode(in, n, got, B64_URLSAFE);
    cr_assert_str_eq(got, ref);

    /* and back, by every caller's rule */
    unsigned char back[8];
    cr_assert_eq(b64_decode(url, len, back, sizeof(back), B64_URLSAFE | B64_CANONICAL), (long)n);
    cr_assert_eq(memcmp(back, in, n), 0);
    cr_assert_eq(b64url_decode(url, back, sizeof(back)), (long)n);
    cr_assert_eq(memcmp(back, in, n), 0);
}

Test(b64, encodings_match_openssl_for_every_input_of_up_to_2_bytes)
{
    unsigned char in[3] = {0};
    check_encoding(in, 0);
    for (unsigned x = 0; x < 256; x++) {
        in[0] = (unsigned char)x;
        check_encoding(in, 1);
        for (unsigned y = 0; y < 256; y++) {
            in[1] = (unsigned char)y;
            check_encoding(in, 2);
        }
    }
    for (unsigned i = 0; i < 4096; i++) {
        in[0] = (unsigned char)(i * 7), in[1] = (unsigned char)(i >> 4), in[2] = (unsigned char)i;
        check_encoding(in, 3);
    }
}

/* ---- each caller's rule, spelled out ---- */

Test(b64, the_callers_rules)
{
    unsigned char o[16];
    /* ID tokens: URL-safe, unpadded, canonical. */
    const unsigned id = B64_URLSAFE | B64_CANONICAL;
    cr_assert_eq(b64_decode("TWE", 3, o, sizeof(o), id), 2);
    cr_assert_eq(b64_decode("TWE=", 4, o, sizeof(o), id), -1, "no padding");
    cr_assert_eq(b64_decode("TR", 2, o, sizeof(o), id), -1, "stray bits");
    cr_assert_eq(b64_decode("T", 1, o, sizeof(o), id), -1, "4n+1");
    cr_assert_eq(b64_decode("-_", 2, o, sizeof(o), id), -1, "stray bits");
    cr_assert_eq(b64_decode("-w", 2, o, sizeof(o), id), 1);
    cr_assert_eq(b64_decode("+w", 2, o, sizeof(o), id), -1, "standard alphabet");
    /* Pagination cursors: URL-safe, unpadded, lax about the tail. */
    const unsigned cur = B64_URLSAFE | B64_ANY_LENGTH;
    cr_assert_eq(b64_decode("TR", 2, o, sizeof(o), cur), 1, "stray bits dropped");
    cr_assert_eq(b64_decode("TWFuT", 5, o, sizeof(o), cur), 3, "a 4n+1st character dropped");
    cr_assert_eq(b64_decode("TQ==", 4, o, sizeof(o), cur), -1, "no padding");
    cr_assert_eq(b64_decode("TQ/", 3, o, sizeof(o), cur), -1, "standard alphabet");
    /* PHC strings: standard alphabet, unpadded, canonical. */
    cr_assert_eq(b64_decode("+/8", 3, o, sizeof(o), B64_CANONICAL), 2);
    cr_assert_eq(b64_decode("+/9", 3, o, sizeof(o), B64_CANONICAL), -1, "stray bits");
    cr_assert_eq(b64_decode("-_8", 3, o, sizeof(o), B64_CANONICAL), -1, "URL-safe alphabet");
    cr_assert_eq(b64_decode("+/8=", 4, o, sizeof(o), B64_CANONICAL), -1, "no padding");
    cr_assert_eq(b64_decode("AAAA", 4, o, 2, B64_CANONICAL), -1, "no room");
    /* Web Push keys, JWTs: URL-safe, trailing '=' tolerated, tail lax. */
    cr_assert_eq(b64url_decode("TQ==", o, sizeof(o)), 1);
    cr_assert_eq(b64url_decode("TR", o, sizeof(o)), 1, "stray bits not checked");
    cr_assert_eq(b64url_decode("T===", o, sizeof(o)), -1, "4n+1 once the padding is gone");
    cr_assert_eq(b64url_decode("T=Q", o, sizeof(o)), -1, "'=' only at the end");
    cr_assert_eq(b64url_decode("====", o, sizeof(o)), 0);
    /* A NUL inside the length is a bad character. */
    cr_assert_eq(b64_decode("TQ\0A", 4, o, sizeof(o), B64_URLSAFE), -1);
    /* QR images: standard, padded. */
    char t[8];
    cr_assert_eq(b64_encode((const unsigned char *)"\xfb\xff", 2, t, B64_PAD), 4);
    cr_assert_str_eq(t, "+/8=");
}
