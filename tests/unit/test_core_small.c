/* test_core_small.c - the small shared pieces of core/: the growing buffer
 * (buf.c), canonical UUIDs (uuid.c), the vermogen list (vermogens.c) and
 * the monotonic clocks (clock.c). */
#include "core/buf.h"
#include "core/clock.h"
#include "core/uuid.h"
#include "core/vermogens.h"

#include <criterion/criterion.h>
#include <string.h>

Test(buf, appends_and_formats_past_its_first_capacity)
{
    struct buf b = BUF_INIT;
    cr_assert_eq(buf_append(&b, "", 0), 0);
    cr_assert_str_eq(b.data, "", "an empty append still gives a string");
    for (int i = 0; i < 2000; i++)
        cr_assert_eq(buf_printf(&b, "%04d,", i), 0);
    cr_assert_eq(b.len, 2000 * 5);
    cr_assert_eq(strlen(b.data), b.len, "NUL-terminated");
    cr_assert(strncmp(b.data, "0000,0001,", 10) == 0);
    cr_assert_str_eq(b.data + b.len - 5, "1999,");
    cr_assert_not(b.failed);
    buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
}

Test(uuid, lower_cases_hex_letters_only)
{
    char s[] = "0A1B2C3D-4E5F-ABCD-EF01-23456789ABCD,{X}";
    cr_assert_eq(uuid_lower(s), s);
    cr_assert_str_eq(s, "0a1b2c3d-4e5f-abcd-ef01-23456789abcd,{X}");
}

Test(vermogens, four_names_then_null)
{
    cr_assert_str_eq(vermogens[0], "absorptie");
    cr_assert_str_eq(vermogens[3], "lerend");
    cr_assert_null(vermogens[NVERMOGENS]);
}

Test(clock, monotonic_clocks_agree_and_do_not_run_backwards)
{
    uint64_t us = clock_mono_us();
    double s = clock_mono_s();
    int64_t ms = clock_coarse_ms();
    cr_assert(clock_mono_us() >= us);
    cr_assert(s * 1e6 + 1e6 > (double)us && s * 1e6 - 1e6 < (double)us, "same clock");
    cr_assert(ms > 0);
}
