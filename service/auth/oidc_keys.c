/* oidc_keys.c - the signing keys of the organisations' identity providers.
 *
 * Verifying an ID token needs the provider's public keys, published at the
 * jwks_uri of its discovery document ({issuer}/.well-known/openid-
 * configuration). Fetching them is network I/O that may take seconds or
 * hang, so it never runs on an event loop: one fetch thread takes jobs from
 * a queue and uses libcurl with short timeouts, and each result goes back
 * to the loop that asked through event_base_once (as hasher.c does).
 *
 * Keys are cached per issuer, for good: providers rotate by publishing the
 * new key before signing with it, so a token with a kid the cache does not
 * know triggers one refetch - at most every min_refresh_s per issuer, or a
 * stream of made-up kids would have the service hammer the provider. A
 * failed fetch is remembered for retry_s: meanwhile tokens that need a
 * fetch get "unavailable" (503) at once instead of each waiting for the
 * timeout, and a provider that is down never ties up the thread for long.
 *
 * The cache lock is held while a token is checked against a cached key set
 * (a signature check takes tens of microseconds), never during a fetch. */
#include "auth/oidc_keys.h"
#include "core/clock.h"
#include "core/log.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#define OIDC_DOC_MAX   (512 * 1024) /* discovery document or JWKS */
#define OIDC_CACHE_MAX 1000

struct issuer_keys {
    TAILQ_ENTRY(issuer_keys) next;
    char *issuer;
    struct jwks *ks;   /* NULL until a fetch succeeded */
    double fetched_at; /* monotonic seconds of the last good fetch */
    double failed_at;  /* ... and of the last failed one */
};

struct fetch_job {
    TAILQ_ENTRY(fetch_job) next;
    char *issuer, *token;
    struct event_base *base;
    oidc_keys_done done;
    void *arg;
    double queued_at;
    int status;
    json_t *claims;
};

struct oidc_keys {
    struct oidc_keys_params params;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    // cppcheck-suppress unusedStructMember
    TAILQ_HEAD(, fetch_job) queue;
    // cppcheck-suppress unusedStructMember
    TAILQ_HEAD(, issuer_keys) cache;
    int queued, ncache, stopping, started;
    pthread_t thread;
};

/* Only an exact host after the scheme: "http://127.0.0.1.evil.example" is
 * not loopback. */
static int loopback_http(const char *url)
{
    static const char *const hosts[] = {"http://127.0.0.1", "http://localhost", "http://[::1]",
                                        NULL};
    for (int i = 0; hosts[i]; i++) {
        size_t n = strlen(hosts[i]);
        if (strncmp(url, hosts[i], n) == 0 && (url[n] == ':' || url[n] == '/' || !url[n]))
            return 1;
    }
    return 0;
}

int oidc_url_allowed(const char *url)
{
    if (!url || strlen(url) > 500)
        return 0;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return 0;
    return (strncmp(url, "https://", 8) == 0 && url[8] && url[8] != '/') || loopback_http(url);
}

struct body {
    char *data;
    size_t len;
};

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > OIDC_DOC_MAX)
        return 0; /* too large: curl aborts the transfer */
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* GET url; the body of a 200, malloc'd, or NULL. No redirects: the
 * document must be where the issuer says. */
static char *fetch_url(const char *url, int timeout_ms, size_t *len)
{
    if (!oidc_url_allowed(url))
        return NULL;
    CURL *c = curl_easy_init();
    struct body b = {NULL, 0};
    long status = 0;
    if (!c)
        return NULL;
    int ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_WRITEDATA, &b) == CURLE_OK &&
             curl_easy_perform(c) == CURLE_OK &&
             curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
    curl_easy_cleanup(c);
    if (!ok || !b.data) {
        free(b.data);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

/* The discovery document, then the JWKS it names; NULL on any failure. */
static struct jwks *fetch_keys(const char *issuer, int timeout_ms)
{
    size_t il = strlen(issuer), len = 0;
    char *url = malloc(il + 40);
    if (!url)
        return NULL;
    snprintf(url, il + 40, "%.*s/.well-known/openid-configuration",
             (int)(issuer[il - 1] == '/' ? il - 1 : il), issuer);
    char *doc = fetch_url(url, timeout_ms, &len);
    free(url);
    json_t *d = doc ? json_loadb(doc, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(doc);
    /* OpenID Connect Discovery 4.3: the document's issuer is exactly ours. */
    const char *iss = json_string_value(json_object_get(d, "issuer"));
    const char *jwks_uri = json_string_value(json_object_get(d, "jwks_uri"));
    char *keys =
        iss && jwks_uri && strcmp(iss, issuer) == 0 ? fetch_url(jwks_uri, timeout_ms, &len) : NULL;
    json_decref(d);
    struct jwks *ks = keys ? jwks_parse(keys, len) : NULL;
    free(keys);
    if (ks && jwks_count(ks) == 0) {
        jwks_free(ks);
        ks = NULL;
    }
    return ks;
}

/* Under the lock. */
static struct issuer_keys *cache_get(struct oidc_keys *k, const char *issuer, int create)
{
    struct issuer_keys *e;
    TAILQ_FOREACH(e, &k->cache, next)
    if (strcmp(e->issuer, issuer) == 0)
        return e;
    if (!create || k->ncache >= OIDC_CACHE_MAX)
        return NULL;
    e = calloc(1, sizeof(*e));
    if (!e || !(e->issuer = strdup(issuer))) {
        free(e);
        return NULL;
    }
    e->fetched_at = e->failed_at = -1e9;
    TAILQ_INSERT_TAIL(&k->cache, e, next);
    k->ncache++;
    return e;
}

static void job_free(struct fetch_job *j)
{
    json_decref(j->claims);
    free(j->issuer);
    free(j->token);
    free(j);
}

static void job_deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct fetch_job *j = arg;
    json_t *claims = j->claims;
    j->claims = NULL; /* the callee's now */
    j->done(j->status, claims, j->arg);
    job_free(j);
}

static void job_hand_back(struct oidc_keys *k, struct fetch_job *j)
{
    pthread_mutex_lock(&k->lock);
    int stopping = k->stopping;
    pthread_mutex_unlock(&k->lock);
    if (stopping || event_base_once(j->base, -1, EV_TIMEOUT, job_deliver, j, NULL) < 0) {
        if (!stopping)
            log_error("oidc: cannot deliver a result");
        job_free(j);
    }
}

/* Decides j from the cache, under the lock: 1 when decided (status set),
 * 0 when a fetch is needed. since: fetches older than this do not count
 * as fresh (the job's queueing time, for the fetch thread). */
static int cache_decide(struct oidc_keys *k, struct issuer_keys *e, struct fetch_job *j,
                        double since)
{
    double now = clock_mono_s();
    if (e->ks) {
        j->status = idtoken_verify(e->ks, j->token, &j->claims);
        if (j->status != IDTOKEN_UNKNOWN_KEY)
            return 1;
    }
    int fresh = e->fetched_at >= since || now - e->fetched_at < k->params.min_refresh_s;
    int failed = e->failed_at >= since || now - e->failed_at < k->params.retry_s;
    if (fresh || failed) {
        if (!e->ks)
            j->status = OIDC_KEYS_UNAVAILABLE;
        return 1;
    }
    return 0;
}

/* On the fetch thread: decide j, fetching when the cache cannot. */
static void fetch_run(struct oidc_keys *k, struct fetch_job *j)
{
    pthread_mutex_lock(&k->lock);
    struct issuer_keys *e = cache_get(k, j->issuer, 1);
    int decided = !e || cache_decide(k, e, j, j->queued_at);
    if (!e)
        j->status = OIDC_KEYS_UNAVAILABLE;
    pthread_mutex_unlock(&k->lock);
    if (decided)
        return;
    struct jwks *ks = fetch_keys(j->issuer, k->params.fetch_timeout_ms);
    pthread_mutex_lock(&k->lock);
    if (ks) {
        jwks_free(e->ks);
        e->ks = ks;
        e->fetched_at = clock_mono_s();
    } else {
        log_info("oidc: cannot fetch the keys of %s", j->issuer);
        e->failed_at = clock_mono_s();
    }
    cache_decide(k, e, j, 0);
    pthread_mutex_unlock(&k->lock);
}

static struct fetch_job *fetch_next(struct oidc_keys *k)
{
    pthread_mutex_lock(&k->lock);
    while (!k->stopping && TAILQ_EMPTY(&k->queue))
        pthread_cond_wait(&k->cond, &k->lock);
    struct fetch_job *j = k->stopping ? NULL : TAILQ_FIRST(&k->queue);
    if (j) {
        TAILQ_REMOVE(&k->queue, j, next);
        k->queued--;
    }
    pthread_mutex_unlock(&k->lock);
    return j;
}

static void *fetch_thread(void *arg)
{
    struct oidc_keys *k = arg;
    struct fetch_job *j;
    while ((j = fetch_next(k))) {
        fetch_run(k, j);
        job_hand_back(k, j);
    }
    return NULL;
}

struct oidc_keys *oidc_keys_new(const struct oidc_keys_params *p)
{
    /* Before any other thread runs: curl_global_init is not thread-safe. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    struct oidc_keys *k = calloc(1, sizeof(*k));
    if (!k) {
        curl_global_cleanup();
        return NULL;
    }
    k->params = *p;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    TAILQ_INIT(&k->queue);
    TAILQ_INIT(&k->cache);
    k->started = pthread_create(&k->thread, NULL, fetch_thread, k) == 0;
    if (!k->started) {
        oidc_keys_free(k);
        return NULL;
    }
    return k;
}

void oidc_keys_free(struct oidc_keys *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    k->stopping = 1;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    if (k->started)
        pthread_join(k->thread, NULL);
    struct fetch_job *j;
    while ((j = TAILQ_FIRST(&k->queue))) {
        TAILQ_REMOVE(&k->queue, j, next);
        job_free(j);
    }
    struct issuer_keys *e;
    while ((e = TAILQ_FIRST(&k->cache))) {
        TAILQ_REMOVE(&k->cache, e, next);
        jwks_free(e->ks);
        free(e->issuer);
        free(e);
    }
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->cond);
    free(k);
    curl_global_cleanup();
}

int oidc_keys_verify(struct oidc_keys *k, struct event_base *base, const char *issuer,
                     const char *token, oidc_keys_done done, void *arg)
{
    struct fetch_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->issuer = strdup(issuer)) || !(j->token = strdup(token))) {
        if (j)
            free(j->issuer);
        free(j);
        return -1;
    }
    j->base = base;
    j->done = done;
    j->arg = arg;
    j->queued_at = clock_mono_s();
    pthread_mutex_lock(&k->lock);
    struct issuer_keys *e = cache_get(k, issuer, 0);
    int decided = e && cache_decide(k, e, j, j->queued_at + 1);
    int full = !decided && k->params.queue_max > 0 && k->queued >= k->params.queue_max;
    if (!decided && !full) {
        TAILQ_INSERT_TAIL(&k->queue, j, next);
        k->queued++;
        pthread_cond_signal(&k->cond);
    }
    pthread_mutex_unlock(&k->lock);
    if (full) {
        job_free(j);
        return -1;
    }
    if (decided)
        job_hand_back(k, j);
    return 0;
}
