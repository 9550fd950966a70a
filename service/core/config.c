/* config.c - reading settings from environment variables.
 *
 * Every setting has a default so that `bin/reflectd` starts with nothing but
 * DATABASE_URL. Defaults that are only safe for development (a generated
 * signing key) are announced with a warning at start-up. Numbers are parsed
 * strictly: "12abc" or an out-of-range value is an error, not a surprise. */
#include "core/config.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int config_parse_addr(const char *s, char **host, int *port)
{
    *host = NULL;
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -1;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
        return -1;
    size_t hl = (size_t)(colon - s);
    int open = s[0] == '[', close = s[hl - 1] == ']';
    if (open != close || (open && hl < 3))
        return -1; /* "[::1:8080", "::1]:8080" */
    if (open) {    /* [::1]:8080 */
        s++;
        hl -= 2;
    } else if (memchr(s, ':', hl)) {
        return -1; /* IPv6 needs brackets */
    }
    if (memchr(s, ' ', hl) || memchr(s, '[', hl) || memchr(s, ']', hl))
        return -1;
    *host = strndup(s, hl);
    *port = (int)p;
    return *host ? 0 : -1;
}

int config_int(const char *(*get)(const char *), const char *name, int def, int min, int max,
               int *out, char *err, size_t errlen)
{
    const char *v = get(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max) {
        snprintf(err, errlen, "%s must be an integer from %d to %d", name, min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

char *config_str(const char *(*get)(const char *), const char *name, const char *def)
{
    const char *v = get(name);
    if (v && *v)
        return strdup(v);
    return def ? strdup(def) : NULL;
}

/* A random 256-bit key, hex-encoded: tokens die with the process. */
static char *config_generated_key(void)
{
    unsigned char raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return NULL;
    char *hex = malloc(65);
    if (!hex)
        return NULL;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return hex;
}

struct int_setting {
    const char *name;
    int def, min, max;
    size_t offset;
};

#define S(name, def, min, max, field)                                                              \
    {                                                                                              \
        name, def, min, max, offsetof(struct config, field)                                        \
    }
static const struct int_setting int_settings[] = {
    S("WORKERS", 0, 0, 256, workers),
    S("DB_POOL_SIZE", 4, 1, 64, db_pool_size),
    S("DB_QUEUE_MAX", 1024, 0, 1000000, db_queue_max),
    S("DB_WAIT_MS", 2000, 1, 600000, db_wait_ms),
    S("DB_PIPELINE_DEPTH", 1, 1, 64, db_pipeline_depth),
    S("DB_GROUP_COMMIT", 16, 1, 64, db_group_commit),
    S("STATEMENT_TIMEOUT_MS", 5000, 1, 3600000, statement_timeout_ms),
    S("REQUEST_TIMEOUT_S", 30, 1, 3600, request_timeout_s),
    S("MAX_CONNS_PER_ADDR", 1024, 0, 1000000, max_conns_per_addr),
    S("SHUTDOWN_GRACE_S", 10, 0, 3600, shutdown_grace_s),
    S("ACCESS_TOKEN_TTL_S", 900, 30, 86400, access_ttl_s),
    S("REFRESH_TOKEN_TTL_S", 30 * 86400, 60, 365 * 86400, refresh_ttl_s),
    S("ARGON2_T_COST", 3, 1, 100, argon2_t_cost),
    S("ARGON2_M_COST_KIB", 65536, 8, 4 * 1024 * 1024, argon2_m_cost_kib),
    S("ARGON2_PARALLELISM", 1, 1, 16, argon2_parallelism),
    S("HASH_THREADS", 2, 1, 64, hash_threads),
    S("HASH_CPU_PERCENT", 10, 0, 6400, hash_cpu_percent),
    S("HASH_QUEUE_MAX", 64, 0, 100000, hash_queue_max),
    S("HASH_TIMEOUT_MS", 30000, 100, 600000, hash_timeout_ms),
    S("LOGIN_MAX_FAILURES", 5, 1, 1000000, login_max_failures),
    S("LOGIN_MAX_FAILURES_ADDR", 50, 1, 1000000, login_max_failures_addr),
    S("LOGIN_WINDOW_S", 900, 1, 86400, login_window_s),
    S("EVENTS_HEARTBEAT_S", 15, 1, 3600, events_heartbeat_s),
    S("EVENTS_RETENTION_H", 168, 1, 24 * 365, events_retention_h),
    S("EVENTS_MAX_PER_USER", 5, 1, 1000, events_max_per_user),
    S("RETENTION_DAYS", 0, 0, 36500, retention_days),
    S("JANITOR_INTERVAL_S", 60, 1, 86400, janitor_interval_s),
    S("PUBLISH_DELAY_H", 24, 0, 24 * 31, publish_delay_h),
    S("BACKDATE_MAX_DAYS", 365, 1, 3660, backdate_max_days),
    S("FEEDBACK_FORM_MAX_ADDR", 30, 1, 1000000, form_max_posts_addr),
    S("FEEDBACK_FORM_MAX_LINK", 10, 1, 1000000, form_max_posts_link),
    S("FEEDBACK_FORM_WINDOW_S", 3600, 1, 86400, form_window_s),
    S("OIDC_FETCH_TIMEOUT_MS", 5000, 100, 60000, oidc_fetch_timeout_ms),
    S("OIDC_KEYS_MIN_REFRESH_S", 60, 0, 86400, oidc_min_refresh_s),
    S("OIDC_RETRY_S", 10, 0, 3600, oidc_retry_s),
    S("IMPORT_MAX_KIB", 8192, 1, 65536, import_max_kib),
    S("INVITATION_TTL_H", 168, 1, 24 * 60, invitation_ttl_h),
};
#undef S

static int config_ints(struct config *c, const char *(*get)(const char *), char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(int_settings) / sizeof(int_settings[0]); i++) {
        const struct int_setting *s = &int_settings[i];
        int *field = (int *)((char *)c + s->offset);
        if (config_int(get, s->name, s->def, s->min, s->max, field, err, errlen) < 0)
            return -1;
    }
    int kib;
    if (config_int(get, "MAX_BODY_KIB", 256, 1, 65536, &kib, err, errlen) < 0)
        return -1;
    c->max_body_bytes = (size_t)kib * 1024;
    if (config_int(get, "MAX_HEADER_KIB", 16, 1, 1024, &kib, err, errlen) < 0)
        return -1;
    c->max_header_bytes = (size_t)kib * 1024;
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n > 0 ? (int)n : 1;
    }
    return 0;
}

static int config_keys(struct config *c, const char *(*get)(const char *), char *err, size_t errlen)
{
    c->jwt_key = config_str(get, "JWT_KEY", NULL);
    c->jwt_previous_key = config_str(get, "JWT_PREVIOUS_KEY", NULL);
    if (!c->jwt_key) {
        c->jwt_key = config_generated_key();
        c->dev_defaults_used++;
        log_warn("JWT_KEY not set: using a random key; tokens will not survive a restart "
                 "and instances will not accept each other's tokens");
    }
    if (!c->jwt_key || strlen(c->jwt_key) < 32) {
        snprintf(err, errlen, "JWT_KEY must be at least 32 characters");
        return -1;
    }
    if (c->jwt_previous_key && strlen(c->jwt_previous_key) < 32) {
        snprintf(err, errlen, "JWT_PREVIOUS_KEY must be at least 32 characters");
        return -1;
    }
    c->jwt_issuer = config_str(get, "JWT_ISSUER", "reflectd");
    c->jwt_audience = config_str(get, "JWT_AUDIENCE", "reflect-app");
    return 0;
}

/* METRICS_ADDR: unset means the loopback default; "off" or set but empty
 * turns the listener off (metrics_host stays NULL). */
static int config_metrics_addr(struct config *c, const char *(*get)(const char *), char *err,
                               size_t errlen)
{
    const char *addr = get("METRICS_ADDR");
    if (addr && (!*addr || strcmp(addr, "off") == 0))
        return 0;
    if (config_parse_addr(addr ? addr : "127.0.0.1:9090", &c->metrics_host, &c->metrics_port) < 0) {
        snprintf(err, errlen, "METRICS_ADDR must be host:port or off");
        return -1;
    }
    return 0;
}

/* PUBLIC_BASE_URL: where phones reach this service, for the links in
 * feedback invitations (behind a proxy it is the proxy's address). Only
 * plain characters: the value goes into HTML, JSON and QR codes as is. */
static int config_public_base_url(struct config *c, const char *(*get)(const char *), char *err,
                                  size_t errlen)
{
    const char *v = get("PUBLIC_BASE_URL");
    if (!v || !*v) {
        size_t n = strlen(c->listen_host) + 32;
        c->public_base_url = malloc(n);
        if (!c->public_base_url)
            return -1;
        int v6 = strchr(c->listen_host, ':') != NULL;
        snprintf(c->public_base_url, n, "http://%s%s%s:%d", v6 ? "[" : "", c->listen_host,
                 v6 ? "]" : "", c->listen_port);
        log_warn("PUBLIC_BASE_URL not set: feedback links point at %s", c->public_base_url);
        return 0;
    }
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == '/')
        n--;
    const char *host = strncmp(v, "https://", 8) == 0  ? v + 8
                       : strncmp(v, "http://", 7) == 0 ? v + 7
                                                       : NULL;
    size_t plain = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "-._~:/[]");
    if (!host || plain < n || host >= v + n || *host == '/' || *host == ':') {
        snprintf(err, errlen, "PUBLIC_BASE_URL must be http(s)://host[:port][/path]");
        return -1;
    }
    c->public_base_url = strndup(v, n);
    return c->public_base_url ? 0 : -1;
}

int config_load(struct config *c, const char *(*get)(const char *), char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->database_url = config_str(get, "DATABASE_URL", NULL);
    if (!c->database_url) {
        c->database_url = strdup("host=127.0.0.1 port=5432 dbname=reflect user=postgres");
        c->dev_defaults_used++;
        log_warn("DATABASE_URL not set: using %s", c->database_url);
    }
    const char *addr = get("LISTEN_ADDR");
    if (config_parse_addr(addr && *addr ? addr : "127.0.0.1:8080", &c->listen_host,
                          &c->listen_port) < 0) {
        snprintf(err, errlen, "LISTEN_ADDR must be host:port");
        return -1;
    }
    if (config_metrics_addr(c, get, err, errlen) < 0 || config_ints(c, get, err, errlen) < 0 ||
        config_keys(c, get, err, errlen) < 0)
        return -1;
    if (config_public_base_url(c, get, err, errlen) < 0)
        return -1;
    c->cors_origins = config_str(get, "CORS_ORIGINS", NULL);
    c->bootstrap_org = config_str(get, "BOOTSTRAP_ORG_NAME", NULL);
    c->bootstrap_email = config_str(get, "BOOTSTRAP_ADMIN_EMAIL", NULL);
    c->bootstrap_password = config_str(get, "BOOTSTRAP_ADMIN_PASSWORD", NULL);
    const char *q = get("ACCESS_LOG");
    c->quiet = q && strcmp(q, "off") == 0;
    return 0;
}

size_t config_max_upload_bytes(const struct config *c)
{
    size_t import = (size_t)c->import_max_kib * 1024;
    return import > c->max_body_bytes ? import : c->max_body_bytes;
}

void config_free(struct config *c)
{
    free(c->database_url);
    free(c->listen_host);
    free(c->metrics_host);
    free(c->jwt_key);
    free(c->jwt_previous_key);
    free(c->jwt_issuer);
    free(c->jwt_audience);
    free(c->cors_origins);
    free(c->public_base_url);
    free(c->bootstrap_org);
    free(c->bootstrap_email);
    free(c->bootstrap_password);
    memset(c, 0, sizeof(*c));
}
