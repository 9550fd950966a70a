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
#include "auth/phc.h"
#include "core/b64url.h"

#include <stdio.h>
#include <string.h>

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
    /* Unpadded standard base64, one spelling per value. */
    long salt = b64_decode(s, (size_t)(end - s), out->salt, sizeof(out->salt), B64_CANONICAL);
    long hash = b64_decode(end + 1, strlen(end + 1), out->hash, sizeof(out->hash), B64_CANONICAL);
    if (salt < 8 || hash < 4 || out->t_cost < 1 || out->parallelism < 1 ||
        out->m_cost_kib < 8 * out->parallelism)
        return -1;
    out->salt_len = (size_t)salt;
    out->hash_len = (size_t)hash;
    return 0;
}

int phc_encode(const struct phc *in, char *out, size_t cap)
{
    char salt[PHC_MAX_BYTES * 4 / 3 + 4], hash[PHC_MAX_BYTES * 4 / 3 + 4];
    if (in->salt_len > PHC_MAX_BYTES || in->hash_len > PHC_MAX_BYTES)
        return -1;
    b64_encode(in->salt, in->salt_len, salt, 0);
    b64_encode(in->hash, in->hash_len, hash, 0);
    int n = snprintf(out, cap, "$argon2id$v=19$m=%u,t=%u,p=%u$%s$%s", (unsigned)in->m_cost_kib,
                     (unsigned)in->t_cost, (unsigned)in->parallelism, salt, hash);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}
