/* router.c - matching a request line against the routing table.
 *
 * Patterns are literal segments and {name} placeholders; a placeholder takes
 * one whole non-empty segment. The table is small (tens of routes), so a
 * linear scan over pre-split patterns beats anything cleverer, and it keeps
 * the 404-vs-405 decision obvious: a path that some pattern fits, but not with
 * this method, is 405 with an Allow header. */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

#define ROUTER_MAX_SEGMENTS 12

static int router_split(char *path, char **seg)
{
    int n = 0;
    if (*path != '/')
        return -1;
    char *p = path + 1;
    if (*p == '\0')
        return 0; /* "/" */
    for (;;) {
        if (n == ROUTER_MAX_SEGMENTS)
            return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
        if (*p == '\0')
            return -1; /* trailing slash: not a route of ours */
    }
    for (int i = 0; i < n; i++)
        if (seg[i][0] == '\0')
            return -1; /* empty segment: "//" */
    return n;
}

/* Compares one pattern with the split path; fills params on success. */
static int router_fits(const char *pattern, char **seg, int nseg, struct route_match *m)
{
    const char *p = pattern + 1;
    int i = 0, np = 0;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (i >= nseg)
            return 0;
        if (p[0] == '{') {
            if (np < ROUTE_MAX_PARAMS)
                m->params[np++] = seg[i];
        } else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0) {
            return 0;
        }
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    if (i != nseg)
        return 0;
    m->nparams = np;
    return 1;
}

int router_match(const struct route *table, size_t n, int method, char *path, struct route_match *m)
{
    char *seg[ROUTER_MAX_SEGMENTS];
    memset(m, 0, sizeof(*m));
    int nseg = router_split(path, seg);
    if (nseg < 0)
        return 404;
    /* HEAD is answered by the GET handler (evhttp drops the body). */
    int want = method == M_HEAD ? M_GET : method;
    for (size_t i = 0; i < n; i++) {
        struct route_match tmp;
        memset(&tmp, 0, sizeof(tmp));
        if (!router_fits(table[i].pattern, seg, nseg, &tmp))
            continue;
        m->allowed |= table[i].method;
        if (table[i].method == want && !m->route) {
            memcpy(m->params, tmp.params, sizeof(m->params));
            m->nparams = tmp.nparams;
            m->route = &table[i];
        }
    }
    if (m->route)
        return 200;
    return m->allowed ? 405 : 404;
}

const char *router_method_name(int method)
{
    switch (method) {
    case M_GET:
        return "GET";
    case M_POST:
        return "POST";
    case M_PUT:
        return "PUT";
    case M_PATCH:
        return "PATCH";
    case M_DELETE:
        return "DELETE";
    case M_HEAD:
        return "HEAD";
    case M_OPTIONS:
        return "OPTIONS";
    }
    return "OTHER";
}

void router_allow_header(int mask, char *buf, size_t len)
{
    static const int order[] = {M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE};
    size_t used = 0;
    buf[0] = '\0';
    if (mask & M_GET)
        mask |= M_HEAD;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (!(mask & order[i]))
            continue;
        const char *name = router_method_name(order[i]);
        size_t need = strlen(name) + (used ? 2 : 0);
        if (used + need >= len)
            return; /* whole names only: stop before one that does not fit */
        snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
        used += need;
    }
}
