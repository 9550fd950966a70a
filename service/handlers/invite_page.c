/* invite_page.c - the colleague's side of a feedback invitation: the HTML
 * form behind the link, GET /f/{token}, and its answer, POST /f/{token}.
 *
 * The colleague has no account: the token in the path is the capability,
 * and it works once. So the form needs no CSRF token (a replayed or forged
 * post can at most give the one answer the link allows) and sets no
 * cookie. Every state in which the link cannot be answered (unknown,
 * expired, used, revoked, its item or student gone) shows the same neutral
 * page with the same status, so a link tells nothing about itself. The
 * page shows the student's line and only what the student chose besides.
 *
 * Pages are plain HTML (no JavaScript, one inline style allowed by a
 * per-response nonce), Dutch unless the browser prefers English, and
 * built with html.c, which escapes every piece of text that is not ours.
 * Answers are counted per client address and per link (the statement
 * does it), validated like every other input (form.c, then lengths and
 * control characters here), and audited. */
#include "http/api.h"
#include "app.h"
#include "core/form.h"
#include "handlers/handlers.h"
#include "core/html.h"
#include "db/statements.h"
#include "auth/tokens.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INVITE_TOKEN_LEN      43
#define INVITE_FORM_MAX_BYTES (64 * 1024)
#define INVITE_NAME_MAX       100
#define INVITE_TEXT_MAX       2000

/* clang-format off */
/* The form behind a link. A view of the form is a read of the student's
 * data: audited. inv is the invitation behind the token while it can be
 * answered (the same as in SQL_INVITE_ANSWER).
 * $1 the token.
 * Returns no row (the neutral page), or one (line, situation or NULL,
 * student name or NULL). */
static const char SQL_INVITE_VIEW[] =
    "WITH inv AS ("
    "      SELECT i.id, i.organisation_id, i.student_id, i.reflection_id, i.goal_id, i.line,"
    "             CASE WHEN i.share_situation THEN x.situation END AS situation,"
    "             CASE WHEN i.share_name THEN u.name END AS student_name"
    "       FROM feedback_invitations i"
    "       JOIN users u ON u.id = i.student_id AND u.deleted_at IS NULL"
    "       LEFT JOIN reflections x ON x.id = i.reflection_id"
    "       LEFT JOIN goals g ON g.id = i.goal_id"
    "       WHERE i.token_hash = sha256(convert_to($1, 'UTF8'))"
    "         AND i.revoked_at IS NULL AND i.answered_at IS NULL AND i.expires_at > now()"
    "         AND (i.reflection_id IS NULL OR x.deleted_at IS NULL)"
    "         AND (i.goal_id IS NULL OR g.deleted_at IS NULL)),"
    " aud AS (INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id,"
    "                                object_type, object_id)"
    "         SELECT organisation_id, NULL, 'feedback_invitation.view', student_id,"
    "                'feedback_invitation', id"
    "         FROM inv)"
    " SELECT line, situation, student_name FROM inv";

/* The colleague's answer. The throttle counts every post, valid or not,
 * for a live link or not. Two posts racing for one link: the second waits
 * for the first's row lock, then finds it answered, and gets the neutral
 * page.
 * $1 token, $2 client address, $3/$4 the limits per address and per link,
 * $5 the window (s), $6 whether the form was valid, $7 name, $8 role,
 * $9..$11 top, tip, question (NULL when empty).
 * Returns (200 | 404 | 422 | 429, line, situation, student name, events
 * emitted). */
static const char SQL_INVITE_ANSWER[] =
    "WITH gone AS (DELETE FROM feedback_form_throttle"
    "              WHERE window_start < now() - make_interval(secs => $5::int)"
    "                AND key <> 'addr:' || $2"
    "                AND key <> 'link:' || encode(sha256(convert_to($1, 'UTF8')), 'hex')),"
    " thr AS (INSERT INTO feedback_form_throttle AS t (key, window_start, posts)"
    "         VALUES ('addr:' || $2, now(), 1),"
    "                ('link:' || encode(sha256(convert_to($1, 'UTF8')), 'hex'), now(), 1)"
    "         ON CONFLICT (key) DO UPDATE"
    "         SET window_start = CASE WHEN t.window_start < now() - make_interval(secs => $5::int)"
    "                                 THEN now() ELSE t.window_start END,"
    "             posts = CASE WHEN t.window_start < now() - make_interval(secs => $5::int)"
    "                          THEN 1 ELSE t.posts + 1 END"
    "         RETURNING t.key, t.posts),"
    " limited AS (SELECT coalesce(bool_or((key LIKE 'addr:%' AND posts > $3::int)"
    "                                     OR (key LIKE 'link:%' AND posts > $4::int)), false) AS v"
    "             FROM thr),"
    " inv AS ("
    "      SELECT i.id, i.organisation_id, i.student_id, i.reflection_id, i.goal_id, i.line,"
    "             CASE WHEN i.share_situation THEN x.situation END AS situation,"
    "             CASE WHEN i.share_name THEN u.name END AS student_name"
    "       FROM feedback_invitations i"
    "       JOIN users u ON u.id = i.student_id AND u.deleted_at IS NULL"
    "       LEFT JOIN reflections x ON x.id = i.reflection_id"
    "       LEFT JOIN goals g ON g.id = i.goal_id"
    "       WHERE i.token_hash = sha256(convert_to($1, 'UTF8'))"
    "         AND i.revoked_at IS NULL AND i.answered_at IS NULL AND i.expires_at > now()"
    "         AND (i.reflection_id IS NULL OR x.deleted_at IS NULL)"
    "         AND (i.goal_id IS NULL OR g.deleted_at IS NULL)),"
    " ans AS (UPDATE feedback_invitations i SET answered_at = now(), updated_at = now()"
    "         FROM inv, limited"
    "         WHERE i.id = inv.id AND NOT limited.v AND $6::boolean"
    "           AND i.answered_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()"
    "         RETURNING i.id, i.organisation_id, i.student_id, i.reflection_id, i.goal_id),"
    " ins AS (INSERT INTO feedback (organisation_id, reflection_id, goal_id, author_id, by_owner,"
    "                               kind, body, invitation_id, external_name, external_role)"
    "         SELECT ans.organisation_id, ans.reflection_id, ans.goal_id, NULL, false, k.kind,"
    "                k.body, ans.id, $7, $8"
    "         FROM ans, (VALUES ('top', $9::text), ('tip', $10::text),"
    "                           ('question', $11::text)) k (kind, body)"
    "         WHERE k.body IS NOT NULL"
    "         RETURNING *),"
    " aud AS (INSERT INTO audit_log (organisation_id, actor_id, action, subject_user_id,"
    "                                object_type, object_id)"
    "         SELECT organisation_id, NULL, 'feedback_invitation.answer', student_id,"
    "                'feedback_invitation', id"
    "         FROM ans),"
    /* The student hears of it like of any feedback (and push, hooked on
     * emit_event, with it). */
    " ev AS (SELECT emit_event(ans.student_id, ans.organisation_id, 'feedback.created',"
    "                          jsonb_strip_nulls(jsonb_build_object("
    "                            'feedback_id', ins.id, 'reflection_id', ins.reflection_id,"
    "                            'goal_id', ins.goal_id, 'invitation_id', ans.id,"
    "                            'kind', ins.kind))"
    "                          || jsonb_build_object('from_user_id', NULL::uuid,"
    "                                                'external', true))"
    "        FROM ans JOIN ins ON ins.invitation_id = ans.id)"
    " SELECT CASE WHEN limited.v THEN 429"
    "             WHEN inv.id IS NULL THEN 404"
    "             WHEN NOT $6::boolean THEN 422"
    "             WHEN EXISTS (SELECT 1 FROM ans) THEN 200"
    "             ELSE 404 END,"
    "        inv.line, inv.situation, inv.student_name, (SELECT count(*) FROM ev)"
    " FROM limited LEFT JOIN inv ON true";
/* clang-format on */

/* Everything a page says, in one language. */
struct invite_text {
    const char *lang, *title, *asks, *asks_named, *situation, *about, *name, *role, *role_hint,
        *required, *legend, *top, *tip, *question, *submit, *errors, *err_required, *err_name_long,
        *err_text_long, *err_control, *err_none, *gone_title, *gone_body, *thanks_title,
        *thanks_body, *busy_title, *busy_body, *bad_title, *bad_body;
};

static const struct invite_text invite_nl = {
    "nl",
    "Feedback geven",
    "Een student vraagt je om feedback op dit moment:",
    " vraagt je om feedback op dit moment:",
    "De situatie",
    "Je hebt geen account nodig. De student ziet je feedback met je naam en functie erbij; "
    "niemand controleert die. Noem geen namen van cliënten.",
    "Je naam",
    "Je functie",
    "Bijvoorbeeld: verpleegkundige, nachtdienst",
    "verplicht",
    "Je feedback (vul minstens één veld in)",
    "Top: wat ging goed?",
    "Tip: wat kan beter?",
    "Vraag aan de student",
    "Feedback versturen",
    "Controleer het formulier:",
    "Vul dit in.",
    "Gebruik hooguit 100 tekens.",
    "Gebruik hooguit 2000 tekens.",
    "Hier staan tekens in die niet mogen.",
    "Vul een top, een tip of een vraag in.",
    "Deze link werkt niet",
    "De link is verlopen, al gebruikt of ingetrokken, of hij is niet volledig. Vraag de student "
    "om een nieuwe link.",
    "Dank je wel!",
    "Je feedback is naar de student gestuurd. Je kunt deze pagina sluiten.",
    "Even geduld",
    "Er is te vaak feedback verstuurd. Probeer het later opnieuw.",
    "Dit ging niet goed",
    "Het formulier kwam niet goed aan. Open de link opnieuw en probeer het nog eens.",
};

static const struct invite_text invite_en = {
    "en",
    "Give feedback",
    "A student asks for your feedback on this moment:",
    " asks for your feedback on this moment:",
    "The situation",
    "You do not need an account. The student sees your feedback with your name and role; nobody "
    "checks them. Do not name any clients.",
    "Your name",
    "Your role",
    "For example: nurse, night shift",
    "required",
    "Your feedback (fill in at least one)",
    "Top: what went well?",
    "Tip: what could be better?",
    "Question for the student",
    "Send feedback",
    "Please check the form:",
    "Please fill this in.",
    "Use at most 100 characters.",
    "Use at most 2000 characters.",
    "This contains characters that are not allowed.",
    "Fill in a top, a tip or a question.",
    "This link does not work",
    "The link has expired, has been used or withdrawn, or is incomplete. Ask the student for a "
    "new link.",
    "Thank you!",
    "Your feedback has been sent to the student. You can close this page.",
    "Please wait",
    "Feedback has been sent too often. Please try again later.",
    "Something went wrong",
    "The form did not arrive intact. Open the link again and try once more.",
};

/* Contrast: text #1a1a1a, links and button #0b5394, errors #a3001b, all
 * above 7:1 on white; focus is a 3 px outline. */
static const char invite_css[] =
    "body{font:1.0625rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}"
    "main{max-width:36rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.125rem;margin:1rem 0 .25rem}"
    "blockquote{margin:0 0 1rem;padding:.5rem 1rem;border-left:4px solid #0b5394;"
    "background:#eef3f8}.pre{white-space:pre-wrap}"
    "label,legend{display:block;font-weight:600;margin-top:1rem}"
    ".hint{display:block;font-weight:400;color:#3d3d3d}"
    "input,textarea{display:block;box-sizing:border-box;width:100%;font:inherit;"
    "padding:.5rem;border:2px solid #555;border-radius:4px;margin-top:.25rem}"
    "fieldset{border:0;padding:0;margin:1.5rem 0 0}legend{padding:0;font-size:1.125rem}"
    "button{margin:1.5rem 0;font:inherit;font-weight:600;color:#fff;background:#0b5394;"
    "border:0;border-radius:4px;padding:.75rem 1.25rem;min-height:44px}"
    ":focus{outline:3px solid #0b5394;outline-offset:2px}"
    "[aria-invalid=true]{border-color:#a3001b}.error{color:#a3001b;font-weight:600;margin:.25rem 0}"
    ".errors{border:3px solid #a3001b;padding:.5rem 1rem;margin:1rem 0}.errors a{color:#a3001b}";

/* The form's fields, in form.c's order. */
enum { F_NAME, F_ROLE, F_TOP, F_TIP, F_QUESTION, F_COUNT };
static const char *const invite_fields[] = {"name", "role", "top", "tip", "question", NULL};

/* What was posted, and what is wrong with it (NULL: nothing). */
struct invite_form {
    const char *value[F_COUNT];
    const char *error[F_COUNT];
    const char *none; /* no top, tip or question */
    int valid;
};

static const struct invite_text *invite_text_for(struct req *r)
{
    return strcmp(html_lang(req_header(r, "Accept-Language")), "en") == 0 ? &invite_en : &invite_nl;
}

static int invite_token_ok(const char *t)
{
    return t && strlen(t) == INVITE_TOKEN_LEN &&
           strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
               INVITE_TOKEN_LEN;
}

static void invite_head(struct html *h, const struct invite_text *t, const char *title,
                        const char *nonce)
{
    html_raw(h, "<!doctype html>\n<html lang=\"");
    html_raw(h, t->lang);
    html_raw(h, "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                "content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" "
                "content=\"noindex\"><title>");
    html_text(h, title);
    html_raw(h, "</title><style nonce=\"");
    html_raw(h, nonce);
    html_raw(h, "\">");
    html_raw(h, invite_css);
    html_raw(h, "</style></head><body><main>");
}

/* Sends a page: its own policy (the style's nonce, posting only back
 * here), HTML, no caching (request.c). */
static void invite_send(struct req *r, int status, struct html *h, const char *nonce)
{
    html_raw(h, "</main></body></html>\n");
    req_set_header(r, "Content-Security-Policy",
                   arena_printf(&r->arena,
                                "default-src 'none'; style-src 'nonce-%s'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'",
                                nonce));
    req_reply_text(r, status, "text/html; charset=utf-8", h->s);
}

static const char *invite_nonce(struct req *r)
{
    char *n = arena_alloc(&r->arena, 44);
    if (tokens_new_refresh(n) < 0)
        abort(); /* the kernel's random source failed: nothing is safe */
    return n;
}

/* A page of a title and one paragraph: gone, thanks, busy, bad. */
static void invite_message(struct req *r, int status, const char *title, const char *body)
{
    const struct invite_text *t = invite_text_for(r);
    const char *nonce = invite_nonce(r);
    struct html h;
    html_init(&h, &r->arena);
    invite_head(&h, t, title, nonce);
    html_raw(&h, "<h1>");
    html_text(&h, title);
    html_raw(&h, "</h1><p>");
    html_text(&h, body);
    html_raw(&h, "</p>");
    invite_send(r, status, &h, nonce);
}

/* The same page for every link that cannot be answered. */
static void invite_gone(struct req *r)
{
    const struct invite_text *t = invite_text_for(r);
    invite_message(r, 404, t->gone_title, t->gone_body);
}

/* What the student shares: the line, and the situation and name if chosen. */
static void invite_item(struct html *h, const struct invite_text *t, const char *line,
                        const char *situation, const char *name)
{
    html_raw(h, "<h1>");
    html_text(h, t->title);
    html_raw(h, "</h1><p>");
    if (name) {
        html_text(h, name);
        html_text(h, t->asks_named);
    } else {
        html_text(h, t->asks);
    }
    html_raw(h, "</p><blockquote><p class=\"pre\">");
    html_text(h, line);
    html_raw(h, "</p></blockquote>");
    if (situation && *situation) {
        html_raw(h, "<h2>");
        html_text(h, t->situation);
        html_raw(h, "</h2><p class=\"pre\">");
        html_text(h, situation);
        html_raw(h, "</p>");
    }
}

static void invite_error_summary(struct html *h, const struct invite_text *t,
                                 const struct invite_form *f)
{
    static const char *const anchors[] = {"name", "role", "top", "tip", "question"};
    const char *labels[] = {t->name, t->role, t->top, t->tip, t->question};
    html_raw(h, "<div class=\"errors\" role=\"alert\"><h2>");
    html_text(h, t->errors);
    html_raw(h, "</h2><ul>");
    for (int i = 0; i < F_COUNT; i++) {
        if (!f->error[i])
            continue;
        html_raw(h, "<li><a href=\"#");
        html_raw(h, anchors[i]);
        html_raw(h, "\">");
        html_text(h, labels[i]);
        html_raw(h, ": ");
        html_text(h, f->error[i]);
        html_raw(h, "</a></li>");
    }
    if (f->none) {
        html_raw(h, "<li><a href=\"#top\">");
        html_text(h, f->none);
        html_raw(h, "</a></li>");
    }
    html_raw(h, "</ul></div>");
}

/* One labelled input or textarea, with its hint and error tied to it. */
static void invite_field(struct html *h, const char *id, const char *label, const char *hint,
                         const char *required, const char *value, const char *error, int multiline)
{
    html_raw(h, "<label for=\"");
    html_raw(h, id);
    html_raw(h, "\">");
    html_text(h, label);
    if (required) {
        html_raw(h, " <span class=\"hint\">(");
        html_text(h, required);
        html_raw(h, ")</span>");
    }
    if (hint) {
        html_raw(h, "<span class=\"hint\" id=\"");
        html_raw(h, id);
        html_raw(h, "-hint\">");
        html_text(h, hint);
        html_raw(h, "</span>");
    }
    html_raw(h, "</label>");
    if (error) {
        html_raw(h, "<p class=\"error\" id=\"");
        html_raw(h, id);
        html_raw(h, "-error\">");
        html_text(h, error);
        html_raw(h, "</p>");
    }
    html_raw(h, multiline ? "<textarea rows=\"4\" maxlength=\"2000\"" : "<input maxlength=\"100\"");
    html_raw(h, " id=\"");
    html_raw(h, id);
    html_raw(h, "\" name=\"");
    html_raw(h, id);
    html_raw(h, "\"");
    if (required)
        html_raw(h, " required");
    if (!multiline)
        html_raw(h, strcmp(id, "name") == 0 ? " autocomplete=\"name\""
                                            : " autocomplete=\"organization-title\"");
    if (error || hint) {
        html_raw(h, " aria-describedby=\"");
        if (error) {
            html_raw(h, id);
            html_raw(h, "-error");
        }
        if (hint) {
            html_raw(h, error ? " " : "");
            html_raw(h, id);
            html_raw(h, "-hint");
        }
        html_raw(h, "\"");
    }
    if (error)
        html_raw(h, " aria-invalid=\"true\"");
    if (multiline) {
        html_raw(h, ">");
        html_text(h, value ? value : "");
        html_raw(h, "</textarea>");
    } else {
        html_raw(h, " value=\"");
        html_text(h, value ? value : "");
        html_raw(h, "\">");
    }
}

/* The form, empty (f NULL) or as posted with its errors. */
static void invite_form_page(struct req *r, int status, const char *line, const char *situation,
                             const char *name, const struct invite_form *f)
{
    static const struct invite_form empty;
    const struct invite_text *t = invite_text_for(r);
    const char *nonce = invite_nonce(r);
    struct html h;
    html_init(&h, &r->arena);
    invite_head(&h, t, t->title, nonce);
    if (!f)
        f = &empty;
    invite_item(&h, t, line, situation, name);
    if (f == &empty || f->valid) {
        /* nothing to report */
    } else {
        invite_error_summary(&h, t, f);
    }
    html_raw(&h, "<p>");
    html_text(&h, t->about);
    html_raw(&h, "</p><form method=\"post\">");
    invite_field(&h, "name", t->name, NULL, t->required, f->value[F_NAME], f->error[F_NAME], 0);
    invite_field(&h, "role", t->role, t->role_hint, t->required, f->value[F_ROLE], f->error[F_ROLE],
                 0);
    html_raw(&h, "<fieldset><legend>");
    html_text(&h, t->legend);
    html_raw(&h, "</legend>");
    if (f->none) {
        html_raw(&h, "<p class=\"error\">");
        html_text(&h, f->none);
        html_raw(&h, "</p>");
    }
    invite_field(&h, "top", t->top, NULL, NULL, f->value[F_TOP], f->error[F_TOP], 1);
    invite_field(&h, "tip", t->tip, NULL, NULL, f->value[F_TIP], f->error[F_TIP], 1);
    invite_field(&h, "question", t->question, NULL, NULL, f->value[F_QUESTION],
                 f->error[F_QUESTION], 1);
    html_raw(&h, "</fieldset><button type=\"submit\">");
    html_text(&h, t->submit);
    html_raw(&h, "</button></form>");
    invite_send(r, status, &h, nonce);
}

static void invite_viewed(struct req *r, struct db_result *res)
{
    if (res->status != DB_OK) {
        req_db_failed(r, res);
        return;
    }
    if (api_rows(res) != 1) {
        invite_gone(r);
        return;
    }
    invite_form_page(r, 200, api_col(res, 0, 0), api_col_opt(res, 0, 1), api_col_opt(res, 0, 2),
                     NULL);
}

void h_invite_page(struct req *r)
{
    const char *token = req_param(r, 0);
    if (!invite_token_ok(token)) {
        invite_gone(r);
        return;
    }
    struct api_params p;
    api_params_none(&p);
    api_param(&p, token);
    api_db(r, SQL_INVITE_VIEW, &p, invite_viewed);
}

/* Trims s (in place; it is ours, in the arena) of surrounding white space. */
static char *invite_trim(char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Checks one field like v_text does for JSON: the error, or NULL. */
static const char *invite_check(const struct invite_text *t, const char *s, int required,
                                size_t max, int multiline)
{
    if (!valid_utf8_text(s, multiline) || strchr(s, '\r'))
        return t->err_control;
    if (!*s)
        return required ? t->err_required : NULL;
    if (utf8_chars(s) > max)
        return max == INVITE_NAME_MAX ? t->err_name_long : t->err_text_long;
    return NULL;
}

static void invite_validate(struct req *r, struct invite_form *f)
{
    const struct invite_text *t = invite_text_for(r);
    f->valid = 1;
    for (int i = 0; i < F_COUNT; i++) {
        int multiline = i >= F_TOP;
        char *s = invite_trim(arena_strdup(&r->arena, f->value[i] ? f->value[i] : ""));
        f->value[i] = s;
        f->error[i] = invite_check(t, s, !multiline, multiline ? INVITE_TEXT_MAX : INVITE_NAME_MAX,
                                   multiline);
        f->valid &= !f->error[i];
    }
    if (!*f->value[F_TOP] && !*f->value[F_TIP] && !*f->value[F_QUESTION]) {
        f->none = t->err_none;
        f->valid = 0;
    }
}

static int invite_is_form_type(const char *ct)
{
    static const char type[] = "application/x-www-form-urlencoded";
    size_t n = sizeof(type) - 1;
    return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

static void invite_answered(struct req *r, struct db_result *res)
{
    const struct invite_form *f = req_state_get(r, invite_form);
    const struct invite_text *t = invite_text_for(r);
    if (!api_one_row_ok(res)) {
        req_db_failed(r, res);
        return;
    }
    switch (api_col_int(res, 0, 0)) {
    case 200:
        invite_message(r, 200, t->thanks_title, t->thanks_body);
        break;
    case 422:
        invite_form_page(r, 422, api_col(res, 0, 1), api_col_opt(res, 0, 2), api_col_opt(res, 0, 3),
                         f);
        break;
    case 429:
        req_set_header(r, "Retry-After", arena_printf(&r->arena, "%d", r->app->cfg.form_window_s));
        invite_message(r, 429, t->busy_title, t->busy_body);
        break;
    default:
        invite_gone(r);
    }
}

void h_invite_answer(struct req *r)
{
    const char *token = req_param(r, 0);
    const struct invite_text *t = invite_text_for(r);
    size_t len;
    const char *body = req_body(r, &len);
    struct invite_form *f = arena_alloc(&r->arena, sizeof(*f));
    memset(f, 0, sizeof(*f));
    if (!invite_token_ok(token)) {
        invite_gone(r);
        return;
    }
    if (!invite_is_form_type(req_header(r, "Content-Type"))) {
        invite_message(r, 415, t->bad_title, t->bad_body);
        return;
    }
    if (len > INVITE_FORM_MAX_BYTES) {
        invite_message(r, 413, t->bad_title, t->bad_body);
        return;
    }
    if (form_parse(&r->arena, body, len, invite_fields, f->value) < 0) {
        invite_message(r, 400, t->bad_title, t->bad_body);
        return;
    }
    invite_validate(r, f);
    const struct config *c = &r->app->cfg;
    struct api_params p;
    api_params_none(&p);
    api_param(&p, token);
    api_param(&p, req_peer(r));
    api_param(&p, arena_printf(&r->arena, "%d", c->form_max_posts_addr));
    api_param(&p, arena_printf(&r->arena, "%d", c->form_max_posts_link));
    api_param(&p, arena_printf(&r->arena, "%d", c->form_window_s));
    api_param(&p, f->valid ? "true" : "false");
    api_param(&p, f->value[F_NAME]);
    api_param(&p, f->value[F_ROLE]);
    api_param(&p, *f->value[F_TOP] ? f->value[F_TOP] : NULL);
    api_param(&p, *f->value[F_TIP] ? f->value[F_TIP] : NULL);
    api_param(&p, *f->value[F_QUESTION] ? f->value[F_QUESTION] : NULL);
    req_state_set(r, invite_form, f);
    api_db(r, SQL_INVITE_ANSWER, &p, invite_answered);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement invite_page_statements[] = {
    STATEMENT(SQL_INVITE_VIEW),
    STATEMENT(SQL_INVITE_ANSWER),
    {NULL, NULL},
};
