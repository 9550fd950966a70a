/* delivery.h - one attempt to deliver one outbox row, as the sender
 * (sender.c) and the channels (chan_webpush.c, chan_apns.c, chan_fcm.c,
 * chan_smtp.c) share it. A channel's prepare() turns the row into a libcurl
 * easy handle the sender runs on its multi handle; its done() reads the
 * answer and sets the outcome. Only the sender's thread touches these.
 *
 * Return convention: operations (channels_init, delivery_easy, the
 * prepare()s) return 0 on success and -1 on failure; the predicate
 * channels_is_ready returns 1 for true, 0 for false; constructors return the
 * object or NULL. */
#ifndef REFLECTD_DELIVERY_H
#define REFLECTD_DELIVERY_H

#include "notify/notify_config.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <time.h>

enum delivery_outcome {
    DELIVERY_SENT,   /* the push service or mail server took it: delete the row */
    DELIVERY_RETRY,  /* try again later, with backoff (5xx, 429, network, SMTP down) */
    DELIVERY_DEAD,   /* the token or subscription is gone: delete the device */
    DELIVERY_FAILED, /* will never work (refused, not configured): mark failed */
};

struct delivery {
    long long id;
    char channel[8];
    int attempts;
    double waited_s; /* since the cause committed */
    char *kind, *locale, *payload, *token, *endpoint, *p256dh, *auth, *email;
    CURL *easy;
    struct curl_slist *headers, *rcpt;
    char *url;
    unsigned char *body;
    size_t body_len, body_pos;
    char resp[2048]; /* the answer's first bytes (error codes are at the start) */
    size_t resp_len;
    long http_status;
    long long retry_after_s; /* the answer's Retry-After in seconds, 0 when none */
    CURLcode curl_rc;
    enum delivery_outcome outcome;
    char error[96]; /* for last_error and logs: codes only, never personal data */
};

/* Key material and cached tokens of every channel. */
struct channels {
    const struct notify_config *cfg;
    EVP_PKEY *vapid;
    EVP_PKEY *apns_key;
    char *apns_jwt;
    time_t apns_jwt_at;
    EVP_PKEY *fcm_key;
    char *fcm_email, *fcm_token_uri, *fcm_project;
    char *fcm_token;
    time_t fcm_token_exp;
};

int channels_init(struct channels *c, const struct notify_config *cfg);
void channels_free(struct channels *c);
/* Is the platform (apns, fcm, webpush) or e-mail configured? */
int channels_is_ready(const struct channels *c, const char *channel);

/* Common to every channel: an easy handle for url with the timeouts, the
 * CA bundle, the answer captured into d->resp and d->body as the upload.
 * Returns 0, or -1 (outcome RETRY: out of memory is passing). */
int delivery_easy(struct delivery *d, const struct notify_config *cfg, const char *url);
/* A header list of n lines (copied), or NULL when out of memory. */
struct curl_slist *delivery_headers(const char *const *lines, size_t n);
/* Sets d->outcome from an HTTP answer: 2xx sent; 408, 429, 5xx and no
 * answer at all retry; anything else failed. Channels then look for their
 * dead-token answers. */
void delivery_http_outcome(struct delivery *d);
/* The push's JSON fields for the app: title, body and the payload's ids,
 * as a jansson object (new reference) or NULL. */
json_t *delivery_app_fields(const struct delivery *d);

int chan_webpush_prepare(struct channels *c, struct delivery *d);
void chan_webpush_done(struct delivery *d);
int chan_apns_prepare(struct channels *c, struct delivery *d);
void chan_apns_done(struct channels *c, struct delivery *d);
int chan_fcm_prepare(struct channels *c, struct delivery *d);
void chan_fcm_done(struct channels *c, struct delivery *d);
int chan_smtp_prepare(struct channels *c, struct delivery *d);
void chan_smtp_done(struct delivery *d);

#endif
