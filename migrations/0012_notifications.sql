-- 0012: reaching people when the app is closed (issue 15). Devices, preferences per kind of notification, a transactional
-- outbox that service/sender.c drains, e-mail digests and reminders.
--
-- The outbox row is written by the same transaction as what caused it:
-- emit_event (0006), which every feedback, feedback request and share
-- already calls, now also hands the event to notify_enqueue. A rolled-back
-- feedback therefore never pushes, and a committed one always has its row.
--
-- Privacy: an outbox row and a digest hold what happened and the id the app
-- opens, never a reflection's, a feedback's or a score's content; the texts
-- ("Je hebt nieuwe feedback") are rendered by the sender from the kind.

-- A phone or browser to push to. address is the APNs/FCM token or the Web
-- Push endpoint: it belongs to the device, so when another person signs in
-- on a shared ward phone the registration moves to them (ON CONFLICT).
CREATE TABLE devices (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    platform        text NOT NULL CHECK (platform IN ('apns', 'fcm', 'webpush')),
    token           text,
    endpoint        text,
    p256dh          text,
    auth            text,
    address         text GENERATED ALWAYS AS (coalesce(token, endpoint)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE WHEN platform = 'webpush'
                THEN token IS NULL AND endpoint IS NOT NULL AND p256dh IS NOT NULL
                     AND auth IS NOT NULL
                ELSE token IS NOT NULL AND endpoint IS NULL AND p256dh IS NULL AND auth IS NULL
           END),
    UNIQUE (platform, address),
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX devices_user_idx ON devices (user_id, created_at, id);

-- The kinds a person can set; the three event kinds follow emit_event's
-- types, the reminder kinds reminders_run below.
CREATE FUNCTION notification_kinds() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['feedback_received', 'feedback_request_received', 'reflection_shared',
                 'reminder_feedback_request', 'reminder_reflection', 'reminder_goal_due',
                 'reminder_checkin']
$$;

-- Organisation defaults (admin) and a person's own choices. delivery:
-- push at once, a daily or weekly e-mail digest, or off. after_days: the
-- reminder's cadence (NULL for the event kinds).
CREATE TABLE notification_defaults (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind = ANY (notification_kinds())),
    delivery        text NOT NULL CHECK (delivery IN ('push', 'daily', 'weekly', 'off')),
    after_days      integer CHECK (after_days BETWEEN 1 AND 60),
    PRIMARY KEY (organisation_id, kind)
);

CREATE TABLE notification_prefs (
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    kind            text NOT NULL CHECK (kind = ANY (notification_kinds())),
    delivery        text NOT NULL CHECK (delivery IN ('push', 'daily', 'weekly', 'off')),
    after_days      integer CHECK (after_days BETWEEN 1 AND 60),
    PRIMARY KEY (user_id, kind),
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);

-- Language, time zone and quiet hours: per organisation (defaults) and per
-- person (a row exists once the person saved theirs; NULL quiet hours then
-- mean none, for whoever works nights and wants pushes).
ALTER TABLE organisations
    ADD COLUMN notify_locale text NOT NULL DEFAULT 'nl' CHECK (notify_locale IN ('nl', 'en')),
    ADD COLUMN quiet_start time DEFAULT '22:00',
    ADD COLUMN quiet_end time DEFAULT '07:00',
    ADD CHECK ((quiet_start IS NULL) = (quiet_end IS NULL));

CREATE TABLE notification_settings (
    organisation_id uuid NOT NULL,
    user_id         uuid PRIMARY KEY,
    locale          text CHECK (locale IN ('nl', 'en')),        -- NULL: the organisation's
    time_zone       text,                                       -- NULL: the organisation's
    quiet_custom    boolean NOT NULL DEFAULT false,             -- false: the organisation's
    quiet_start     time,
    quiet_end       time,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL)),
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);

-- A reminder's cadence when nobody chose one.
CREATE FUNCTION notification_builtin_days(k text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE k WHEN 'reminder_reflection' THEN 7
                  WHEN 'reminder_feedback_request' THEN 3
                  WHEN 'reminder_goal_due' THEN 3
                  WHEN 'reminder_checkin' THEN 3 END
$$;

-- What a person gets for kind k: their choice, else the organisation's,
-- else the built-in default (push; reminders after 3 or 7 days).
CREATE FUNCTION notification_choice(u uuid, k text, OUT delivery text, OUT after_days integer)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(p.delivery, d.delivery, 'push'),
           coalesce(p.after_days, d.after_days, notification_builtin_days(k))
    FROM users us
    LEFT JOIN notification_prefs p ON p.user_id = us.id AND p.kind = k
    LEFT JOIN notification_defaults d ON d.organisation_id = us.organisation_id AND d.kind = k
    WHERE us.id = u
$$;

-- The person's effective language, zone and quiet hours.
CREATE FUNCTION notification_profile(u uuid, OUT locale text, OUT time_zone text,
                                     OUT quiet_start time, OUT quiet_end time)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(s.locale, o.notify_locale), coalesce(s.time_zone, o.timezone),
           CASE WHEN s.quiet_custom THEN s.quiet_start ELSE o.quiet_start END,
           CASE WHEN s.quiet_custom THEN s.quiet_end ELSE o.quiet_end END
    FROM users us JOIN organisations o ON o.id = us.organisation_id
    LEFT JOIN notification_settings s ON s.user_id = us.id
    WHERE us.id = u
$$;

-- The API's representation of choices (GET/PUT /v1/me/notification-
-- preferences and /v1/organisation/notification-defaults).
CREATE FUNCTION notification_quiet_json(qs time, qe time) RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN qs IS NULL THEN NULL
                ELSE json_build_object('start', to_char(qs, 'HH24:MI'), 'end', to_char(qe, 'HH24:MI'))
           END
$$;

CREATE FUNCTION notification_prefs_json(u uuid) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('locale', p.locale, 'time_zone', p.time_zone,
        'quiet_hours', notification_quiet_json(p.quiet_start, p.quiet_end),
        'kinds', (SELECT json_object_agg(t.k, json_strip_nulls(json_build_object(
                      'delivery', c.delivery, 'after_days', c.after_days)) ORDER BY t.o)
                  FROM unnest(notification_kinds()) WITH ORDINALITY AS t(k, o)
                  CROSS JOIN LATERAL notification_choice(u, t.k) c))
    FROM notification_profile(u) p
$$;

CREATE FUNCTION notification_defaults_json(org uuid) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('locale', o.notify_locale, 'time_zone', o.timezone,
        'quiet_hours', notification_quiet_json(o.quiet_start, o.quiet_end),
        'kinds', (SELECT json_object_agg(t.k, json_strip_nulls(json_build_object(
                      'delivery', coalesce(d.delivery, 'push'),
                      'after_days', coalesce(d.after_days, notification_builtin_days(t.k))))
                      ORDER BY t.o)
                  FROM unnest(notification_kinds()) WITH ORDINALITY AS t(k, o)
                  LEFT JOIN notification_defaults d ON d.organisation_id = org AND d.kind = t.k))
    FROM organisations o WHERE o.id = org
$$;

-- kinds is {kind: {delivery, after_days?}} as validated by the service;
-- kinds left out go back to the default. Returns the new representation.
CREATE FUNCTION notification_prefs_put(u uuid, org uuid, loc text, tz text, qcustom boolean,
                                       qs time, qe time, kinds jsonb) RETURNS json
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_settings AS s (organisation_id, user_id, locale, time_zone,
                                            quiet_custom, quiet_start, quiet_end)
        VALUES (org, u, loc, tz, qcustom, qs, qe)
        ON CONFLICT (user_id) DO UPDATE SET locale = loc, time_zone = tz, quiet_custom = qcustom,
            quiet_start = qs, quiet_end = qe, updated_at = now();
    DELETE FROM notification_prefs WHERE user_id = u AND NOT kinds ? kind;
    INSERT INTO notification_prefs AS p (organisation_id, user_id, kind, delivery, after_days)
        SELECT org, u, e.key, e.value->>'delivery', (e.value->>'after_days')::integer
        FROM jsonb_each(kinds) e
        ON CONFLICT (user_id, kind) DO UPDATE SET delivery = excluded.delivery,
            after_days = excluded.after_days;
    RETURN notification_prefs_json(u);
END
$$;

CREATE FUNCTION notification_defaults_put(org uuid, loc text, qs time, qe time, kinds jsonb)
RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    UPDATE organisations SET notify_locale = loc, quiet_start = qs, quiet_end = qe,
        updated_at = now() WHERE id = org;
    DELETE FROM notification_defaults WHERE organisation_id = org AND NOT kinds ? kind;
    INSERT INTO notification_defaults AS d (organisation_id, kind, delivery, after_days)
        SELECT org, e.key, e.value->>'delivery', (e.value->>'after_days')::integer
        FROM jsonb_each(kinds) e
        ON CONFLICT (organisation_id, kind) DO UPDATE SET delivery = excluded.delivery,
            after_days = excluded.after_days;
    RETURN notification_defaults_json(org);
END
$$;

-- When a push to u may go out if it is due at `at`: `at` itself, or the end
-- of the quiet hours `at` falls in (in u's zone; hours may span midnight).
CREATE FUNCTION quiet_until(u uuid, at timestamptz) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    pr record;
    t time;
    local timestamp;
BEGIN
    SELECT * INTO pr FROM notification_profile(u);
    IF pr.quiet_start IS NULL OR pr.quiet_start = pr.quiet_end THEN
        RETURN at;
    END IF;
    local := at AT TIME ZONE pr.time_zone;
    t := local::time;
    IF pr.quiet_start < pr.quiet_end THEN
        IF t >= pr.quiet_start AND t < pr.quiet_end THEN
            RETURN (local::date + pr.quiet_end) AT TIME ZONE pr.time_zone;
        END IF;
    ELSIF t >= pr.quiet_start THEN
        RETURN (local::date + 1 + pr.quiet_end) AT TIME ZONE pr.time_zone;
    ELSIF t < pr.quiet_end THEN
        RETURN (local::date + pr.quiet_end) AT TIME ZONE pr.time_zone;
    END IF;
    RETURN at;
END
$$;

-- The outbox: one row per push to one device, or one digest e-mail.
-- service/sender.c claims due rows with FOR UPDATE SKIP LOCKED and a lease
-- (leased_until), so two instances never take the same row; a row is
-- deleted once delivered, rescheduled with backoff when sending failed,
-- and marked failed_at after the last attempt (kept for operators).
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    device_id       uuid REFERENCES devices (id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('webpush', 'apns', 'fcm', 'email')),
    kind            text NOT NULL,
    locale          text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    not_before      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    leased_until    timestamptz,
    last_error      text,
    failed_at       timestamptz,
    CHECK ((channel = 'email') = (device_id IS NULL)),
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX outbox_due_idx ON outbox (not_before) WHERE failed_at IS NULL;

-- Notifications waiting for a person's daily or weekly digest.
CREATE TABLE digest_items (
    id              bigserial PRIMARY KEY,
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    cadence         text NOT NULL CHECK (cadence IN ('daily', 'weekly')),
    kind            text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX digest_items_user_idx ON digest_items (user_id, cadence);

CREATE TABLE digest_state (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_daily   timestamptz,
    last_weekly  timestamptz
);

-- Hands one notification of kind k to u's channels, per u's choice: a row
-- per device for push (held back through quiet hours), a digest item for
-- e-mail, nothing when off. Returns the rows written.
CREATE FUNCTION notify_enqueue(u uuid, org uuid, k text, body jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ch record;
    pr record;
    n integer := 0;
BEGIN
    SELECT * INTO ch FROM notification_choice(u, k);
    IF ch.delivery IS NULL OR ch.delivery = 'off' THEN
        RETURN 0;
    END IF;
    IF ch.delivery IN ('daily', 'weekly') THEN
        INSERT INTO digest_items (organisation_id, user_id, cadence, kind, payload)
            VALUES (org, u, ch.delivery, k, body);
        RETURN 1;
    END IF;
    SELECT * INTO pr FROM notification_profile(u);
    INSERT INTO outbox (organisation_id, user_id, device_id, channel, kind, locale, payload,
                        not_before)
        SELECT org, u, d.id, d.platform, k, pr.locale, body, quiet_until(u, now())
        FROM devices d WHERE d.user_id = u;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('reflectd_outbox', '');
    END IF;
    RETURN n;
END
$$;

-- What a push says about an event: its kind and the id the app opens, no
-- content (not the feedback's kind, not who wrote it). Feedback from an
-- external colleague (0011) on a moment rather than an item has no id.
CREATE FUNCTION event_notification(kind text, body jsonb, OUT nkind text, OUT payload jsonb)
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'feedback.created' THEN 'feedback_received'
                     WHEN 'feedback_request.created' THEN 'feedback_request_received'
                     WHEN 'reflection.shared' THEN 'reflection_shared' END,
           jsonb_strip_nulls(CASE WHEN body->'goal_id' IS NOT NULL AND body->'goal_id' <> 'null'
                THEN jsonb_build_object('type', kind, 'goal_id', body->'goal_id')
                ELSE jsonb_build_object('type', kind, 'reflection_id', body->'reflection_id') END)
$$;

CREATE OR REPLACE FUNCTION emit_event(recipient uuid, org uuid, kind text, body jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    en record;
BEGIN
    INSERT INTO event_counters AS c (user_id, seq) VALUES (recipient, 1)
        ON CONFLICT (user_id) DO UPDATE SET seq = c.seq + 1
        RETURNING seq INTO n;
    INSERT INTO events (recipient_id, seq, organisation_id, type, payload)
        VALUES (recipient, n, org, kind, body);
    PERFORM pg_notify('reflectd_events', recipient::text);
    SELECT * INTO en FROM event_notification(kind, body);
    IF en.nkind IS NOT NULL THEN
        PERFORM notify_enqueue(recipient, org, en.nkind, en.payload);
    END IF;
    RETURN n;
END
$$;

-- Digests: at most one daily e-mail per local day and one weekly per local
-- week, sent from the end of the quiet hours (07:00 by default) on; each
-- becomes one outbox row with counts per kind, and its items go with it.
-- `at` is a parameter so a test can ask "what if it were tomorrow morning".
CREATE FUNCTION digest_run(at timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN
        SELECT DISTINCT i.user_id, i.organisation_id, i.cadence, p.locale, p.time_zone,
               coalesce(p.quiet_end, '07:00') AS from_time,
               CASE i.cadence WHEN 'daily' THEN s.last_daily ELSE s.last_weekly END AS last
        FROM digest_items i
        CROSS JOIN LATERAL notification_profile(i.user_id) p
        LEFT JOIN digest_state s ON s.user_id = i.user_id
    LOOP
        CONTINUE WHEN (at AT TIME ZONE r.time_zone)::time < r.from_time;
        CONTINUE WHEN r.last IS NOT NULL AND date_trunc(CASE r.cadence WHEN 'daily' THEN 'day'
            ELSE 'week' END, r.last AT TIME ZONE r.time_zone)
            = date_trunc(CASE r.cadence WHEN 'daily' THEN 'day' ELSE 'week' END,
                         at AT TIME ZONE r.time_zone);
        WITH gone AS (DELETE FROM digest_items WHERE user_id = r.user_id AND cadence = r.cadence
                      RETURNING kind)
        INSERT INTO outbox (organisation_id, user_id, channel, kind, locale, payload)
            SELECT r.organisation_id, r.user_id, 'email', 'digest_' || r.cadence, r.locale,
                   jsonb_build_object('counts', jsonb_object_agg(g.kind, g.c))
            FROM (SELECT kind, count(*) AS c FROM gone GROUP BY kind) g
            HAVING count(*) > 0;
        INSERT INTO digest_state AS s (user_id, last_daily, last_weekly)
            VALUES (r.user_id, CASE r.cadence WHEN 'daily' THEN at END,
                    CASE r.cadence WHEN 'weekly' THEN at END)
            ON CONFLICT (user_id) DO UPDATE SET
                last_daily = CASE r.cadence WHEN 'daily' THEN at ELSE s.last_daily END,
                last_weekly = CASE r.cadence WHEN 'weekly' THEN at ELSE s.last_weekly END;
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        PERFORM pg_notify('reflectd_outbox', '');
    END IF;
    RETURN n;
END
$$;

-- Reminders sent, for throttling: (person, kind, the thing) -> how often and
-- when last. A reminder goes out only when the thing is still not done, at
-- most `limit` times per thing, the interval apart, and never two of one
-- kind to one person within the kind's interval.
CREATE TABLE reminder_log (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    object_key text NOT NULL,
    sent       integer NOT NULL,
    last_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind, object_key)
);

-- One reminder, if the throttle allows; returns 1 when sent.
CREATE FUNCTION remind(u uuid, org uuid, k text, okey text, body jsonb, at timestamptz,
                       every interval, max_times integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    l record;
BEGIN
    IF EXISTS (SELECT 1 FROM reminder_log WHERE user_id = u AND kind = k
               AND last_at > at - every) THEN
        RETURN 0;
    END IF;
    SELECT * INTO l FROM reminder_log WHERE user_id = u AND kind = k AND object_key = okey;
    IF FOUND AND (l.sent >= max_times OR l.last_at > at - every) THEN
        RETURN 0;
    END IF;
    INSERT INTO reminder_log AS rl (user_id, kind, object_key, sent, last_at)
        VALUES (u, k, okey, 1, at)
        ON CONFLICT (user_id, kind, object_key) DO UPDATE SET sent = rl.sent + 1, last_at = at;
    PERFORM notify_enqueue(u, org, k, body || jsonb_build_object('type', k));
    RETURN 1;
END
$$;

-- The four reminders, run by the janitor every minute (idempotent: the
-- throttle makes a second run in the same minute, or on another instance,
-- send nothing). Returns how many were sent.
CREATE FUNCTION reminders_run(at timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
BEGIN
    -- A feedback request unanswered after N days: to the supervisor, and
    -- once more N days later.
    SELECT n + coalesce(sum(remind(q.to_user_id, q.organisation_id, 'reminder_feedback_request',
                                   q.id::text, jsonb_build_object('reflection_id', q.reflection_id),
                                   at, make_interval(days => c.after_days), 2)), 0) INTO n
    FROM feedback_requests q
    CROSS JOIN LATERAL notification_choice(q.to_user_id, 'reminder_feedback_request') c
    WHERE q.status = 'open' AND c.delivery <> 'off'
      AND q.created_at <= at - make_interval(days => c.after_days);
    -- No reflection for N days: to a student, gently, once per quiet spell.
    SELECT n + coalesce(sum(remind(m.user_id, m.organisation_id, 'reminder_reflection',
                                   'since:' || coalesce(last.last_at, m.since)::text,
                                   '{}'::jsonb, at, make_interval(days => c.after_days), 1)), 0)
    INTO n
    FROM (SELECT tm.user_id, tm.organisation_id, min(tm.created_at) AS since FROM team_members tm
          WHERE tm.role = 'student' GROUP BY tm.user_id, tm.organisation_id) m
    CROSS JOIN LATERAL (SELECT max(x.created_at) AS last_at FROM reflections x
                        WHERE x.owner_id = m.user_id AND x.deleted_at IS NULL) last
    CROSS JOIN LATERAL notification_choice(m.user_id, 'reminder_reflection') c
    WHERE c.delivery <> 'off'
      AND coalesce(last.last_at, m.since) <= at - make_interval(days => c.after_days);
    -- A learning goal's due_on within N days (in the owner's zone), once.
    SELECT n + coalesce(sum(remind(g.owner_id, g.organisation_id, 'reminder_goal_due',
                                   g.id::text || ':' || g.due_on::text,
                                   jsonb_build_object('goal_id', g.id), at, interval '1 day', 1)), 0)
    INTO n
    FROM goals g
    CROSS JOIN LATERAL notification_choice(g.owner_id, 'reminder_goal_due') c
    CROSS JOIN LATERAL notification_profile(g.owner_id) p
    WHERE g.deleted_at IS NULL AND g.status IN ('open', 'active') AND g.due_on IS NOT NULL
      AND c.delivery <> 'off'
      AND g.due_on >= (at AT TIME ZONE p.time_zone)::date
      AND g.due_on - c.after_days <= (at AT TIME ZONE p.time_zone)::date;
    -- The month's check-in period closes within N days and the member has
    -- not checked in for that team this month: once per team and month.
    SELECT n + coalesce(sum(remind(tm.user_id, tm.organisation_id, 'reminder_checkin',
                                   tm.team_id::text || ':' || to_char(lm, 'YYYY-MM'),
                                   jsonb_build_object('team_id', tm.team_id), at,
                                   interval '1 day', 1)), 0)
    INTO n
    FROM team_members tm
    JOIN organisations o ON o.id = tm.organisation_id
    CROSS JOIN LATERAL (SELECT date_trunc('month', at AT TIME ZONE o.timezone)::date AS lm) mon
    CROSS JOIN LATERAL notification_choice(tm.user_id, 'reminder_checkin') c
    WHERE tm.role IN ('student', 'werkbegeleider', 'member') AND c.delivery <> 'off'
      AND (lm + interval '1 month')::date - c.after_days <= (at AT TIME ZONE o.timezone)::date
      AND NOT EXISTS (SELECT 1 FROM checkins ci WHERE ci.user_id = tm.user_id
                      AND ci.team_id = tm.team_id AND ci.period = lm);
    RETURN n;
END
$$;

-- The janitor's clean-up: rows given up on stay a week for operators (their
-- last_error), reminder throttles four months (longer than any cadence; a
-- request still open after that may be reminded again).
CREATE FUNCTION notify_cleanup(at timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    a integer;
    b integer;
BEGIN
    DELETE FROM outbox WHERE failed_at < at - interval '7 days';
    GET DIAGNOSTICS a = ROW_COUNT;
    DELETE FROM reminder_log WHERE last_at < at - interval '120 days';
    GET DIAGNOSTICS b = ROW_COUNT;
    RETURN a + b;
END
$$;

-- Erasure takes devices, choices, queued notifications and digests along.
CREATE FUNCTION erase_user_notifications() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
        DELETE FROM outbox WHERE user_id = NEW.id;
        DELETE FROM devices WHERE user_id = NEW.id;
        DELETE FROM digest_items WHERE user_id = NEW.id;
        DELETE FROM digest_state WHERE user_id = NEW.id;
        DELETE FROM notification_prefs WHERE user_id = NEW.id;
        DELETE FROM notification_settings WHERE user_id = NEW.id;
        DELETE FROM reminder_log WHERE user_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_erase_notifications AFTER UPDATE OF deleted_at ON users
    FOR EACH ROW EXECUTE FUNCTION erase_user_notifications();
