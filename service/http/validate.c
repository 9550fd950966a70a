/* validate.c - input validation for request bodies and parameters.
 *
 * jansson has already refused invalid UTF-8 and NUL bytes inside strings
 * when it parsed the body (we never pass JSON_ALLOW_NUL); what remains is
 * types, lengths in characters, enums, control characters and formats.
 * Nothing here talks to the client: the handler turns a failed validator
 * into one 422 with every error listed. */
#include "http/validate.h"
#include "core/uuid.h"
#include "http/problem.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void v_init(struct validator *v, json_t *body, struct arena *a)
{
    v->body = body;
    v->problem = NULL;
    v->arena = a;
}

void v_error(struct validator *v, const char *field, const char *message)
{
    if (!v->problem)
        v->problem = problem_new_code(422, "validation_failed", "The request has invalid fields.");
    problem_add_error(v->problem, field, message);
}

int v_ok(const struct validator *v)
{
    return v->problem == NULL;
}

void v_known_fields(struct validator *v, const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach(v->body, key, val)
    {
        int known = 0;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known)
            v_error(v, key, "unknown field");
    }
}

size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int valid_utf8_text(const char *s, int multiline)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* DEL, and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F),
         * which terminals read as escape sequences. */
        if (*p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            return 0;
        if (*p >= 0x20)
            continue;
        if (!(multiline && (*p == '\n' || *p == '\t' || *p == '\r')))
            return 0;
    }
    return 1;
}

int valid_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Returns the field when present and not null; reports a missing one. */
static json_t *v_field(struct validator *v, const char *field, enum v_presence p)
{
    json_t *j = json_object_get(v->body, field);
    if (j && !json_is_null(j))
        return j;
    if (p == V_REQUIRED)
        v_error(v, field, "is required");
    return NULL;
}

static char *v_trim(struct arena *a, const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return arena_strndup(a, s, n);
}

const char *v_text(struct validator *v, const char *field, enum v_presence p, size_t min,
                   size_t max, int multiline)
{
    json_t *j = v_field(v, field, p);
    if (!j)
        return NULL;
    if (!json_is_string(j)) {
        v_error(v, field, "must be a string");
        return NULL;
    }
    char *s = v_trim(v->arena, json_string_value(j));
    size_t n = utf8_chars(s);
    if (!valid_utf8_text(s, multiline)) {
        v_error(v, field, "contains control characters");
        return NULL;
    }
    if (n < min || n > max) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be %zu to %zu characters", min, max);
        v_error(v, field, msg);
        return NULL;
    }
    return s;
}

const char *v_email(struct validator *v, const char *field, enum v_presence p)
{
    const char *s = v_text(v, field, p, 3, 254, 0);
    if (!s)
        return NULL;
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@') || strchr(s, ' ') || !strchr(at + 1, '.')) {
        v_error(v, field, "must be an e-mail address");
        return NULL;
    }
    char *lower = arena_strdup(v->arena, s);
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return lower;
}

const char *v_uuid(struct validator *v, const char *field, enum v_presence p)
{
    json_t *j = v_field(v, field, p);
    if (!j)
        return NULL;
    if (!json_is_string(j) || !valid_uuid(json_string_value(j))) {
        v_error(v, field, "must be a UUID");
        return NULL;
    }
    return uuid_lower(arena_strdup(v->arena, json_string_value(j)));
}

static const char *v_match_enum(const char *s, const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(s, allowed[i]) == 0)
            return allowed[i];
    return NULL;
}

const char *v_enum(struct validator *v, const char *field, enum v_presence p,
                   const char *const *allowed)
{
    json_t *j = v_field(v, field, p);
    if (!j)
        return NULL;
    const char *m = json_is_string(j) ? v_match_enum(json_string_value(j), allowed) : NULL;
    if (!m)
        v_error(v, field, "is not one of the allowed values");
    return m;
}

int v_int(struct validator *v, const char *field, enum v_presence p, long min, long max, long *out)
{
    json_t *j = v_field(v, field, p);
    if (!j)
        return 0;
    if (!json_is_integer(j) || json_integer_value(j) < min || json_integer_value(j) > max) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be an integer from %ld to %ld", min, max);
        v_error(v, field, msg);
        return 0;
    }
    *out = (long)json_integer_value(j);
    return 1;
}

int v_bool(struct validator *v, const char *field, enum v_presence p, int *out)
{
    json_t *j = v_field(v, field, p);
    if (!j)
        return 0;
    if (!json_is_boolean(j)) {
        v_error(v, field, "must be true or false");
        return 0;
    }
    *out = json_is_true(j);
    return 1;
}

const char *v_enum_array(struct validator *v, const char *field, const char *const *allowed)
{
    json_t *j = v_field(v, field, V_OPTIONAL);
    if (!j)
        return "{}";
    size_t n = 0, i;
    json_t *el;
    if (!json_is_array(j) || json_array_size(j) > 16) {
        v_error(v, field, "must be an array of allowed values");
        return NULL;
    }
    char *out = arena_alloc(v->arena, 3 + json_array_size(j) * 32); /* {} + NUL */
    out[n++] = '{';
    json_array_foreach(j, i, el)
    {
        const char *m = json_is_string(el) ? v_match_enum(json_string_value(el), allowed) : NULL;
        if (!m) {
            v_error(v, field, "contains a value that is not allowed");
            return NULL;
        }
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(j, k), el)) {
                v_error(v, field, "contains a value twice");
                return NULL;
            }
        n += (size_t)sprintf(out + n, "%s%s", i ? "," : "", m);
    }
    out[n++] = '}';
    out[n] = '\0';
    return out;
}

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int valid_date(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return 0;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

int valid_timestamp(const char *s)
{
    if (!valid_date(s) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return 0;
    if (num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 60)
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        int n = 0;
        while (p[1 + n] >= '0' && p[1 + n] <= '9')
            n++;
        if (n < 1 || n > 9)
            return 0;
        p += 1 + n;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 1;
    return (*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2) &&
           p[6] == '\0' && num(p + 1, 2) <= 15 && num(p + 4, 2) <= 59; /* PostgreSQL's range */
}

const char *v_date(struct validator *v, const char *field, enum v_presence p)
{
    json_t *j = v_field(v, field, p);
    if (!j)
        return NULL;
    if (!json_is_string(j) || strlen(json_string_value(j)) != 10 ||
        !valid_date(json_string_value(j))) {
        v_error(v, field, "must be a date (YYYY-MM-DD)");
        return NULL;
    }
    return arena_strdup(v->arena, json_string_value(j));
}

/* ISO dates compare as strings, so the bounds need no calendar. */
const char *v_date_between(struct validator *v, const char *field, enum v_presence p,
                           const char *lo, const char *hi)
{
    const char *d = v_date(v, field, p);
    if (d && (strcmp(d, lo) < 0 || strcmp(d, hi) > 0)) {
        v_error(v, field, arena_printf(v->arena, "must be between %s and %s", lo, hi));
        return NULL;
    }
    return d;
}

const char *v_uuid_array(struct validator *v, const char *field, size_t max, int *present)
{
    json_t *j = json_object_get(v->body, field);
    if (present)
        *present = j != NULL;
    if (!j)
        return present ? NULL : "{}";
    size_t i;
    json_t *el;
    if (!json_is_array(j) || json_array_size(j) > max) {
        char msg[80];
        snprintf(msg, sizeof(msg), "must be an array of at most %zu UUIDs", max);
        v_error(v, field, msg);
        return NULL;
    }
    char *out = arena_alloc(v->arena, 3 + json_array_size(j) * 37);
    size_t n = 0;
    out[n++] = '{';
    json_array_foreach(j, i, el)
    {
        if (!json_is_string(el) || !valid_uuid(json_string_value(el))) {
            v_error(v, field, "must contain only UUIDs");
            return NULL;
        }
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(json_string_value(json_array_get(j, k)), json_string_value(el)) == 0) {
                v_error(v, field, "contains a value twice");
                return NULL;
            }
        n += (size_t)sprintf(out + n, "%s%s", i ? "," : "", json_string_value(el));
    }
    out[n++] = '}';
    out[n] = '\0';
    return uuid_lower(out);
}
