/* router.h - the routing table: method + path pattern -> handler.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count.
 * router_match is the exception: it returns an HTTP status (200/404/405). */
#ifndef REFLECTD_ROUTER_H
#define REFLECTD_ROUTER_H

#include <stddef.h>

enum http_method {
    M_GET = 1 << 0,
    M_POST = 1 << 1,
    M_PUT = 1 << 2,
    M_PATCH = 1 << 3,
    M_DELETE = 1 << 4,
    M_HEAD = 1 << 5,
    M_OPTIONS = 1 << 6,
};

#define ROUTE_MAX_PARAMS 4

struct req;
typedef void (*route_handler)(struct req *r);

enum route_flags {
    ROUTE_PUBLIC = 0,    /* no token needed */
    ROUTE_AUTH = 1 << 0, /* Bearer token required */
    /* The path holds a secret (a feedback link's token): the access log
     * writes the route's pattern instead. */
    ROUTE_SECRET_PATH = 1 << 1,
    ROUTE_UPLOAD = 1 << 2, /* takes a body up to IMPORT_MAX_KIB (a file), not MAX_BODY_KIB */
};

struct route {
    int method;          /* one enum http_method */
    const char *pattern; /* "/v1/teams/{team_id}/members/{user_id}" */
    route_handler fn;
    int flags;
};

struct route_match {
    const struct route *route;
    int nparams;
    /* Values point into the caller's path buffer (NUL-terminated copies). */
    char *params[ROUTE_MAX_PARAMS];
    int allowed; /* on 405: mask of methods the path accepts */
};

/* Matches method and path (without query string) against the table. path is
 * modified in place (segments NUL-terminated). Returns 200 with m->route set,
 * 404 when no pattern fits the path, 405 when one fits with another method. */
int router_match(const struct route *table, size_t n, int method, char *path,
                 struct route_match *m);
const char *router_method_name(int method);
/* "GET, POST" for an Allow header; writes into buf. */
void router_allow_header(int mask, char *buf, size_t len);

#endif
