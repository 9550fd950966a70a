/* test_config.c - config_load and config_parse_addr.
 *
 * config_load reads through a getenv-like function; here it is a lookup in
 * a per-test table, so no test touches the real environment. Covers the
 * defaults, strict integers ("12abc", out of range), LISTEN_ADDR forms, the
 * JWT key rules and the development-default bookkeeping. */
#include "core/config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY40 "0123456789abcdef0123456789abcdef01234567"

/* The current fake environment: "NAME", "value" pairs, NULL-terminated. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; fake_env && fake_env[i]; i += 2)
        if (strcmp(fake_env[i], name) == 0)
            return fake_env[i + 1];
    return NULL;
}

static struct config cfg;
static char err[256];

static int load(const char *const *env)
{
    fake_env = env;
    err[0] = '\0';
    return config_load(&cfg, fake_getenv, err, sizeof(err));
}

/* config_free is safe after a failed load too: it frees what was set. */
static void teardown(void)
{
    config_free(&cfg);
}

TestSuite(config, .fini = teardown);

static void expect_rejected(const char *name, const char *value, const char *message)
{
    const char *env[] = {"DATABASE_URL", "dbname=t", "JWT_KEY", KEY40, name, value, NULL};
    cr_assert_eq(load(env), -1, "%s=\"%s\" was accepted", name, value);
    cr_assert(strstr(err, message), "%s=\"%s\": message \"%s\" lacks \"%s\"", name, value, err,
              message);
    config_free(&cfg);
}

static void expect_int(const char *name, const char *value, const int *field, int want)
{
    const char *env[] = {"DATABASE_URL", "dbname=t", "JWT_KEY", KEY40, name, value, NULL};
    cr_assert_eq(load(env), 0, "%s=\"%s\" rejected: %s", name, value, err);
    cr_assert_eq(*field, want, "%s=\"%s\" gave %d", name, value, *field);
    config_free(&cfg);
}

Test(config, defaults_with_only_a_database_url)
{
    const char *env[] = {"DATABASE_URL", "host=/tmp dbname=x", NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_str_eq(cfg.database_url, "host=/tmp dbname=x");
    cr_assert_str_eq(cfg.listen_host, "127.0.0.1");
    cr_assert_eq(cfg.listen_port, 8080);
    cr_assert_eq(cfg.db_pool_size, 4);
    cr_assert_eq(cfg.db_wait_ms, 2000);
    cr_assert_eq(cfg.db_pipeline_depth, 1);
    cr_assert_eq(cfg.request_timeout_s, 30);
    cr_assert_eq(cfg.max_body_bytes, 256 * 1024);
    cr_assert_eq(cfg.max_header_bytes, 16 * 1024);
    cr_assert_eq(cfg.access_ttl_s, 900);
    cr_assert_str_eq(cfg.jwt_issuer, "reflectd");
    cr_assert_str_eq(cfg.jwt_audience, "reflect-app");
    cr_assert_null(cfg.jwt_previous_key);
    cr_assert_null(cfg.bootstrap_org);
    cr_assert_eq(cfg.quiet, 0);
}

Test(config, workers_default_to_the_cpu_count)
{
    const char *env[] = {"DATABASE_URL", "d", "JWT_KEY", KEY40, NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_assert_eq(cfg.workers, cpus > 0 ? cpus : 1);
}

Test(config, generated_key_when_jwt_key_absent)
{
    const char *env[] = {"DATABASE_URL", "dbname=x", NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_not_null(cfg.jwt_key);
    cr_assert_geq(strlen(cfg.jwt_key), 32);
    cr_assert_eq(cfg.dev_defaults_used, 1);
    char *first = strdup(cfg.jwt_key);
    config_free(&cfg);
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_str_neq(cfg.jwt_key, first, "a generated key must be random");
    free(first);
}

Test(config, missing_database_url_is_a_counted_dev_default)
{
    const char *env[] = {"JWT_KEY", KEY40, NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_not_null(cfg.database_url);
    cr_assert_eq(cfg.dev_defaults_used, 1);
    config_free(&cfg);
    const char *none[] = {NULL};
    cr_assert_eq(load(none), 0, "%s", err);
    cr_assert_eq(cfg.dev_defaults_used, 2, "both the URL and the key are defaults");
}

Test(config, explicit_settings_are_taken)
{
    const char *env[] = {"JWT_KEY",
                         KEY40,
                         "JWT_PREVIOUS_KEY",
                         KEY40 "-old",
                         "WORKERS",
                         "3",
                         "DB_POOL_SIZE",
                         "7",
                         "DB_WAIT_MS",
                         "150",
                         "MAX_BODY_KIB",
                         "1",
                         "MAX_HEADER_KIB",
                         "8",
                         "REQUEST_TIMEOUT_S",
                         "5",
                         "ACCESS_LOG",
                         "off",
                         "BOOTSTRAP_ORG_NAME",
                         "Zorg",
                         "DATABASE_URL",
                         "dbname=y",
                         NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_str_eq(cfg.jwt_key, KEY40);
    cr_assert_str_eq(cfg.jwt_previous_key, KEY40 "-old");
    cr_assert_eq(cfg.workers, 3);
    cr_assert_eq(cfg.db_pool_size, 7);
    cr_assert_eq(cfg.db_wait_ms, 150);
    cr_assert_eq(cfg.max_body_bytes, 1024);
    cr_assert_eq(cfg.max_header_bytes, 8 * 1024);
    cr_assert_eq(cfg.request_timeout_s, 5);
    cr_assert_eq(cfg.quiet, 1);
    cr_assert_str_eq(cfg.bootstrap_org, "Zorg");
    cr_assert_eq(cfg.dev_defaults_used, 0);
}

Test(config, empty_values_mean_default)
{
    const char *env[] = {"DATABASE_URL", "d", "JWT_KEY", KEY40, "DB_POOL_SIZE", "",
                         "LISTEN_ADDR",  "",  NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_eq(cfg.db_pool_size, 4);
    cr_assert_eq(cfg.listen_port, 8080);
}

Test(config, access_log_is_off_only_when_off)
{
    const char *env[] = {"DATABASE_URL", "d", "JWT_KEY", KEY40, "ACCESS_LOG", "on", NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_eq(cfg.quiet, 0);
}

Test(config, integers_parse_strictly)
{
    expect_rejected("WORKERS", "12abc", "WORKERS must be an integer from 0 to 256");
    expect_rejected("WORKERS", "abc", "WORKERS must be an integer");
    expect_rejected("WORKERS", "4.5", "WORKERS");
    expect_rejected("DB_POOL_SIZE", "0x10", "DB_POOL_SIZE must be an integer from 1 to 64");
    expect_rejected("DB_WAIT_MS", "99999999999999999999999", "DB_WAIT_MS");
    expect_rejected("REQUEST_TIMEOUT_S", "5 ", "REQUEST_TIMEOUT_S");
}

Test(config, integers_out_of_range_are_rejected)
{
    expect_rejected("WORKERS", "257", "WORKERS must be an integer from 0 to 256");
    expect_rejected("WORKERS", "-1", "WORKERS");
    expect_rejected("DB_POOL_SIZE", "0", "DB_POOL_SIZE must be an integer from 1 to 64");
    expect_rejected("DB_POOL_SIZE", "65", "DB_POOL_SIZE");
    expect_rejected("MAX_BODY_KIB", "0", "MAX_BODY_KIB must be an integer from 1 to 65536");
    expect_rejected("MAX_BODY_KIB", "65537", "MAX_BODY_KIB");
    expect_rejected("MAX_HEADER_KIB", "0", "MAX_HEADER_KIB");
    expect_rejected("ACCESS_TOKEN_TTL_S", "29", "ACCESS_TOKEN_TTL_S");
    expect_rejected("DB_WAIT_MS", "2147483648", "DB_WAIT_MS");
    expect_rejected("DB_PIPELINE_DEPTH", "0", "DB_PIPELINE_DEPTH must be an integer from 1 to 64");
    expect_rejected("DB_PIPELINE_DEPTH", "65", "DB_PIPELINE_DEPTH");
}

Test(config, integers_at_the_bounds_are_accepted)
{
    expect_int("DB_POOL_SIZE", "1", &cfg.db_pool_size, 1);
    expect_int("DB_POOL_SIZE", "64", &cfg.db_pool_size, 64);
    expect_int("DB_PIPELINE_DEPTH", "1", &cfg.db_pipeline_depth, 1);
    expect_int("DB_PIPELINE_DEPTH", "64", &cfg.db_pipeline_depth, 64);
    expect_int("WORKERS", "256", &cfg.workers, 256);
    expect_int("DB_WAIT_MS", "600000", &cfg.db_wait_ms, 600000);
    expect_int("REQUEST_TIMEOUT_S", "1", &cfg.request_timeout_s, 1);
}

Test(config, listen_addr_forms)
{
    const char *v4[] = {"DATABASE_URL", "dbname=t",     "JWT_KEY", KEY40,
                        "LISTEN_ADDR",  "0.0.0.0:9000", NULL};
    cr_assert_eq(load(v4), 0, "%s", err);
    cr_assert_str_eq(cfg.listen_host, "0.0.0.0");
    cr_assert_eq(cfg.listen_port, 9000);
    config_free(&cfg);
    const char *v6[] = {"DATABASE_URL", "dbname=t",   "JWT_KEY", KEY40,
                        "LISTEN_ADDR",  "[::1]:8080", NULL};
    cr_assert_eq(load(v6), 0, "%s", err);
    cr_assert_str_eq(cfg.listen_host, "::1");
    cr_assert_eq(cfg.listen_port, 8080);
    config_free(&cfg);
    const char *name[] = {"DATABASE_URL", "dbname=t",        "JWT_KEY", KEY40,
                          "LISTEN_ADDR",  "localhost:65535", NULL};
    cr_assert_eq(load(name), 0, "%s", err);
    cr_assert_str_eq(cfg.listen_host, "localhost");
    cr_assert_eq(cfg.listen_port, 65535);
}

Test(config, bad_listen_addr_is_rejected)
{
    static const char *const bad[] = {
        "8080",    ":8080",    "host:", "host:http", "host:65536",
        "host:-1", "host:80x", "[::1]", "127.0.0.1", "host:99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {"DATABASE_URL", "d", "JWT_KEY", KEY40, "LISTEN_ADDR", bad[i], NULL};
        cr_assert_eq(load(env), -1, "LISTEN_ADDR=\"%s\" was accepted", bad[i]);
        cr_assert_str_eq(err, "LISTEN_ADDR must be host:port");
        config_free(&cfg);
    }
}

Test(config, metrics_addr_defaults_to_loopback)
{
    const char *env[] = {"DATABASE_URL", "d", "JWT_KEY", KEY40, NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_str_eq(cfg.metrics_host, "127.0.0.1");
    cr_assert_eq(cfg.metrics_port, 9090);
}

Test(config, metrics_addr_off_or_empty_turns_the_listener_off)
{
    static const char *const off[] = {"off", ""};
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        const char *env[] = {"DATABASE_URL", "d", "JWT_KEY", KEY40, "METRICS_ADDR", off[i], NULL};
        cr_assert_eq(load(env), 0, "%s", err);
        cr_assert_null(cfg.metrics_host, "METRICS_ADDR=\"%s\" left the listener on", off[i]);
        config_free(&cfg);
    }
}

Test(config, metrics_addr_forms)
{
    const char *env[] = {"DATABASE_URL", "d", "JWT_KEY", KEY40, "METRICS_ADDR", "[::1]:9100", NULL};
    cr_assert_eq(load(env), 0, "%s", err);
    cr_assert_str_eq(cfg.metrics_host, "::1");
    cr_assert_eq(cfg.metrics_port, 9100);
    config_free(&cfg);
    const char *bad[] = {"DATABASE_URL", "d", "JWT_KEY", KEY40, "METRICS_ADDR", "9090", NULL};
    cr_assert_eq(load(bad), -1);
    cr_assert_str_eq(err, "METRICS_ADDR must be host:port or off");
}

Test(config, parse_addr_directly)
{
    char *host = NULL;
    int port = 0;
    cr_assert_eq(config_parse_addr("[fe80::1]:443", &host, &port), 0);
    cr_assert_str_eq(host, "fe80::1");
    cr_assert_eq(port, 443);
    free(host);
    cr_assert_eq(config_parse_addr("example.org:1", &host, &port), 0);
    cr_assert_str_eq(host, "example.org");
    cr_assert_eq(port, 1);
    free(host);
    host = NULL;
    cr_assert_eq(config_parse_addr("nope", &host, &port), -1);
    cr_assert_null(host, "nothing is allocated on failure");
}

/* Regression (fixed): unbalanced brackets pass: "[::1:8080" yields host "[::1" and
 * "::1]:8080" host "::1]" (config.c, config_parse_addr). */
Test(config, unbalanced_brackets_are_rejected)
{
    char *host = NULL;
    int port = 0;
    cr_assert_eq(config_parse_addr("[::1:8080", &host, &port), -1, "host \"%s\"", host);
    cr_assert_eq(config_parse_addr("::1]:8080", &host, &port), -1, "host \"%s\"", host);
}

Test(config, short_jwt_key_is_rejected)
{
    const char *env[] = {"DATABASE_URL", "d", "JWT_KEY", "0123456789012345678901234567890",
                         NULL}; /* 31 characters */
    cr_assert_eq(load(env), -1);
    cr_assert_str_eq(err, "JWT_KEY must be at least 32 characters");
    config_free(&cfg);
    const char *ok[] = {"DATABASE_URL", "d", "JWT_KEY", "01234567890123456789012345678901",
                        NULL}; /* 32 characters */
    cr_assert_eq(load(ok), 0, "%s", err);
}

Test(config, short_previous_key_is_rejected)
{
    const char *env[] = {"DATABASE_URL",     "d",         "JWT_KEY", KEY40,
                         "JWT_PREVIOUS_KEY", "too-short", NULL};
    cr_assert_eq(load(env), -1);
    cr_assert_str_eq(err, "JWT_PREVIOUS_KEY must be at least 32 characters");
}

Test(config, public_base_url_defaults_to_the_listen_address_and_is_checked)
{
    const char *dflt[] = {"JWT_KEY", KEY40, "LISTEN_ADDR", "[::1]:8081", NULL};
    cr_assert_eq(load(dflt), 0, "%s", err);
    cr_assert_str_eq(cfg.public_base_url, "http://[::1]:8081");
    config_free(&cfg);
    const char *set[] = {"JWT_KEY", KEY40, "PUBLIC_BASE_URL", "https://reflect.example/app//",
                         NULL};
    cr_assert_eq(load(set), 0, "%s", err);
    cr_assert_str_eq(cfg.public_base_url, "https://reflect.example/app");
    cr_assert_eq(cfg.form_max_posts_addr, 30);
    cr_assert_eq(cfg.form_max_posts_link, 10);
    cr_assert_eq(cfg.form_window_s, 3600);
    config_free(&cfg);
    const char *bad[] = {"ftp://x.example",
                         "https://",
                         "https:///x",
                         "https://a\"b.example",
                         "https://a.example/?q=1",
                         "https://a.example/<x>",
                         "reflect.example",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        const char *env[] = {"JWT_KEY", KEY40, "PUBLIC_BASE_URL", bad[i], NULL};
        cr_assert_eq(load(env), -1, "%s accepted", bad[i]);
        cr_assert(strstr(err, "PUBLIC_BASE_URL"));
        config_free(&cfg);
    }
}
