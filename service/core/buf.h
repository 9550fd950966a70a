/* buf.h - a growing byte buffer, always NUL-terminated once anything is in
 * it: for output built piece by piece (CSV exports, the metrics page).
 *
 * Return convention: operations return 0 on success and -1 on failure. A
 * failed allocation also sets failed and makes every later append a no-op
 * returning -1, so a caller may append many pieces and check once. */
#ifndef REFLECTD_BUF_H
#define REFLECTD_BUF_H

#include <stddef.h>

struct buf {
    char *data; /* malloc'd; NULL while empty */
    size_t len, cap;
    int failed; /* an allocation failed: the content is incomplete */
};

/* An empty buffer: struct buf b = BUF_INIT; (or zero it). */
#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

/* Appends n bytes of s. */
int buf_append(struct buf *b, const char *s, size_t n);
/* Appends the formatted text. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the content; b is empty again. */
void buf_free(struct buf *b);

#endif
