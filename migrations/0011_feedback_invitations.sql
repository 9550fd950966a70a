-- 0011: feedback
-- invitations: a one-time link (and QR code) a student gives a colleague
-- without an account, and the feedback that colleague writes.
--
-- The link carries a random token (256 bits) of which only the SHA-256 is
-- stored: a copy of the database opens no invitation. An invitation is for
-- one of the student's reflections or goals, or for a moment the student
-- describes in its line alone; it is answered at most once, expires, and
-- can be revoked. It lives and dies with its item and its student.
CREATE TABLE feedback_invitations (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    student_id      uuid NOT NULL,
    reflection_id   uuid,
    goal_id         uuid,
    line            text NOT NULL,
    -- What the colleague sees besides the line: the reflection's situation
    -- part, the student's name. Both off unless the student chose them.
    share_situation boolean NOT NULL DEFAULT false,
    share_name      boolean NOT NULL DEFAULT false,
    token_hash      bytea NOT NULL UNIQUE,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    answered_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organisation_id, id),
    CHECK (reflection_id IS NULL OR goal_id IS NULL),
    CHECK (NOT share_situation OR reflection_id IS NOT NULL),
    CHECK (expires_at <= created_at + interval '7 days'),
    FOREIGN KEY (organisation_id, student_id) REFERENCES users (organisation_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, reflection_id) REFERENCES reflections (organisation_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, goal_id) REFERENCES goals (organisation_id, id)
        ON DELETE CASCADE
);
CREATE INDEX feedback_invitations_student_idx
    ON feedback_invitations (student_id, created_at, id);

-- Feedback from an invitation has no author account: the colleague's name
-- and role as they typed them (unverified), and the invitation it answers.
-- Feedback on a moment belongs to no reflection or goal, only to its
-- invitation. A supervisor marks external feedback seen (seen_at).
ALTER TABLE feedback
    ADD COLUMN invitation_id uuid,
    ADD COLUMN external_name text,
    ADD COLUMN external_role text,
    ADD COLUMN seen_at timestamptz,
    ADD CONSTRAINT feedback_invitation_fk FOREIGN KEY (organisation_id, invitation_id)
        REFERENCES feedback_invitations (organisation_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT feedback_external_author CHECK (
        (invitation_id IS NULL) = (external_name IS NULL)
        AND (invitation_id IS NULL) = (external_role IS NULL)
        AND (invitation_id IS NULL OR (author_id IS NULL AND NOT by_owner))),
    DROP CONSTRAINT feedback_check,
    ADD CONSTRAINT feedback_one_target CHECK (
        (reflection_id IS NULL) <> (goal_id IS NULL)
        OR (reflection_id IS NULL AND goal_id IS NULL AND invitation_id IS NOT NULL));
CREATE INDEX feedback_invitation_idx ON feedback (invitation_id) WHERE invitation_id IS NOT NULL;

-- Answers through the public form, counted per client address and per
-- link (token hash) in a fixed window. Rows older than the window are
-- removed by the statement that counts, so an address is kept no longer.
CREATE TABLE feedback_form_throttle (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    posts        integer NOT NULL
);
CREATE INDEX feedback_form_throttle_window_idx ON feedback_form_throttle (window_start);

-- Erasure takes the person's invitations with them, and so the feedback on
-- their moments (feedback on their reflections and goals goes with those).
CREATE FUNCTION erase_user_invitations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
        DELETE FROM feedback_invitations WHERE student_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_erase_invitations AFTER UPDATE OF deleted_at ON users
    FOR EACH ROW EXECUTE FUNCTION erase_user_invitations();
