/* delivery.c - what every channel shares: the channels' keys (loaded once
 * when the sender starts), the libcurl easy handle of one attempt, and the
 * reading of HTTP answers (see delivery.h). */
#include "notify/delivery.h"
#include "notify/jws.h"
#include "core/log.h"
#include "notify/notify_text.h"

#include <stdlib.h>
#include <string.h>

static int channels_fcm_account(struct channels *c, const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    const char *email = json_string_value(json_object_get(j, "client_email"));
    const char *pem = json_string_value(json_object_get(j, "private_key"));
    const char *uri = json_string_value(json_object_get(j, "token_uri"));
    const char *project = json_string_value(json_object_get(j, "project_id"));
    int rc = -1;
    if (email && pem && uri && project && (c->fcm_key = jws_key_from_pem(pem))) {
        c->fcm_email = strdup(email);
        c->fcm_token_uri = strdup(uri);
        c->fcm_project = strdup(project);
        rc = c->fcm_email && c->fcm_token_uri && c->fcm_project ? 0 : -1;
    }
    json_decref(j);
    return rc;
}

int channels_init(struct channels *c, const struct notify_config *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    if (cfg->vapid_key_file) {
        if (!(c->vapid = jws_key_from_file(cfg->vapid_key_file))) {
            log_error("WEBPUSH_VAPID_KEY_FILE: cannot read a private key");
            return -1;
        }
    } else if ((c->vapid = jws_p256_generate())) {
        log_warn("WEBPUSH_VAPID_KEY_FILE not set: using a random VAPID key; browsers must "
                 "subscribe again after a restart (development only)");
    }
    if (cfg->apns_key_file && !(c->apns_key = jws_key_from_file(cfg->apns_key_file))) {
        log_error("APNS_KEY_FILE: cannot read a private key");
        return -1;
    }
    if (cfg->fcm_account_file && channels_fcm_account(c, cfg->fcm_account_file) < 0) {
        log_error("FCM_SERVICE_ACCOUNT_FILE: not a service-account key file");
        return -1;
    }
    return c->vapid ? 0 : -1;
}

void channels_free(struct channels *c)
{
    EVP_PKEY_free(c->vapid);
    EVP_PKEY_free(c->apns_key);
    EVP_PKEY_free(c->fcm_key);
    free(c->apns_jwt);
    free(c->fcm_email);
    free(c->fcm_token_uri);
    free(c->fcm_project);
    free(c->fcm_token);
    memset(c, 0, sizeof(*c));
}

int channels_is_ready(const struct channels *c, const char *channel)
{
    const struct notify_config *cfg = c->cfg;
    if (strcmp(channel, "webpush") == 0)
        return c->vapid != NULL;
    if (strcmp(channel, "apns") == 0)
        return c->apns_key && cfg->apns_key_id && cfg->apns_team_id && cfg->apns_topic;
    if (strcmp(channel, "fcm") == 0)
        return c->fcm_key != NULL;
    if (strcmp(channel, "email") == 0)
        return cfg->smtp_url != NULL;
    return 0;
}

static size_t delivery_on_answer(char *data, size_t size, size_t n, void *arg)
{
    struct delivery *d = arg;
    size_t len = size * n, room = sizeof(d->resp) - 1 - d->resp_len;
    size_t keep = len < room ? len : room;
    memcpy(d->resp + d->resp_len, data, keep);
    d->resp_len += keep;
    d->resp[d->resp_len] = '\0';
    return len;
}

static size_t delivery_on_upload(char *buf, size_t size, size_t n, void *arg)
{
    struct delivery *d = arg;
    size_t left = d->body_len - d->body_pos, want = size * n;
    size_t give = left < want ? left : want;
    memcpy(buf, d->body + d->body_pos, give);
    d->body_pos += give;
    return give;
}

int delivery_easy(struct delivery *d, const struct notify_config *cfg, const char *url)
{
    d->outcome = DELIVERY_RETRY;
    if (!(d->easy = curl_easy_init()))
        return -1;
    CURL *e = d->easy;
    int bad = curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, d) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)cfg->timeout_s) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, delivery_on_answer) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, d) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_READFUNCTION, delivery_on_upload) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_READDATA, d) != CURLE_OK;
    /* Push services never redirect; following one would let a
     * subscription's endpoint bounce the server to any address. */
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,smtp,smtps") != CURLE_OK;
    if (cfg->ca_file)
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file) != CURLE_OK;
    return bad ? -1 : 0;
}

struct curl_slist *delivery_headers(const char *const *lines, size_t n)
{
    struct curl_slist *h = NULL;
    for (size_t i = 0; i < n; i++) {
        struct curl_slist *nh = curl_slist_append(h, lines[i]);
        if (!nh) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = nh;
    }
    return h;
}

void delivery_http_outcome(struct delivery *d)
{
    long s = d->http_status;
    if (d->curl_rc != CURLE_OK) {
        d->outcome = DELIVERY_RETRY;
        snprintf(d->error, sizeof(d->error), "curl %d", (int)d->curl_rc);
        return;
    }
    snprintf(d->error, sizeof(d->error), "http %ld", s);
    if (s >= 200 && s < 300)
        d->outcome = DELIVERY_SENT;
    else if (s == 408 || s == 429 || s >= 500)
        d->outcome = DELIVERY_RETRY;
    else
        d->outcome = DELIVERY_FAILED;
}

json_t *delivery_app_fields(const struct delivery *d)
{
    json_t *p = json_loads(d->payload, 0, NULL);
    if (!json_is_object(p)) {
        json_decref(p);
        return NULL;
    }
    if (json_object_set_new(p, "title", json_string(notify_title(d->locale))) < 0 ||
        json_object_set_new(p, "body", json_string(notify_text(d->kind, d->locale))) < 0 ||
        json_object_set_new(p, "kind", json_string(d->kind)) < 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}
