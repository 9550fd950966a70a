/* phc.h - reading the PHC string format of an argon2id hash.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_PHC_H
#define REFLECTD_PHC_H

#include <stddef.h>
#include <stdint.h>

#define PHC_MAX_BYTES 64

/* $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>, the salt and
 * hash in unpadded standard base64. */
struct phc {
    uint32_t m_cost_kib, t_cost, parallelism;
    uint8_t salt[PHC_MAX_BYTES], hash[PHC_MAX_BYTES];
    size_t salt_len, hash_len;
};

/* 0, or -1 when s is not an argon2id (version 19) string within our
 * bounds (salt 8-64 bytes, hash 4-64 bytes). */
int phc_decode(const char *s, struct phc *out);
/* The string phc_decode() reads, into out (PHC_MAX_LEN bytes suffice).
 * Returns 0, or -1 when it does not fit. */
int phc_encode(const struct phc *in, char *out, size_t cap);

#define PHC_MAX_LEN 256

#endif
