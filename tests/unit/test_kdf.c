/* test_kdf.c - the decisions service/auth/kdf.c makes about a stored hash.
 *
 * Whether a successful login stores a new hash (needs rehash), and whether
 * a check must also run a computation at the configured cost so that a
 * wrong password on an account with a cheap old hash costs what an unknown
 * address costs (extra work). Pure functions: no hashing here. */
#include "auth/kdf.h"

#include <criterion/criterion.h>

static const struct kdf_cost want = {3, 65536, 1};

static struct phc stored(uint32_t t, uint32_t m, uint32_t p, size_t salt_len, size_t hash_len)
{
    struct phc s = {0};
    s.t_cost = t;
    s.m_cost_kib = m;
    s.parallelism = p;
    s.salt_len = salt_len;
    s.hash_len = hash_len;
    return s;
}

Test(kdf, a_hash_with_the_configured_parameters_stays)
{
    struct phc s = stored(3, 65536, 1, 16, 32);
    cr_assert_eq(kdf_needs_rehash(&s, &want), 0);
    cr_assert_eq(kdf_needs_extra_work(&s, &want), 0);
}

Test(kdf, any_other_parameter_needs_a_rehash)
{
    const struct phc other[] = {stored(1, 65536, 1, 16, 32),  stored(3, 1024, 1, 16, 32),
                                stored(3, 65536, 2, 16, 32),  stored(3, 65536, 1, 8, 32),
                                stored(3, 65536, 1, 16, 16),  stored(4, 65536, 1, 16, 32),
                                stored(3, 131072, 1, 16, 32), stored(3, 65536, 1, 32, 64)};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        cr_assert_eq(kdf_needs_rehash(&other[i], &want), 1, "case %zu kept", i);
}

Test(kdf, a_cheaper_hash_needs_extra_work)
{
    const struct phc cheaper[] = {stored(1, 65536, 1, 16, 32), stored(3, 1024, 1, 16, 32),
                                  stored(2, 65535, 4, 16, 32), stored(1, 8, 1, 8, 4)};
    for (size_t i = 0; i < sizeof(cheaper) / sizeof(cheaper[0]); i++)
        cr_assert_eq(kdf_needs_extra_work(&cheaper[i], &want), 1, "case %zu: no extra work", i);
}

/* Lanes, salt and hash length do not change the work; more passes or more
 * memory cost at least as much as the configured work already. */
Test(kdf, an_equal_or_dearer_hash_needs_no_extra_work)
{
    const struct phc dearer[] = {stored(3, 65536, 4, 16, 32), stored(3, 65536, 1, 8, 16),
                                 stored(6, 32768, 1, 16, 32), stored(4, 65536, 1, 16, 32),
                                 stored(3, 1048576, 1, 16, 32)};
    for (size_t i = 0; i < sizeof(dearer) / sizeof(dearer[0]); i++)
        cr_assert_eq(kdf_needs_extra_work(&dearer[i], &want), 0, "case %zu: extra work", i);
}
