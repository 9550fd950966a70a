/* sender.c - drains the outbox (migrations/0011): claims due rows, delivers
 * each through its channel, and records what happened.
 *
 * Why a thread of its own with a blocking libpq connection: delivery waits
 * on push services and mail servers that may be slow or down, and nothing
 * of that may ever reach an API event loop. The thread owns everything it
 * uses (its PostgreSQL connection, one libcurl multi handle that runs all
 * attempts of a batch concurrently, HTTP/2 multiplexed to APNs, the
 * channels' keys and cached tokens), so it shares no state with the workers
 * but the read-only configuration and relaxed atomic counters. Blocking
 * calls on it (a query, the hourly FCM token exchange) delay only this
 * instance's deliveries.
 *
 * Exactly-once between instances: a claim is one statement that picks due
 * rows with FOR UPDATE SKIP LOCKED and leases them (leased_until), so two
 * senders never hold the same row. A delivered row is deleted; a failed
 * attempt puts the row back with exponential backoff and full jitter, and
 * after OUTBOX_MAX_ATTEMPTS it is marked failed. A dead token (APNs 410,
 * FCM UNREGISTERED, Web Push 404/410) deletes the device and with it its
 * rows. If this process dies between a push service's 2xx and the delete,
 * the lease runs out and another sender delivers again: at-least-once in a
 * crash, once otherwise; with the service or the mail server down, rows
 * simply wait.
 *
 * Invitation e-mails (migration 0014) are outbox rows too; their token is
 * read from password_emails at claim time and cleared there on delivery.
 *
 * Wake-ups: emit_event's pg_notify('reflectd_outbox') at commit, so a push
 * leaves within milliseconds; otherwise the soonest not_before (backoff,
 * quiet hours), at most OUTBOX_POLL_MS. */
#include "notify/sender.h"
#include "core/b64url.h"
#include "notify/delivery.h"
#include "notify/jws.h"
#include "core/log.h"
#include "notify/notify_config.h"
#include "db/statements.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sender {
    const struct notify_config *cfg;
    char *conninfo;
    struct channels ch;
    char vapid_public[96];
    pthread_t thread;
    int running;
    int wake[2]; /* the main thread writes a byte to stop */
    atomic_int stop;
    PGconn *pg;
    CURLM *multi;
    atomic_uint_fast64_t sent, retried, failed, dead;
    atomic_uint_fast64_t latency_ms_sum, latency_count;
    atomic_llong oldest_ms; /* age of the oldest undelivered row; -1 unknown */
};

/* ---- the database ---------------------------------------------------------- */

static const char SQL_CLAIM[] =
    "WITH c AS (SELECT id FROM outbox WHERE failed_at IS NULL AND not_before <= now()"
    " AND (leased_until IS NULL OR leased_until < now()) ORDER BY not_before, id LIMIT $1"
    " FOR UPDATE SKIP LOCKED),"
    " u AS (UPDATE outbox o SET leased_until = now() + make_interval(secs => $2::int),"
    " attempts = o.attempts + 1 FROM c WHERE o.id = c.id RETURNING o.*)"
    " SELECT u.id, u.channel, u.attempts, u.kind, u.locale, CASE WHEN u.kind = 'invitation'"
    " THEN coalesce(invitation_mail(u.payload, u.user_id), '{}') ELSE u.payload END::text, d.token,"
    " d.endpoint, d.p256dh, d.auth, us.email,"
    " extract(epoch FROM clock_timestamp() - u.created_at)"
    " FROM u LEFT JOIN devices d ON d.id = u.device_id JOIN users us ON us.id = u.user_id";
/* An invitation delivered: its link leaves the database (migration 0014). */
static const char SQL_SENT[] =
    "WITH o AS (DELETE FROM outbox WHERE id = $1 RETURNING kind, payload)"
    " UPDATE password_emails e SET sent_at = now(), token = NULL FROM o"
    " WHERE o.kind = 'invitation' AND e.id = (o.payload->>'password_email_id')::uuid";
static const char SQL_DEAD[] =
    "DELETE FROM devices WHERE id = (SELECT device_id FROM outbox WHERE id = $1)";
static const char SQL_RETRY[] =
    "UPDATE outbox SET leased_until = NULL, last_error = $2,"
    " not_before = now() + make_interval(secs => $3::double precision / 1000),"
    " failed_at = CASE WHEN attempts >= $4::int THEN now() END WHERE id = $1"
    " RETURNING failed_at IS NOT NULL";
static const char SQL_FAILED[] =
    "UPDATE outbox SET leased_until = NULL, last_error = $2, failed_at = now() WHERE id = $1";
static const char SQL_WAITING[] =
    "SELECT (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::bigint,"
    " greatest(0, (extract(epoch FROM min(not_before) - clock_timestamp()) * 1000))::bigint"
    " FROM outbox WHERE failed_at IS NULL";

static int sender_connect(struct sender *s)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {s->conninfo, "5", "reflectd-sender", NULL};
    s->pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(s->pg) != CONNECTION_OK) {
        PQfinish(s->pg);
        s->pg = NULL;
        return -1;
    }
    PGresult *r = PQexec(s->pg, "LISTEN reflectd_outbox");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(s->pg);
        s->pg = NULL;
    }
    return ok ? 0 : -1;
}

/* Runs one statement; a broken connection is dropped (reconnected later). */
static PGresult *sender_exec(struct sender *s, const char *sql, int n, const char *const *p)
{
    PGresult *r = PQexecParams(s->pg, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    log_warn("sender: database error %s", r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "-");
    PQclear(r);
    if (PQstatus(s->pg) != CONNECTION_OK) {
        PQfinish(s->pg);
        s->pg = NULL;
    }
    return NULL;
}

static char *sender_dup(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

static void delivery_clear(struct delivery *d)
{
    if (d->easy)
        curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    curl_slist_free_all(d->rcpt);
    /* An invitation's payload and message carry its link. */
    if (d->payload)
        OPENSSL_cleanse(d->payload, strlen(d->payload));
    if (d->body)
        OPENSSL_cleanse(d->body, d->body_len);
    char *owned[] = {d->kind,   d->locale, d->payload, d->token, d->endpoint,
                     d->p256dh, d->auth,   d->email,   d->url,   (char *)d->body};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        free(owned[i]);
    memset(d, 0, sizeof(*d));
}

/* Claims up to cfg->batch rows into d[]; returns how many, -1 on error. */
static int sender_claim(struct sender *s, struct delivery *d)
{
    char limit[16], lease[16];
    snprintf(limit, sizeof(limit), "%d", s->cfg->batch);
    snprintf(lease, sizeof(lease), "%d", s->cfg->lease_s);
    const char *p[] = {limit, lease};
    PGresult *r = sender_exec(s, SQL_CLAIM, 2, p);
    if (!r)
        return -1;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        d[i].id = atoll(PQgetvalue(r, i, 0));
        snprintf(d[i].channel, sizeof(d[i].channel), "%s", PQgetvalue(r, i, 1));
        d[i].attempts = atoi(PQgetvalue(r, i, 2));
        d[i].kind = sender_dup(r, i, 3);
        d[i].locale = sender_dup(r, i, 4);
        d[i].payload = sender_dup(r, i, 5);
        d[i].token = sender_dup(r, i, 6);
        d[i].endpoint = sender_dup(r, i, 7);
        d[i].p256dh = sender_dup(r, i, 8);
        d[i].auth = sender_dup(r, i, 9);
        d[i].email = sender_dup(r, i, 10);
        d[i].waited_s = atof(PQgetvalue(r, i, 11));
        d[i].outcome = DELIVERY_RETRY;
    }
    PQclear(r);
    return n;
}

/* Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * a random delay in [base * 2^(attempts-1) / 2, base * 2^(attempts-1)],
 * capped, so that rows that failed together do not all return together. */
static long long sender_backoff_ms(const struct notify_config *cfg, int attempts)
{
    long long d = cfg->backoff_ms;
    for (int i = 1; i < attempts && d < cfg->backoff_max_ms; i++)
        d *= 2;
    if (d > cfg->backoff_max_ms)
        d = cfg->backoff_max_ms;
    unsigned r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (unsigned)rand();
    return d / 2 + (long long)(r % (unsigned)(d / 2 + 1));
}

/* How long a row waits before its next attempt: our backoff, or longer when
 * the push service said so. FCM and Web Push services answer 429 and 503
 * with Retry-After, and coming back sooner only earns another refusal (FCM
 * may throttle the whole project). It is not capped at OUTBOX_BACKOFF_MAX_MS,
 * which bounds our own doubling, only at a day, against a nonsense date. */
static long long sender_wait_ms(const struct notify_config *cfg, const struct delivery *d)
{
    long long wait = sender_backoff_ms(cfg, d->attempts);
    long long asked = d->retry_after_s > 86400 ? 86400000LL : d->retry_after_s * 1000;
    return asked > wait ? asked : wait;
}

static void sender_record(struct sender *s, struct delivery *d)
{
    char id[24], wait[24], max[16];
    snprintf(id, sizeof(id), "%lld", d->id);
    const char *err = d->error[0] ? d->error : "error";
    PGresult *r = NULL;
    if (d->outcome == DELIVERY_SENT) {
        const char *p[] = {id};
        r = sender_exec(s, SQL_SENT, 1, p);
        atomic_fetch_add_explicit(&s->sent, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->latency_ms_sum, (uint_fast64_t)(d->waited_s * 1000),
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&s->latency_count, 1, memory_order_relaxed);
    } else if (d->outcome == DELIVERY_DEAD) {
        const char *p[] = {id};
        r = sender_exec(s, SQL_DEAD, 1, p);
        atomic_fetch_add_explicit(&s->dead, 1, memory_order_relaxed);
        log_info("sender: outbox %lld: %s device removed (%s)", d->id, d->channel, err);
    } else if (d->outcome == DELIVERY_FAILED) {
        const char *p[] = {id, err};
        r = sender_exec(s, SQL_FAILED, 2, p);
        atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
        log_warn("sender: outbox %lld: %s failed for good (%s)", d->id, d->channel, err);
    } else {
        snprintf(wait, sizeof(wait), "%lld", sender_wait_ms(s->cfg, d));
        snprintf(max, sizeof(max), "%d", s->cfg->max_attempts);
        const char *p[] = {id, err, wait, max};
        r = sender_exec(s, SQL_RETRY, 4, p);
        int gave_up = r && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
        atomic_fetch_add_explicit(gave_up ? &s->failed : &s->retried, 1, memory_order_relaxed);
        log_info("sender: outbox %lld: %s attempt %d %s (%s)", d->id, d->channel, d->attempts,
                 gave_up ? "was the last" : "will be retried", err);
    }
    PQclear(r);
}

/* ---- delivering a batch ------------------------------------------------------ */

static int sender_prepare(struct sender *s, struct delivery *d)
{
    if (!channels_is_ready(&s->ch, d->channel)) {
        d->outcome = DELIVERY_FAILED;
        snprintf(d->error, sizeof(d->error), "%s not configured", d->channel);
        return -1;
    }
    if (strcmp(d->channel, "webpush") == 0)
        return chan_webpush_prepare(&s->ch, d);
    if (strcmp(d->channel, "apns") == 0)
        return chan_apns_prepare(&s->ch, d);
    if (strcmp(d->channel, "fcm") == 0)
        return chan_fcm_prepare(&s->ch, d);
    return chan_smtp_prepare(&s->ch, d);
}

static void sender_done(struct sender *s, struct delivery *d)
{
    if (strcmp(d->channel, "webpush") == 0)
        chan_webpush_done(d);
    else if (strcmp(d->channel, "apns") == 0)
        chan_apns_done(&s->ch, d);
    else if (strcmp(d->channel, "fcm") == 0)
        chan_fcm_done(&s->ch, d);
    else
        chan_smtp_done(d);
}

/* Runs every prepared attempt to its end (each bounded by NOTIFY_TIMEOUT_S);
 * a stop request does not cut them short, so nothing is sent twice for it. */
static void sender_run_multi(struct sender *s, struct delivery *d, int n)
{
    int running = 0;
    for (int i = 0; i < n; i++)
        if (d[i].easy && curl_multi_add_handle(s->multi, d[i].easy) == CURLM_OK)
            running++;
    while (running > 0) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK)
            break;
        if (running && curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            break;
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct delivery *dd = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&dd);
        if (!dd)
            continue;
        dd->curl_rc = m->data.result;
        if (curl_easy_getinfo(dd->easy, CURLINFO_RESPONSE_CODE, &dd->http_status) != CURLE_OK)
            dd->http_status = 0;
        /* libcurl parses both forms (delta-seconds and an HTTP-date). */
        curl_off_t ra = 0;
        if (curl_easy_getinfo(dd->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            dd->retry_after_s = (long long)ra;
        sender_done(s, dd);
    }
    for (int i = 0; i < n; i++)
        if (d[i].easy)
            curl_multi_remove_handle(s->multi, d[i].easy);
}

static void sender_batch(struct sender *s, struct delivery *d, int n)
{
    for (int i = 0; i < n; i++)
        if (sender_prepare(s, &d[i]) < 0 && d[i].easy) {
            curl_easy_cleanup(d[i].easy); /* not run: its outcome stands */
            d[i].easy = NULL;
        }
    sender_run_multi(s, d, n);
    for (int i = 0; i < n && s->pg; i++)
        sender_record(s, &d[i]);
    for (int i = 0; i < n; i++)
        delivery_clear(&d[i]);
}

/* ---- waiting ------------------------------------------------------------------ */

/* Updates the oldest-waiting gauge; returns ms until the soonest due row
 * (capped at OUTBOX_POLL_MS). */
static int sender_next_ms(struct sender *s)
{
    int wait = s->cfg->poll_ms;
    PGresult *r = sender_exec(s, SQL_WAITING, 0, NULL);
    if (!r)
        return wait;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        atomic_store(&s->oldest_ms, atoll(PQgetvalue(r, 0, 0)));
        long long due = atoll(PQgetvalue(r, 0, 1));
        if (due < wait)
            wait = (int)due + 1;
    } else {
        atomic_store(&s->oldest_ms, 0);
    }
    PQclear(r);
    return wait;
}

/* Sleeps until a NOTIFY, a stop request or ms have passed. */
static void sender_wait(struct sender *s, int ms)
{
    struct pollfd fds[2] = {{s->wake[0], POLLIN, 0}, {s->pg ? PQsocket(s->pg) : -1, POLLIN, 0}};
    if (poll(fds, s->pg ? 2 : 1, ms) < 0)
        return;
    if (s->pg && PQconsumeInput(s->pg) != 1) {
        PQfinish(s->pg);
        s->pg = NULL;
        return;
    }
    PGnotify *nt;
    while (s->pg && (nt = PQnotifies(s->pg)))
        PQfreemem(nt);
}

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    struct delivery *d = calloc((size_t)s->cfg->batch, sizeof(*d));
    if (!d)
        return NULL;
    while (!atomic_load(&s->stop)) {
        if (!s->pg && sender_connect(s) < 0) {
            sender_wait(s, s->cfg->poll_ms);
            continue;
        }
        int n = sender_claim(s, d);
        if (n > 0) {
            sender_batch(s, d, n);
            continue;
        }
        if (n == 0 && s->pg)
            sender_wait(s, sender_next_ms(s));
        else
            sender_wait(s, s->cfg->poll_ms); /* a failed claim: do not spin */
    }
    free(d);
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------ */

static void sender_free(struct sender *s)
{
    if (s->multi)
        curl_multi_cleanup(s->multi);
    if (s->pg)
        PQfinish(s->pg);
    channels_free(&s->ch);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    free(s->conninfo);
    free(s);
}

struct sender *sender_start(const char *conninfo, const struct notify_config *cfg)
{
    struct sender *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->wake[0] = s->wake[1] = -1;
    atomic_store(&s->oldest_ms, -1);
    unsigned char pub[65];
    if (!(s->conninfo = strdup(conninfo)) || channels_init(&s->ch, cfg) < 0 ||
        jws_p256_public(s->ch.vapid, pub) < 0 || pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        sender_free(s);
        return NULL;
    }
    b64url_encode(pub, 65, s->vapid_public);
    if (!cfg->sender_on) {
        log_info("sender: off on this instance (OUTBOX_SENDER=0)");
        return s;
    }
    static const char *const chans[] = {"webpush", "apns", "fcm", "email"};
    for (size_t i = 0; i < 4; i++)
        if (!channels_is_ready(&s->ch, chans[i]))
            log_info("sender: %s not configured; its notifications are marked failed", chans[i]);
    if (!(s->multi = curl_multi_init()) ||
        curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
        pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        sender_free(s);
        return NULL;
    }
    s->running = 1;
    return s;
}

void sender_stop(struct sender *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    if (s->running) {
        if (write(s->wake[1], "x", 1) < 0)
            log_warn("sender: cannot wake the thread");
        curl_multi_wakeup(s->multi);
        pthread_join(s->thread, NULL);
    }
    sender_free(s);
}

const char *sender_vapid_public(const struct sender *s)
{
    return s->vapid_public;
}

void sender_metrics(struct sender *s, char *buf, size_t n)
{
    unsigned long long cnt = atomic_load_explicit(&s->latency_count, memory_order_relaxed);
    snprintf(buf, n,
             "# HELP reflectd_outbox_sent_total Notifications delivered.\n"
             "# TYPE reflectd_outbox_sent_total counter\nreflectd_outbox_sent_total %llu\n"
             "# HELP reflectd_outbox_retried_total Attempts that failed and will be retried.\n"
             "# TYPE reflectd_outbox_retried_total counter\nreflectd_outbox_retried_total %llu\n"
             "# HELP reflectd_outbox_failed_total Notifications given up on.\n"
             "# TYPE reflectd_outbox_failed_total counter\nreflectd_outbox_failed_total %llu\n"
             "# HELP reflectd_outbox_dead_tokens_total Devices removed as dead by their service.\n"
             "# TYPE reflectd_outbox_dead_tokens_total counter\n"
             "reflectd_outbox_dead_tokens_total %llu\n"
             "# HELP reflectd_outbox_oldest_waiting_seconds Age of the oldest undelivered row.\n"
             "# TYPE reflectd_outbox_oldest_waiting_seconds gauge\n"
             "reflectd_outbox_oldest_waiting_seconds %.3f\n"
             "# HELP reflectd_outbox_delivery_seconds From the cause's commit to delivery.\n"
             "# TYPE reflectd_outbox_delivery_seconds summary\n"
             "reflectd_outbox_delivery_seconds_sum %.3f\n"
             "reflectd_outbox_delivery_seconds_count %llu\n",
             (unsigned long long)atomic_load_explicit(&s->sent, memory_order_relaxed),
             (unsigned long long)atomic_load_explicit(&s->retried, memory_order_relaxed),
             (unsigned long long)atomic_load_explicit(&s->failed, memory_order_relaxed),
             (unsigned long long)atomic_load_explicit(&s->dead, memory_order_relaxed),
             (double)(atomic_load(&s->oldest_ms) < 0 ? 0 : atomic_load(&s->oldest_ms)) / 1000.0,
             (double)atomic_load_explicit(&s->latency_ms_sum, memory_order_relaxed) / 1000.0, cnt);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement sender_statements[] = {
    STATEMENT(SQL_CLAIM),  STATEMENT(SQL_SENT),    STATEMENT(SQL_DEAD), STATEMENT(SQL_RETRY),
    STATEMENT(SQL_FAILED), STATEMENT(SQL_WAITING), {NULL, NULL},
};
