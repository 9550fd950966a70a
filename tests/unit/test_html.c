/* test_html.c - HTML escaping, the page buffer, Accept-Language, form
 * parsing and QR codes (pure functions behind the feedback form). */
#include "core/arena.h"
#include "core/form.h"
#include "core/html.h"
#include "core/qr.h"

#include <criterion/criterion.h>
#include <string.h>
#include <zlib.h>

static struct arena a;
static void setup(void)
{
    arena_init(&a);
}
static void teardown(void)
{
    arena_free(&a);
}
TestSuite(html, .init = setup, .fini = teardown);
TestSuite(form, .init = setup, .fini = teardown);
TestSuite(qr, .init = setup, .fini = teardown);

Test(html, escapes_the_five_special_characters_and_nothing_else)
{
    cr_assert_str_eq(html_escape(&a, "<script>alert('x')</script>"),
                     "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    cr_assert_str_eq(html_escape(&a, "a \"b\" & c"), "a &quot;b&quot; &amp; c");
    cr_assert_str_eq(html_escape(&a, "&amp;"), "&amp;amp;"); /* never "already escaped" */
    cr_assert_str_eq(html_escape(&a, "caf\xc3\xa9 \xe2\x9c\x93\n/=`"),
                     "caf\xc3\xa9 \xe2\x9c\x93\n/=`");
    cr_assert_str_eq(html_escape(&a, ""), "");
}

Test(html, the_buffer_grows_past_its_first_chunk)
{
    struct html h;
    html_init(&h, &a);
    for (int i = 0; i < 3000; i++)
        html_text(&h, "<>");
    cr_assert_eq(h.len, 3000 * 8);
    cr_assert_eq(strlen(h.s), h.len);
    cr_assert_eq(strncmp(h.s, "&lt;&gt;&lt;", 12), 0);
}

Test(html, dutch_unless_english_is_preferred)
{
    cr_assert_str_eq(html_lang(NULL), "nl");
    cr_assert_str_eq(html_lang(""), "nl");
    cr_assert_str_eq(html_lang("en"), "en");
    cr_assert_str_eq(html_lang("en-GB,en;q=0.9"), "en");
    cr_assert_str_eq(html_lang("nl-NL,nl;q=0.9,en;q=0.8"), "nl");
    cr_assert_str_eq(html_lang("en;q=0.5, nl;q=0.8"), "nl");
    cr_assert_str_eq(html_lang("nl;q=0.5, en"), "en");
    cr_assert_str_eq(html_lang("en, nl"), "en");
    cr_assert_str_eq(html_lang("nl, en"), "nl");
    cr_assert_str_eq(html_lang("de-DE, fr"), "nl");
    cr_assert_str_eq(html_lang("*"), "nl");
    cr_assert_str_eq(html_lang("english"), "nl");
    cr_assert_str_eq(html_lang("en;q=abc"), "nl");
    cr_assert_str_eq(html_lang("en;q=0"), "nl");
    cr_assert_str_eq(html_lang(" , ,;;=,en"), "en");
}

static const char *const fields[] = {"name", "role", "top", NULL};

static int parse(const char *body, const char **v)
{
    return form_parse(&a, body, strlen(body), fields, v);
}

Test(form, decodes_plus_percent_and_crlf)
{
    const char *v[3];
    cr_assert_eq(
        parse("name=Anna+de+Vries&role=verpleegkundige&top=Goed%0D%0Agedaan+%26+%C3%A9", v), 0);
    cr_assert_str_eq(v[0], "Anna de Vries");
    cr_assert_str_eq(v[1], "verpleegkundige");
    cr_assert_str_eq(v[2], "Goed\ngedaan & \xc3\xa9");
    cr_assert_eq(parse("role=x", v), 0);
    cr_assert_null(v[0]);
    cr_assert_str_eq(v[1], "x");
    cr_assert_eq(parse("top=a%0D%0D%0Ab%0Dc", v), 0);
    cr_assert_str_eq(v[2], "a\nb\rc"); /* never a CR LF; a lone CR stays (and is refused later) */
    cr_assert_eq(parse("", v), 0);
    cr_assert_eq(parse("name=", v), 0);
    cr_assert_str_eq(v[0], "");
}

Test(form, refuses_what_no_browser_sends)
{
    const char *v[3];
    cr_assert_eq(parse("name=a&name=b", v), -1);  /* twice */
    cr_assert_eq(parse("nam=a", v), -1);          /* unknown */
    cr_assert_eq(parse("name", v), -1);           /* no '=' */
    cr_assert_eq(parse("name=a&&role=b", v), -1); /* empty pair */
    cr_assert_eq(parse("name=a&", v), -1);        /* trailing & */
    cr_assert_eq(parse("name=%4", v), -1);        /* truncated escape */
    cr_assert_eq(parse("name=%", v), -1);
    cr_assert_eq(parse("name=%zz", v), -1);
    cr_assert_eq(parse("name=%00", v), -1);          /* NUL */
    cr_assert_eq(parse("name=%C3", v), -1);          /* truncated UTF-8 */
    cr_assert_eq(parse("name=%C0%AF", v), -1);       /* overlong '/' */
    cr_assert_eq(parse("name=%ED%A0%80", v), -1);    /* a surrogate */
    cr_assert_eq(parse("name=%F4%90%80%80", v), -1); /* beyond U+10FFFF */
    cr_assert_eq(parse("n%61me=a", v), 0);           /* an escaped name is still the name */
    cr_assert_str_eq(v[0], "a");
    const char nul[] = "name=a\0b";
    cr_assert_eq(form_parse(&a, nul, sizeof(nul) - 1, fields, v), -1);
}

Test(form, utf8)
{
    cr_assert(utf8_ok("", 0));
    cr_assert(utf8_ok("\xf0\x9f\x98\x80", 4));
    cr_assert_not(utf8_ok("\xf0\x9f\x98", 3));
    cr_assert_not(utf8_ok("\xff", 1));
    cr_assert_not(utf8_ok("\xe0\x80\x80", 3));
}

Test(qr, svg_and_png_show_the_same_modules)
{
    struct qr q;
    cr_assert_eq(
        qr_make(&a, "https://reflect.example/f/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", &q),
        0);
    cr_assert_geq(q.width, 21);
    cr_assert_eq((q.width - 17) % 4, 0);
    cr_assert(q.dark[0]); /* the corner of a finder pattern */
    char *svg = qr_svg(&a, &q);
    cr_assert_eq(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39), 0);
    cr_assert(strstr(svg, "M4 4h7v1h-7z")); /* the top edge of the finder pattern */
    cr_assert_eq(strcmp(svg + strlen(svg) - 9, "\"/></svg>"), 0);

    size_t len;
    int scale = 4, px = (q.width + 8) * scale;
    unsigned char *png = qr_png(&a, &q, scale, &len);
    cr_assert(png);
    cr_assert_eq(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0);
    cr_assert_eq(memcmp(png + 12, "IHDR", 4), 0);
    cr_assert_eq((png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19]), px);
    cr_assert_eq(memcmp(png + len - 8, "IEND", 4), 0);
    /* Inflate the image data and compare pixels with the modules. */
    size_t zlen = (size_t)(png[33] << 24 | png[34] << 16 | png[35] << 8 | png[36]);
    cr_assert_eq(memcmp(png + 37, "IDAT", 4), 0);
    size_t stride = 1 + ((size_t)px + 7) / 8;
    uLongf rawlen = stride * (size_t)px;
    unsigned char *raw = arena_alloc(&a, rawlen);
    cr_assert_eq(uncompress(raw, &rawlen, png + 41, zlen), Z_OK);
    cr_assert_eq(rawlen, stride * (size_t)px);
    for (int my = 0; my < q.width; my++)
        for (int mx = 0; mx < q.width; mx++) {
            int x = (mx + 4) * scale + 1, y = (my + 4) * scale + 2;
            int white = (raw[stride * (size_t)y + 1 + (size_t)x / 8] >> (7 - x % 8)) & 1;
            cr_assert_eq(white, !q.dark[my * q.width + mx], "module %d,%d", mx, my);
        }
    cr_assert_eq(raw[1] & 0x80, 0x80); /* the quiet zone is white */
}

Test(qr, base64)
{
    cr_assert_str_eq(qr_base64(&a, (const unsigned char *)"", 0), "");
    cr_assert_str_eq(qr_base64(&a, (const unsigned char *)"f", 1), "Zg==");
    cr_assert_str_eq(qr_base64(&a, (const unsigned char *)"fo", 2), "Zm8=");
    cr_assert_str_eq(qr_base64(&a, (const unsigned char *)"foobar", 6), "Zm9vYmFy");
}
