/* test_notify_api.c - the notification endpoints on the shared server:
 * devices, a person's preferences, the organisation's defaults and the Web
 * Push key, with their refusals. Delivery is tested in
 * tests/faults/test_notify.c against local doubles; this suite's server
 * sends nothing (OUTBOX_SENDER=0), and its answers are checked against the
 * spec like every other (tests/spec/responses.mjs). */
#include "fixtures.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* A valid-looking subscription at a real push service's host. */
#define ENDPOINT "https://fcm.googleapis.com/fcm/send/dE3kQ9x0Lk:APA91bH"
#define P256DH                                                                                     \
    "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
#define AUTH "tBHItJI5svbpez7KI4CCXg"

static json_t *subscription(const char *endpoint)
{
    return json_pack("{s:s,s:{s:s,s:n,s:{s:s,s:s}}}", "platform", "webpush", "subscription",
                     "endpoint", endpoint, "expirationTime", "keys", "p256dh", P256DH, "auth",
                     AUTH);
}

Test(notify_api, devices)
{
    struct fix_org o;
    struct fix_user a, b;
    fix_org(&o);
    fix_user(&o, NULL, &a);
    fix_user(&o, NULL, &b);
    struct http_resp r;
    http_send("POST", "/v1/me/devices", a.token, subscription(ENDPOINT), NULL, &r);
    expect_status(&r, 201);
    cr_assert_str_eq(jstr(r.json, "platform"), "webpush");
    char path[96];
    snprintf(path, sizeof(path), "/v1/me/devices/%s", jstr(r.json, "id"));
    http_resp_free(&r);
    /* The same subscription again: still one device. */
    http_send("POST", "/v1/me/devices", a.token, subscription(ENDPOINT), NULL, &r);
    expect_status(&r, 201);
    cr_assert_str_eq(jstr(r.json, "id"), path + strlen("/v1/me/devices/"));
    http_resp_free(&r);
    /* Refused: an endpoint at no push service, a platform this server has
     * no credentials for, a missing platform. */
    http_send("POST", "/v1/me/devices", a.token, subscription("https://intranet.example/x"), NULL,
              &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    http_send("POST", "/v1/me/devices", a.token,
              json_pack("{s:s,s:s}", "platform", "apns", "token",
                        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"),
              NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    http_send("POST", "/v1/me/devices", a.token, json_pack("{s:s}", "token", "x"), NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    /* Only the owner deletes it; then it is gone. */
    http_send("DELETE", path, b.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    http_send("DELETE", path, a.token, NULL, NULL, &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    http_send("DELETE", path, a.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    http_send("GET", "/v1/notifications/webpush-key", a.token, NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_eq(strlen(jstr(r.json, "public_key")), 87);
    http_resp_free(&r);
}

/* Registers a Web Push subscription at endpoint for u; returns its id. */
static void register_device(const struct fix_user *u, const char *endpoint, char id[40])
{
    struct http_resp r;
    http_send("POST", "/v1/me/devices", u->token, subscription(endpoint), NULL, &r);
    expect_status(&r, 201);
    snprintf(id, 40, "%s", jstr(r.json, "id"));
    http_resp_free(&r);
}

/* GET /v1/me/devices lists the caller's own devices, newest first, whole
 * (next_cursor null), without tokens or keys; nobody else's, and nothing once
 * the session is closed. */
Test(notify_api, devices_list)
{
    struct fix_org o;
    struct fix_user a, b;
    fix_org(&o);
    fix_user(&o, NULL, &a);
    fix_user(&o, NULL, &b);
    char first[40], second[40], theirs[40];
    register_device(&a, ENDPOINT "-list-1", first);
    register_device(&a, ENDPOINT "-list-2", second);
    register_device(&b, ENDPOINT "-list-3", theirs);
    /* Newest first: the first is aged an hour, so the order is certain. */
    test_sqlf(NULL, 0,
              "UPDATE devices SET created_at = created_at - interval '1 hour'"
              " WHERE id = '%s'",
              first);
    json_t *l = fix_list(&a, "/v1/me/devices");
    json_t *items = json_object_get(l, "items");
    cr_assert_eq(json_array_size(items), 2, "%s", jdump(l));
    cr_assert_str_eq(jstr(json_array_get(items, 0), "id"), second);
    cr_assert_str_eq(jstr(json_array_get(items, 1), "id"), first);
    cr_assert(json_is_null(json_object_get(l, "next_cursor")));
    const char *text = jdump(l);
    cr_assert_null(strstr(text, "fcm.googleapis.com"), "no endpoint: %s", text);
    cr_assert_null(strstr(text, P256DH), "no key: %s", text);
    cr_assert_null(strstr(text, theirs), "nobody else's: %s", text);
    json_decref(l);
    /* b sees only b's own device. */
    l = fix_list(&b, "/v1/me/devices");
    items = json_object_get(l, "items");
    cr_assert_eq(json_array_size(items), 1, "%s", jdump(l));
    cr_assert_str_eq(jstr(json_array_get(items, 0), "id"), theirs);
    json_decref(l);
    /* A deleted device leaves the list. */
    char path[96];
    snprintf(path, sizeof(path), "/v1/me/devices/%s", first);
    json_decref(fix_call(test_addr(), "DELETE", path, &a, NULL, 204));
    l = fix_list(&a, "/v1/me/devices");
    cr_assert_eq(json_array_size(json_object_get(l, "items")), 1, "%s", jdump(l));
    json_decref(l);
    /* After a logout the still-valid access token gets 401. */
    struct http_resp r;
    http_send("POST", "/v1/auth/logout", NULL, json_pack("{s:s}", "refresh_token", a.refresh), NULL,
              &r);
    expect_status(&r, 204);
    http_resp_free(&r);
    http_send("GET", "/v1/me/devices", a.token, NULL, NULL, &r);
    expect_problem(&r, 401);
    http_resp_free(&r);
}

Test(notify_api, preferences_and_defaults)
{
    struct fix_org o;
    struct fix_user a;
    fix_org(&o);
    fix_user(&o, NULL, &a);
    struct http_resp r;
    http_send("GET", "/v1/me/notification-preferences", a.token, NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_str_eq(jstr(r.json, "time_zone"), "Europe/Amsterdam");
    http_resp_free(&r);
    http_send("PUT", "/v1/me/notification-preferences", a.token,
              json_pack("{s:s,s:n,s:{s:{s:s},s:{s:s,s:i}}}", "locale", "en", "quiet_hours", "kinds",
                        "feedback_received", "delivery", "weekly", "reminder_goal_due", "delivery",
                        "push", "after_days", 5),
              NULL, &r);
    expect_status(&r, 200);
    cr_assert(json_is_null(json_object_get(r.json, "quiet_hours")));
    http_resp_free(&r);
    http_send("PUT", "/v1/me/notification-preferences", a.token,
              json_pack("{s:s}", "time_zone", "Nowhere/Atlantis"), NULL, &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
    http_send("GET", "/v1/organisation/notification-defaults", a.token, NULL, NULL, &r);
    expect_problem(&r, 404);
    http_resp_free(&r);
    http_send("GET", "/v1/organisation/notification-defaults", o.admin.token, NULL, NULL, &r);
    expect_status(&r, 200);
    cr_assert_str_eq(jstr(json_object_get(r.json, "quiet_hours"), "start"), "22:00");
    http_resp_free(&r);
    http_send("PUT", "/v1/organisation/notification-defaults", o.admin.token,
              json_pack("{s:s,s:{s:s,s:s}}", "locale", "nl", "quiet_hours", "start", "21:00", "end",
                        "08:00"),
              NULL, &r);
    expect_status(&r, 200);
    http_resp_free(&r);
    http_send("PUT", "/v1/organisation/notification-defaults", o.admin.token,
              json_pack("{s:{s:s,s:s}}", "quiet_hours", "start", "08:00", "end", "08:00"), NULL,
              &r);
    expect_problem(&r, 422);
    http_resp_free(&r);
}
