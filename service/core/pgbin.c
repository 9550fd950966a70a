/* pgbin.c - decoders of PostgreSQL's binary format (pgbin.h): int4, uuid,
 * timestamptz and date as the text the API sends, and one-dimensional
 * arrays element by element, each checked against the length libpq gave. */
#include "core/pgbin.h"

#include <string.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int pgbin_int4(const char *v, size_t n, int32_t *out)
{
    if (!v || n != 4)
        return -1;
    *out = (int32_t)be32((const unsigned char *)v);
    return 0;
}

int pgbin_uuid(const char *v, size_t n, char out[PGBIN_UUID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    if (!v || n != 16)
        return -1;
    const unsigned char *b = (const unsigned char *)v;
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
    return 0;
}

/* y-m-d of the day z days after 1970-01-01 (proleptic Gregorian, year 0 is
 * 1 BC, as PostgreSQL's j2date counts; H. Hinnant's civil_from_days). */
static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

/* v as at least width decimal digits (v >= 0); returns the end. */
static char *put_digits(char *o, unsigned long long v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *o++ = tmp[--n];
    return o;
}

/* 2000-01-01 is day 10957 after 1970-01-01. */
#define PG_EPOCH_DAYS 10957LL
#define DAY_US        86400000000LL
/* The timestamps with a four-digit year AD: 0001-01-01 is day -719162 and
 * 10000-01-01 day 2932897 after 1970-01-01; here in microseconds after
 * 2000-01-01. */
#define TS_MIN ((-719162LL - PG_EPOCH_DAYS) * DAY_US)
#define TS_END ((2932897LL - PG_EPOCH_DAYS) * DAY_US)

int pgbin_ts(const char *v, size_t n, char out[PGBIN_TS_LEN], long long *micros)
{
    if (!v || n != 8)
        return -1;
    long long t = (long long)be64((const unsigned char *)v);
    if (t < TS_MIN || t >= TS_END)
        return -1; /* infinity, BC, or a year past 9999 */
    long long unix_us = t + PG_EPOCH_DAYS * DAY_US;
    long long day = unix_us >= 0 ? unix_us / DAY_US : -((-unix_us + DAY_US - 1) / DAY_US);
    long long us = unix_us - day * DAY_US; /* 0 .. DAY_US - 1 */
    if (micros)
        *micros = unix_us;
    if (!out)
        return 0; /* only the key asked for (a page's sort) */
    long long y;
    unsigned mo, d;
    civil_from_days(day, &y, &mo, &d);
    long long secs = us / 1000000;
    char *o = put_digits(out, (unsigned long long)y, 4);
    *o++ = '-';
    o = put_digits(o, mo, 2);
    *o++ = '-';
    o = put_digits(o, d, 2);
    *o++ = 'T';
    o = put_digits(o, (unsigned long long)(secs / 3600), 2);
    *o++ = ':';
    o = put_digits(o, (unsigned long long)(secs / 60 % 60), 2);
    *o++ = ':';
    o = put_digits(o, (unsigned long long)(secs % 60), 2);
    *o++ = '.';
    o = put_digits(o, (unsigned long long)(us % 1000000), 6);
    *o++ = 'Z';
    *o = '\0';
    return 0;
}

/* PostgreSQL's dates: Julian day 0 (4714-11-24 BC) up to, not including,
 * 5874898-01-01 (DATETIME_MIN_JULIAN, DATE_END_JULIAN), in days after
 * 2000-01-01 (Julian day 2451545). */
#define DATE_MIN (-2451545L)
#define DATE_END (2147483494L - 2451545L)

int pgbin_date(const char *v, size_t n, char out[PGBIN_DATE_LEN])
{
    int32_t days;
    if (pgbin_int4(v, n, &days) < 0)
        return -1;
    if (days == INT32_MIN || days == INT32_MAX) { /* DATEVAL_NOBEGIN, DATEVAL_NOEND */
        strcpy(out, days == INT32_MIN ? "-infinity" : "infinity");
        return 0;
    }
    if (days < DATE_MIN || days >= DATE_END)
        return -1;
    long long y;
    unsigned mo, d;
    civil_from_days(days + PG_EPOCH_DAYS, &y, &mo, &d);
    char *o = put_digits(out, (unsigned long long)(y > 0 ? y : 1 - y), 4);
    *o++ = '-';
    o = put_digits(o, mo, 2);
    *o++ = '-';
    o = put_digits(o, d, 2);
    if (y <= 0) {
        memcpy(o, " BC", 3);
        o += 3;
    }
    *o = '\0';
    return 0;
}

int pgbin_array_open(struct pgbin_array *a, const char *v, size_t n, uint32_t elemtype)
{
    const unsigned char *b = (const unsigned char *)v;
    if (!v || n < 12)
        return -1;
    uint32_t ndim = be32(b), flags = be32(b + 4);
    if (ndim > 1 || flags > 1 || be32(b + 8) != elemtype)
        return -1;
    a->end = b + n;
    a->left = 0;
    a->p = b + 12;
    a->nulls = flags;
    if (ndim == 0)
        return 0;                    /* empty: nothing follows */
    if (n < 20 || be32(b + 16) != 1) /* lower bound 1 */
        return -1;
    uint32_t dim = be32(b + 12);
    a->p = b + 20;
    if (dim > (size_t)(a->end - a->p) / 4) /* negative sizes are huge here too */
        return -1;
    a->left = dim;
    return 0;
}

int pgbin_array_next(struct pgbin_array *a, const char **elem, size_t *len)
{
    if (a->left == 0)
        return a->p == a->end ? 0 : -1;
    size_t room = (size_t)(a->end - a->p);
    if (room < 4)
        return -1;
    uint32_t l = be32(a->p);
    a->p += 4;
    room -= 4;
    if (l == 0xFFFFFFFFu) { /* -1: NULL, which only an array flagged as having them holds */
        if (!a->nulls)
            return -1;
        *elem = NULL;
        *len = 0;
    } else {
        if (l > room) /* also every other negative length */
            return -1;
        *elem = (const char *)a->p;
        *len = l;
        a->p += l;
    }
    a->left--;
    return 1;
}
