/* chan_webpush.c - the Web Push channel: the app's fields as JSON,
 * encrypted to the subscription (webpush.c), posted to its endpoint with a
 * VAPID header. 404 and 410 mean the subscription is gone (RFC 8030 7.3). */
#include "core/b64url.h"
#include "notify/delivery.h"
#include "notify/webpush.h"

#include <stdlib.h>
#include <string.h>

static int wp_body(struct delivery *d)
{
    unsigned char ua[65], auth[16];
    if (b64url_decode(d->p256dh, ua, sizeof(ua)) != 65 ||
        b64url_decode(d->auth, auth, sizeof(auth)) != 16)
        return -1;
    json_t *j = delivery_app_fields(d);
    char *plain = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!plain)
        return -1;
    int rc = webpush_encrypt(ua, auth, (const unsigned char *)plain, strlen(plain), &d->body,
                             &d->body_len);
    free(plain);
    return rc;
}

int chan_webpush_prepare(struct channels *c, struct delivery *d)
{
    if (wp_body(d) < 0) {
        d->outcome = DELIVERY_DEAD; /* keys that do not decode or agree never will */
        snprintf(d->error, sizeof(d->error), "bad subscription keys");
        return -1;
    }
    char *vapid = webpush_vapid_header(c->vapid, d->endpoint, c->cfg->vapid_subject);
    if (!vapid || delivery_easy(d, c->cfg, d->endpoint) < 0) {
        free(vapid);
        return -1;
    }
    size_t n = strlen(vapid) + 32;
    char *auth = malloc(n);
    if (auth)
        snprintf(auth, n, "Authorization: %s", vapid);
    free(vapid);
    const char *lines[] = {auth, "Content-Encoding: aes128gcm",
                           "Content-Type: application/octet-stream", "TTL: 86400",
                           "Urgency: normal"};
    struct curl_slist *h = auth ? delivery_headers(lines, sizeof(lines) / sizeof(lines[0])) : NULL;
    free(auth);
    if (!h)
        return -1;
    d->headers = h;
    CURL *e = d->easy;
    int bad = curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)d->body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)d->body_len) != CURLE_OK;
    return bad ? -1 : 0;
}

void chan_webpush_done(struct delivery *d)
{
    delivery_http_outcome(d);
    if (d->curl_rc == CURLE_OK && (d->http_status == 404 || d->http_status == 410))
        d->outcome = DELIVERY_DEAD;
}
