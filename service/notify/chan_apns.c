/* chan_apns.c - Apple Push Notification service over HTTP/2 with a
 * token-based (ES256) provider JWT, reused for 40 minutes (Apple refuses
 * tokens older than an hour and throttles renewals more often than every 20).
 * 410 Unregistered and 400 BadDeviceToken mean the token is dead; 403
 * ExpiredProviderToken drops the cached JWT and retries. */
#include "notify/delivery.h"
#include "notify/jws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *apns_jwt(struct channels *c)
{
    time_t now = time(NULL);
    if (c->apns_jwt && now - c->apns_jwt_at < 40 * 60)
        return c->apns_jwt;
    char header[160], claims[160];
    snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", c->cfg->apns_key_id);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"iat\":%lld}", c->cfg->apns_team_id,
             (long long)now);
    char *jwt = jws_sign(c->apns_key, header, claims);
    if (!jwt)
        return NULL;
    free(c->apns_jwt);
    c->apns_jwt = jwt;
    c->apns_jwt_at = now;
    return jwt;
}

static char *apns_body(const struct delivery *d)
{
    json_t *f = delivery_app_fields(d);
    if (!f)
        return NULL;
    json_t *alert = json_pack("{s:O,s:O}", "title", json_object_get(f, "title"), "body",
                              json_object_get(f, "body"));
    json_object_del(f, "title");
    json_object_del(f, "body");
    char *s = NULL;
    if (alert && json_object_set_new(f, "aps", json_pack("{s:o}", "alert", alert)) == 0)
        s = json_dumps(f, JSON_COMPACT);
    else
        json_decref(alert);
    json_decref(f);
    return s;
}

static struct curl_slist *apns_headers(struct channels *c, const char *jwt)
{
    char auth[600], topic[300];
    snprintf(auth, sizeof(auth), "authorization: bearer %s", jwt);
    snprintf(topic, sizeof(topic), "apns-topic: %s", c->cfg->apns_topic);
    const char *lines[] = {auth, topic, "apns-push-type: alert", "apns-priority: 10",
                           "content-type: application/json"};
    return delivery_headers(lines, sizeof(lines) / sizeof(lines[0]));
}

int chan_apns_prepare(struct channels *c, struct delivery *d)
{
    const char *jwt = apns_jwt(c);
    char *body = apns_body(d);
    size_t n = strlen(c->cfg->apns_url) + strlen(d->token) + 16;
    d->url = malloc(n);
    if (!jwt || !body || !d->url) {
        free(body);
        return -1;
    }
    snprintf(d->url, n, "%s/3/device/%s", c->cfg->apns_url, d->token);
    d->body = (unsigned char *)body;
    d->body_len = strlen(body);
    if (delivery_easy(d, c->cfg, d->url) < 0 || !(d->headers = apns_headers(c, jwt)))
        return -1;
    CURL *e = d->easy;
    int bad = curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)d->body_len) != CURLE_OK;
    return bad ? -1 : 0;
}

void chan_apns_done(struct channels *c, struct delivery *d)
{
    delivery_http_outcome(d);
    if (d->curl_rc != CURLE_OK)
        return;
    if (d->http_status == 410 || (d->http_status == 400 && strstr(d->resp, "\"BadDeviceToken\""))) {
        d->outcome = DELIVERY_DEAD;
    } else if (d->http_status == 403 && strstr(d->resp, "\"ExpiredProviderToken\"")) {
        /* Apple's clock or ours moved: sign a new provider token and retry. */
        free(c->apns_jwt);
        c->apns_jwt = NULL;
        d->outcome = DELIVERY_RETRY;
    }
}
