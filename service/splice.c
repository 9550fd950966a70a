/* splice.c - raw JSON fragments placed into a jansson document.
 *
 * A summary's shared texts are most of its bytes, and PostgreSQL already
 * renders them as the JSON arrays the response carries. Parsing them into
 * jansson only to print them again cost more than the rest of the request,
 * so the document holds a placeholder string where a fragment goes, and the
 * dumped text has each placeholder replaced by the fragment.
 *
 * A placeholder is "\u0001" (a character no validated text can contain)
 * followed by a random 64-bit nonce drawn for each response and the
 * fragment's number. A string that merely looks like one - in a team's
 * name, say - cannot carry this response's nonce, so it is never replaced
 * and cannot pull a fragment into the wrong place. */
#include "splice.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct fragment {
    const char *raw;
    size_t len;
};

struct splice {
    char tag[32]; /* "\"\\u0001<nonce>:" as it appears in dumped text */
    struct fragment *frags;
    int n, cap;
    uint64_t nonce;
};

struct splice *splice_new(void)
{
    struct splice *s = calloc(1, sizeof(*s));
    if (!s || getrandom(&s->nonce, sizeof(s->nonce), 0) != (ssize_t)sizeof(s->nonce)) {
        free(s);
        return NULL;
    }
    snprintf(s->tag, sizeof(s->tag), "\"\\u0001%016" PRIx64 ":", s->nonce);
    return s;
}

void splice_free(struct splice *s)
{
    if (!s)
        return;
    free(s->frags);
    free(s);
}

json_t *splice_placeholder(struct splice *s, const char *raw, size_t len)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 32;
        struct fragment *f = realloc(s->frags, (size_t)cap * sizeof(*f));
        if (!f)
            return NULL;
        s->frags = f;
        s->cap = cap;
    }
    s->frags[s->n] = (struct fragment){raw, len};
    char text[48];
    snprintf(text, sizeof(text), "\x01%016" PRIx64 ":%d", s->nonce, s->n++);
    return json_string(text);
}

/* jansson's dump callback: appends to a growing buffer. */
struct out {
    char *buf;
    size_t len, cap;
};

static int out_add(const char *p, size_t n, void *arg)
{
    struct out *o = arg;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (o->len + n + 1 > cap)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b)
            return -1;
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    o->buf[o->len] = '\0';
    return 0;
}

/* At p, a placeholder of s ("<tag><number>\"")? Returns its fragment's
 * number and sets *end past it, or -1. */
static int placeholder_at(const struct splice *s, const char *p, const char **end)
{
    size_t tl = strlen(s->tag);
    if (strncmp(p, s->tag, tl) != 0)
        return -1;
    char *q;
    long i = strtol(p + tl, &q, 10);
    if (q == p + tl || *q != '"' || i < 0 || i >= s->n)
        return -1;
    *end = q + 1;
    return (int)i;
}

char *splice_dump(struct splice *s, const json_t *doc)
{
    struct out flat = {0}, spliced = {0};
    if (json_dump_callback(doc, out_add, &flat, JSON_COMPACT) < 0) {
        free(flat.buf);
        return NULL;
    }
    const char *p = flat.buf, *from = flat.buf, *end;
    int ok = 1;
    while (ok && (p = strstr(p, "\"\\u0001"))) {
        int i = placeholder_at(s, p, &end);
        if (i < 0) {
            p++;
            continue;
        }
        ok = out_add(from, (size_t)(p - from), &spliced) == 0 &&
             out_add(s->frags[i].raw, s->frags[i].len, &spliced) == 0;
        p = from = end;
    }
    ok = ok && out_add(from, strlen(from), &spliced) == 0;
    free(flat.buf);
    if (!ok) {
        free(spliced.buf);
        return NULL;
    }
    return spliced.buf;
}
