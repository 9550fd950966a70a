-- 0006: events for the apps' live streams (GET /v1/events).
--
-- Each recipient has a gap-free sequence: emit_event takes the next number
-- under a row lock on the recipient's counter, so two transactions that
-- create events for the same person commit in the order of their numbers.
-- A stream that resumes with Last-Event-ID = n asks for seq > n and can
-- therefore never skip an event that commits late, nor see one twice.
-- pg_notify is delivered at commit, to every service instance listening.
CREATE TABLE event_counters (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    seq     bigint NOT NULL
);

CREATE TABLE events (
    recipient_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    organisation_id uuid NOT NULL,
    type            text NOT NULL
                    CHECK (type IN ('feedback.created', 'feedback_request.created',
                                    'reflection.shared')),
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recipient_id, seq)
);
CREATE INDEX events_created_idx ON events (created_at);

CREATE FUNCTION emit_event(recipient uuid, org uuid, kind text, body jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO event_counters AS c (user_id, seq) VALUES (recipient, 1)
        ON CONFLICT (user_id) DO UPDATE SET seq = c.seq + 1
        RETURNING seq INTO n;
    INSERT INTO events (recipient_id, seq, organisation_id, type, payload)
        VALUES (recipient, n, org, kind, body);
    PERFORM pg_notify('reflectd_events', recipient::text);
    RETURN n;
END
$$;

-- Erasure takes a person's events with it (they name items of theirs).
CREATE OR REPLACE FUNCTION erase_user_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
        DELETE FROM events WHERE recipient_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_erase_events AFTER UPDATE OF deleted_at ON users
    FOR EACH ROW EXECUTE FUNCTION erase_user_events();
