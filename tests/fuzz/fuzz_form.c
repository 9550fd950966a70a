/* fuzz_form.c - libFuzzer target: the feedback form's body
 * (service/core/form.c) and what the page does with it (service/core/html.c).
 *
 * The input is a raw application/x-www-form-urlencoded body, parsed with
 * form_parse() for the form's five fields as invite_page.c does; the whole
 * input (as a string) also goes to html_lang() as an Accept-Language header.
 * Invariants checked (a violation aborts):
 *   - an accepted body gives values that are valid UTF-8, hold no NUL
 *     (their length is what was decoded) and no CR before LF;
 *   - re-encoding the values and parsing that gives the same values;
 *   - html_escape() of a value holds none of < > " ' and only the five
 *     references as '&' sequences, and unescaping it gives the value back;
 *   - html_lang() is "nl" or "en".
 * Build and run: scripts/fuzz.sh form (seeds in tests/fuzz/corpus/form/). */
#include "core/arena.h"
#include "core/form.h"
#include "core/html.h"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fields[] = {"name", "role", "top", "tip", "question", NULL};

/* Undoes html_escape; NULL when s holds an '&' that is not one of ours. */
static char *unescape(struct arena *a, const char *s)
{
    static const char *const refs[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    static const char chars[] = "&<>\"'";
    char *out = arena_alloc(a, strlen(s) + 1), *o = out;
    while (*s) {
        if (*s != '&') {
            *o++ = *s++;
            continue;
        }
        int i = 0;
        while (i < 5 && strncmp(s, refs[i], strlen(refs[i])) != 0)
            i++;
        if (i == 5)
            return NULL;
        *o++ = chars[i];
        s += strlen(refs[i]);
    }
    *o = '\0';
    return out;
}

/* The value %-encoded, every byte, as a browser might. */
static void encode(struct arena *a, const char *name, const char *v, char **body)
{
    size_t n = strlen(*body), vn = strlen(v);
    char *b = arena_alloc(a, n + strlen(name) + 2 + 3 * vn + 1);
    int len = sprintf(b, "%s%s%s=", *body, n ? "&" : "", name);
    for (size_t i = 0; i < vn; i++)
        len += sprintf(b + len, "%%%02X", (unsigned char)v[i]);
    *body = b;
}

static void check_values(struct arena *a, const char **v)
{
    char *body = arena_strdup(a, "");
    for (int i = 0; fields[i]; i++) {
        if (!v[i])
            continue;
        size_t n = strlen(v[i]);
        CHECK(utf8_ok(v[i], n));
        CHECK(!strstr(v[i], "\r\n"));
        char *e = html_escape(a, v[i]);
        CHECK(!strpbrk(e, "<>\"'"));
        char *back = unescape(a, e);
        CHECK(back && strcmp(back, v[i]) == 0);
        encode(a, fields[i], v[i], &body);
    }
    const char *again[6];
    CHECK(form_parse(a, body, strlen(body), fields, again) == 0);
    for (int i = 0; fields[i]; i++)
        CHECK((!v[i] && !again[i]) || (v[i] && again[i] && strcmp(v[i], again[i]) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    arena_init(&a);
    const char *v[6];
    if (form_parse(&a, (const char *)data, size, fields, v) == 0)
        check_values(&a, v);
    char *s = arena_strndup(&a, (const char *)data, size);
    const char *lang = html_lang(s);
    CHECK(strcmp(lang, "nl") == 0 || strcmp(lang, "en") == 0);
    arena_free(&a);
    return 0;
}
