/* problem.c - RFC 9457 problem+json documents.
 *
 * The one place where an error becomes the JSON a client sees. Titles are
 * fixed per status; the detail is written by our code, never copied from
 * PostgreSQL or libc, so no SQL text or internal string can leak. */
#include "http/problem.h"

#include <stdio.h>
#include <string.h>

struct status_title {
    int status;
    const char *slug, *title;
};

static const struct status_title titles[] = {
    {400, "bad-request", "Bad Request"},
    {401, "unauthorized", "Unauthorized"},
    {403, "forbidden", "Forbidden"},
    {404, "not-found", "Not Found"},
    {405, "method-not-allowed", "Method Not Allowed"},
    {406, "not-acceptable", "Not Acceptable"},
    {409, "conflict", "Conflict"},
    {412, "precondition-failed", "Precondition Failed"},
    {413, "payload-too-large", "Payload Too Large"},
    {415, "unsupported-media-type", "Unsupported Media Type"},
    {417, "expectation-failed", "Expectation Failed"},
    {422, "validation-failed", "Validation Failed"},
    {428, "precondition-required", "Precondition Required"},
    {429, "too-many-requests", "Too Many Requests"},
    {500, "internal", "Internal Server Error"},
    {501, "not-implemented", "Not Implemented"},
    {503, "unavailable", "Service Unavailable"},
};

static const struct status_title *problem_lookup(int status)
{
    for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
        if (titles[i].status == status)
            return &titles[i];
    return NULL;
}

const char *problem_title(int status)
{
    const struct status_title *t = problem_lookup(status);
    return t ? t->title : (status >= 500 ? "Server Error" : "Client Error");
}

json_t *problem_new(int status, const char *type, const char *detail)
{
    char uri[128];
    if (!type) {
        const struct status_title *t = problem_lookup(status);
        type = t ? t->slug : "error";
    }
    snprintf(uri, sizeof(uri), "https://reflect.example/problems/%s", type);
    json_t *p =
        json_pack("{s:s, s:s, s:i}", "type", uri, "title", problem_title(status), "status", status);
    if (p && detail)
        json_object_set_new(p, "detail", json_string(detail));
    return p;
}

json_t *problem_new_code(int status, const char *code, const char *detail)
{
    char slug[64];
    size_t i = 0;
    for (; code[i] && i + 1 < sizeof(slug); i++)
        slug[i] = code[i] == '_' ? '-' : code[i];
    slug[i] = '\0';
    json_t *p = problem_new(status, slug, detail);
    if (p)
        json_object_set_new(p, "code", json_string(code));
    return p;
}

void problem_add_error(json_t *problem, const char *field, const char *message)
{
    json_t *errors = json_object_get(problem, "errors");
    if (!errors) {
        errors = json_array();
        json_object_set_new(problem, "errors", errors);
    }
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
}
