-- 0001: organisations, users, teams, memberships and supervisor assignments.
--
-- Every tenant-owned table carries organisation_id, and references between
-- tenant-owned rows go through composite (organisation_id, id) foreign keys:
-- the database itself refuses a membership that joins a user of one
-- organisation to a team of another, whatever a handler gets wrong. It also
-- keeps the schema ready to be distributed by organisation later.

CREATE TABLE organisations (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    anonymity_threshold integer NOT NULL DEFAULT 5 CHECK (anonymity_threshold >= 3),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    -- Stored lower-cased and trimmed; login is by e-mail across all
    -- organisations, so an address is unique in the whole service.
    email           text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash   text,
    roles           text[] NOT NULL DEFAULT '{}'
                    CHECK (roles <@ ARRAY['admin', 'praktijkopleider']::text[]),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Set when the user erased their account; personal fields are blanked.
    deleted_at      timestamptz,
    UNIQUE (organisation_id, id)
);
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE deleted_at IS NULL;

CREATE TABLE teams (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organisation_id, id)
);
CREATE UNIQUE INDEX teams_org_name_key ON teams (organisation_id, lower(name));

CREATE TABLE team_members (
    organisation_id uuid NOT NULL,
    team_id         uuid NOT NULL,
    user_id         uuid NOT NULL,
    role            text NOT NULL
                    CHECK (role IN ('student', 'werkbegeleider', 'teammanager', 'member')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- A werkbegeleider or praktijkopleider assigned to coach a student.
CREATE TABLE supervisions (
    organisation_id uuid NOT NULL,
    student_id      uuid NOT NULL,
    supervisor_id   uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (student_id, supervisor_id),
    CHECK (student_id <> supervisor_id),
    FOREIGN KEY (organisation_id, student_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, supervisor_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX supervisions_supervisor_idx ON supervisions (supervisor_id);
