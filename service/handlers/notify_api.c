/* notify_api.c - reaching people when the app is closed (issue 15), the
 * HTTP side:
 *   GET|POST /v1/me/devices, DELETE /v1/me/devices/{id}  push registrations
 *   GET|PUT /v1/me/notification-preferences             a person's choices
 *   GET|PUT /v1/organisation/notification-defaults      the admin's defaults
 *   GET /v1/notifications/webpush-key                    VAPID public key
 * Delivery itself is sender.c's; what gets queued is decided in SQL
 * (emit_event, notify_enqueue in migrations/0011) so it happens in the same
 * transaction as its cause. */
#include "http/api.h"
#include "app.h"
#include "core/b64url.h"
#include "handlers/handlers.h"
#include "notify/notify_config.h"
#include "handlers/policy.h"
#include "notify/sender.h"
#include "db/statements.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* clang-format off */
/* The caller registers a device for push (apns/fcm: a token; webpush: a
 * subscription), at most 20 per person. A token belongs to the phone:
 * signing in as someone else on a shared ward phone moves it, and what was
 * queued for the previous person (moved) never reaches the new one.
 * $1..$3 the caller, $4 platform, $5 token (apns, fcm), $6 endpoint,
 * $7 p256dh, $8 auth (webpush).
 * Returns (201 | 401 | 422, device JSON, NULL, detail). */
static const char SQL_DEVICE_CREATE[] =
    "WITH " SQL_ACTOR ","
    " n AS (SELECT count(*) AS c FROM devices"
    "       WHERE user_id = $1 AND NOT (platform = $4 AND address = coalesce($5, $6))),"
    " ins AS (INSERT INTO devices (organisation_id, user_id, platform, token, endpoint, p256dh,"
    "                              auth)"
    "         SELECT $2, $1, $4, $5, $6, $7, $8 FROM actor, n WHERE n.c < 20"
    "         ON CONFLICT (platform, address) DO UPDATE"
    "         SET organisation_id = excluded.organisation_id, user_id = excluded.user_id,"
    "             p256dh = excluded.p256dh, auth = excluded.auth, created_at = now()"
    "         RETURNING id, platform, created_at),"
    " moved AS (DELETE FROM outbox o USING ins WHERE o.device_id = ins.id AND o.user_id <> $1)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT EXISTS (SELECT 1 FROM ins) THEN 422"
    "             ELSE 201 END,"
    "        (SELECT json_build_object('id', id, 'platform', platform,"
    "                                  'created_at', " SQL_TS("created_at") ")"
    "         FROM ins),"
    "        NULL,"
    "        'At most 20 devices per person: remove one you no longer use first.'";

/* The caller's own devices, newest first. There are at most 20 (the create
 * refuses more), so the list is whole and next_cursor always null: the
 * person who hits the limit sees here which ones to remove.
 * $1..$3 the caller.
 * Returns (200 | 401, page JSON). */
static const char SQL_DEVICE_LIST[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    "        (SELECT json_build_object("
    "                  'items', coalesce((SELECT json_agg(json_build_object("
    "                                         'id', d.id, 'platform', d.platform,"
    "                                         'created_at', " SQL_TS("d.created_at") ")"
    "                                       ORDER BY d.created_at DESC, d.id DESC)"
    "                                     FROM devices d WHERE d.user_id = actor.id),"
    "                                    '[]'::json),"
    "                  'next_cursor', NULL)"
    "         FROM actor)";

/* The caller removes one of their devices.
 * $1..$3 the caller, $4 device id.
 * Returns (204 | 401 | 404). */
static const char SQL_DEVICE_DELETE[] =
    "WITH " SQL_ACTOR ","
    " del AS (DELETE FROM devices d USING actor"
    "         WHERE d.id = $4 AND d.user_id = $1"
    "         RETURNING d.id)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT EXISTS (SELECT 1 FROM del) THEN 404"
    "             ELSE 204 END";

/* The caller's notification preferences (notification_prefs_json,
 * migrations/0011).
 * $1..$3 the caller.
 * Returns (200 | 401, preferences JSON). */
static const char SQL_PREFS_GET[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401 ELSE 200 END,"
    "        (SELECT notification_prefs_json($1) FROM actor)";

/* The caller sets their preferences; the time zone must be one PostgreSQL
 * knows (tz).
 * $1..$3 the caller, $4 locale, $5 time zone, $6 whether quiet hours are
 * given, $7 and $8 their start and end, $9 the kinds (JSON).
 * Returns (200 | 401 | 422, preferences JSON, NULL, detail). */
static const char SQL_PREFS_PUT[] =
    "WITH " SQL_ACTOR ","
    " tz AS (SELECT ($5::text IS NULL"
    "                OR EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $5)) AS ok)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT tz.ok THEN 422"
    "             ELSE 200 END,"
    "        (SELECT notification_prefs_put($1, $2, $4, $5, $6::boolean, $7::time, $8::time,"
    "                                       $9::jsonb)"
    "         FROM actor WHERE tz.ok),"
    "        NULL,"
    "        'time_zone is not a known IANA time zone.'"
    " FROM tz";

/* The organisation's defaults, for an admin.
 * $1..$3 the caller.
 * Returns (200 | 401 | 404, defaults JSON). */
static const char SQL_DEFAULTS_GET[] =
    "WITH " SQL_ACTOR
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             ELSE 200 END,"
    "        (SELECT notification_defaults_json($2) FROM actor WHERE " SQL_IS_ADMIN ")";

/* An admin sets the organisation's defaults.
 * $1..$3 the caller, $4 locale, $5 and $6 quiet hours' start and end,
 * $7 the kinds (JSON).
 * Returns (200 | 401 | 404, defaults JSON). */
static const char SQL_DEFAULTS_PUT[] =
    "WITH " SQL_ACTOR ","
    " upd AS (SELECT notification_defaults_put($2, $4, $5::time, $6::time, $7::jsonb) AS j"
    "         FROM actor WHERE " SQL_IS_ADMIN "),"
    " aud AS (" SQL_AUDIT("'organisation.notification_defaults'", "NULL::uuid", "'organisation'",
                          "$2::uuid")
    "         FROM upd)"
    " SELECT CASE WHEN " SQL_NO_ACTOR " THEN 401"
    "             WHEN NOT " SQL_IS_ADMIN " THEN 404"
    "             ELSE 200 END,"
    "        (SELECT j FROM upd)";
/* clang-format on */

static const char *const PLATFORMS[] = {"apns", "fcm", "webpush", NULL};
static const char *const DELIVERIES[] = {"push", "daily", "weekly", "off", NULL};
static const char *const KINDS[] = {"feedback_received",   "feedback_request_received",
                                    "reflection_shared",   "reminder_feedback_request",
                                    "reminder_reflection", "reminder_goal_due",
                                    "reminder_checkin",    NULL};
static const char *const LOCALES[] = {"nl", "en", NULL};

/* ---- devices ------------------------------------------------------------------ */

/* An APNs token is hex; an FCM token is URL-safe text. */
static int notify_token_ok(const char *platform, const char *t)
{
    size_t n = strlen(t);
    int apns = strcmp(platform, "apns") == 0;
    if (n < (apns ? 32u : 1u) || n > (apns ? 200u : 4096u))
        return 0;
    for (const char *p = t; *p; p++)
        if (apns ? !isxdigit((unsigned char)*p)
                 : !(isalnum((unsigned char)*p) || strchr("-_:.", *p)))
            return 0;
    return 1;
}

/* An endpoint we may post to: printable, no quotes, an allowed push host. */
static int notify_endpoint_ok(const struct notify_config *cfg, const char *e)
{
    if (strlen(e) > 2048)
        return 0;
    for (const char *p = e; *p; p++)
        if (*p <= ' ' || *p >= 127 || *p == '"' || *p == '\\')
            return 0;
    return notify_webpush_endpoint_ok(cfg, e);
}

/* The browser's PushSubscription.toJSON(): {endpoint, expirationTime?, keys:
 * {p256dh, auth}}. Fills sub with endpoint, p256dh and auth. */
static void notify_subscription(struct req *r, struct validator *v, const char *sub[3])
{
    json_t *s = json_object_get(v->body, "subscription");
    json_t *keys = json_object_get(s, "keys");
    const char *ep = json_string_value(json_object_get(s, "endpoint"));
    const char *dh = json_string_value(json_object_get(keys, "p256dh"));
    const char *au = json_string_value(json_object_get(keys, "auth"));
    unsigned char pt[66], sec[17];
    if (!json_is_object(s) || json_object_size(s) > 3 || !json_is_object(keys)) {
        v_error(v, "subscription", "must be a push subscription {endpoint, keys}");
        return;
    }
    if (!ep || !notify_endpoint_ok(&r->app->notify, ep))
        v_error(v, "subscription.endpoint", "must be the https URL of a known push service");
    if (!dh || strlen(dh) > 100 || b64url_decode(dh, pt, sizeof(pt)) != 65 || pt[0] != 4)
        v_error(v, "subscription.keys.p256dh", "must be an uncompressed P-256 point, base64url");
    if (!au || strlen(au) > 40 || b64url_decode(au, sec, sizeof(sec)) != 16)
        v_error(v, "subscription.keys.auth", "must be 16 bytes, base64url");
    sub[0] = ep, sub[1] = dh, sub[2] = au;
}

void h_device_create(struct req *r)
{
    static const char *const fields[] = {"platform", "token", "subscription", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    const char *token = NULL, *sub[3] = {NULL, NULL, NULL};
    const char *platform = v_enum(&v, "platform", V_REQUIRED, PLATFORMS);
    if (platform && !notify_platform_is_configured(&r->app->notify, platform))
        v_error(&v, "platform", "is not enabled on this server");
    if (platform && strcmp(platform, "webpush") == 0) {
        if (json_object_get(v.body, "token"))
            v_error(&v, "token", "is for apns and fcm; webpush takes a subscription");
        notify_subscription(r, &v, sub);
    } else if (platform) {
        const char *t = json_string_value(json_object_get(v.body, "token"));
        if (json_object_get(v.body, "subscription"))
            v_error(&v, "subscription", "is for webpush only");
        if (!t || !notify_token_ok(platform, t))
            v_error(&v, "token", "must be the device token the push service issued");
        token = t;
    }
    if (api_reject_invalid(r, &v))
        return;
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, platform);
    api_param(&p, token);
    api_param(&p, sub[0]);
    api_param(&p, sub[1]);
    api_param(&p, sub[2]);
    api_db(r, SQL_DEVICE_CREATE, &p, api_reply_row);
}

void h_device_list(struct req *r)
{
    struct api_params p;
    api_params_actor(&p, r);
    api_db(r, SQL_DEVICE_LIST, &p, api_reply_row);
}

void h_device_delete(struct req *r)
{
    api_by_id(r, SQL_DEVICE_DELETE);
}

void h_webpush_key(struct req *r)
{
    json_t *j =
        json_pack("{s:s}", "public_key", r->app->sender ? sender_vapid_public(r->app->sender) : "");
    if (!j || !r->app->sender) {
        json_decref(j);
        req_problem(r, 404, "Web Push is not enabled on this server.");
        return;
    }
    req_reply_json(r, 200, j);
}

/* ---- preferences ----------------------------------------------------------------- */

static int notify_hhmm(const char *s)
{
    return s && strlen(s) == 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
           s[2] == ':' && isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) &&
           (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6';
}

/* quiet_hours: absent (*custom = 0), null (none) or {start, end} "HH:MM". */
static void notify_quiet(struct validator *v, int *custom, const char **start, const char **end)
{
    json_t *q = json_object_get(v->body, "quiet_hours");
    *custom = q != NULL;
    *start = *end = NULL;
    if (!q || json_is_null(q))
        return;
    *start = json_string_value(json_object_get(q, "start"));
    *end = json_string_value(json_object_get(q, "end"));
    if (!json_is_object(q) || json_object_size(q) != 2 || !notify_hhmm(*start) ||
        !notify_hhmm(*end) || strcmp(*start, *end) == 0)
        v_error(v, "quiet_hours", "must be null or {start, end} as different HH:MM times");
}

static int notify_is_kind(const char *k)
{
    for (int i = 0; KINDS[i]; i++)
        if (strcmp(KINDS[i], k) == 0)
            return 1;
    return 0;
}

/* One kind's {delivery, after_days?}, checked and copied into out. */
static void notify_kind(struct validator *v, const char *kind, json_t *val, json_t *out)
{
    char field[96];
    snprintf(field, sizeof(field), "kinds.%s", kind);
    json_t *d = json_object_get(val, "delivery"), *a = json_object_get(val, "after_days");
    const char *delivery = json_string_value(d);
    int ok_delivery = 0;
    for (int i = 0; delivery && DELIVERIES[i]; i++)
        ok_delivery |= strcmp(DELIVERIES[i], delivery) == 0;
    int reminder = strncmp(kind, "reminder_", 9) == 0;
    if (!notify_is_kind(kind)) {
        v_error(v, field, "unknown kind of notification");
    } else if (!json_is_object(val) || !ok_delivery ||
               json_object_size(val) != (size_t)(1 + (a != NULL))) {
        v_error(v, field, "must be {delivery: push|daily|weekly|off, after_days?}");
    } else if (a && (!reminder || !json_is_integer(a) || json_integer_value(a) < 1 ||
                     json_integer_value(a) > 60)) {
        v_error(v, field, "after_days is for reminders, an integer from 1 to 60");
    } else {
        json_object_set_new(
            out, kind,
            a ? json_pack("{s:s,s:I}", "delivery", delivery, "after_days", json_integer_value(a))
              : json_pack("{s:s}", "delivery", delivery));
    }
}

/* kinds: an object of kind -> choice; returns its JSON text (arena) or NULL. */
static const char *notify_kinds(struct req *r, struct validator *v)
{
    json_t *k = json_object_get(v->body, "kinds"), *out = json_object();
    const char *key;
    json_t *val;
    if (!out)
        return NULL;
    if (k && !json_is_object(k))
        v_error(v, "kinds", "must be an object of kind -> {delivery, after_days?}");
    else if (k)
        json_object_foreach(k, key, val)
        {
            notify_kind(v, key, val, out);
        }
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    const char *kept = text ? arena_printf(&r->arena, "%s", text) : NULL;
    free(text);
    return kept;
}

void h_notify_prefs_get(struct req *r)
{
    struct api_params p;
    api_params_actor(&p, r);
    api_db(r, SQL_PREFS_GET, &p, api_reply_row);
}

void h_notify_prefs_put(struct req *r)
{
    static const char *const fields[] = {"locale", "time_zone", "quiet_hours", "kinds", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    int custom;
    const char *start, *end;
    const char *locale = v_enum(&v, "locale", V_OPTIONAL, LOCALES);
    const char *zone = v_text(&v, "time_zone", V_OPTIONAL, 1, 64, 0);
    notify_quiet(&v, &custom, &start, &end);
    const char *kinds = notify_kinds(r, &v);
    if (api_reject_invalid(r, &v))
        return;
    if (!kinds) {
        req_problem(r, 503, "Out of memory; try again.");
        return;
    }
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, locale);
    api_param(&p, zone);
    api_param(&p, custom ? "true" : "false");
    api_param(&p, start);
    api_param(&p, end);
    api_param(&p, kinds);
    api_db(r, SQL_PREFS_PUT, &p, api_reply_row);
}

void h_notify_defaults_get(struct req *r)
{
    struct api_params p;
    api_params_actor(&p, r);
    api_db(r, SQL_DEFAULTS_GET, &p, api_reply_row);
}

void h_notify_defaults_put(struct req *r)
{
    static const char *const fields[] = {"locale", "quiet_hours", "kinds", NULL};
    struct validator v;
    if (!api_body(r, &v, fields))
        return;
    int custom;
    const char *start, *end;
    const char *locale = v_enum(&v, "locale", V_OPTIONAL, LOCALES);
    notify_quiet(&v, &custom, &start, &end);
    const char *kinds = notify_kinds(r, &v);
    if (api_reject_invalid(r, &v))
        return;
    if (!custom)
        start = "22:00", end = "07:00"; /* care staff sleep; night workers opt out */
    if (!kinds) {
        req_problem(r, 503, "Out of memory; try again.");
        return;
    }
    struct api_params p;
    api_params_actor(&p, r);
    api_param(&p, locale ? locale : "nl");
    api_param(&p, start);
    api_param(&p, end);
    api_param(&p, kinds);
    api_db(r, SQL_DEFAULTS_PUT, &p, api_reply_row);
}

/* Every statement of this file, by name (statements.c: --statements). */
const struct statement notify_api_statements[] = {
    STATEMENT(SQL_DEVICE_CREATE), STATEMENT(SQL_DEVICE_LIST),
    STATEMENT(SQL_DEVICE_DELETE), STATEMENT(SQL_PREFS_GET),
    STATEMENT(SQL_PREFS_PUT),     STATEMENT(SQL_DEFAULTS_GET),
    STATEMENT(SQL_DEFAULTS_PUT),  {NULL, NULL},
};
