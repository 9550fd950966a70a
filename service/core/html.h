/* html.h - building HTML pages: escaping, a growing buffer, the language.
 *
 * Return convention: builders cannot fail (the arena aborts when memory runs
 * out); getters return the value. */
#ifndef REFLECTD_HTML_H
#define REFLECTD_HTML_H

#include "core/arena.h"

#include <stddef.h>

/* A page under construction; its bytes live in the arena. */
struct html {
    struct arena *arena;
    char *s;
    size_t len, cap;
};

void html_init(struct html *h, struct arena *a);
/* Appends markup exactly as given (trusted text from this program). */
void html_raw(struct html *h, const char *s);
/* Appends text escaped for an element's content or a quoted attribute
 * value: & < > " ' become character references; nothing else changes. */
void html_text(struct html *h, const char *s);
/* The escaped copy of s, in the arena. */
char *html_escape(struct arena *a, const char *s);

/* The page language from an Accept-Language header: "en" when English is
 * preferred over Dutch (by q-value, then order), else "nl" (the default,
 * also for a missing or malformed header). */
const char *html_lang(const char *accept_language);

#endif
