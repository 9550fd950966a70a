/* fuzz_pgbin.c - libFuzzer target: the binary-format decoders
 * (service/core/pgbin.c), given bytes of exactly the fuzzer's length so
 * that ASan sees any read past them.
 *
 * The first byte chooses the decoder. Invariants checked (a violation aborts):
 *   - uuid: accepted exactly when there are 16 bytes, and the text's hex
 *     digits are those bytes;
 *   - timestamptz: accepted, the text is "YYYY-MM-DDTHH:MM:SS.ffffffZ", it
 *     is what gmtime makes of the microseconds reported, and those are the
 *     input's value moved from 2000 to 1970;
 *   - date: accepted, the text read back as a date (a reference
 *     days_from_civil here) is the input's day, or an infinity for its two
 *     values;
 *   - array (text[] or uuid[]): read to its end without a refusal, the
 *     header and the elements written back in array_send's layout are the
 *     input byte for byte (nothing skipped, nothing left over).
 * Build and run: scripts/fuzz.sh pgbin (seeds in tests/fuzz/corpus/pgbin/). */
#include "core/pgbin.h"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void check_uuid(const char *v, size_t n)
{
    char out[PGBIN_UUID_LEN];
    int rc = pgbin_uuid(v, n, out);
    CHECK((rc == 0) == (n == 16));
    if (rc)
        return;
    CHECK(strlen(out) == 36);
    unsigned char b[16];
    int k = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            CHECK(out[i] == '-');
            continue;
        }
        unsigned x;
        CHECK(sscanf(out + i, "%1x", &x) == 1 && (out[i] < 'A' || out[i] > 'F'));
        if (k % 2 == 0)
            b[k / 2] = (unsigned char)(x << 4);
        else
            b[k / 2] |= (unsigned char)x;
        k++;
    }
    CHECK(memcmp(b, v, 16) == 0);
}

static void check_ts(const char *v, size_t n)
{
    char out[PGBIN_TS_LEN];
    long long micros;
    if (pgbin_ts(v, n, out, &micros) < 0)
        return;
    CHECK(n == 8);
    long long t = (long long)((uint64_t)rd32((const unsigned char *)v) << 32 |
                              rd32((const unsigned char *)v + 4));
    CHECK(micros == t + 946684800000000LL);
    long long secs = micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000);
    time_t tt = (time_t)secs;
    struct tm tm;
    CHECK(gmtime_r(&tt, &tm));
    char want[40];
    snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros - secs * 1000000);
    CHECK(strcmp(out, want) == 0);
}

static long long floor_div(long long a, long long b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Days from 1970-01-01 to y-m-d (year 0 = 1 BC), by counting the leap years
 * before y from year 0: a reference for the decoder's own arithmetic. */
static long long ref_days(long long y, int m, int d)
{
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    long long days =
        365 * y + floor_div(y + 3, 4) - floor_div(y + 99, 100) + floor_div(y + 399, 400);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    days += before[m - 1] + (m > 2 && leap) + d - 1;
    return days - 719528; /* 1970-01-01 is day 719528 from 0000-01-01 */
}

static void check_date(const char *v, size_t n)
{
    char out[PGBIN_DATE_LEN];
    if (pgbin_date(v, n, out) < 0)
        return;
    CHECK(n == 4);
    int32_t days = (int32_t)rd32((const unsigned char *)v);
    if (days == INT32_MIN || days == INT32_MAX) {
        CHECK(strcmp(out, days == INT32_MIN ? "-infinity" : "infinity") == 0);
        return;
    }
    long long y;
    int m, d, used = 0;
    CHECK(sscanf(out, "%lld-%2d-%2d%n", &y, &m, &d, &used) == 3);
    CHECK(y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
    const char *rest = out + used;
    CHECK(*rest == '\0' || strcmp(rest, " BC") == 0);
    if (*rest)
        y = 1 - y;
    CHECK(ref_days(y, m, d) == (long long)days + 10957);
}

static void put32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24), p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8), p[3] = (unsigned char)x;
}

static void check_array(const char *v, size_t n, uint32_t elemtype)
{
    struct pgbin_array a;
    if (pgbin_array_open(&a, v, n, elemtype) < 0)
        return;
    unsigned char *copy = malloc(n + 1);
    CHECK(copy);
    size_t head = rd32((const unsigned char *)v) == 1 ? 20 : 12;
    CHECK(n >= head);
    memcpy(copy, v, head);
    size_t len = head;
    const char *e;
    size_t el;
    int rc;
    while ((rc = pgbin_array_next(&a, &e, &el)) == 1) {
        CHECK(len + 4 <= n);
        put32(copy + len, e ? (uint32_t)el : 0xFFFFFFFFu);
        len += 4;
        if (e) {
            CHECK(el <= n - len && e == v + len);
            memcpy(copy + len, e, el);
            len += el;
        }
    }
    if (rc == 0) {
        CHECK(len == n);
        CHECK(memcmp(copy, v, n) == 0);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    char *v = malloc(n ? n : 1); /* exactly n bytes: ASan sees a read past them */
    if (!v)
        return 0;
    memcpy(v, data + 1, n);
    switch (data[0] % 5) {
    case 0:
        check_uuid(v, n);
        break;
    case 1:
        check_ts(v, n);
        break;
    case 2:
        check_date(v, n);
        break;
    case 3:
        check_array(v, n, PGBIN_TEXTOID);
        break;
    default:
        check_array(v, n, PGBIN_UUIDOID);
        break;
    }
    free(v);
    return 0;
}
