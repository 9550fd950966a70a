/* test_splice.c - raw JSON fragments placed into a jansson document
 * (service/splice.c). The output must be the document with each
 * placeholder replaced by its fragment, exactly once per use, and a string
 * that only looks like a placeholder must stay as it is. */
#include "splice.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

Test(splice, placeholders_become_their_fragments)
{
    struct splice *s = splice_new();
    cr_assert(s);
    static const char a[] = "[{\"kind\" : \"goes_well\", \"text\" : \"tab\\there\"}]xx";
    static const char b[] = "[]";
    json_t *pa = splice_placeholder(s, a, strlen(a) - 2); /* not NUL-terminated at len */
    json_t *pb = splice_placeholder(s, b, 2);
    json_t *doc =
        json_pack("{s:[{s:s, s:O}, {s:s, s:O}, {s:s, s:O}]}", "periods", "period", "2026-01",
                  "texts", pa, "period", "2026-02", "texts", pb, "period", "2026-03", "texts", pa);
    char *out = splice_dump(s, doc);
    cr_assert_str_eq(out, "{\"periods\":[{\"period\":\"2026-01\",\"texts\":[{\"kind\" : "
                          "\"goes_well\", \"text\" : \"tab\\there\"}]},{\"period\":\"2026-02\","
                          "\"texts\":[]},{\"period\":\"2026-03\",\"texts\":[{\"kind\" : "
                          "\"goes_well\", \"text\" : \"tab\\there\"}]}]}");
    json_t *parsed = json_loads(out, 0, NULL);
    cr_assert(parsed, "not JSON: %s", out);
    json_decref(parsed);
    free(out);
    json_decref(pa);
    json_decref(pb);
    json_decref(doc);
    splice_free(s);
}

/* A name that imitates a placeholder: with another response's nonce, or
 * with this one's taken from a dump, it must not be replaced unless it is
 * exactly a placeholder of this splice. */
Test(splice, lookalikes_stay_as_they_are)
{
    struct splice *s = splice_new(), *other = splice_new();
    cr_assert(s && other);
    json_t *mine = splice_placeholder(s, "[1]", 3);
    json_t *theirs = splice_placeholder(other, "[2]", 3);
    json_t *doc = json_pack("{s:O, s:O, s:s, s:s}", "mine", mine, "theirs", theirs, "plain", "\x01",
                            "near", "\x01zz:0");
    char *out = splice_dump(s, doc);
    cr_assert(strstr(out, "\"mine\":[1]"), "%s", out);
    cr_assert(!strstr(out, "[2]"), "another splice's placeholder was replaced: %s", out);
    cr_assert(strstr(out, "\"near\":\"\\u0001zz:0\""), "%s", out);
    json_t *parsed = json_loads(out, 0, NULL);
    cr_assert(parsed, "not JSON: %s", out);
    json_decref(parsed);
    free(out);
    json_decref(mine);
    json_decref(theirs);
    json_decref(doc);
    splice_free(s);
    splice_free(other);
}
