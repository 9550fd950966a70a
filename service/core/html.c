/* html.c - what the service's few HTML pages share (the feedback form in
 * invite_page.c): escaping every piece of text that did not come from this
 * program, a buffer that grows in the request's arena, and choosing Dutch
 * or English from Accept-Language. Pure functions, unit-tested. */
#include "core/html.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void html_init(struct html *h, struct arena *a)
{
    h->arena = a;
    h->cap = 4096;
    h->len = 0;
    h->s = arena_alloc(a, h->cap);
    h->s[0] = '\0';
}

static void html_append(struct html *h, const char *s, size_t n)
{
    if (h->len + n + 1 > h->cap) {
        size_t cap = h->cap;
        while (h->len + n + 1 > cap)
            cap *= 2;
        char *grown = arena_alloc(h->arena, cap);
        memcpy(grown, h->s, h->len);
        h->s = grown;
        h->cap = cap;
    }
    memcpy(h->s + h->len, s, n);
    h->len += n;
    h->s[h->len] = '\0';
}

void html_raw(struct html *h, const char *s)
{
    html_append(h, s, strlen(s));
}

static const char *html_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

void html_text(struct html *h, const char *s)
{
    while (*s) {
        size_t plain = strcspn(s, "&<>\"'");
        html_append(h, s, plain);
        s += plain;
        if (*s) {
            html_raw(h, html_entity(*s));
            s++;
        }
    }
}

char *html_escape(struct arena *a, const char *s)
{
    struct html h;
    html_init(&h, a);
    html_text(&h, s);
    return h.s;
}

/* The q-value of one Accept-Language item's parameters (";q=0.5"); 1 when
 * absent, -1 when malformed. */
static double html_qvalue(const char *params, size_t n)
{
    const char *q = NULL;
    for (size_t i = 0; i + 2 <= n; i++)
        if ((params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=' &&
            (i == 0 || params[i - 1] == ';' || params[i - 1] == ' '))
            q = params + i + 2;
    if (!q)
        return 1.0;
    char buf[8];
    size_t len = (size_t)(params + n - q);
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, q, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    return (*end || v < 0 || v > 1) ? -1 : v;
}

/* Does language range tag (n bytes) name lang ("en", "en-GB")? */
static int html_tag_is(const char *tag, size_t n, const char *lang)
{
    size_t l = strlen(lang);
    return n >= l && strncasecmp(tag, lang, l) == 0 && (n == l || tag[l] == '-');
}

const char *html_lang(const char *header)
{
    double best_en = 0, best_nl = 0;
    int first_en = -1, first_nl = -1, index = 0;
    for (const char *p = header; p && *p; index++) {
        size_t item = strcspn(p, ",");
        size_t tag = strcspn(p, ";,");
        while (tag && p[tag - 1] == ' ')
            tag--;
        size_t lead = strspn(p, " ");
        lead = lead > tag ? tag : lead;
        const char *t = p + lead;
        size_t tn = tag - lead;
        double q = tag < item ? html_qvalue(p + tag + 1, item - tag - 1) : 1.0;
        if (html_tag_is(t, tn, "en") && q > best_en) {
            best_en = q;
            first_en = first_en < 0 ? index : first_en;
        } else if (html_tag_is(t, tn, "nl") && q > best_nl) {
            best_nl = q;
            first_nl = first_nl < 0 ? index : first_nl;
        }
        p += item;
        p += *p == ',';
    }
    if (best_en > best_nl || (best_en > 0 && best_en == best_nl && first_en < first_nl))
        return "en";
    return "nl";
}
