/* chan_fcm.c - Firebase Cloud Messaging HTTP v1.
 *
 * The service account's RS256 JWT is exchanged for an OAuth 2 access token
 * (RFC 7523 grant) and the token is cached until a minute before it
 * expires. The exchange is a blocking libcurl call on the sender's thread,
 * never on an API event loop; it happens about once an hour, and while it
 * runs this instance only delays its own deliveries (another instance's
 * sender keeps claiming). A 401 drops the cached token. 404 / UNREGISTERED
 * means the registration token is dead. */
#include "notify/delivery.h"
#include "notify/jws.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fcm_assertion(struct channels *c, time_t now)
{
    json_t *claims =
        json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", c->fcm_email, "scope",
                  "https://www.googleapis.com/auth/firebase.messaging", "aud", c->fcm_token_uri,
                  "iat", (json_int_t)now, "exp", (json_int_t)now + 3600);
    char *text = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    char *jwt = text ? jws_sign(c->fcm_key, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", text) : NULL;
    free(text);
    return jwt;
}

/* Reads {"access_token": ..., "expires_in": n} into the cache. */
static int fcm_take_token(struct channels *c, const char *answer, time_t now)
{
    json_t *j = json_loads(answer, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    json_int_t ttl = json_integer_value(json_object_get(j, "expires_in"));
    int rc = -1;
    if (tok && ttl > 60 && strlen(tok) < 4096 && !strpbrk(tok, "\r\n")) {
        free(c->fcm_token);
        c->fcm_token = strdup(tok);
        c->fcm_token_exp = now + (time_t)ttl - 60;
        rc = c->fcm_token ? 0 : -1;
    }
    json_decref(j);
    return rc;
}

static int fcm_access_token(struct channels *c)
{
    time_t now = time(NULL);
    if (c->fcm_token && now < c->fcm_token_exp)
        return 0;
    char *jwt = fcm_assertion(c, now);
    struct delivery t = {0};
    size_t n = jwt ? strlen(jwt) + 96 : 0;
    char *form = jwt ? malloc(n) : NULL;
    int rc = -1;
    if (form && delivery_easy(&t, c->cfg, c->fcm_token_uri) == 0) {
        snprintf(form, n,
                 "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
                 "&assertion=%s",
                 jwt);
        if (curl_easy_setopt(t.easy, CURLOPT_POSTFIELDS, form) == CURLE_OK &&
            curl_easy_perform(t.easy) == CURLE_OK &&
            curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.http_status) == CURLE_OK &&
            t.http_status == 200)
            rc = fcm_take_token(c, t.resp, now);
    }
    if (rc < 0)
        log_warn("fcm: no access token (http %ld)", t.http_status);
    curl_easy_cleanup(t.easy);
    free(form);
    free(jwt);
    return rc;
}

static char *fcm_body(const struct delivery *d)
{
    json_t *f = delivery_app_fields(d);
    if (!f)
        return NULL;
    json_t *data = json_object(), *msg = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(f, key, v)
    {
        if (json_is_string(v) && strcmp(key, "title") && strcmp(key, "body"))
            json_object_set(data, key, v); /* FCM data values are strings */
    }
    msg = json_pack("{s:{s:s,s:{s:O,s:O},s:o}}", "message", "token", d->token, "notification",
                    "title", json_object_get(f, "title"), "body", json_object_get(f, "body"),
                    "data", data);
    json_decref(f);
    char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    return s;
}

int chan_fcm_prepare(struct channels *c, struct delivery *d)
{
    if (fcm_access_token(c) < 0)
        return -1;
    char *body = fcm_body(d);
    size_t n = strlen(c->cfg->fcm_url) + strlen(c->fcm_project) + 40;
    d->url = malloc(n);
    char auth[4200];
    if (!body || !d->url) {
        free(body);
        return -1;
    }
    snprintf(d->url, n, "%s/v1/projects/%s/messages:send", c->cfg->fcm_url, c->fcm_project);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->fcm_token);
    d->body = (unsigned char *)body;
    d->body_len = strlen(body);
    if (delivery_easy(d, c->cfg, d->url) < 0)
        return -1;
    const char *lines[] = {auth, "Content-Type: application/json"};
    if (!(d->headers = delivery_headers(lines, 2)))
        return -1;
    CURL *e = d->easy;
    int bad = curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)d->body_len) != CURLE_OK;
    return bad ? -1 : 0;
}

void chan_fcm_done(struct channels *c, struct delivery *d)
{
    delivery_http_outcome(d);
    if (d->curl_rc != CURLE_OK)
        return;
    if (d->http_status == 401) {
        free(c->fcm_token); /* expired or revoked early: fetch a new one */
        c->fcm_token = NULL;
        d->outcome = DELIVERY_RETRY;
    } else if (d->http_status == 404 || strstr(d->resp, "\"UNREGISTERED\"")) {
        d->outcome = DELIVERY_DEAD;
    }
}
