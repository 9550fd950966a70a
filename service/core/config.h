/* config.h - the service's settings, read once from the environment at
 * start-up (config.c; the notification channels' own settings are in
 * notify/notify_config.h). The environment variable of each field, its
 * default and its range are in config.c's table and in the README.
 *
 * Return convention: operations return 0 on success and -1 on failure (with
 * a message in err); getters return the value. */
#ifndef REFLECTD_CONFIG_H
#define REFLECTD_CONFIG_H

#include <stddef.h>

struct config {
    char *database_url;
    char *listen_host;
    int listen_port;
    char *metrics_host; /* the metrics listener; NULL: off */
    int metrics_port;
    int workers;           /* event-loop threads */
    int db_pool_size;      /* connections per worker */
    int db_queue_max;      /* requests that may wait for a connection, per worker */
    int db_wait_ms;        /* how long one may wait before 503 */
    int db_pipeline_depth; /* statements in flight per connection (1: no pipeline) */
    int db_group_commit;   /* creates per shared commit, at most (1: off) */
    int statement_timeout_ms;
    int request_timeout_s;  /* idle timeout, and deadline for a whole request */
    int max_conns_per_addr; /* 0: unlimited */
    size_t max_body_bytes;
    size_t max_header_bytes;
    int shutdown_grace_s;
    /* tokens */
    char *jwt_key;          /* HS256 secret (>= 32 bytes) */
    char *jwt_previous_key; /* accepted for verification during a rotation */
    char *jwt_issuer;
    char *jwt_audience;
    int access_ttl_s;
    int refresh_ttl_s;
    /* passwords (argon2id) */
    int argon2_t_cost;
    int argon2_m_cost_kib;
    int argon2_parallelism;
    int hash_threads;
    int hash_cpu_percent; /* sustained hashing budget, % of one core; 0: unpaced */
    int hash_queue_max;   /* hash jobs waiting at most; 0: unbounded */
    int hash_timeout_ms;  /* a login's hash unanswered this long: 503 */
    /* login throttling */
    int login_max_failures;      /* per e-mail address within the window */
    int login_max_failures_addr; /* per client address (many users share a NAT) */
    int login_window_s;
    /* browsers */
    char *cors_origins; /* comma-separated origins allowed to call from a browser; NULL: none */
    /* the first organisation and its admin (domain/bootstrap.c) */
    char *bootstrap_org;
    char *bootstrap_email;
    char *bootstrap_password;
    /* event streams (handlers/events.c), maintenance and publication */
    int events_heartbeat_s;  /* comment lines on idle event streams */
    int events_retention_h;  /* how long events stay for Last-Event-ID */
    int events_max_per_user; /* open streams per user and instance */
    int janitor_interval_s;  /* how often domain/janitor.c runs */
    int retention_days;      /* reflections older than this are deleted (0: kept) */
    int publish_delay_h;     /* hours after a month closes before it is published */
    int backdate_max_days;   /* how far back occurred_on may lie */
    /* feedback invitations (handlers/invitations.c, handlers/invite_page.c) */
    char *public_base_url;   /* scheme://host[:port][/prefix] of links, no trailing '/' */
    int form_max_posts_addr; /* answers through the form per client address and window */
    int form_max_posts_link; /* ... per invitation link and window */
    int form_window_s;
    int quiet;             /* ACCESS_LOG=off: no access log */
    int dev_defaults_used; /* how many development defaults were taken (DATABASE_URL, JWT_KEY, ...)
                            */

    /* identity providers, import, invitations (issue 17) */
    int oidc_fetch_timeout_ms; /* one request to an identity provider */
    int oidc_min_refresh_s;    /* an unknown kid refetches keys at most this often */
    int oidc_retry_s;          /* a provider that failed is not asked again for this long */
    int import_max_kib;        /* the largest CSV import (JSON bodies: max_body_bytes) */
    int invitation_ttl_h;      /* how long a set-password link is good for */
};

/* Reads the environment through getenv_fn (getenv in production, a table in
 * tests). Returns 0, or -1 with a message in err. */
int config_load(struct config *c, const char *(*getenv_fn)(const char *), char *err, size_t errlen);
void config_free(struct config *c);
/* The largest body any route takes: a CSV import may be larger than a JSON
 * body (each handler checks its own limit). */
size_t config_max_upload_bytes(const struct config *c);
/* The integer setting name through get: def when unset or empty, else a
 * decimal from min to max. Returns 0, or -1 (*out unchanged) with a message
 * in err. */
int config_int(const char *(*get)(const char *), const char *name, int def, int min, int max,
               int *out, char *err, size_t errlen);
/* The string setting name through get, malloc'd: a copy of def (NULL: none)
 * when unset or empty. */
char *config_str(const char *(*get)(const char *), const char *name, const char *def);
/* Parses "host:port"; returns 0 or -1. host is malloc'd. */
int config_parse_addr(const char *s, char **host, int *port);

#endif
