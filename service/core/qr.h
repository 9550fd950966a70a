/* qr.h - QR codes of a link, as SVG and as PNG (libqrencode, zlib).
 *
 * Return convention: qr_make returns 0 on success and -1 on failure; the
 * renderers return the image, or NULL on failure. */
#ifndef REFLECTD_QR_H
#define REFLECTD_QR_H

#include "core/arena.h"

#include <stddef.h>

/* The modules of text's QR code (error correction M), without the quiet
 * zone: width * width bytes, 1 = dark. NULL when it cannot be encoded. */
struct qr {
    int width;
    unsigned char *dark;
};
int qr_make(struct arena *a, const char *text, struct qr *out);
/* An SVG document, one path of dark runs, 4 modules of quiet zone. */
char *qr_svg(struct arena *a, const struct qr *q);
/* A 1-bit greyscale PNG, scale pixels per module, 4 modules of quiet
 * zone; *len gets its size. NULL on failure. */
unsigned char *qr_png(struct arena *a, const struct qr *q, int scale, size_t *len);
/* base64 (RFC 4648, padded) of n bytes, in the arena. */
char *qr_base64(struct arena *a, const unsigned char *p, size_t n);

#endif
