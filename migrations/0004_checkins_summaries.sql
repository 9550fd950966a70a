-- 0004: vermogen check-ins and the per-team, per-month aggregates that
-- team summaries read.
--
-- Why triggers: a summary must cost in proportion to the months asked, not
-- to the check-ins and reflections ever stored, so every write keeps
-- team_month_stats current in its own transaction. Doing that in the
-- database, next to the rows, means no write path (create, edit, delete,
-- cascade on erasure) can forget it. The aggregates hold counts only; the
-- anonymity rules (k, suppression, trends) are applied by the service
-- (service/anonymity.c) to every figure before it leaves.

CREATE TABLE checkins (
    organisation_id  uuid NOT NULL,
    team_id          uuid NOT NULL,
    user_id          uuid NOT NULL,
    period           date NOT NULL CHECK (period = date_trunc('month', period)::date),
    absorptie        smallint NOT NULL CHECK (absorptie BETWEEN 1 AND 10),
    verbindend       smallint NOT NULL CHECK (verbindend BETWEEN 1 AND 10),
    opleidend        smallint NOT NULL CHECK (opleidend BETWEEN 1 AND 10),
    lerend           smallint NOT NULL CHECK (lerend BETWEEN 1 AND 10),
    goes_well        text,
    could_be_better  text,
    share_text       boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, period, user_id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, user_id) REFERENCES users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX checkins_user_idx ON checkins (user_id, period);
CREATE INDEX checkins_org_period_idx ON checkins (organisation_id, period);

CREATE TABLE team_month_stats (
    organisation_id   uuid NOT NULL,
    team_id           uuid NOT NULL,
    period            date NOT NULL,
    checkins          integer NOT NULL DEFAULT 0, -- = distinct people (one per person)
    absorptie         integer[] NOT NULL DEFAULT array_fill(0, ARRAY[10]),
    verbindend        integer[] NOT NULL DEFAULT array_fill(0, ARRAY[10]),
    opleidend         integer[] NOT NULL DEFAULT array_fill(0, ARRAY[10]),
    lerend            integer[] NOT NULL DEFAULT array_fill(0, ARRAY[10]),
    reflection_people integer NOT NULL DEFAULT 0,
    reflections       integer NOT NULL DEFAULT 0,
    refl_absorptie    integer NOT NULL DEFAULT 0,
    refl_verbindend   integer NOT NULL DEFAULT 0,
    refl_opleidend    integer NOT NULL DEFAULT 0,
    refl_lerend       integer NOT NULL DEFAULT 0,
    feedback_people   integer NOT NULL DEFAULT 0,
    tops              integer NOT NULL DEFAULT 0,
    tips              integer NOT NULL DEFAULT 0,
    goal_people       integer NOT NULL DEFAULT 0,
    goals_open        integer NOT NULL DEFAULT 0,
    goals_active      integer NOT NULL DEFAULT 0,
    goals_achieved    integer NOT NULL DEFAULT 0,
    goals_dropped     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, period),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX team_month_stats_org_idx ON team_month_stats (organisation_id, period);

-- Who contributed what to a team-month: lets the distinct-people counters
-- in team_month_stats move only when a person's count crosses zero.
CREATE TABLE team_month_people (
    team_id    uuid NOT NULL,
    period     date NOT NULL,
    user_id    uuid NOT NULL,
    reflection integer NOT NULL DEFAULT 0,
    feedback   integer NOT NULL DEFAULT 0,
    goal       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, period, user_id)
);

-- The teams a goal counts for: its owner's student teams when it was made.
CREATE TABLE goal_teams (
    goal_id uuid NOT NULL REFERENCES goals (id) ON DELETE CASCADE,
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (goal_id, team_id)
);

CREATE FUNCTION stats_ensure(o uuid, t uuid, p date) RETURNS void LANGUAGE sql AS $$
    INSERT INTO team_month_stats (organisation_id, team_id, period) VALUES (o, t, p)
    ON CONFLICT DO NOTHING
$$;

-- Adds d to one person's count of kind ('reflection', 'feedback', 'goal')
-- and moves <kind>_people when that count leaves or reaches zero.
CREATE FUNCTION people_bump(o uuid, t uuid, p date, u uuid, kind text, d integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    after integer;
BEGIN
    PERFORM stats_ensure(o, t, p);
    INSERT INTO team_month_people (team_id, period, user_id) VALUES (t, p, u)
    ON CONFLICT DO NOTHING;
    EXECUTE format('UPDATE team_month_people SET %1$I = %1$I + $1'
                   ' WHERE team_id = $2 AND period = $3 AND user_id = $4 RETURNING %1$I', kind)
        INTO after USING d, t, p, u;
    IF (d > 0 AND after = d) OR (d < 0 AND after = 0) THEN
        EXECUTE format('UPDATE team_month_stats SET %1$I = %1$I + $1'
                       ' WHERE team_id = $2 AND period = $3', kind || '_people')
            USING sign(d)::integer, t, p;
    END IF;
END
$$;

CREATE FUNCTION checkin_bump(c checkins, d integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_ensure(c.organisation_id, c.team_id, c.period);
    UPDATE team_month_stats SET checkins = checkins + d,
        absorptie[c.absorptie] = absorptie[c.absorptie] + d,
        verbindend[c.verbindend] = verbindend[c.verbindend] + d,
        opleidend[c.opleidend] = opleidend[c.opleidend] + d,
        lerend[c.lerend] = lerend[c.lerend] + d
    WHERE team_id = c.team_id AND period = c.period;
END
$$;

CREATE FUNCTION checkins_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM checkin_bump(OLD, -1); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM checkin_bump(NEW, 1); END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER checkins_stats AFTER INSERT OR UPDATE OR DELETE ON checkins
    FOR EACH ROW EXECUTE FUNCTION checkins_stats();

-- Final, not deleted reflections count, in the month they happened.
CREATE FUNCTION reflection_bump(r reflections, d integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p date := date_trunc('month', r.occurred_on)::date;
BEGIN
    IF r.status <> 'final' OR r.deleted_at IS NOT NULL THEN RETURN; END IF;
    PERFORM people_bump(r.organisation_id, r.team_id, p, r.owner_id, 'reflection', d);
    UPDATE team_month_stats SET reflections = reflections + d,
        refl_absorptie = refl_absorptie + CASE WHEN 'absorptie' = ANY (r.vermogens) THEN d ELSE 0 END,
        refl_verbindend = refl_verbindend + CASE WHEN 'verbindend' = ANY (r.vermogens) THEN d ELSE 0 END,
        refl_opleidend = refl_opleidend + CASE WHEN 'opleidend' = ANY (r.vermogens) THEN d ELSE 0 END,
        refl_lerend = refl_lerend + CASE WHEN 'lerend' = ANY (r.vermogens) THEN d ELSE 0 END
    WHERE team_id = r.team_id AND period = p;
END
$$;

CREATE FUNCTION reflections_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM reflection_bump(OLD, -1); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM reflection_bump(NEW, 1); END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER reflections_stats_ins AFTER INSERT OR DELETE ON reflections
    FOR EACH ROW EXECUTE FUNCTION reflections_stats();
CREATE TRIGGER reflections_stats_upd AFTER UPDATE ON reflections FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
          OR OLD.vermogens IS DISTINCT FROM NEW.vermogens OR OLD.team_id IS DISTINCT FROM NEW.team_id
          OR OLD.occurred_on IS DISTINCT FROM NEW.occurred_on)
    EXECUTE FUNCTION reflections_stats();

-- Tops and tips from supervisors on a team's reflections, in the month given.
CREATE FUNCTION feedback_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f feedback := CASE WHEN TG_OP = 'INSERT' THEN NEW ELSE OLD END;
    d integer := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
    r record;
    p date;
BEGIN
    IF f.reflection_id IS NULL OR f.by_owner OR f.kind NOT IN ('top', 'tip') THEN RETURN NULL; END IF;
    SELECT team_id, owner_id INTO r FROM reflections WHERE id = f.reflection_id;
    IF NOT FOUND THEN RETURN NULL; END IF;
    p := date_trunc('month', f.created_at AT TIME ZONE 'UTC')::date;
    PERFORM people_bump(f.organisation_id, r.team_id, p, r.owner_id, 'feedback', d);
    UPDATE team_month_stats SET tops = tops + CASE WHEN f.kind = 'top' THEN d ELSE 0 END,
        tips = tips + CASE WHEN f.kind = 'tip' THEN d ELSE 0 END
    WHERE team_id = r.team_id AND period = p;
    RETURN NULL;
END
$$;
CREATE TRIGGER feedback_stats AFTER INSERT OR DELETE ON feedback
    FOR EACH ROW EXECUTE FUNCTION feedback_stats();

-- Goals by status, counted for the owner's student teams, in the month made.
CREATE FUNCTION goal_bump(g goals, d integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p date := date_trunc('month', g.created_at AT TIME ZONE 'UTC')::date;
    t uuid;
BEGIN
    IF g.deleted_at IS NOT NULL THEN RETURN; END IF;
    FOR t IN SELECT team_id FROM goal_teams WHERE goal_id = g.id LOOP
        PERFORM people_bump(g.organisation_id, t, p, g.owner_id, 'goal', d);
        UPDATE team_month_stats SET
            goals_open = goals_open + CASE WHEN g.status = 'open' THEN d ELSE 0 END,
            goals_active = goals_active + CASE WHEN g.status = 'active' THEN d ELSE 0 END,
            goals_achieved = goals_achieved + CASE WHEN g.status = 'achieved' THEN d ELSE 0 END,
            goals_dropped = goals_dropped + CASE WHEN g.status = 'dropped' THEN d ELSE 0 END
        WHERE team_id = t AND period = p;
    END LOOP;
END
$$;

CREATE FUNCTION goals_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO goal_teams (goal_id, team_id)
            SELECT NEW.id, m.team_id FROM team_members m
            WHERE m.user_id = NEW.owner_id AND m.role = 'student'
            ON CONFLICT DO NOTHING;
    ELSE
        PERFORM goal_bump(OLD, -1);
    END IF;
    PERFORM goal_bump(NEW, 1);
    RETURN NULL;
END
$$;
CREATE TRIGGER goals_stats_ins AFTER INSERT ON goals FOR EACH ROW EXECUTE FUNCTION goals_stats();
CREATE TRIGGER goals_stats_upd AFTER UPDATE ON goals FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
    EXECUTE FUNCTION goals_stats();
