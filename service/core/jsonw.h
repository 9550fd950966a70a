/* jsonw.h - a small JSON writer: appends JSON text to a growing buffer.
 *
 * For responses built from database rows (a page of reflections), where a
 * jansson tree would only be built to be serialised again. The writer
 * puts the commas itself (objects and arrays nest up to JSONW_DEPTH), and
 * never emits invalid JSON or invalid UTF-8, whatever bytes it is given:
 * strings escape quotes, backslashes, control characters and U+2028/2029,
 * and every byte that is not part of valid UTF-8 becomes U+FFFD.
 *
 * Out of memory or a misuse (too deep, a value where a key is due) sets
 * failed; later calls do nothing and jsonw_finish returns NULL. */
#ifndef REFLECTD_JSONW_H
#define REFLECTD_JSONW_H

#include <stddef.h>

#define JSONW_DEPTH 16

struct jsonw {
    char *buf;
    size_t len, cap;
    int depth;
    int failed;
    unsigned char first[JSONW_DEPTH]; /* no member written yet at this depth */
    unsigned char in_obj[JSONW_DEPTH];
    int key_pending; /* a key was written; its value comes next */
};

void jsonw_init(struct jsonw *w);
/* The text (NUL-terminated, w->len bytes), owned by w; NULL when the
 * writer failed or an object or array is still open. */
const char *jsonw_finish(struct jsonw *w);
void jsonw_free(struct jsonw *w);
/* The finished text, now the caller's to free(), with its length in *len;
 * w is left empty. NULL (w unchanged) when jsonw_finish would say NULL. */
char *jsonw_take(struct jsonw *w, size_t *len);
/* Room for about n bytes, so that a text of known size is not built by
 * doubling and copying from 1 KB; 0, or -1 when out of memory (failed). */
int jsonw_expect(struct jsonw *w, size_t n);

void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
/* A member's name (a C string; escaped like any string). */
void jsonw_key(struct jsonw *w, const char *name);

/* Values. jsonw_str takes n bytes (NUL bytes become \u0000);
 * jsonw_cstr a C string, or null for NULL. */
void jsonw_str(struct jsonw *w, const char *s, size_t n);
void jsonw_cstr(struct jsonw *w, const char *s);
void jsonw_null(struct jsonw *w);
void jsonw_bool(struct jsonw *w, int v);
void jsonw_int(struct jsonw *w, long long v);

/* A one-dimensional PostgreSQL array in text form ("{a,b,\"c d\",NULL}")
 * as a JSON array of strings (NULL elements as null). Returns 0, or -1
 * (writer failed) when lit is not such an array. */
int jsonw_pg_array(struct jsonw *w, const char *lit);

/* A PostgreSQL timestamptz in text form, from a session in UTC with
 * DateStyle ISO ("2026-12-01 09:32:27.1234+00"), as the API's timestamp
 * "2026-12-01T09:32:27.123400Z" (always six fraction digits). *micros,
 * when not NULL, gets the microseconds since the epoch (for ETags and
 * cursors). Returns 0, or -1 (writer failed) for any other text. */
int jsonw_pg_ts(struct jsonw *w, const char *pg, long long *micros);

/* The same text checked and read without writing: out (when not NULL, 28
 * bytes) gets the API's form, *micros (when not NULL) the microseconds
 * since the epoch. Returns 0, or -1 for any other text. */
int pg_ts_parse(const char *pg, char out[28], long long *micros);

#endif
