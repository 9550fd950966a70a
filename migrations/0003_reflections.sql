-- 0003: reflections, learning goals, sharing, feedback and feedback requests.
--
-- Deleting a reflection or goal leaves a tombstone (deleted_at set, content
-- wiped) so that a phone syncing with ?updated_since= learns of the
-- deletion; nothing personal stays in it.

CREATE TABLE goals (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    owner_id        uuid NOT NULL,
    what            text NOT NULL,
    why             text NOT NULL DEFAULT '',
    due_on          date,
    status          text NOT NULL CHECK (status IN ('open', 'active', 'achieved', 'dropped')),
    vermogens       text[] NOT NULL DEFAULT '{}'
                    CHECK (vermogens <@ ARRAY['absorptie','verbindend','opleidend','lerend']),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    UNIQUE (organisation_id, id),
    FOREIGN KEY (organisation_id, owner_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX goals_owner_created_idx ON goals (owner_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX goals_owner_updated_idx ON goals (owner_id, updated_at, id);

CREATE TABLE reflections (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    owner_id        uuid NOT NULL,
    team_id         uuid NOT NULL,
    occurred_on     date NOT NULL,
    situation       text NOT NULL DEFAULT '',
    task            text NOT NULL DEFAULT '',
    action          text NOT NULL DEFAULT '',
    result          text NOT NULL DEFAULT '',
    reflection      text NOT NULL DEFAULT '',
    transfer        text,
    status          text NOT NULL CHECK (status IN ('draft', 'final')),
    vermogens       text[] NOT NULL DEFAULT '{}'
                    CHECK (vermogens <@ ARRAY['absorptie','verbindend','opleidend','lerend']),
    dimensions      text[] NOT NULL DEFAULT '{}'
                    CHECK (dimensions <@ ARRAY['mensen','processen','systemen']),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    UNIQUE (organisation_id, id),
    -- The STARR rule lives in the schema too: no path can store a final
    -- reflection with a missing part.
    CONSTRAINT reflections_final_is_complete CHECK (
        status = 'draft' OR deleted_at IS NOT NULL OR (
            situation <> '' AND task <> '' AND action <> '' AND result <> '' AND reflection <> '')),
    FOREIGN KEY (organisation_id, owner_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id)
);
CREATE INDEX reflections_owner_created_idx ON reflections (owner_id, created_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX reflections_owner_updated_idx ON reflections (owner_id, updated_at, id);

CREATE TABLE reflection_goals (
    organisation_id uuid NOT NULL,
    reflection_id   uuid NOT NULL,
    goal_id         uuid NOT NULL,
    PRIMARY KEY (reflection_id, goal_id),
    FOREIGN KEY (organisation_id, reflection_id) REFERENCES reflections (organisation_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, goal_id) REFERENCES goals (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX reflection_goals_goal_idx ON reflection_goals (goal_id);

-- Sharing is per item and only with the owner's assigned supervisors; a
-- share without a current supervision grants nothing (checked on read).
CREATE TABLE reflection_shares (
    organisation_id uuid NOT NULL,
    reflection_id   uuid NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reflection_id, user_id),
    FOREIGN KEY (organisation_id, reflection_id) REFERENCES reflections (organisation_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX reflection_shares_user_idx ON reflection_shares (user_id, created_at);

CREATE TABLE goal_shares (
    organisation_id uuid NOT NULL,
    goal_id         uuid NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (goal_id, user_id),
    FOREIGN KEY (organisation_id, goal_id) REFERENCES goals (organisation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX goal_shares_user_idx ON goal_shares (user_id);

-- Feedback on a reflection or on a goal (exactly one), by a supervisor it
-- is shared with or by its owner (a reply).
CREATE TABLE feedback (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL,
    reflection_id   uuid,
    goal_id         uuid,
    author_id       uuid,
    by_owner        boolean NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('top', 'tip', 'question')),
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((reflection_id IS NULL) <> (goal_id IS NULL)),
    FOREIGN KEY (organisation_id, reflection_id) REFERENCES reflections (organisation_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, goal_id) REFERENCES goals (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX feedback_reflection_idx ON feedback (reflection_id, created_at, id);
CREATE INDEX feedback_goal_idx ON feedback (goal_id, created_at, id);

CREATE TABLE feedback_requests (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL,
    reflection_id   uuid NOT NULL,
    student_id      uuid NOT NULL,
    to_user_id      uuid NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    answered_at     timestamptz,
    FOREIGN KEY (organisation_id, reflection_id) REFERENCES reflections (organisation_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, to_user_id) REFERENCES users (organisation_id, id)
        ON DELETE CASCADE
);
CREATE INDEX feedback_requests_to_idx ON feedback_requests (to_user_id, status, created_at, id);
CREATE UNIQUE INDEX feedback_requests_open_key ON feedback_requests (reflection_id, to_user_id)
    WHERE status = 'open';
