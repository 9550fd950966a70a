/* pgbin.h - values in PostgreSQL's binary format (what libpq hands over for
 * a result asked for with resultFormat 1: each type's *_send output, in
 * network byte order), decoded into the text the API sends.
 *
 * For the page statements (issue 18): in text format PostgreSQL spent a
 * good part of a page's CPU in uuid_out, timestamptz_out and array_out.
 * Every decoder takes the value's bytes and their length as libpq reports
 * them and trusts neither: a value of the wrong size, an array whose
 * header or element lengths run past its end, or one with bytes left over,
 * is refused (-1), never read past. The texts are byte for byte those of
 * the text format the service used before, in a session with TimeZone UTC
 * and DateStyle ISO (tests/integration/test_pgbin.c compares them with
 * PostgreSQL's own output).
 *
 * Return convention: 0, or -1 when the bytes are not such a value (for
 * pgbin_array_next: 1 an element, 0 the end, -1 malformed). */
#ifndef REFLECTD_PGBIN_H
#define REFLECTD_PGBIN_H

#include <stddef.h>
#include <stdint.h>

/* Type OIDs (pg_type.dat) of array elements the service reads. */
#define PGBIN_TEXTOID 25
#define PGBIN_UUIDOID 2950

/* Room for the texts, NUL included. */
#define PGBIN_UUID_LEN 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define PGBIN_TS_LEN   28 /* "2026-12-01T09:32:27.123400Z" */
#define PGBIN_DATE_LEN 24 /* "2026-12-01", up to "5874897-12-31", "4714-11-24 BC", "-infinity" */

/* int4 (4 bytes, big-endian). */
int pgbin_int4(const char *v, size_t n, int32_t *out);
/* uuid (16 bytes) as lowercase canonical text, as uuid_out writes it. */
int pgbin_uuid(const char *v, size_t n, char out[PGBIN_UUID_LEN]);
/* timestamptz (int64 microseconds since 2000-01-01 00:00 UTC) as the
 * API's timestamp into out (when not NULL), the text pg_ts_parse (jsonw.h)
 * makes of the text form; *micros (when not NULL) gets the microseconds since 1970-01-01. Only
 * years 1 to 9999 have that text form (the text path refused the others:
 * infinity, BC, five-digit years), so only those are accepted. */
int pgbin_ts(const char *v, size_t n, char out[PGBIN_TS_LEN], long long *micros);
/* date (int32 days since 2000-01-01) as date_out writes it in DateStyle
 * ISO: "YYYY-MM-DD" (more digits past 9999), "YYYY-MM-DD BC",
 * "infinity", "-infinity". Days outside PostgreSQL's range are refused. */
int pgbin_date(const char *v, size_t n, char out[PGBIN_DATE_LEN]);

/* A one-dimensional array (array_send: ndim, has-nulls flag, element type,
 * then size and lower bound of each dimension, then each element as its
 * length, -1 for NULL, and its bytes), read element by element. */
struct pgbin_array {
    const unsigned char *p, *end;
    uint32_t left;  /* elements not yet read */
    uint32_t nulls; /* the has-nulls flag: a NULL element is allowed */
};
/* Checks the header: no more than one dimension, lower bound 1 (the text
 * form of any other starts with "[", which the text path refused), element
 * type elemtype, and at least 4 bytes left for each element it announces. */
int pgbin_array_open(struct pgbin_array *a, const char *v, size_t n, uint32_t elemtype);
/* The next element: *elem and *len (*elem NULL for a NULL element). 1 an
 * element, 0 when all were read and nothing is left over, -1 otherwise. */
int pgbin_array_next(struct pgbin_array *a, const char **elem, size_t *len);

#endif
