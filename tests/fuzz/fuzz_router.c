/* fuzz_router.c - libFuzzer target: request paths through router_match()
 * over the real routing table (service/handlers/routes.c), and path parameters
 * through the UUID check handlers apply (api_uuid_param).
 *
 * routes.c names every handler; scripts/fuzz.sh generates stubs for them
 * from service/handlers/handlers.h (build/fuzz/handler_stubs.c), so the table here
 * is always the one the server serves. Input: the first byte picks the
 * method, the rest is the request target. It is parsed with libevent's
 * evhttp_uri_parse_with_flags() as evhttp parses a request line, and the
 * path goes to router_match() as req_dispatch() passes it; the raw bytes
 * (up to a NUL) are matched directly as well.
 * Invariants checked (a violation aborts):
 *   - 200: a route whose method is the request's (HEAD answered by GET),
 *     whose pattern rebuilt from the parameters is exactly the path, with
 *     one non-empty, slash-free parameter per placeholder, each pointing
 *     into the path buffer;
 *   - 405: some pattern fits, the method is not among those allowed, and
 *     the Allow header text lists only allowed methods and fits its buffer;
 *   - 404: no pattern of the table fits (checked by an independent
 *     matcher); router_match never reads or writes outside the path.
 * Build and run: scripts/fuzz.sh (seeds in tests/fuzz/corpus/router/). */
#include "handlers/handlers.h"
#include "http/router.h"
#include "http/validate.h"
#include "fuzz_check.h"

#include <event2/http.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int methods[] = {M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_HEAD, M_OPTIONS, 0};

/* An independent matcher: does path fit pattern? */
static int ref_fits(const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    for (;;) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (sl == 0)
            return 0; /* empty segment or trailing slash */
        if (p[0] == '{') {
            /* any non-empty segment */
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return 0;
        }
        p += pl;
        s += sl;
        if (!*p && !*s)
            return 1;
        if (!*p || !*s)
            return 0;
    }
}

static int placeholders(const char *pattern)
{
    int n = 0;
    for (; *pattern; pattern++)
        n += *pattern == '{';
    return n;
}

/* The pattern with each {name} replaced by the next parameter. */
static void rebuild(const char *pattern, const struct route_match *m, char *out, size_t len)
{
    size_t o = 0;
    int i = 0;
    for (const char *p = pattern; *p;) {
        if (*p == '{') {
            const char *v = m->params[i++];
            size_t vl = strlen(v);
            CHECK(o + vl < len);
            memcpy(out + o, v, vl);
            o += vl;
            p = strchr(p, '}') + 1;
        } else {
            CHECK(o + 1 < len);
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

static void check_match(int method, const char *path)
{
    size_t n = strlen(path);
    /* An exact-size heap copy, so ASan sees any access past its end. */
    char *buf = malloc(n + 1);
    CHECK(buf);
    memcpy(buf, path, n + 1);
    struct route_match m;
    int st = router_match(routes, routes_count, method, buf, &m);
    int want = method == M_HEAD ? M_GET : method;
    int allowed = 0, fits_want = 0;
    for (size_t i = 0; i < routes_count; i++) {
        if (ref_fits(routes[i].pattern, path)) {
            allowed |= routes[i].method;
            fits_want |= routes[i].method == want;
        }
    }
    if (st == 200) {
        CHECK(m.route && fits_want);
        CHECK(m.route->method == want);
        CHECK(ref_fits(m.route->pattern, path));
        CHECK(m.nparams == placeholders(m.route->pattern));
        CHECK(m.allowed == allowed);
        for (int i = 0; i < m.nparams; i++) {
            CHECK(m.params[i] >= buf && m.params[i] < buf + n);
            CHECK(m.params[i][0] != '\0' && !strchr(m.params[i], '/'));
            /* What api_uuid_param does with it. */
            if (valid_uuid(m.params[i]))
                CHECK(strlen(m.params[i]) == 36);
        }
        char again[16 * 1024 + 64];
        rebuild(m.route->pattern, &m, again, sizeof(again));
        CHECK(strcmp(again, path) == 0);
    } else if (st == 405) {
        CHECK(!m.route && !fits_want && allowed && m.allowed == allowed);
        CHECK(!(m.allowed & want));
        char allow[64];
        router_allow_header(m.allowed, allow, sizeof(allow));
        CHECK(strlen(allow) < sizeof(allow) && allow[0]);
        for (const char *tok = allow; *tok;) {
            size_t l = strcspn(tok, ",");
            int ok = 0;
            for (int i = 0; methods[i]; i++) {
                const char *name = router_method_name(methods[i]);
                if (strlen(name) == l && memcmp(name, tok, l) == 0)
                    ok = (m.allowed & methods[i]) || (methods[i] == M_HEAD && (m.allowed & M_GET));
            }
            CHECK(ok);
            tok += l;
            if (*tok == ',')
                tok += 2;
        }
    } else {
        CHECK(st == 404);
        CHECK(!m.route && !allowed);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16 * 1024)
        return 0;
    int method = methods[data[0] % 7];
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';

    check_match(method, s);

    /* As evhttp sees a request target (it refuses some, which is fine). */
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(s, 0);
    if (uri) {
        const char *path = evhttp_uri_get_path(uri);
        if (path)
            check_match(method, path);
        evhttp_uri_free(uri);
    }
    free(s);
    return 0;
}
