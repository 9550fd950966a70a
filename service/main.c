/* main.c - start-up and shutdown of reflectd.
 *
 *   reflectd            migrate the database, then serve
 *   reflectd --routes   print the routing table (CI compares it with the spec)
 *   reflectd --migrate  migrate and exit
 *   reflectd bootstrap  migrate, create the BOOTSTRAP_* organisation and admin, exit
 *   reflectd --seed-demo  migrate and load the demo organisation, exit
 *   reflectd publish    migrate, publish every closed month that is due, exit
 *   reflectd --statements        print every SQL statement by name
 *   reflectd --check-statements  migrate, PREPARE every statement, exit 1 if any fails
 *   reflectd --hasher ...  internal: the hasher process reflectd starts (hashchild.c)
 *
 * Start-up order: configuration, migrations (blocking, before any thread),
 * the hasher process (forked while this is the only thread), the listening
 * socket, the worker threads. The main thread then only waits
 * for SIGINT/SIGTERM on its own event loop and drives the shutdown. */
#include "app.h"
#include "domain/bootstrap.h"
#include "handlers/events.h"
#include "domain/janitor.h"
#include "auth/hasher.h"
#include "auth/hashchild.h"
#include "handlers/handlers.h"
#include "core/log.h"
#include "http/metrics.h"
#include "http/metrics_http.h"
#include "db/migrate.h"
#include "auth/oidc_keys.h"
#include "domain/publish.h"
#include "notify/sender.h"
#include "http/server.h"
#include "db/statements.h"
#include "auth/tokens.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *env_get(const char *name)
{
    return getenv(name);
}

/* Modules with per-loop state (see struct app for when each runs). */
static void main_worker_start(struct loop *l)
{
    events_worker_start(l);
    if (l->index == 0)
        l->app->janitor = janitor_start(l->base, l->db, &l->app->cfg);
}

static void main_worker_drain(struct loop *l)
{
    events_worker_drain(l);
    if (l->index == 0)
        janitor_stop(l->app->janitor);
}

static void main_worker_stop(struct loop *l)
{
    /* Every loop has ended and none is freed yet: the fetch thread stops
     * before a result of it could reach a freed loop. */
    if (l->index == 0) {
        oidc_keys_free(l->app->oidc_keys);
        l->app->oidc_keys = NULL;
        janitor_free(l->app->janitor);
        l->app->janitor = NULL;
    }
    events_worker_free(l);
}

static void main_outbox_metrics(const struct app *app, char *buf, size_t n)
{
    if (app->sender)
        sender_metrics(app->sender, buf, n);
}

static void main_print_routes(void)
{
    for (size_t i = 0; i < routes_count; i++)
        printf("%s %s\n", router_method_name(routes[i].method), routes[i].pattern);
}

static void main_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct app *app = arg;
    log_info("signal %d: stopping (finishing in-flight requests)", (int)sig);
    /* A scrape reads the workers' pools, which they free as they stop. */
    metrics_http_stop(app);
    server_stop(app);
}

struct main_signals {
    struct event_base *base;
    struct event *si, *st;
};

/* Catches SIGINT/SIGTERM from now on, before the workers start: a SIGTERM
 * that arrives once /healthz answers but before the main loop runs must
 * still shut down cleanly, not kill the process. */
static int main_catch_signals(struct app *app, struct main_signals *s)
{
    memset(s, 0, sizeof(*s));
    if (!(s->base = event_base_new()))
        return -1;
    s->si = evsignal_new(s->base, SIGINT, main_on_signal, app);
    s->st = evsignal_new(s->base, SIGTERM, main_on_signal, app);
    if (!s->si || !s->st || evsignal_add(s->si, NULL) < 0 || evsignal_add(s->st, NULL) < 0)
        return -1;
    return 0;
}

/* Waits for SIGINT/SIGTERM (main_on_signal asks the workers to stop). */
static int main_wait_for_signal(struct main_signals *s)
{
    int rc = s->base && s->si && s->st ? event_base_loop(s->base, EVLOOP_ONCE) : -1;
    if (s->si)
        event_free(s->si);
    if (s->st)
        event_free(s->st);
    if (s->base)
        event_base_free(s->base);
    return rc < 0 ? -1 : 0;
}

static int main_serve(struct app *app)
{
    if (migrate_run(app->cfg.database_url, 30) < 0 || bootstrap_from_config(&app->cfg) < 0)
        return 1;
    struct hasher_params hp = {app->cfg.argon2_t_cost,      app->cfg.argon2_m_cost_kib,
                               app->cfg.argon2_parallelism, app->cfg.hash_cpu_percent,
                               app->cfg.hash_queue_max,     app->cfg.hash_timeout_ms};
    app->hasher = hasher_new(app->cfg.hash_threads, &hp);
    struct oidc_keys_params kp = {app->cfg.oidc_fetch_timeout_ms, app->cfg.oidc_min_refresh_s,
                                  app->cfg.oidc_retry_s, 64};
    app->oidc_keys = oidc_keys_new(&kp);
    if (!app->hasher || !app->oidc_keys)
        return 1;
    /* Before the workers: a handler reads the VAPID key from it. */
    if (!(app->sender = sender_start(app->cfg.database_url, &app->notify))) {
        log_error("cannot start the outbox sender");
        return 1;
    }
    int fd = server_listen(app->cfg.listen_host, app->cfg.listen_port);
    if (fd < 0 || metrics_http_listen(app) < 0) {
        sender_stop(app->sender);
        app->sender = NULL;
        return 1;
    }
    struct main_signals sig;
    if (main_catch_signals(app, &sig) < 0) {
        log_error("cannot catch SIGTERM");
        return 1;
    }
    if (server_start(app, fd) < 0 || metrics_http_start(app) < 0) {
        log_error("cannot start the workers");
        return 1;
    }
    close(fd); /* each worker holds its own dup */
    log_info("listening on %s:%d with %d workers", app->cfg.listen_host, app->cfg.listen_port,
             app->cfg.workers);
    int rc = main_wait_for_signal(&sig);
    metrics_http_stop(app); /* already, unless waiting failed */
    server_join(app, app->hasher);
    sender_stop(app->sender); /* after the workers: no handler reads it any more */
    app->sender = NULL;
    app->hasher = NULL;
    log_info("stopped");
    return rc < 0 ? 1 : 0;
}

/* `reflectd publish`: prints how many months it published. */
static int main_publish(const struct config *cfg)
{
    if (migrate_run(cfg->database_url, 30) < 0)
        return 1;
    int n = publish_command(cfg->database_url, cfg->publish_delay_h);
    if (n < 0)
        return 1;
    printf("published %d month(s)\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--hasher") == 0) /* before anything else: no config */
        return hashchild_main(argc, argv);
    if (argc > 1 && strcmp(argv[1], "--routes") == 0) {
        main_print_routes();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--statements") == 0) {
        statements_print();
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    static struct app app;
    char err[256];
    if (config_load(&app.cfg, env_get, err, sizeof(err)) < 0) {
        log_error("configuration: %s", err);
        return 2;
    }
    if (notify_config_load(&app.notify, env_get, err, sizeof(err)) < 0) {
        log_error("configuration: %s", err);
        config_free(&app.cfg);
        return 2;
    }
    app.notify.link_base = app.cfg.public_base_url;
    /* libcurl's global state, once, before any thread (the sender's). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    log_set_quiet(0);
    app.worker_start = main_worker_start;
    app.worker_drain = main_worker_drain;
    app.worker_stop = main_worker_stop;
    app.outbox_metrics = main_outbox_metrics;
    app.routes = routes;
    app.nroutes = routes_count;
    app.schema_version = migrations_count;
    app.metrics = metrics_new();
    app.tokens = tokens_new(&app.cfg);
    if (!app.metrics || !app.tokens)
        return 1;
    int rc;
    if (argc > 1 && strcmp(argv[1], "--migrate") == 0)
        rc = migrate_run(app.cfg.database_url, 30) < 0 ? 1 : 0;
    else if (argc > 1 && strcmp(argv[1], "bootstrap") == 0)
        rc = migrate_run(app.cfg.database_url, 30) < 0 || bootstrap_from_config(&app.cfg) < 0;
    else if (argc > 1 && strcmp(argv[1], "--seed-demo") == 0)
        rc = migrate_run(app.cfg.database_url, 30) < 0 || bootstrap_demo(&app.cfg) < 0;
    else if (argc > 1 && strcmp(argv[1], "--check-statements") == 0)
        rc = migrate_run(app.cfg.database_url, 30) < 0 ||
             statements_check(app.cfg.database_url) != 0;
    else if (argc > 1 && strcmp(argv[1], "publish") == 0)
        rc = main_publish(&app.cfg);
    else if (argc > 1) {
        fprintf(stderr,
                "usage: reflectd [--routes | --statements | --check-statements | --migrate |"
                " bootstrap | --seed-demo | publish]\n");
        rc = 2;
    } else
        rc = main_serve(&app);
    tokens_free(app.tokens);
    metrics_free(app.metrics);
    notify_config_free(&app.notify);
    curl_global_cleanup();
    config_free(&app.cfg);
    return rc;
}
