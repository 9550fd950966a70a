/* form.c - the one HTML form the service accepts (invite_page.c) arrives
 * as application/x-www-form-urlencoded. It is parsed strictly, as JSON
 * bodies are: anything a browser would not send is refused rather than
 * guessed at, so two readers can never disagree about what was submitted. */
#include "core/form.h"

#include <string.h>

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    while (n) {
        size_t len = utf8_seq(p, n);
        if (!len)
            return 0;
        p += len;
        n -= len;
    }
    return 1;
}

static int form_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes n bytes of one name or value into the arena; NULL when invalid. */
static char *form_decode(struct arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return NULL;
            int hi = form_hex(s[i + 1]);
            int lo = form_hex(s[i + 2]);
            if (hi < 0 || lo < 0)
                return NULL;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0')
            return NULL;
        while (c == '\n' && o > 0 && out[o - 1] == '\r')
            o--; /* CR LF -> LF, so no value ever holds a CR LF */
        out[o++] = c;
    }
    out[o] = '\0';
    return utf8_ok(out, o) ? out : NULL;
}

static int form_field_index(const char *const *fields, const char *name)
{
    for (int i = 0; fields[i]; i++)
        if (strcmp(fields[i], name) == 0)
            return i;
    return -1;
}

int form_parse(struct arena *a, const char *body, size_t len, const char *const *fields,
               const char **values)
{
    for (int i = 0; fields[i]; i++)
        values[i] = NULL;
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (amp && amp + 1 == end)
            return -1; /* a trailing '&': no browser sends one */
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (!eq)
            return -1;
        char *name = form_decode(a, p, (size_t)(eq - p));
        char *value = form_decode(a, eq + 1, (size_t)(stop - eq - 1));
        int i = name ? form_field_index(fields, name) : -1;
        if (!value || i < 0 || values[i])
            return -1;
        values[i] = value;
        p = amp ? amp + 1 : end;
    }
    return 0;
}
