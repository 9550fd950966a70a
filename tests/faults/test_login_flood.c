/* test_login_flood.c - a flood of logins against a private server whose
 * hashing is slow and its queue short (HASH_THREADS=1, HASH_QUEUE_MAX=2,
 * HASH_CPU_PERCENT=5, argon2id t=1 m=32 MiB).
 *
 * Logins beyond the queue get a 503 problem with Retry-After, never a 500
 * or a hang; no answer leaks whether the account exists; the logins that
 * were queued succeed; and once the flood is over a login works again.
 *
 * The server is $REFLECTD_BIN; the account is made through $REFLECTD_ADDR,
 * the run's shared server, on the same database. */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FLOOD 12

static struct spawned server;

static void flood_init(void)
{
    static const char *const env[] = {"HASH_THREADS=1",          "HASH_QUEUE_MAX=2",
                                      "HASH_CPU_PERCENT=5",      "ARGON2_T_COST=1",
                                      "ARGON2_M_COST_KIB=32768", NULL};
    cr_assert_eq(server_spawn(&server, env), 0, "server did not start");
}

static void flood_fini(void)
{
    server_stop(&server);
}

TestSuite(login_flood, .init = flood_init, .fini = flood_fini, .timeout = 120);

struct attempt {
    pthread_t thread;
    const char *email, *password;
    int rc, status;
    char retry_after[16];
};

static void *attempt_main(void *arg)
{
    struct attempt *a = arg;
    json_t *body = json_pack("{s:s, s:s}", "email", a->email, "password", a->password);
    struct http_resp r;
    http_set_timeout_ms(60000);
    a->rc = http_call_json(server.addr, "POST", "/v1/auth/login", NULL, body, NULL, &r);
    json_decref(body);
    a->status = r.status;
    const char *ra = http_header(&r, "Retry-After");
    snprintf(a->retry_after, sizeof(a->retry_after), "%s", ra ? ra : "");
    http_resp_free(&r);
    return NULL;
}

Test(login_flood, logins_beyond_the_queue_get_503_and_the_rest_succeed)
{
    struct fix_org o;
    fix_org(&o);
    struct fix_user u;
    fix_user(&o, NULL, &u);
    char nobody[128], uniq[96];
    snprintf(nobody, sizeof(nobody), "%s@flood.example", test_unique(uniq, sizeof(uniq), "nobody"));
    struct attempt a[FLOOD];
    for (int i = 0; i < FLOOD; i++) {
        /* Half for the account, half for an address nobody has. */
        a[i] = (struct attempt){.email = i % 2 ? u.email : nobody, .password = FIX_PASSWORD};
        cr_assert_eq(pthread_create(&a[i].thread, NULL, attempt_main, &a[i]), 0);
    }
    int ok = 0, busy = 0, denied = 0;
    for (int i = 0; i < FLOOD; i++) {
        pthread_join(a[i].thread, NULL);
        cr_assert_eq(a[i].rc, 0, "login %d got no answer", i);
        if (a[i].status == 503) {
            busy++;
            cr_assert_str_eq(a[i].retry_after, "1", "a 503 without Retry-After: 1");
        } else if (i % 2) {
            cr_assert_eq(a[i].status, 200, "the account's login %d answered %d", i, a[i].status);
            ok++;
        } else {
            /* 429 once the unknown address has failed LOGIN_MAX_FAILURES times */
            cr_assert(a[i].status == 401 || a[i].status == 429, "the unknown address answered %d",
                      a[i].status);
            denied++;
        }
    }
    fprintf(stderr, "login flood: %d logged in, %d refused (unknown), %d busy (503)\n", ok, denied,
            busy);
    cr_assert_gt(busy, 0, "%d logins at once and a queue of 2, yet none was refused", FLOOD);
    cr_assert_gt(ok + denied, 0, "no login was served at all");
    /* After the flood the queue drains and logins work again. */
    struct fix_user again;
    int st = 0;
    for (int i = 0; i < 100 && st != 200; i++) {
        st = fix_login(u.email, FIX_PASSWORD, &again);
        if (st != 200) {
            struct timespec ts = {0, 200000000L};
            nanosleep(&ts, NULL);
        }
    }
    cr_assert_eq(st, 200, "no login after the flood (last status %d)", st);
}
