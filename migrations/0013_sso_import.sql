-- 0013: signing in through the organisation's own OpenID Connect provider,
-- bulk import of users, and invitations with a one-time set-password link.

-- One identity provider per organisation. An issuer may serve several
-- organisations (SURFconext is one issuer for every Dutch school), so the
-- issuer is not unique: the user an ID token signs in decides the
-- organisation, and the e-mail domains keep one organisation's provider from
-- claiming another's people.
CREATE TABLE oidc_providers (
    organisation_id      uuid PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    issuer               text NOT NULL CHECK (length(issuer) BETWEEN 8 AND 500),
    client_ids           text[] NOT NULL CHECK (cardinality(client_ids) BETWEEN 1 AND 10),
    email_domains        text[] NOT NULL DEFAULT '{}',
    email_claim          text NOT NULL DEFAULT 'email',
    email_verified_claim text NOT NULL DEFAULT 'email_verified',
    name_claim           text NOT NULL DEFAULT 'name',
    -- false: members of the organisation sign in only through the provider.
    password_login       boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oidc_providers_issuer_idx ON oidc_providers (issuer);

-- A user's account at a provider: (issuer, sub) is the only stable
-- identifier OpenID Connect promises (an e-mail address can be reassigned),
-- so after the first sign-in the link is by sub alone.
CREATE TABLE user_identities (
    issuer          text NOT NULL,
    subject         text NOT NULL,
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_login_at   timestamptz,
    PRIMARY KEY (issuer, subject),
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX user_identities_user_issuer_key ON user_identities (user_id, issuer);

-- Nonces of ID tokens already used, kept until the token expires: a token
-- (or a second token for the same authorization request) is good once.
CREATE TABLE oidc_nonces (
    issuer     text NOT NULL,
    nonce_hash bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (issuer, nonce_hash)
);
CREATE INDEX oidc_nonces_expiry_idx ON oidc_nonces (expires_at);

-- The organisation's own key for a person (an HR or student number), so an
-- import can match rows whose e-mail address changed.
ALTER TABLE users ADD COLUMN external_id text
    CHECK (length(external_id) BETWEEN 1 AND 100);
CREATE UNIQUE INDEX users_external_id_key ON users (organisation_id, external_id)
    WHERE deleted_at IS NULL AND external_id IS NOT NULL;

-- One-time set-password links. Only the SHA-256 of the token is kept here;
-- the link itself lives in password_emails until it is sent.
CREATE TABLE password_tokens (
    token_hash      bytea PRIMARY KEY,
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX password_tokens_user_idx ON password_tokens (user_id);

-- Invitation e-mails waiting to be sent: the queue the notifications
-- outbox (issue 15) sends from. A sender takes rows with sent_at IS NULL,
-- sends "set your password: <link with token>", then sets sent_at and
-- clears token (the link must not outlive its delivery in the database).
CREATE TABLE password_emails (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    kind            text NOT NULL DEFAULT 'invitation' CHECK (kind IN ('invitation')),
    token           text,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX password_emails_unsent_idx ON password_emails (created_at) WHERE sent_at IS NULL;

-- Erasure (erase_user) blanks the users row; a trigger rather than a new
-- erase_user, so that other migrations may extend that function freely.
-- The provider links, links and the external id are personal data too.
CREATE FUNCTION users_erased_sso() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM user_identities WHERE user_id = NEW.id;
    DELETE FROM password_tokens WHERE user_id = NEW.id;
    DELETE FROM password_emails WHERE user_id = NEW.id;
    NEW.external_id := NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER users_erased_sso BEFORE UPDATE OF deleted_at ON users
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION users_erased_sso();
