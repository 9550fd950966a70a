/* test_pgbin.c - the binary-format decoders (core/pgbin.c): each value
 * type's text for known bytes, the edges of the ranges the text forms
 * have, and malformed or hostile buffers (wrong sizes, arrays whose
 * lengths run past their end or leave bytes over), which must be refused
 * without reading past the length given. Every buffer is a malloc'd copy
 * of exactly its length, so that ASan (the unit-asan run) sees an
 * overread. The same decoders against PostgreSQL's own send and text
 * output: tests/integration/test_pgbin.c. */
#include "core/pgbin.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* n bytes of s in a buffer of exactly n bytes (freed by the caller). */
static char *exact(const void *s, size_t n)
{
    char *b = malloc(n ? n : 1);
    cr_assert_not_null(b);
    memcpy(b, s, n);
    return b;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, long long v)
{
    put32(p, (uint32_t)((unsigned long long)v >> 32));
    put32(p + 4, (uint32_t)(unsigned long long)v);
}

/* ---- scalars ---------------------------------------------------------------- */

Test(pgbin, int4_reads_big_endian_and_only_four_bytes)
{
    int32_t v = 0;
    cr_assert_eq(pgbin_int4("\x00\x00\x00\xc8", 4, &v), 0);
    cr_expect_eq(v, 200);
    cr_assert_eq(pgbin_int4("\xff\xff\xff\xfe", 4, &v), 0);
    cr_expect_eq(v, -2);
    cr_expect_eq(pgbin_int4("\x00\x00\x00", 3, &v), -1);
    cr_expect_eq(pgbin_int4("\x00\x00\x00\x00\x00", 5, &v), -1);
    cr_expect_eq(pgbin_int4(NULL, 4, &v), -1);
}

Test(pgbin, uuid_is_lowercase_canonical_text)
{
    const unsigned char b[16] = {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0xab, 0xcd,
                                 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xff};
    char out[PGBIN_UUID_LEN];
    char *v = exact(b, 16);
    cr_assert_eq(pgbin_uuid(v, 16, out), 0);
    cr_expect_str_eq(out, "0a1b2c3d-4e5f-abcd-ef01-23456789abff");
    cr_expect_eq(pgbin_uuid(v, 15, out), -1);
    free(v);
    char *longer = exact("0123456789abcdefX", 17);
    cr_expect_eq(pgbin_uuid(longer, 17, out), -1);
    free(longer);
}

static int ts(long long pg_micros, char out[PGBIN_TS_LEN], long long *micros)
{
    unsigned char b[8];
    put64(b, pg_micros);
    char *v = exact(b, 8);
    int rc = pgbin_ts(v, 8, out, micros);
    free(v);
    return rc;
}

#define DAY 86400000000LL
/* Microseconds from 1970-01-01 to 2000-01-01. */
#define EPOCH_2000 946684800000000LL

Test(pgbin, timestamptz_as_the_api_writes_it)
{
    char out[PGBIN_TS_LEN];
    long long micros = 0;
    cr_assert_eq(ts(0, out, &micros), 0);
    cr_expect_str_eq(out, "2000-01-01T00:00:00.000000Z");
    cr_expect_eq(micros, EPOCH_2000);
    /* 2026-12-01 09:32:27.1234 UTC is 1,796,117,547.1234 s after 1970. */
    cr_assert_eq(ts(1796117547123400LL - EPOCH_2000, out, &micros), 0);
    cr_expect_str_eq(out, "2026-12-01T09:32:27.123400Z");
    cr_expect_eq(micros, 1796117547123400LL);
    /* Before 1970 and before 2000: floor, not truncation, of the day. */
    cr_assert_eq(ts(-1, out, &micros), 0);
    cr_expect_str_eq(out, "1999-12-31T23:59:59.999999Z");
    cr_assert_eq(ts(-EPOCH_2000 - 1, out, &micros), 0);
    cr_expect_str_eq(out, "1969-12-31T23:59:59.999999Z");
    cr_expect_eq(micros, -1);
    /* 2024-02-29 (leap day) 12:00. */
    cr_assert_eq(ts((8825LL * 86400 + 43200) * 1000000, out, NULL), 0);
    cr_expect_str_eq(out, "2024-02-29T12:00:00.000000Z");
}

Test(pgbin, timestamptz_only_with_a_four_digit_year_ad)
{
    char out[PGBIN_TS_LEN];
    /* 0001-01-01 00:00 is day -730119 from 2000-01-01; 10000-01-01 day 2921940. */
    cr_assert_eq(ts(-730119LL * DAY, out, NULL), 0);
    cr_expect_str_eq(out, "0001-01-01T00:00:00.000000Z");
    cr_expect_eq(ts(-730119LL * DAY - 1, out, NULL), -1, "1 BC");
    cr_assert_eq(ts(2921940LL * DAY - 1, out, NULL), 0);
    cr_expect_str_eq(out, "9999-12-31T23:59:59.999999Z");
    cr_expect_eq(ts(2921940LL * DAY, out, NULL), -1, "year 10000");
    cr_expect_eq(ts(INT64_MAX, out, NULL), -1, "infinity");
    cr_expect_eq(ts(INT64_MIN, out, NULL), -1, "-infinity");
    char *v = exact("\0\0\0\0\0\0\0", 7);
    cr_expect_eq(pgbin_ts(v, 7, out, NULL), -1);
    free(v);
}

static int date(int32_t days, char out[PGBIN_DATE_LEN])
{
    unsigned char b[4];
    put32(b, (uint32_t)days);
    char *v = exact(b, 4);
    int rc = pgbin_date(v, 4, out);
    free(v);
    return rc;
}

Test(pgbin, date_as_datestyle_iso_writes_it)
{
    char out[PGBIN_DATE_LEN];
    cr_assert_eq(date(0, out), 0);
    cr_expect_str_eq(out, "2000-01-01");
    cr_assert_eq(date(9831, out), 0);
    cr_expect_str_eq(out, "2026-12-01");
    cr_assert_eq(date(-1, out), 0);
    cr_expect_str_eq(out, "1999-12-31");
    cr_assert_eq(date(2921939, out), 0);
    cr_expect_str_eq(out, "9999-12-31");
    cr_assert_eq(date(2921940, out), 0);
    cr_expect_str_eq(out, "10000-01-01");
    cr_assert_eq(date(-730119, out), 0);
    cr_expect_str_eq(out, "0001-01-01");
    cr_assert_eq(date(-730120, out), 0);
    cr_expect_str_eq(out, "0001-12-31 BC");
    /* PostgreSQL's first and last dates, and the infinities. */
    cr_assert_eq(date(-2451545, out), 0);
    cr_expect_str_eq(out, "4714-11-24 BC");
    cr_assert_eq(date(2147483494 - 2451545 - 1, out), 0);
    cr_expect_str_eq(out, "5874897-12-31");
    cr_assert_eq(date(INT32_MAX, out), 0);
    cr_expect_str_eq(out, "infinity");
    cr_assert_eq(date(INT32_MIN, out), 0);
    cr_expect_str_eq(out, "-infinity");
    cr_expect_eq(date(-2451546, out), -1, "before Julian day 0");
    cr_expect_eq(date(2147483494 - 2451545, out), -1, "past 5874897");
    cr_expect_eq(pgbin_date("\0\0\0\0\0", 5, out), -1);
}

/* ---- arrays ----------------------------------------------------------------- */

/* Builds an array_send image: ndim, flags, elemtype, (dim, lbound) when
 * ndim is 1, then the elements (len -1 for NULL). Returns its length. */
static size_t array_img(unsigned char *b, uint32_t ndim, uint32_t flags, uint32_t elemtype,
                        uint32_t dim, uint32_t lbound, const char *const *elems, int n)
{
    put32(b, ndim);
    put32(b + 4, flags);
    put32(b + 8, elemtype);
    size_t len = 12;
    if (ndim == 1) {
        put32(b + 12, dim);
        put32(b + 16, lbound);
        len = 20;
    }
    for (int i = 0; i < n; i++) {
        if (!elems[i]) {
            put32(b + len, 0xFFFFFFFFu);
            len += 4;
            continue;
        }
        size_t l = strlen(elems[i]);
        put32(b + len, (uint32_t)l);
        memcpy(b + len + 4, elems[i], l);
        len += 4 + l;
    }
    return len;
}

/* Reads the whole array; the elements joined by '|' ("~" for NULL) into
 * out, or -1 when the array or an element is refused. */
static int read_array(const unsigned char *img, size_t n, uint32_t elemtype, char *out)
{
    char *v = exact(img, n);
    struct pgbin_array a;
    int rc = pgbin_array_open(&a, v, n, elemtype);
    out[0] = '\0';
    const char *e;
    size_t len;
    while (rc == 0 && (rc = pgbin_array_next(&a, &e, &len)) == 1) {
        if (out[0])
            strcat(out, "|");
        strncat(out, e ? e : "~", e ? len : 1);
        rc = 0;
    }
    free(v);
    return rc;
}

Test(pgbin, arrays_of_one_dimension_element_by_element)
{
    unsigned char b[256];
    char out[256];
    const char *const three[] = {"lerend", "", "a \"b\",{c}"};
    size_t n = array_img(b, 1, 0, PGBIN_TEXTOID, 3, 1, three, 3);
    cr_assert_eq(read_array(b, n, PGBIN_TEXTOID, out), 0);
    cr_expect_str_eq(out, "lerend||a \"b\",{c}");
    const char *const with_null[] = {"x", NULL};
    n = array_img(b, 1, 1, PGBIN_TEXTOID, 2, 1, with_null, 2);
    cr_assert_eq(read_array(b, n, PGBIN_TEXTOID, out), 0);
    cr_expect_str_eq(out, "x|~");
    n = array_img(b, 0, 0, PGBIN_UUIDOID, 0, 0, NULL, 0);
    cr_assert_eq(n, 12);
    cr_assert_eq(read_array(b, n, PGBIN_UUIDOID, out), 0, "the empty array");
    cr_expect_str_eq(out, "");
}

Test(pgbin, arrays_that_are_not_what_the_schema_gives_are_refused)
{
    unsigned char b[256];
    char out[256];
    const char *const one[] = {"x"};
    size_t n = array_img(b, 1, 0, PGBIN_TEXTOID, 1, 1, one, 1);
    cr_expect_eq(read_array(b, n, PGBIN_UUIDOID, out), -1, "another element type");
    n = array_img(b, 1, 0, PGBIN_TEXTOID, 1, 2, one, 1);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "lower bound 2");
    n = array_img(b, 2, 0, PGBIN_TEXTOID, 1, 1, one, 1);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "two dimensions");
    n = array_img(b, 1, 2, PGBIN_TEXTOID, 1, 1, one, 1);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "unknown flags");
    const char *const null[] = {NULL};
    n = array_img(b, 1, 0, PGBIN_TEXTOID, 1, 1, null, 1);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "a NULL without the has-nulls flag");
}

Test(pgbin, hostile_array_buffers_are_refused_without_an_overread)
{
    unsigned char b[256];
    char out[256];
    const char *const two[] = {"ab", "cd"};
    size_t n = array_img(b, 1, 0, PGBIN_TEXTOID, 2, 1, two, 2);
    /* Every truncation of a valid image, from nothing to one byte short. */
    for (size_t cut = 0; cut < n; cut++)
        cr_expect_eq(read_array(b, cut, PGBIN_TEXTOID, out), -1, "cut at %zu", cut);
    /* A byte left over after the last element. */
    b[n] = 'z';
    cr_expect_eq(read_array(b, n + 1, PGBIN_TEXTOID, out), -1, "trailing byte");
    /* More elements announced than there are. */
    n = array_img(b, 1, 0, PGBIN_TEXTOID, 3, 1, two, 2);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "3 announced, 2 there");
    /* Fewer announced: the rest is left over. */
    n = array_img(b, 1, 0, PGBIN_TEXTOID, 1, 1, two, 2);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "1 announced, 2 there");
    /* A size no buffer could hold, and a negative one. */
    n = array_img(b, 1, 0, PGBIN_TEXTOID, 0x7FFFFFFFu, 1, two, 2);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "2^31-1 elements");
    n = array_img(b, 1, 0, PGBIN_TEXTOID, 0xFFFFFFFFu, 1, two, 2);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "-1 elements");
    /* An element length past the end, and a negative one other than -1. */
    n = array_img(b, 1, 0, PGBIN_TEXTOID, 2, 1, two, 2);
    put32(b + 20, 0x7FFFFFFFu);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "element length 2^31-1");
    put32(b + 20, 7);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "element length one past the end");
    put32(b + 20, 0xFFFFFFFEu);
    cr_expect_eq(read_array(b, n, PGBIN_TEXTOID, out), -1, "element length -2");
    /* The empty array with bytes after its header. */
    n = array_img(b, 0, 0, PGBIN_TEXTOID, 0, 0, NULL, 0);
    put32(b + 12, 0);
    cr_expect_eq(read_array(b, n + 4, PGBIN_TEXTOID, out), -1, "bytes after an empty array");
}
