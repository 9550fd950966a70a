/* phc.c - reading the PHC string format of an argon2id hash.
 *
 * libargon2 parses these strings inside argon2id_verify(), but that call
 * allocates its working memory itself; the hasher needs argon2_verify_ctx()
 * with its own allocator, and libargon2 does not export its decoder. So the
 * few fields are read here, strictly: anything but the exact format
 * argon2id_hash_encoded() writes is refused. Nothing secret is compared
 * here; the hash comparison stays in libargon2 (constant time). The hash
 * threads write new hashes with argon2_ctx() for the same reason, so the
 * encoder is here too; phc_encode(phc_decode(s)) == s is a unit test. */
#include "phc.h"

#include <stdio.h>
#include <string.h>

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Unpadded base64 of n characters into out; returns the byte count or -1.
 * A length of 1 mod 4, or stray bits in the last character, is refused
 * so that one hash has exactly one spelling. */
static long b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t len = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
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

/* A decimal without sign or leading zero, at most max; advances *s. */
static int read_uint(const char **s, uint32_t max, uint32_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
        return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p++ - '0');
        if (v > max)
            return -1;
    }
    *s = p;
    *out = (uint32_t)v;
    return 0;
}

static int expect(const char **s, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*s, lit, n) != 0)
        return -1;
    *s += n;
    return 0;
}

int phc_decode(const char *s, struct phc *out)
{
    memset(out, 0, sizeof(*out));
    if (expect(&s, "$argon2id$v=19$m=") < 0 || read_uint(&s, UINT32_MAX, &out->m_cost_kib) < 0 ||
        expect(&s, ",t=") < 0 || read_uint(&s, UINT32_MAX, &out->t_cost) < 0 ||
        expect(&s, ",p=") < 0 || read_uint(&s, 0xffffff, &out->parallelism) < 0 ||
        expect(&s, "$") < 0)
        return -1;
    const char *end = strchr(s, '$');
    if (!end)
        return -1;
    long salt = b64_decode(s, (size_t)(end - s), out->salt, sizeof(out->salt));
    long hash = b64_decode(end + 1, strlen(end + 1), out->hash, sizeof(out->hash));
    if (salt < 8 || hash < 4 || out->t_cost < 1 || out->parallelism < 1 ||
        out->m_cost_kib < 8 * out->parallelism)
        return -1;
    out->salt_len = (size_t)salt;
    out->hash_len = (size_t)hash;
    return 0;
}

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Unpadded base64 of in[0..n) at out; returns the characters written. */
static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[len++] = b64_chars[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[len++] = b64_chars[(acc << (6 - bits)) & 63];
    return len;
}

int phc_encode(const struct phc *in, char *out, size_t cap)
{
    char salt[PHC_MAX_BYTES * 4 / 3 + 4], hash[PHC_MAX_BYTES * 4 / 3 + 4];
    if (in->salt_len > PHC_MAX_BYTES || in->hash_len > PHC_MAX_BYTES)
        return -1;
    salt[b64_encode(in->salt, in->salt_len, salt)] = '\0';
    hash[b64_encode(in->hash, in->hash_len, hash)] = '\0';
    int n = snprintf(out, cap, "$argon2id$v=19$m=%u,t=%u,p=%u$%s$%s", (unsigned)in->m_cost_kib,
                     (unsigned)in->t_cost, (unsigned)in->parallelism, salt, hash);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}
