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
