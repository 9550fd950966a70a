/* request.h - one HTTP request from arrival to response.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_REQUEST_H
#define REFLECTD_REQUEST_H

#include "auth/actor.h"
#include "core/arena.h"
#include "db/db.h"
#include "http/router.h"

#include <assert.h>
#include <jansson.h>
#include <stdint.h>

struct event;
struct evhttp_request;
struct evkeyvalq;
struct loop;
struct app;

struct req;

typedef void (*req_db_continue)(struct req *r, struct db_result *res);

/* Handler scratch: what the next step of a multi-step handler needs. One
 * typed pointer per handler family, tagged with the family: set it with
 * req_state_set(r, family, value) and read it with req_state_get(r,
 * family). A value of the wrong type does not compile; reading another
 * family's state trips an assert. A new family adds a member here. */
struct api_create;      /* http/api.c: api_db_create */
struct login;           /* handlers/sessions.c: POST /v1/auth/login */
struct oidc_login;      /* handlers/oidc.c */
struct new_user;        /* handlers/users.c */
struct set_password;    /* handlers/set_password.c */
struct invite_form;     /* handlers/invite_page.c */
struct range;           /* handlers/summaries.c */
struct reflection_page; /* handlers/reflections_json.c */
enum req_state_family {
    REQ_STATE_none,
    REQ_STATE_create,
    REQ_STATE_login,
    REQ_STATE_oidc,
    REQ_STATE_new_user,
    REQ_STATE_set_password,
    REQ_STATE_invite_form,
    REQ_STATE_summary,
    REQ_STATE_reflection_page, /* handlers/reflections_json.c: limit and order */
    REQ_STATE_events_last,     /* handlers/events.c: Last-Event-ID */
    REQ_STATE_text,            /* a string: sessions.c's new refresh token, imports.c's answer */
};
struct req_state {
    enum req_state_family family;
    union {
        struct api_create *create;
        struct login *login;
        struct oidc_login *oidc;
        struct new_user *new_user;
        struct set_password *set_password;
        const struct invite_form *invite_form;
        const struct summary_req *summary;
        struct reflection_page *reflection_page;
        const long long *events_last;
        const char *text;
    } as;
};
#define req_state_set(r, fam, value)                                                               \
    ((r)->state.family = REQ_STATE_##fam, (r)->state.as.fam = (value))
#define req_state_get(r, fam) (assert((r)->state.family == REQ_STATE_##fam), (r)->state.as.fam)
typedef void (*req_close_cb)(struct req *r, void *arg);

struct req {
    struct evhttp_request *ev;
    struct loop *loop; /* the thread it runs on; handlers use req_base() etc. */
    struct app *app;
    struct arena arena;
    struct route_match match;
    struct evkeyvalq *query; /* parsed query string, lazily */
    const char *query_raw;
    int method;
    char id[40]; /* request id */
    uint64_t start_usec;
    int status;
    struct actor actor;
    int authenticated;
    req_db_continue db_next; /* where req_db() resumes */
    json_t *kept;            /* released when the request ends */
    req_close_cb on_close;   /* streams: the client went away */
    void *on_close_arg;
    struct event *close_ev; /* on_close, deferred to the next loop turn */
    int streaming;
    struct req_state state;
};

/* Path parameter i (0-based, in pattern order). */
const char *req_param(struct req *r, int i);
/* Decoded query-string value, or NULL when absent. */
const char *req_query(struct req *r, const char *name);
const char *req_header(struct req *r, const char *name);
/* The client's address as text (for throttling and logs). */
const char *req_peer(struct req *r);

/* Parses the body as a JSON object. On failure it has already answered the
 * client (400/415/413) and returns NULL. The value belongs to the request. */
json_t *req_json_body(struct req *r);

/* The raw body (len bytes, not NUL-terminated; "" when empty), valid
 * until the request ends. The size limit was checked on arrival. */
const char *req_body(struct req *r, size_t *len);

/* Keeps a JSON value alive until the request ends (one at a time). */
void req_keep_json(struct req *r, json_t *j);

/* Responses: each sends exactly one reply and finishes the request; r must
 * not be touched afterwards. json is stolen. */
void req_reply_json(struct req *r, int status, json_t *json);
void req_reply_empty(struct req *r, int status);
void req_reply_text(struct req *r, int status, const char *ctype, const char *body);
/* The same with a malloc'd body of len bytes that the reply takes over
 * (sent from where it is and freed once written): no copy of a large page. */
void req_reply_owned(struct req *r, int status, const char *ctype, char *body, size_t len);
void req_problem(struct req *r, int status, const char *detail);
/* The same with a machine-readable code (problem_new_code). */
void req_problem_code(struct req *r, int status, const char *code, const char *detail);
/* json must be from problem_new(); stolen. */
void req_reply_problem(struct req *r, json_t *problem);
void req_set_header(struct req *r, const char *name, const char *value);

/* Streaming responses (server-sent events). req_stream_start sends the
 * status line and headers and keeps the request open; req_stream_write adds
 * a chunk; req_stream_end completes it and finishes the request. on_close,
 * when set, runs (later, from the event loop) if the client goes away first;
 * after it the request must still be ended with req_stream_end. */
void req_stream_start(struct req *r, const char *ctype, req_close_cb on_close, void *arg);
void req_stream_write(struct req *r, const char *data, size_t len);
void req_stream_end(struct req *r);

/* Runs one SQL statement for the request. When the database is unavailable
 * or saturated the client gets 503 with Retry-After and next is not called;
 * otherwise next gets DB_OK or DB_ERROR. */
void req_db(struct req *r, const char *sql, int n, const char *const *params, req_db_continue next);
/* The same with every column of the result in binary format (db_query_fmt):
 * for statements whose rows are rendered in C (api_col_binary). */
void req_db_binary(struct req *r, const char *sql, int n, const char *const *params,
                   req_db_continue next);
/* The same for a statement that may share its commit with others of the
 * moment (DB_GROUP, db.h says which statements qualify). */
void req_db_group(struct req *r, const char *sql, int n, const char *const *params,
                  req_db_continue next);
/* For a DB_ERROR the handler does not expect: 503 for a statement timeout,
 * 500 (logged with the request id) otherwise. */
void req_db_failed(struct req *r, struct db_result *res);
/* 503 with Retry-After: 1, for capacity the client may retry for. */
void req_busy(struct req *r, const char *detail);

/* The event loop the request runs on, for work handed to another thread
 * whose answer must come back to this loop (the hasher, the OIDC keys). */
struct event_base *req_base(struct req *r);
/* 1 when this request's loop is shutting down (new streams are refused). */
int req_is_draining(const struct req *r);
/* The index of that loop (0 .. cfg.workers-1), for modules with per-loop
 * state (event streams). */
int req_loop_index(const struct req *r);

/* Called by the server for every request evhttp hands it on loop l. */
void req_dispatch(struct evhttp_request *ev, struct loop *l);

#endif
