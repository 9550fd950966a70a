/* notify_config.c - reading the channels' settings (see notify_config.h).
 *
 * Every endpoint is configurable so the tests can point the channels at
 * doubles on loopback; the defaults are the real services. A channel without
 * its key material is off: devices of that platform are refused at
 * registration, and the sender says so once at start-up. */
#include "notify/notify_config.h"
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_WEBPUSH_HOSTS                                                                      \
    "fcm.googleapis.com,push.services.mozilla.com,push.apple.com,notify.windows.com"

int notify_config_load(struct notify_config *c, const char *(*get)(const char *), char *err,
                       unsigned errlen)
{
    memset(c, 0, sizeof(*c));
    if (config_int(get, "OUTBOX_SENDER", 1, 0, 1, &c->sender_on, err, errlen) < 0 ||
        config_int(get, "OUTBOX_POLL_MS", 5000, 10, 600000, &c->poll_ms, err, errlen) < 0 ||
        config_int(get, "OUTBOX_BATCH", 32, 1, 1000, &c->batch, err, errlen) < 0 ||
        config_int(get, "OUTBOX_MAX_ATTEMPTS", 8, 1, 100, &c->max_attempts, err, errlen) < 0 ||
        config_int(get, "OUTBOX_BACKOFF_MS", 5000, 1, 3600000, &c->backoff_ms, err, errlen) < 0 ||
        config_int(get, "OUTBOX_BACKOFF_MAX_MS", 3600000, 1, 86400000, &c->backoff_max_ms, err,
                   errlen) < 0 ||
        config_int(get, "OUTBOX_LEASE_S", 120, 5, 3600, &c->lease_s, err, errlen) < 0 ||
        config_int(get, "NOTIFY_TIMEOUT_S", 20, 1, 300, &c->timeout_s, err, errlen) < 0 ||
        config_int(get, "SMTP_STARTTLS", 1, 0, 1, &c->smtp_starttls, err, errlen) < 0)
        return -1;
    if (c->lease_s <= c->timeout_s) {
        /* A lease that ends while the attempt still runs lets a second
         * instance send the same notification. */
        snprintf(err, errlen, "OUTBOX_LEASE_S must be longer than NOTIFY_TIMEOUT_S");
        return -1;
    }
    c->ca_file = config_str(get, "NOTIFY_CA_FILE", NULL);
    c->webpush_hosts = config_str(get, "WEBPUSH_ENDPOINT_HOSTS", DEFAULT_WEBPUSH_HOSTS);
    c->vapid_key_file = config_str(get, "WEBPUSH_VAPID_KEY_FILE", NULL);
    c->vapid_subject = config_str(get, "WEBPUSH_VAPID_SUBJECT", "mailto:admin@localhost");
    c->apns_url = config_str(get, "APNS_URL", "https://api.push.apple.com");
    c->apns_key_file = config_str(get, "APNS_KEY_FILE", NULL);
    c->apns_key_id = config_str(get, "APNS_KEY_ID", NULL);
    c->apns_team_id = config_str(get, "APNS_TEAM_ID", NULL);
    c->apns_topic = config_str(get, "APNS_TOPIC", NULL);
    c->fcm_url = config_str(get, "FCM_URL", "https://fcm.googleapis.com");
    c->fcm_account_file = config_str(get, "FCM_SERVICE_ACCOUNT_FILE", NULL);
    c->smtp_url = config_str(get, "SMTP_URL", NULL);
    c->smtp_user = config_str(get, "SMTP_USER", NULL);
    c->smtp_password = config_str(get, "SMTP_PASSWORD", NULL);
    c->smtp_from = config_str(get, "SMTP_FROM", "reflectd@localhost");
    if (!c->webpush_hosts || !c->vapid_subject || !c->apns_url || !c->fcm_url || !c->smtp_from) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void notify_config_free(struct notify_config *c)
{
    free(c->ca_file);
    free(c->webpush_hosts);
    free(c->vapid_key_file);
    free(c->vapid_subject);
    free(c->apns_url);
    free(c->apns_key_file);
    free(c->apns_key_id);
    free(c->apns_team_id);
    free(c->apns_topic);
    free(c->fcm_url);
    free(c->fcm_account_file);
    free(c->smtp_url);
    free(c->smtp_user);
    free(c->smtp_password);
    free(c->smtp_from);
    memset(c, 0, sizeof(*c));
}

/* Does host end with suffix at a label boundary ("a.push.apple.com" and
 * "push.apple.com" match "push.apple.com"; "evilpush.apple.com" does not)? */
static int nc_host_matches(const char *host, size_t hl, const char *suffix, size_t sl)
{
    if (sl == 0 || sl > hl)
        return 0;
    if (strncasecmp(host + hl - sl, suffix, sl) != 0)
        return 0;
    return hl == sl || host[hl - sl - 1] == '.';
}

int notify_webpush_endpoint_ok(const struct notify_config *c, const char *endpoint)
{
    if (strncmp(endpoint, "https://", 8) != 0)
        return 0;
    const char *host = endpoint + 8;
    size_t hl = strcspn(host, ":/?#");
    if (hl == 0 || memchr(host, '@', hl))
        return 0; /* no userinfo: "https://push.apple.com@internal/" */
    for (const char *s = c->webpush_hosts; *s;) {
        size_t sl = strcspn(s, ",");
        if (nc_host_matches(host, hl, s, sl))
            return 1;
        s += sl + (s[sl] == ',');
    }
    return 0;
}

int notify_platform_is_configured(const struct notify_config *c, const char *platform)
{
    if (strcmp(platform, "webpush") == 0)
        return 1; /* a development key is generated when none is configured */
    if (strcmp(platform, "apns") == 0)
        return c->apns_key_file && c->apns_key_id && c->apns_team_id && c->apns_topic;
    if (strcmp(platform, "fcm") == 0)
        return c->fcm_account_file != NULL;
    return 0;
}
