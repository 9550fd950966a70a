-- 0014: the invitation e-mail (issue 17's password_emails) goes out through
-- the notifications outbox (issue 15): once, with the outbox's retries and
-- backoff, like every other e-mail.
--
-- The token stays in one place only, password_emails.token: the outbox row
-- names its password_emails row ({"password_email_id": ...}) and the sender
-- reads the token at claim time (invitation_mail), builds the link from its
-- PUBLIC_BASE_URL and sends. Delivery sets sent_at and clears the token
-- (service/sender.c, SQL_SENT). A link that is spent, expired or given up
-- on is cleared too, and takes its waiting outbox row along, so no token
-- outlives its use, and no failed outbox row ever held one.

-- One outbox row per new password_emails row, in the language of the
-- person (new people have the organisation's). One statement for the whole
-- batch: an import of 10,000 people writes 10,000 rows and wakes once.
CREATE FUNCTION invitation_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (organisation_id, user_id, channel, kind, locale, payload)
        SELECT a.organisation_id, a.user_id, 'email', 'invitation', coalesce(p.locale, 'nl'),
               jsonb_build_object('password_email_id', a.id)
        FROM added a LEFT JOIN LATERAL notification_profile(a.user_id) p ON true
        WHERE a.sent_at IS NULL AND a.token IS NOT NULL;
    IF FOUND THEN
        PERFORM pg_notify('reflectd_outbox', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER password_emails_enqueue AFTER INSERT ON password_emails
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION invitation_enqueue();

-- What the sender needs for an invitation row: the token and when the link
-- expires, in the person's zone. NULL when the link can no longer be sent
-- (sent, spent, expired or gone).
CREATE FUNCTION invitation_mail(body jsonb, u uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('token', e.token,
               'expires', to_char(e.expires_at AT TIME ZONE p.time_zone, 'YYYY-MM-DD HH24:MI'),
               'time_zone', p.time_zone)
    FROM password_emails e CROSS JOIN LATERAL notification_profile(e.user_id) p
    WHERE e.id = (body->>'password_email_id')::uuid AND e.user_id = u AND e.sent_at IS NULL
      AND e.token IS NOT NULL AND e.expires_at > now()
$$;

-- An invitation the sender gave up on cannot be delivered any more: its
-- token goes (an admin invites again).
CREATE FUNCTION invitation_failed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE password_emails SET token = NULL
        WHERE id = (NEW.payload->>'password_email_id')::uuid AND token IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_invitation_failed AFTER UPDATE OF failed_at ON outbox
    FOR EACH ROW WHEN (NEW.kind = 'invitation' AND NEW.failed_at IS NOT NULL
                       AND OLD.failed_at IS NULL)
    EXECUTE FUNCTION invitation_failed();

-- A token cleared before its e-mail went (the link was used, expired or
-- failed) leaves nothing to send: the waiting outbox row goes. Failed rows
-- stay for operators (they hold no token).
CREATE FUNCTION invitation_withdrawn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox WHERE kind = 'invitation' AND failed_at IS NULL
        AND user_id = NEW.user_id AND payload->>'password_email_id' = NEW.id::text;
    RETURN NULL;
END
$$;
CREATE TRIGGER password_emails_withdrawn AFTER UPDATE OF token ON password_emails
    FOR EACH ROW WHEN (OLD.token IS NOT NULL AND NEW.token IS NULL)
    EXECUTE FUNCTION invitation_withdrawn();

-- The janitor's clean-up (0012's) also clears the tokens of links that
-- expired unsent.
CREATE OR REPLACE FUNCTION notify_cleanup(at timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    a integer;
    b integer;
    c integer;
BEGIN
    DELETE FROM outbox WHERE failed_at < at - interval '7 days';
    GET DIAGNOSTICS a = ROW_COUNT;
    DELETE FROM reminder_log WHERE last_at < at - interval '120 days';
    GET DIAGNOSTICS b = ROW_COUNT;
    UPDATE password_emails SET token = NULL WHERE token IS NOT NULL AND expires_at < at;
    GET DIAGNOSTICS c = ROW_COUNT;
    RETURN a + b + c;
END
$$;
