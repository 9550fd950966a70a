/* fuzz_jsonw.c - libFuzzer target: the JSON writer (service/core/jsonw.c).
 *
 * The first byte chooses what the rest is given to. Invariants checked (a
 * violation aborts):
 *   - a string (jsonw_str): the output parses with jansson (which refuses
 *     invalid UTF-8) as one string, equal to the input with each byte that
 *     is not part of valid UTF-8 replaced by U+FFFD (a reference decoder
 *     here decides); in particular a valid input comes back unchanged;
 *   - a PostgreSQL array literal (jsonw_pg_array): accepted, it parses as
 *     an array of strings and nulls; written back as a literal with every
 *     element quoted and read again, it gives the same JSON;
 *   - a timestamp (jsonw_pg_ts): accepted, it is "YYYY-MM-DDTHH:MM:SS.ffffffZ"
 *     and the microseconds it reports format back (gmtime) to the same text.
 * Build and run: scripts/fuzz.sh jsonw (seeds in tests/fuzz/corpus/jsonw/). */
#include "core/jsonw.h"
#include "fuzz_check.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The reference: the length of a valid UTF-8 sequence at s, or 0, decided
 * by decoding the code point and checking its range and shortest form. */
static size_t ref_seq(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80         ? 1
                 : (s[0] >> 5) == 6  ? 2
                 : (s[0] >> 4) == 14 ? 3
                 : (s[0] >> 3) == 30 ? 4
                                     : 0;
    if (len == 0 || len > n)
        return 0;
    unsigned long cp = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void check_string(const uint8_t *in, size_t n)
{
    struct jsonw w;
    jsonw_init(&w);
    jsonw_str(&w, (const char *)in, n);
    const char *out = jsonw_finish(&w);
    CHECK(out != NULL);
    json_t *j = json_loads(out, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    CHECK(j && json_is_string(j));
    char *want = malloc(3 * n + 1);
    CHECK(want);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t len = ref_seq(in + i, n - i);
        if (len == 0) {
            memcpy(want + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i++;
        } else {
            memcpy(want + k, in + i, len);
            k += len;
            i += len;
        }
    }
    CHECK(json_string_length(j) == k && memcmp(json_string_value(j), want, k) == 0);
    free(want);
    json_decref(j);
    jsonw_free(&w);
}

/* The elements of a parsed array as a literal with every one quoted. */
static char *requote(json_t *arr)
{
    size_t cap = 3, i;
    json_t *v;
    json_array_foreach(arr, i, v) cap += v && json_is_string(v) ? 2 * json_string_length(v) + 3 : 5;
    char *lit = malloc(cap), *p = lit;
    CHECK(lit);
    *p++ = '{';
    json_array_foreach(arr, i, v)
    {
        if (i)
            *p++ = ',';
        if (json_is_null(v)) {
            memcpy(p, "NULL", 4);
            p += 4;
            continue;
        }
        CHECK(json_is_string(v));
        const char *s = json_string_value(v);
        *p++ = '"';
        for (size_t c = 0; c < json_string_length(v); c++) {
            CHECK(s[c] != '\0'); /* the literal was a C string */
            if (s[c] == '"' || s[c] == '\\')
                *p++ = '\\';
            *p++ = s[c];
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return lit;
}

static char *array_json(const char *lit)
{
    struct jsonw w;
    jsonw_init(&w);
    int rc = jsonw_pg_array(&w, lit);
    const char *out = jsonw_finish(&w);
    CHECK((rc == 0) == (out != NULL));
    char *copy = out ? strdup(out) : NULL;
    jsonw_free(&w);
    return copy;
}

static void check_array(const char *lit)
{
    char *out = array_json(lit);
    if (!out)
        return;
    json_t *j = json_loads(out, 0, NULL);
    CHECK(j && json_is_array(j));
    char *again = requote(j);
    char *out2 = array_json(again);
    CHECK(out2 && strcmp(out, out2) == 0);
    free(out2);
    free(again);
    json_decref(j);
    free(out);
}

static void check_ts(const char *pg)
{
    struct jsonw w;
    long long us = 0;
    jsonw_init(&w);
    if (jsonw_pg_ts(&w, pg, &us) == 0) {
        const char *out = jsonw_finish(&w);
        CHECK(out && strlen(out) == 29);
        time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
        long frac = (long)(us - (long long)secs * 1000000);
        struct tm tm;
        char want[64], date[32];
        CHECK(gmtime_r(&secs, &tm));
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want, sizeof(want), "\"%s.%06ldZ\"", date, frac);
        /* Day 31 of a 30-day month or a leap second normalise differently:
         * PostgreSQL never writes them; only well-formed dates must agree. */
        if (tm.tm_sec != 60 && strncmp(pg + 8, date + 8, 2) == 0)
            CHECK(strcmp(out, want) == 0);
    } else {
        CHECK(jsonw_finish(&w) == NULL);
    }
    jsonw_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        check_string(data + 1, size - 1);
        break;
    case 1:
        check_array(s);
        break;
    default:
        check_ts(s);
        break;
    }
    free(s);
    return 0;
}
