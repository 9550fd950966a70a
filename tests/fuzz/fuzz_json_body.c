/* fuzz_json_body.c - libFuzzer target: untrusted request bodies through the
 * validators (service/http/validate.c), exactly as the handlers use them.
 *
 * The input is parsed the way req_json_body() parses a body (json_loadb with
 * JSON_REJECT_DUPLICATES, no JSON_ALLOW_NUL, at most the default 256 KiB);
 * an object then goes through
 *   1. the field schemas of every handler that takes a body (reflections,
 *      goals, check-ins with their nested scores, users, teams, members,
 *      organisation, login, refresh, feedback, feedback requests), and
 *   2. every key of the object through every v_* function with several
 *      parameter choices (v_text single- and multi-line, v_email, v_uuid,
 *      v_date, v_enum, v_enum_array, v_uuid_array, v_int, v_bool).
 * Invariants checked (a violation aborts, which libFuzzer reports):
 *   - a returned text is trimmed, valid UTF-8, passes valid_utf8_text with
 *     the same multi-line flag, and has min..max code points;
 *   - a returned e-mail, UUID, date or enum has the promised shape;
 *   - a returned PostgreSQL array literal "{a,b}" holds only allowed values
 *     (or lower-case UUIDs), each once, no more than the maximum;
 *   - a v_* call that returns nothing for a present, non-null field has
 *     recorded an error; one that returns a value has recorded none;
 *   - valid_utf8_text and utf8_chars agree with an independent decoder on
 *     every string (and key) in the document, and valid_uuid and valid_date
 *     with independent reference checks;
 *   - the 422 problem document serialises, with one entry per error.
 * Build and run: scripts/fuzz.sh (targets in build/fuzz/, seeds in
 * tests/fuzz/corpus/json_body/). */
#include "core/arena.h"
#include "http/problem.h"
#include "http/validate.h"
#include "fuzz_check.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (256 * 1024) /* MAX_BODY_KIB default: larger bodies are 413 */

/* The enums of the handlers (copied: they are static in each file). */
static const char *const vermogens[] = {"absorptie", "verbindend", "opleidend", "lerend", NULL};
static const char *const dimensions[] = {"mensen", "processen", "systemen", NULL};
static const char *const refl_statuses[] = {"draft", "final", NULL};
static const char *const goal_statuses[] = {"open", "active", "achieved", "dropped", NULL};
static const char *const kinds[] = {"top", "tip", "question", NULL};
static const char *const team_roles[] = {"student", "werkbegeleider", "teammanager", "member",
                                         NULL};
static const char *const org_roles[] = {"admin", "praktijkopleider", NULL};
static const char *const starr_parts[] = {"situation", "task",       "action",
                                          "result",    "reflection", NULL};

/* ---- independent reference checks ----------------------------------------- */

/* Decodes one strict UTF-8 sequence; returns its length or 0 when invalid. */
static size_t ref_utf8_decode(const unsigned char *p, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    int n = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!n)
        return 0;
    uint32_t c = p[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return (size_t)n;
}

/* 1 when s is valid UTF-8; counts code points. */
static int ref_utf8(const char *s, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        uint32_t cp;
        size_t l = ref_utf8_decode(p, &cp);
        if (!l)
            return 0;
        p += l;
        n++;
    }
    *chars = n;
    return 1;
}

/* Cc (C0, DEL, C1) refused; \n \t \r allowed in multi-line text. */
static int ref_text_ok(const char *s, int multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t l = ref_utf8_decode(p, &cp);
        CHECK(l); /* only called on valid UTF-8 */
        if (cp < 0x20 && !(multiline && (cp == '\n' || cp == '\t' || cp == '\r')))
            return 0;
        if (cp >= 0x7F && cp <= 0x9F)
            return 0;
        p += l;
    }
    return 1;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int ref_uuid(const char *s)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !(s[i] && strchr(hex, s[i])))
            return 0;
    }
    return 1;
}

static int is_lower_uuid(const char *s)
{
    if (!ref_uuid(s))
        return 0;
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'F')
            return 0;
    return 1;
}

/* YYYY-MM-DD as a proleptic Gregorian date, years 1900..2999; only the
 * first ten characters count (valid_date is also used as a prefix check). */
static int ref_date(const char *s)
{
    int y, m, d;
    char c1, c2;
    for (int i = 0; i < 10; i++) {
        if (!s[i])
            return 0;
        if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return 0;
    }
    if (sscanf(s, "%4d%c%2d%c%2d", &y, &c1, &m, &c2, &d) != 5)
        return 0;
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
        return 0;
    int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)
        dim[1] = 29;
    return d <= dim[m - 1];
}

/* ---- invariants of returned values ---------------------------------------- */

static size_t nerrors(const struct validator *v)
{
    return v->problem ? json_array_size(json_object_get(v->problem, "errors")) : 0;
}

/* A v_* call that produced no value for a present, non-null field must
 * have said why; one that produced a value must not have complained. */
static void check_outcome(const struct validator *v, const char *field, size_t before, int got,
                          int required)
{
    json_t *j = json_object_get(v->body, field);
    size_t after = nerrors(v);
    if (got)
        CHECK(after == before);
    else if ((j && !json_is_null(j)) || required)
        CHECK(after > before);
    else
        CHECK(after == before);
}

static void check_text(const char *s, size_t min, size_t max, int multiline)
{
    size_t chars;
    CHECK(ref_utf8(s, &chars));
    CHECK(chars >= min && chars <= max);
    CHECK(chars == utf8_chars(s));
    CHECK(valid_utf8_text(s, multiline));
    CHECK(ref_text_ok(s, multiline));
    size_t n = strlen(s);
    CHECK(n == 0 || (!is_ws(s[0]) && !is_ws(s[n - 1])));
}

static void check_email(const char *s)
{
    check_text(s, 3, 254, 0);
    const char *at = strchr(s, '@');
    CHECK(at && at != s && at[1] && !strchr(at + 1, '@') && !strchr(s, ' ') && strchr(at + 1, '.'));
    for (const char *c = s; *c; c++)
        CHECK(!(*c >= 'A' && *c <= 'Z'));
}

static void check_enum(const char *s, const char *const *allowed)
{
    int found = 0;
    for (size_t i = 0; allowed[i]; i++)
        found |= s == allowed[i]; /* the static string itself */
    CHECK(found);
}

/* "{a,b,c}": each item passes ok(), no item twice, at most max items. */
static void check_array_literal(const char *lit, size_t max, const char *const *allowed, int uuids)
{
    size_t n = strlen(lit);
    CHECK(n >= 2 && lit[0] == '{' && lit[n - 1] == '}');
    if (n == 2)
        return;
    char *copy = strndup(lit + 1, n - 2);
    CHECK(copy);
    char *items[64];
    size_t count = 0;
    /* strtok_r would skip empty items: split by hand so ",," is seen. */
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        CHECK(count < 64);
        items[count++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    CHECK(count <= max);
    for (size_t i = 0; i < count; i++) {
        CHECK(items[i][0] != '\0');
        /* Nothing PostgreSQL's array syntax would read specially. */
        CHECK(!strpbrk(items[i], "{}\"\\ '"));
        if (uuids) {
            CHECK(is_lower_uuid(items[i]));
        } else {
            int found = 0;
            for (size_t k = 0; allowed[k]; k++)
                found |= strcmp(items[i], allowed[k]) == 0;
            CHECK(found);
        }
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(items[i], items[k]) != 0);
    }
    free(copy);
}

static void check_problem(const struct validator *v)
{
    if (!v->problem) {
        CHECK(v_ok(v));
        return;
    }
    CHECK(!v_ok(v));
    json_t *errors = json_object_get(v->problem, "errors");
    CHECK(json_is_array(errors) && json_array_size(errors) > 0);
    CHECK(json_integer_value(json_object_get(v->problem, "status")) == 422);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        CHECK(json_is_string(json_object_get(e, "field")));
        CHECK(json_is_string(json_object_get(e, "message")));
    }
    char *s = json_dumps(v->problem, JSON_COMPACT);
    CHECK(s);
    json_t *back = json_loads(s, 0, NULL);
    CHECK(back && json_equal(back, v->problem));
    json_decref(back);
    free(s);
}

/* ---- checked wrappers --------------------------------------------------- */

static const char *t_text(struct validator *v, const char *f, enum v_presence p, size_t min,
                          size_t max, int ml)
{
    size_t before = nerrors(v);
    const char *s = v_text(v, f, p, min, max, ml);
    check_outcome(v, f, before, s != NULL, p == V_REQUIRED);
    if (s)
        check_text(s, min, max, ml);
    return s;
}

static const char *t_email(struct validator *v, const char *f, enum v_presence p)
{
    size_t before = nerrors(v);
    const char *s = v_email(v, f, p);
    check_outcome(v, f, before, s != NULL, p == V_REQUIRED);
    if (s)
        check_email(s);
    return s;
}

static const char *t_uuid(struct validator *v, const char *f, enum v_presence p)
{
    size_t before = nerrors(v);
    const char *s = v_uuid(v, f, p);
    check_outcome(v, f, before, s != NULL, p == V_REQUIRED);
    if (s)
        CHECK(is_lower_uuid(s));
    return s;
}

static const char *t_date(struct validator *v, const char *f, enum v_presence p)
{
    size_t before = nerrors(v);
    const char *s = v_date(v, f, p);
    check_outcome(v, f, before, s != NULL, p == V_REQUIRED);
    if (s)
        CHECK(strlen(s) == 10 && ref_date(s) && valid_date(s));
    return s;
}

static const char *t_enum(struct validator *v, const char *f, enum v_presence p,
                          const char *const *allowed)
{
    size_t before = nerrors(v);
    const char *s = v_enum(v, f, p, allowed);
    check_outcome(v, f, before, s != NULL, p == V_REQUIRED);
    if (s)
        check_enum(s, allowed);
    return s;
}

static const char *t_enum_array(struct validator *v, const char *f, const char *const *allowed)
{
    size_t before = nerrors(v);
    const char *s = v_enum_array(v, f, allowed);
    json_t *j = json_object_get(v->body, f);
    if (!j || json_is_null(j)) {
        CHECK(s && strcmp(s, "{}") == 0 && nerrors(v) == before);
        return s;
    }
    check_outcome(v, f, before, s != NULL, 0);
    if (s) {
        CHECK(json_is_array(j));
        check_array_literal(s, 16, allowed, 0);
        /* Exactly the given items, in order. */
        size_t count = 0;
        for (const char *c = s; *c; c++)
            count += *c == ',';
        CHECK(json_array_size(j) == (strcmp(s, "{}") == 0 ? 0 : count + 1));
    }
    return s;
}

static const char *t_uuid_array(struct validator *v, const char *f, size_t max, int want_present)
{
    size_t before = nerrors(v);
    int present = -1;
    const char *s = v_uuid_array(v, f, max, want_present ? &present : NULL);
    json_t *j = json_object_get(v->body, f);
    if (want_present)
        CHECK(present == (j != NULL));
    if (!j) {
        CHECK(want_present ? s == NULL : (s && strcmp(s, "{}") == 0));
        CHECK(nerrors(v) == before);
        return s;
    }
    /* Unlike v_enum_array, a null here is an error (not an array). */
    check_outcome(v, f, before, s != NULL, 1);
    if (s) {
        CHECK(json_is_array(j));
        check_array_literal(s, max, NULL, 1);
    }
    return s;
}

static int t_int(struct validator *v, const char *f, enum v_presence p, long min, long max)
{
    size_t before = nerrors(v);
    long out = min - 1;
    int ok = v_int(v, f, p, min, max, &out);
    check_outcome(v, f, before, ok, p == V_REQUIRED);
    if (ok) {
        CHECK(out >= min && out <= max);
        CHECK(json_is_integer(json_object_get(v->body, f)));
        CHECK(json_integer_value(json_object_get(v->body, f)) == out);
    }
    return ok;
}

static int t_bool(struct validator *v, const char *f, enum v_presence p)
{
    size_t before = nerrors(v);
    int out = -1;
    int ok = v_bool(v, f, p, &out);
    check_outcome(v, f, before, ok, p == V_REQUIRED);
    if (ok)
        CHECK(out == json_is_true(json_object_get(v->body, f)) && (out == 0 || out == 1));
    return ok;
}

static void t_known(struct validator *v, const char *const *allowed)
{
    size_t before = nerrors(v), unknown = 0;
    const char *key;
    json_t *val;
    json_object_foreach(v->body, key, val)
    {
        int known = 0;
        for (size_t i = 0; allowed[i]; i++)
            known |= strcmp(key, allowed[i]) == 0;
        unknown += !known;
    }
    v_known_fields(v, allowed);
    CHECK(nerrors(v) == before + unknown);
}

/* ---- the handlers' schemas ---------------------------------------------- */

typedef void (*schema_fn)(struct validator *v);

static void s_reflection_create(struct validator *v)
{
    static const char *const fields[] = {
        "id",         "team_id",  "occurred_on", "situation", "task",       "action",   "result",
        "reflection", "transfer", "status",      "vermogens", "dimensions", "goal_ids", NULL};
    t_known(v, fields);
    t_uuid(v, "id", V_OPTIONAL);
    t_uuid(v, "team_id", V_REQUIRED);
    t_date(v, "occurred_on", V_REQUIRED);
    for (int i = 0; starr_parts[i]; i++)
        t_text(v, starr_parts[i], V_OPTIONAL, 0, 5000, 1);
    t_text(v, "transfer", V_OPTIONAL, 0, 5000, 1);
    t_enum(v, "status", V_REQUIRED, refl_statuses);
    t_enum_array(v, "vermogens", vermogens);
    t_enum_array(v, "dimensions", dimensions);
    t_uuid_array(v, "goal_ids", 20, 0);
}

static void s_reflection_patch(struct validator *v)
{
    static const char *const fields[] = {
        "team_id",  "occurred_on", "situation", "task",       "action",   "result", "reflection",
        "transfer", "status",      "vermogens", "dimensions", "goal_ids", NULL};
    t_known(v, fields);
    t_uuid(v, "team_id", V_OPTIONAL);
    t_date(v, "occurred_on", V_OPTIONAL);
    for (int i = 0; starr_parts[i]; i++)
        t_text(v, starr_parts[i], V_OPTIONAL, 0, 5000, 1);
    t_text(v, "transfer", V_OPTIONAL, 0, 5000, 1);
    t_enum(v, "status", V_OPTIONAL, refl_statuses);
    if (json_object_get(v->body, "vermogens"))
        t_enum_array(v, "vermogens", vermogens);
    if (json_object_get(v->body, "dimensions"))
        t_enum_array(v, "dimensions", dimensions);
    t_uuid_array(v, "goal_ids", 20, 1);
}

static void s_goal(struct validator *v)
{
    static const char *const fields[] = {"id",     "what",      "why", "due_on",
                                         "status", "vermogens", NULL};
    t_known(v, fields);
    t_uuid(v, "id", V_OPTIONAL);
    t_text(v, "what", V_REQUIRED, 1, 500, 1);
    t_text(v, "why", V_OPTIONAL, 0, 2000, 1);
    t_date(v, "due_on", V_OPTIONAL);
    t_enum(v, "status", V_REQUIRED, goal_statuses);
    t_enum_array(v, "vermogens", vermogens);
}

/* Mirrors checkin_scores() in checkins.c: a nested validator. */
static void s_checkin(struct validator *v)
{
    static const char *const fields[] = {"team_id",         "scores",     "goes_well",
                                         "could_be_better", "share_text", NULL};
    static const char *const names[] = {"absorptie", "verbindend", "opleidend", "lerend", NULL};
    t_known(v, fields);
    t_uuid(v, "team_id", V_REQUIRED);
    json_t *scores = json_object_get(v->body, "scores");
    if (json_is_object(scores)) {
        struct validator inner;
        v_init(&inner, scores, v->arena);
        t_known(&inner, names);
        for (int i = 0; names[i]; i++)
            t_int(&inner, names[i], V_REQUIRED, 1, 10);
        check_problem(&inner);
        if (!v_ok(&inner)) {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(inner.problem, "errors"), i, e)
            {
                const char *field = json_string_value(json_object_get(e, "field"));
                v_error(v, arena_printf(v->arena, "scores.%s", field),
                        json_string_value(json_object_get(e, "message")));
            }
            json_decref(inner.problem);
        }
    } else {
        v_error(v, "scores", "must be an object with the four vermogens");
    }
    t_text(v, "goes_well", V_OPTIONAL, 0, 1000, 1);
    t_text(v, "could_be_better", V_OPTIONAL, 0, 1000, 1);
    t_bool(v, "share_text", V_OPTIONAL);
}

static void s_user(struct validator *v)
{
    static const char *const fields[] = {"email", "name", "password", "roles", NULL};
    t_known(v, fields);
    t_email(v, "email", V_REQUIRED);
    t_text(v, "name", V_REQUIRED, 1, 200, 0);
    t_text(v, "password", V_REQUIRED, 12, 256, 0);
    t_enum_array(v, "roles", org_roles);
}

static void s_login(struct validator *v)
{
    static const char *const fields[] = {"email", "password", NULL};
    t_known(v, fields);
    t_email(v, "email", V_REQUIRED);
    t_text(v, "password", V_REQUIRED, 1, 256, 0);
}

static void s_refresh(struct validator *v)
{
    static const char *const fields[] = {"refresh_token", NULL};
    t_known(v, fields);
    t_text(v, "refresh_token", V_REQUIRED, 1, 128, 0);
}

static void s_team(struct validator *v)
{
    static const char *const fields[] = {"name", NULL};
    static const char *const mfields[] = {"role", NULL};
    t_known(v, fields);
    t_text(v, "name", V_REQUIRED, 1, 200, 0);
    t_known(v, mfields);
    t_enum(v, "role", V_REQUIRED, team_roles);
}

static void s_org(struct validator *v)
{
    static const char *const fields[] = {"anonymity_threshold", NULL};
    t_known(v, fields);
    t_int(v, "anonymity_threshold", V_REQUIRED, 3, 100);
}

static void s_feedback(struct validator *v)
{
    static const char *const fields[] = {"kind", "body", NULL};
    static const char *const rfields[] = {"to_user_id", NULL};
    t_known(v, fields);
    t_enum(v, "kind", V_REQUIRED, kinds);
    t_text(v, "body", V_REQUIRED, 1, 2000, 1);
    t_known(v, rfields);
    t_uuid(v, "to_user_id", V_REQUIRED);
}

/* Every key through every validator. */
static void s_generic(struct validator *v)
{
    const char *key;
    json_t *val;
    size_t n = 0;
    json_object_foreach(v->body, key, val)
    {
        if (n++ == 32)
            break;
        for (int ml = 0; ml < 2; ml++) {
            t_text(v, key, V_OPTIONAL, 0, 5000, ml);
            t_text(v, key, V_REQUIRED, 2, 8, ml);
        }
        t_email(v, key, V_OPTIONAL);
        t_uuid(v, key, V_OPTIONAL);
        t_date(v, key, V_OPTIONAL);
        t_enum(v, key, V_OPTIONAL, team_roles);
        t_enum_array(v, key, team_roles);
        t_enum_array(v, key, vermogens);
        t_uuid_array(v, key, 20, 0);
        t_uuid_array(v, key, 2, 1);
        t_int(v, key, V_OPTIONAL, 1, 10);
        t_int(v, key, V_OPTIONAL, -2147483648L, 2147483647L);
        t_bool(v, key, V_OPTIONAL);
    }
}

/* ---- the document itself ------------------------------------------------ */

/* Differential checks on every string and key, at any depth. */
static void walk(json_t *j, int depth)
{
    if (depth > 64)
        return;
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        size_t chars;
        CHECK(strlen(s) == json_string_length(j)); /* no NUL without JSON_ALLOW_NUL */
        CHECK(ref_utf8(s, &chars));                /* jansson refuses invalid UTF-8 */
        CHECK(chars == utf8_chars(s));
        for (int ml = 0; ml < 2; ml++)
            CHECK(!valid_utf8_text(s, ml) == !ref_text_ok(s, ml));
        CHECK(!valid_uuid(s) == !ref_uuid(s));
        if (strlen(s) >= 10)
            CHECK(!valid_date(s) == !ref_date(s));
        (void)valid_timestamp(s);
    } else if (json_is_object(j)) {
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            size_t chars;
            CHECK(ref_utf8(key, &chars));
            for (int ml = 0; ml < 2; ml++)
                CHECK(!valid_utf8_text(key, ml) == !ref_text_ok(key, ml));
            walk(val, depth + 1);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *val;
        json_array_foreach(j, i, val) walk(val, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const schema_fn schemas[] = {s_reflection_create,
                                        s_reflection_patch,
                                        s_goal,
                                        s_checkin,
                                        s_user,
                                        s_login,
                                        s_refresh,
                                        s_team,
                                        s_org,
                                        s_feedback,
                                        s_generic};
    if (size > MAX_BODY)
        return 0;
    json_error_t err;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (!body)
        return 0;
    walk(body, 0);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        struct arena a;
        struct validator v;
        arena_init(&a);
        v_init(&v, body, &a);
        schemas[i](&v);
        check_problem(&v);
        json_decref(v.problem);
        arena_free(&a);
    }
    json_decref(body);
    return 0;
}
