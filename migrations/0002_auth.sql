-- 0002: login sessions, rotating refresh tokens, login throttling, audit log.

-- One row per login. Access tokens name their session (claim "sid"); every
-- authenticated statement checks that the session is still open, so logout,
-- refresh-token reuse and account erasure take effect at once.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoke_reason   text CHECK (revoke_reason IN ('logout', 'refresh_reuse', 'erased', 'expired')),
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Refresh tokens are random; only their SHA-256 is stored, so a copy of the
-- database does not hand out logins. A token is used at most once: the row
-- stays (used_at set) so that a second use is recognised as theft.
CREATE TABLE refresh_tokens (
    token_hash      bytea PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed logins per key ('email:<address>' or 'addr:<ip>') in a fixed
-- window. Kept in the database, not in process memory, so that every
-- instance behind a load balancer counts the same attempts. Not tenant
-- data: an e-mail address may not belong to any organisation.
CREATE TABLE login_throttle (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    failures     integer NOT NULL
);

-- Who read or changed whose data. Append-only by convention; erasing a
-- user keeps the rows (ids only, no personal content).
CREATE TABLE audit_log (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    at              timestamptz NOT NULL DEFAULT now(),
    actor_id        uuid,
    action          text NOT NULL,
    subject_user_id uuid,
    object_type     text NOT NULL,
    object_id       uuid
);
CREATE INDEX audit_log_org_idx ON audit_log (organisation_id, at DESC, id DESC);
