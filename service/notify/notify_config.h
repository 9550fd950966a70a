/* notify_config.h - settings of the notification channels (issue 15), read
 * from the environment once at start-up, apart from config.c so that the
 * channels' many settings stay next to the code that uses them.
 *
 * Return convention: operations return 0 on success and -1 on failure;
 * predicates (notify_platform_is_configured, notify_webpush_endpoint_ok)
 * return 1 for true, 0 for false. */
#ifndef REFLECTD_NOTIFY_CONFIG_H
#define REFLECTD_NOTIFY_CONFIG_H

struct notify_config {
    int sender_on;      /* OUTBOX_SENDER: 0 runs no sender on this instance */
    int poll_ms;        /* OUTBOX_POLL_MS: look for due rows at least this often */
    int batch;          /* OUTBOX_BATCH: rows claimed at once */
    int max_attempts;   /* OUTBOX_MAX_ATTEMPTS: then the row is marked failed */
    int backoff_ms;     /* OUTBOX_BACKOFF_MS: first retry delay, doubled per attempt */
    int backoff_max_ms; /* OUTBOX_BACKOFF_MAX_MS */
    int lease_s;        /* OUTBOX_LEASE_S: a claimed row is another's again after this */
    int timeout_s;      /* NOTIFY_TIMEOUT_S: one delivery attempt at most */
    char *ca_file;      /* NOTIFY_CA_FILE: CA bundle for every channel; NULL: system's */
    /* Web Push (RFC 8030/8291/8292) */
    char *webpush_hosts;  /* WEBPUSH_ENDPOINT_HOSTS: comma-separated host suffixes */
    char *vapid_key_file; /* WEBPUSH_VAPID_KEY_FILE: P-256 private key, PEM */
    char *vapid_subject;  /* WEBPUSH_VAPID_SUBJECT: mailto: or https: contact */
    /* APNs (HTTP/2, ES256 provider token) */
    char *apns_url; /* APNS_URL */
    char *apns_key_file, *apns_key_id, *apns_team_id, *apns_topic;
    /* FCM HTTP v1 (service-account JWT -> OAuth 2 access token) */
    char *fcm_url;          /* FCM_URL */
    char *fcm_account_file; /* FCM_SERVICE_ACCOUNT_FILE: Google's JSON key file */
    /* SMTP digests */
    char *smtp_url; /* SMTP_URL: smtp://host:port; NULL: no e-mail */
    char *smtp_user, *smtp_password, *smtp_from;
    int smtp_starttls; /* SMTP_STARTTLS: 1 (default) requires STARTTLS */
    /* PUBLIC_BASE_URL, for the links in invitation e-mails: config.c's,
     * borrowed (main.c sets it); NULL: invitations cannot be sent. */
    const char *link_base;
};

/* Returns 0, or -1 with a message in err. */
int notify_config_load(struct notify_config *c, const char *(*get)(const char *), char *err,
                       unsigned errlen);
void notify_config_free(struct notify_config *c);
/* Can devices of platform (apns, fcm, webpush) be registered here? */
int notify_platform_is_configured(const struct notify_config *c, const char *platform);
/* May the service POST to this Web Push endpoint? https, and the host ends
 * with one of WEBPUSH_ENDPOINT_HOSTS (the push services; never an address
 * a user picks, or the server could be made to call internal hosts). */
int notify_webpush_endpoint_ok(const struct notify_config *c, const char *endpoint);

#endif
