/* qr.c - the QR code of a feedback invitation's link, for the app to show
 * at the bedside or share: libqrencode gives the modules; the SVG and PNG
 * are written here (a PNG is a few chunks around one zlib stream, which is
 * less code than a dependency on libpng). Pure functions. */
#include "core/qr.h"
#include "core/b64url.h"

#include <qrencode.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define QR_QUIET 4 /* modules of white around the code, as the standard asks */

int qr_make(struct arena *a, const char *text, struct qr *out)
{
    QRcode *c = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!c)
        return -1;
    size_t n = (size_t)c->width * (size_t)c->width;
    out->width = c->width;
    out->dark = arena_alloc(a, n);
    for (size_t i = 0; i < n; i++)
        out->dark[i] = c->data[i] & 1;
    QRcode_free(c);
    return 0;
}

char *qr_svg(struct arena *a, const struct qr *q)
{
    int size = q->width + 2 * QR_QUIET;
    /* At worst one run per module: "M123 123h1v1h-1z" is under 24 bytes. */
    size_t cap = 400 + (size_t)q->width * (size_t)q->width * 24;
    char *s = arena_alloc(a, cap);
    int n = snprintf(s, cap,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
                     " shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\""
                     " fill=\"#fff\"/><path fill=\"#000\" d=\"",
                     size, size, size, size);
    for (int y = 0; y < q->width; y++)
        for (int x = 0; x < q->width;) {
            if (!q->dark[y * q->width + x]) {
                x++;
                continue;
            }
            int run = 0;
            while (x + run < q->width && q->dark[y * q->width + x + run])
                run++;
            n += snprintf(s + n, cap - (size_t)n, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET,
                          run, run);
            x += run;
        }
    snprintf(s + n, cap - (size_t)n, "\"/></svg>");
    return s;
}

static void qr_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes one chunk (length, type, data, CRC) at out; returns its size. */
static size_t qr_chunk(unsigned char *out, const char *type, const unsigned char *data, size_t n)
{
    qr_be32(out, (uint32_t)n);
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    uLong crc = crc32(0L, out + 4, (uInt)(n + 4));
    qr_be32(out + 8 + n, (uint32_t)crc);
    return n + 12;
}

/* The image rows, each a filter byte (0) and 1-bit pixels, 1 = white. */
static unsigned char *qr_rows(struct arena *a, const struct qr *q, int scale, size_t *len)
{
    int px = (q->width + 2 * QR_QUIET) * scale;
    size_t stride = 1 + ((size_t)px + 7) / 8;
    unsigned char *raw = arena_alloc(a, stride * (size_t)px);
    memset(raw, 0, stride * (size_t)px);
    for (int y = 0; y < px; y++) {
        unsigned char *row = raw + stride * (size_t)y;
        for (int x = 0; x < px; x++) {
            int mx = x / scale - QR_QUIET, my = y / scale - QR_QUIET;
            int dark =
                mx >= 0 && my >= 0 && mx < q->width && my < q->width && q->dark[my * q->width + mx];
            if (!dark)
                row[1 + x / 8] |= (unsigned char)(0x80 >> (x % 8));
        }
    }
    *len = stride * (size_t)px;
    return raw;
}

unsigned char *qr_png(struct arena *a, const struct qr *q, int scale, size_t *len)
{
    size_t raw_len;
    unsigned char *raw = qr_rows(a, q, scale, &raw_len);
    uLongf z_len = compressBound((uLong)raw_len);
    unsigned char *z = arena_alloc(a, z_len);
    if (compress2(z, &z_len, raw, (uLong)raw_len, 9) != Z_OK)
        return NULL;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13] = {0};
    uint32_t px = (uint32_t)((q->width + 2 * QR_QUIET) * scale);
    qr_be32(ihdr, px);
    qr_be32(ihdr + 4, px);
    ihdr[8] = 1; /* bit depth; colour type 0 (greyscale), deflate, no interlace */
    unsigned char *png = arena_alloc(a, sizeof(sig) + 25 + 12 + z_len + 12);
    size_t n = sizeof(sig);
    memcpy(png, sig, n);
    n += qr_chunk(png + n, "IHDR", ihdr, sizeof(ihdr));
    n += qr_chunk(png + n, "IDAT", z, z_len);
    n += qr_chunk(png + n, "IEND", NULL, 0);
    *len = n;
    return png;
}

char *qr_base64(struct arena *a, const unsigned char *p, size_t n)
{
    char *out = arena_alloc(a, b64_len(n, B64_PAD) + 1);
    b64_encode(p, n, out, B64_PAD);
    return out;
}
