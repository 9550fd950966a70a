/* test_phc.c - reading argon2id PHC strings (service/auth/phc.c).
 *
 * The reference is libargon2 itself: strings it writes must decode to the
 * parameters it was given, and hashing the password again with the decoded
 * salt and parameters must give the decoded hash. Everything else is
 * refused. */
#include "auth/phc.h"

#include <argon2.h>
#include <criterion/criterion.h>
#include <string.h>

static void encode(uint32_t t, uint32_t m, uint32_t p, size_t salt_len, size_t hash_len, char *out,
                   size_t cap)
{
    uint8_t salt[64];
    for (size_t i = 0; i < salt_len; i++)
        salt[i] = (uint8_t)(i * 37 + 11);
    cr_assert_eq(
        argon2id_hash_encoded(t, m, p, "wachtwoord", 10, salt, salt_len, hash_len, out, cap),
        ARGON2_OK);
}

Test(phc, what_libargon2_writes_decodes_to_its_parameters)
{
    static const struct {
        uint32_t t, m, p;
        size_t salt, hash;
    } cases[] = {{1, 8, 1, 8, 4}, {3, 1024, 1, 16, 32}, {2, 64, 2, 17, 33}, {1, 256, 4, 64, 64}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char enc[256];
        encode(cases[i].t, cases[i].m, cases[i].p, cases[i].salt, cases[i].hash, enc, sizeof(enc));
        struct phc d;
        cr_assert_eq(phc_decode(enc, &d), 0, "refused %s", enc);
        cr_assert_eq(d.t_cost, cases[i].t);
        cr_assert_eq(d.m_cost_kib, cases[i].m);
        cr_assert_eq(d.parallelism, cases[i].p);
        cr_assert_eq(d.salt_len, cases[i].salt, "%s", enc);
        cr_assert_eq(d.hash_len, cases[i].hash, "%s", enc);
        uint8_t again[64];
        cr_assert_eq(argon2id_hash_raw(d.t_cost, d.m_cost_kib, d.parallelism, "wachtwoord", 10,
                                       d.salt, d.salt_len, again, d.hash_len),
                     ARGON2_OK);
        cr_assert_eq(memcmp(again, d.hash, d.hash_len), 0, "hash of %s differs", enc);
    }
}

Test(phc, anything_else_is_refused)
{
    static const char *const bad[] = {
        "",
        "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2d$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=16$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=1024,t=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$t=1,m=1024,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=01024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=-1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=1024,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=1024,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=4,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaGhhc2g",       /* salt 4 bytes */
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ=$aGFzaGhhc2g", /* padding */
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNh*HQ$aGFzaGhhc2g",  /* not base64 */
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2",   /* 1 mod 4 */
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHR$aGFzaGhhc2g",  /* stray bits */
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGF",          /* hash 2 bytes */
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ",              /* no hash */
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g$extra",
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$"
        "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh",
        /* hash 66 bytes */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct phc d;
        cr_assert_eq(phc_decode(bad[i], &d), -1, "accepted %s", bad[i]);
    }
}

Test(phc, encoding_a_decoded_string_gives_it_back)
{
    static const uint32_t params[][3] = {{1, 8, 1}, {3, 1024, 1}, {2, 64, 2}};
    static const size_t lens[][2] = {{8, 4}, {16, 32}, {17, 33}, {64, 64}};
    for (size_t i = 0; i < 3; i++)
        for (size_t l = 0; l < 4; l++) {
            char enc[256], again[PHC_MAX_LEN];
            encode(params[i][0], params[i][1], params[i][2], lens[l][0], lens[l][1], enc,
                   sizeof(enc));
            struct phc d;
            cr_assert_eq(phc_decode(enc, &d), 0);
            cr_assert_eq(phc_encode(&d, again, sizeof(again)), 0);
            cr_assert_str_eq(again, enc);
        }
    struct phc d;
    char enc[256], small[20];
    encode(1, 8, 1, 16, 32, enc, sizeof(enc));
    cr_assert_eq(phc_decode(enc, &d), 0);
    cr_assert_eq(phc_encode(&d, small, sizeof(small)), -1, "no room, no string");
}
