/* evhttp_errors.c - problem+json for the errors libevent answers by itself.
 *
 * evhttp answers some requests before any callback of ours sees them: a
 * request line or header it cannot parse (400), headers over
 * evhttp_set_max_headers_size or a body over evhttp_set_max_body_size (413),
 * a method outside evhttp_set_allowed_methods (501), a failed Expect (417).
 * It does so through evhttp_send_error(), which writes a text/html page, and
 * every error of this API is application/problem+json (RFC 9457).
 *
 * libevent 2.1 has no hook for these replies (2.2's evhttp_set_errorcb is
 * not in Debian 12). But it calls its own exported evhttp_send_error()
 * through the PLT, so the definition below, in the executable, takes its
 * place (ELF symbol interposition): for libevent's calls and ours alike.
 * tests/integration/test_foundation.c checks the replies, so a libevent that
 * stopped calling through the PLT would fail the suite, not go unnoticed. */
#include "http/problem.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <stdlib.h>
#include <string.h>

static const char *evhttp_error_detail(int status)
{
    switch (status) {
    case 400:
        return "The request line or a header is malformed.";
    case 413:
        return "The request (its headers or its body) is too large.";
    case 417:
        return "The expectation in the Expect header cannot be met.";
    case 501:
        return "This method is not implemented.";
    default:
        return "The request cannot be answered.";
    }
}

static void evhttp_error_headers(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_clear_headers(h);
    evhttp_add_header(h, "Content-Type", "application/problem+json");
    /* After a framing error nothing more on this connection can be trusted. */
    evhttp_add_header(h, "Connection", "close");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
}

void evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
    (void)reason; /* libevent's own phrases: the status line gets the standard one */
    json_t *p = problem_new(error, NULL, evhttp_error_detail(error));
    char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    struct evbuffer *b = s ? evbuffer_new() : NULL;
    if (!b || evbuffer_add(b, s, strlen(s)) != 0) {
        /* What libevent does without memory: drop the connection. */
        free(s);
        if (b)
            evbuffer_free(b);
        if (evhttp_request_get_connection(req))
            evhttp_connection_free(evhttp_request_get_connection(req));
        return;
    }
    free(s);
    /* An unparsable request line leaves the version unset; libevent's own
     * page answers in HTTP/1.1 then, and so do we. */
    if (!req->major || !req->minor) {
        req->major = 1;
        req->minor = 1;
    }
    evhttp_error_headers(req);
    int head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
    evhttp_send_reply(req, error, NULL, head ? NULL : b);
    evbuffer_free(b);
}
