/* chan_smtp.c - e-mail digests and invitations over SMTP (libcurl: STARTTLS
 * required unless SMTP_STARTTLS=0, AUTH with SMTP_USER/SMTP_PASSWORD). A
 * digest says how many notifications of each kind are waiting, never what
 * they are; an invitation carries its set-password link and its expiry.
 * Any failure (server down, refused, TLS) is retried with backoff: the row
 * stays in the outbox until the server takes it. */
#include "notify/delivery.h"
#include "notify/notify_text.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The header lines and the blank line after them. */
static int smtp_head(FILE *f, const struct notify_config *cfg, const struct delivery *d,
                     const char *subject)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    unsigned char rnd[8];
    if (!gmtime_r(&now, &tm) || !strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) ||
        RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    fprintf(f,
            "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\n"
            "Message-ID: <%lld.%02x%02x%02x%02x%02x%02x%02x%02x@reflectd>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            cfg->smtp_from, d->email, subject, date, d->id, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
            rnd[5], rnd[6], rnd[7]);
    return 0;
}

/* A digest: how many of each kind, never what. */
static int smtp_digest(FILE *f, const struct notify_config *cfg, const struct delivery *d,
                       json_t *p)
{
    json_t *counts = json_object_get(p, "counts");
    if (!json_is_object(counts) || smtp_head(f, cfg, d, notify_digest_subject(d->locale)) < 0)
        return -1;
    const char *kind;
    json_t *n;
    json_object_foreach(counts, kind, n)
    {
        fprintf(f, "- %s (%lld)\r\n", notify_text(kind, d->locale),
                (long long)json_integer_value(n));
    }
    fprintf(f, "\r\n%s\r\n", notify_digest_footer(d->locale));
    return 0;
}

/* An invitation (migration 0014): the set-password link and its expiry,
 * nothing else about the person. The token goes in the fragment, which no
 * browser sends to a server, so it reaches no access log. */
static int smtp_invitation(FILE *f, const struct notify_config *cfg, struct delivery *d, json_t *p)
{
    const char *token = json_string_value(json_object_get(p, "token"));
    const char *expires = json_string_value(json_object_get(p, "expires"));
    const char *zone = json_string_value(json_object_get(p, "time_zone"));
    if (!token || !expires || !zone || !cfg->link_base) {
        d->outcome = DELIVERY_FAILED;
        snprintf(d->error, sizeof(d->error), "invitation link spent or expired");
        return -1;
    }
    if (smtp_head(f, cfg, d, notify_invitation_subject(d->locale)) < 0)
        return -1;
    fprintf(f, "%s\r\n\r\n%s/set-password#token=%s\r\n\r\n", notify_invitation_intro(d->locale),
            cfg->link_base, token);
    fprintf(f, "%s %s (%s).\r\n", notify_invitation_expiry(d->locale), expires, zone);
    return 0;
}

/* The message, head and text; malloc'd, or NULL (d->outcome says why). */
static char *smtp_message(const struct notify_config *cfg, struct delivery *d)
{
    json_t *p = json_loads(d->payload, 0, NULL);
    char *out = NULL;
    size_t len = 0;
    FILE *f = p ? open_memstream(&out, &len) : NULL;
    int rc = -1;
    if (f)
        rc = strcmp(d->kind, "invitation") == 0 ? smtp_invitation(f, cfg, d, p)
                                                : smtp_digest(f, cfg, d, p);
    json_decref(p);
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc < 0 && out) {
        OPENSSL_cleanse(out, len);
        free(out);
        out = NULL;
    }
    return out;
}

/* An address fit for the envelope and the To: line. */
static int smtp_address_ok(const char *a)
{
    return a && strlen(a) < 255 && !strpbrk(a, "\r\n<> \"");
}

int chan_smtp_prepare(struct channels *c, struct delivery *d)
{
    const struct notify_config *cfg = c->cfg;
    if (!smtp_address_ok(d->email) || !smtp_address_ok(cfg->smtp_from)) {
        d->outcome = DELIVERY_FAILED;
        snprintf(d->error, sizeof(d->error), "unusable address");
        return -1;
    }
    char *msg = smtp_message(cfg, d);
    char from[300], rcpt[300];
    snprintf(from, sizeof(from), "<%s>", cfg->smtp_from);
    snprintf(rcpt, sizeof(rcpt), "<%s>", d->email);
    if (!msg || delivery_easy(d, cfg, cfg->smtp_url) < 0 ||
        !(d->rcpt = curl_slist_append(NULL, rcpt))) {
        if (msg)
            OPENSSL_cleanse(msg, strlen(msg));
        free(msg);
        return -1;
    }
    d->body = (unsigned char *)msg;
    d->body_len = strlen(msg);
    CURL *e = d->easy;
    int bad = curl_easy_setopt(e, CURLOPT_MAIL_FROM, from) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, d->rcpt) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_INFILESIZE, (long)d->body_len) != CURLE_OK;
    if (cfg->smtp_starttls)
        bad |= curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) != CURLE_OK;
    if (cfg->smtp_user)
        bad |= curl_easy_setopt(e, CURLOPT_USERNAME, cfg->smtp_user) != CURLE_OK;
    if (cfg->smtp_password)
        bad |= curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->smtp_password) != CURLE_OK;
    return bad ? -1 : 0;
}

void chan_smtp_done(struct delivery *d)
{
    if (d->curl_rc == CURLE_OK) {
        d->outcome = DELIVERY_SENT;
        return;
    }
    d->outcome = DELIVERY_RETRY;
    snprintf(d->error, sizeof(d->error), "curl %d", (int)d->curl_rc);
}
