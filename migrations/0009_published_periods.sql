-- 0009: published periods. Managers read frozen snapshots, never live data.
--
-- Why: live figures moved with every write, so two reads around one
-- check-in, edit, erasure or setting change could be subtracted to recover
-- one person's data. Now a month gets figures once, after it has closed
-- (in the organisation's time zone, plus PUBLISH_DELAY_H for late
-- reflections about the last shifts), and those figures never change.
-- A snapshot holds counts only: no user ids, no per-person rows, texts
-- without authors. That makes it an anonymous aggregate, which is why
-- erasure and retention may leave it as it is (AVG recital 26).
--
-- The rules applied here, at publication (the product brief's anonymity rules):
-- * Whoever may read a figure does not count in it: a check-in or
--   reflection written while its author could read the team's figures (a
--   teammanager of the team, an admin or praktijkopleider) never counts.
--   That is decided when the row is written (author_reads), not at
--   publication, so nobody can change who counts by handing out roles
--   just before a month is published; someone who gains a reading role
--   later needs k others at read time instead (service/anonymity.c).
-- * k is locked per month: a month is published with the highest k in
--   force at any time since it began (from the audit log's settings
--   changes), so lowering k for the minute of publication gains nothing.
-- * A team's month shows when k distinct people checked in; each activity
--   block and the texts need k distinct people of their own.
-- * Activity counts people, not items, wherever one person could
--   dominate a figure (reflections per vermogen, goals per status); tops
--   and tips stay item counts, suppressed when one person received more
--   than half of them.
-- * A total over teams is the sum of its teams' figures, so the total
--   minus the shown teams is exactly the hidden teams; it shows only when
--   those hold at least k distinct people, or none and have no members
--   who could have contributed (a hidden team that had one contributor
--   must look the same as one that had none).
-- A hidden figure is not stored at all (its columns are NULL), so no later
-- change of k can bring it back. What the reader may see on top of this
-- (a higher current k, a reader who contributed) is decided at read time
-- by service/anonymity.c.

ALTER TABLE organisations ADD COLUMN timezone text NOT NULL DEFAULT 'Europe/Amsterdam';

-- The live aggregates are no longer read by anything: drop them and the
-- triggers that made every write of a team contend on one row.
DROP TRIGGER checkins_stats ON checkins;
DROP TRIGGER reflections_stats_ins ON reflections;
DROP TRIGGER reflections_stats_upd ON reflections;
DROP TRIGGER feedback_stats ON feedback;
DROP TRIGGER goals_stats_ins ON goals;
DROP TRIGGER goals_stats_upd ON goals;
DROP FUNCTION checkins_stats(), reflections_stats(), feedback_stats(), goals_stats();
DROP FUNCTION checkin_bump(checkins, integer), reflection_bump(reflections, integer),
    goal_bump(goals, integer), people_bump(uuid, uuid, date, uuid, text, integer),
    stats_ensure(uuid, uuid, date);
DROP TABLE team_month_stats, team_month_people, goal_teams;
DROP INDEX checkins_shared_texts_idx;

-- Since when someone holds their role in a team, or their organisation
-- roles: a reader who has not held a reading role since before a month
-- began may have contributed to it (service/anonymity.c).
ALTER TABLE team_members ADD COLUMN role_since timestamptz NOT NULL DEFAULT now();
UPDATE team_members SET role_since = updated_at;
ALTER TABLE users ADD COLUMN roles_since timestamptz NOT NULL DEFAULT now();
UPDATE users SET roles_since = created_at;

CREATE FUNCTION team_role_since() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role IS DISTINCT FROM OLD.role THEN
        NEW.role_since := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE FUNCTION user_roles_since() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.roles IS DISTINCT FROM OLD.roles THEN
        NEW.roles_since := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER team_members_role_since BEFORE UPDATE ON team_members
    FOR EACH ROW EXECUTE FUNCTION team_role_since();
CREATE TRIGGER users_roles_since BEFORE UPDATE OF roles ON users
    FOR EACH ROW EXECUTE FUNCTION user_roles_since();

-- May u read team t's figures (a teammanager of it, an admin or a
-- praktijkopleider)?
CREATE FUNCTION reads_team(u uuid, t uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM users WHERE id = u AND roles && ARRAY['admin', 'praktijkopleider'])
        OR EXISTS (SELECT 1 FROM team_members
                   WHERE team_id = t AND user_id = u AND role = 'teammanager')
$$;

-- Written by someone who could read the team's figures: never counted.
-- Set by the row's own trigger (no shared row, so no contention).
ALTER TABLE checkins ADD COLUMN author_reads boolean NOT NULL DEFAULT false;
ALTER TABLE reflections ADD COLUMN author_reads boolean NOT NULL DEFAULT false;
UPDATE checkins SET author_reads = reads_team(user_id, team_id);
UPDATE reflections SET author_reads = reads_team(owner_id, team_id);
-- (Two functions: a plpgsql trigger cannot name a column its table lacks.)
CREATE FUNCTION checkin_author_reads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.author_reads := reads_team(NEW.user_id, NEW.team_id);
    RETURN NEW;
END
$$;
CREATE FUNCTION reflection_author_reads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.author_reads := reads_team(NEW.owner_id, NEW.team_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER checkins_author_reads BEFORE INSERT OR UPDATE ON checkins
    FOR EACH ROW EXECUTE FUNCTION checkin_author_reads();
CREATE TRIGGER reflections_author_reads BEFORE INSERT OR UPDATE OF team_id ON reflections
    FOR EACH ROW EXECUTE FUNCTION reflection_author_reads();

-- The teams a goal counts for: its owner's student teams when it was set
-- (not at publication, which an admin could arrange).
ALTER TABLE goals ADD COLUMN team_ids uuid[] NOT NULL DEFAULT '{}';
UPDATE goals g SET team_ids = ARRAY(SELECT m.team_id FROM team_members m
                                    WHERE m.user_id = g.owner_id AND m.role = 'student');
CREATE FUNCTION goal_team_ids() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.team_ids := ARRAY(SELECT m.team_id FROM team_members m
                          WHERE m.user_id = NEW.owner_id AND m.role = 'student');
    RETURN NEW;
END
$$;
CREATE TRIGGER goals_teams BEFORE INSERT ON goals FOR EACH ROW EXECUTE FUNCTION goal_team_ids();


CREATE TABLE published_periods (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    period          date NOT NULL CHECK (period = date_trunc('month', period)::date),
    k               integer NOT NULL CHECK (k >= 3),
    published_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, period)
);

-- One row per team and published month, and one (team_id NULL) for the
-- organisation total. *_people are distinct counted people; the figures
-- next to them are NULL when they were suppressed at publication.
CREATE TABLE published_figures (
    organisation_id   uuid NOT NULL,
    period            date NOT NULL,
    team_id           uuid,
    people            integer NOT NULL,
    hist              integer[], -- 4 vermogens x 10 scores, row-major
    reflection_people integer NOT NULL,
    by_vermogen       integer[], -- people per vermogen
    feedback_people   integer NOT NULL,
    tops              integer,
    tips              integer,
    goal_people       integer NOT NULL,
    goals             integer[], -- people per status: open, active, achieved, dropped
    text_people       integer NOT NULL,
    texts             jsonb,     -- [{kind, text}], shuffled
    -- Totals only: distinct people in the teams whose block was hidden
    -- (check-ins, reflections, feedback, goals).
    hidden_people     integer[],
    FOREIGN KEY (organisation_id, period) REFERENCES published_periods ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX published_figures_key
    ON published_figures (organisation_id, period, coalesce(team_id, '00000000-0000-0000-0000-000000000000'));
CREATE INDEX published_figures_team_idx ON published_figures (team_id, period);

-- Who contributed what to one organisation's month, one row per team and
-- counted person; lives only inside publish_period's transaction.
CREATE FUNCTION publish_contributions(o uuid, p date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT timezone FROM organisations WHERE id = o);
    lo timestamptz := p::timestamp AT TIME ZONE tz;
    hi timestamptz := (p + interval '1 month')::timestamp AT TIME ZONE tz;
BEGIN
    -- publish_period drops it again; ON COMMIT DROP covers an error.
    CREATE TEMP TABLE pub_contrib ON COMMIT DROP AS
    WITH ci AS (
        SELECT team_id, user_id, ARRAY[absorptie, verbindend, opleidend, lerend] AS scores,
               share_text AND (coalesce(goes_well, '') <> '' OR coalesce(could_be_better, '') <> '')
                   AS shared,
               CASE WHEN share_text THEN goes_well END AS goes_well,
               CASE WHEN share_text THEN could_be_better END AS could_be_better
        FROM checkins WHERE organisation_id = o AND period = p AND NOT author_reads
    ), rf AS (
        SELECT r.team_id, r.owner_id AS user_id,
               array_agg(DISTINCT r.vermogens) AS verms
        FROM (SELECT team_id, owner_id, unnest(CASE WHEN vermogens = '{}' THEN '{NULL}'
                                                     ELSE vermogens END) AS vermogens
              FROM reflections
              WHERE organisation_id = o AND status = 'final' AND deleted_at IS NULL
                AND NOT author_reads
                AND occurred_on >= p AND occurred_on < p + interval '1 month') r
        GROUP BY 1, 2
    ), fb AS (
        SELECT r.team_id, r.owner_id AS user_id,
               count(*) FILTER (WHERE f.kind = 'top')::int AS tops,
               count(*) FILTER (WHERE f.kind = 'tip')::int AS tips
        FROM feedback f JOIN reflections r ON r.id = f.reflection_id
        WHERE f.organisation_id = o AND NOT f.by_owner AND f.kind IN ('top', 'tip')
          AND r.status = 'final' AND r.deleted_at IS NULL AND NOT r.author_reads
          AND f.created_at >= lo AND f.created_at < hi
          -- feedback arrives later than its reflection was written: a
          -- recipient who reads the team by now does not count either
          AND NOT reads_team(r.owner_id, r.team_id)
        GROUP BY 1, 2
    ), gl AS (
        SELECT t.team_id, g.owner_id AS user_id, array_agg(DISTINCT g.status) AS statuses
        FROM goals g CROSS JOIN LATERAL unnest(g.team_ids) AS t(team_id)
        WHERE g.organisation_id = o AND g.deleted_at IS NULL
          AND g.created_at >= lo AND g.created_at < hi
        GROUP BY 1, 2
    ), keys AS (
        SELECT team_id, user_id FROM ci UNION SELECT team_id, user_id FROM rf
        UNION SELECT team_id, user_id FROM fb UNION SELECT team_id, user_id FROM gl
    )
    SELECT k.team_id, k.user_id, ci.scores, coalesce(ci.shared, false) AS shared,
           ci.goes_well, ci.could_be_better, rf.verms, fb.tops, fb.tips, gl.statuses
    FROM keys k
    JOIN users u ON u.id = k.user_id AND u.deleted_at IS NULL
        AND NOT u.roles && ARRAY['admin', 'praktijkopleider']
    LEFT JOIN ci ON ci.team_id = k.team_id AND ci.user_id = k.user_id
    LEFT JOIN rf ON rf.team_id = k.team_id AND rf.user_id = k.user_id
    LEFT JOIN fb ON fb.team_id = k.team_id AND fb.user_id = k.user_id
    LEFT JOIN gl ON gl.team_id = k.team_id AND gl.user_id = k.user_id;
END
$$;

-- The counts of a set of contributions (a team's, or the whole
-- organisation's), people counted once however many teams they are in.
CREATE FUNCTION publish_counts(team uuid, OUT people int, OUT hist int[],
    OUT reflection_people int, OUT by_vermogen int[], OUT feedback_people int,
    OUT tops int, OUT tips int, OUT top_recipient int, OUT goal_people int, OUT goals int[],
    OUT text_people int, OUT texts jsonb) LANGUAGE plpgsql AS $$
BEGIN
    SELECT count(DISTINCT c.user_id) FILTER (WHERE c.scores IS NOT NULL),
           count(DISTINCT c.user_id) FILTER (WHERE c.verms IS NOT NULL),
           count(DISTINCT c.user_id) FILTER (WHERE c.tops + c.tips > 0),
           coalesce(sum(c.tops), 0), coalesce(sum(c.tips), 0),
           count(DISTINCT c.user_id) FILTER (WHERE c.statuses IS NOT NULL),
           count(DISTINCT c.user_id) FILTER (WHERE c.shared)
      INTO people, reflection_people, feedback_people, tops, tips, goal_people, text_people
      FROM pub_contrib c WHERE team IS NULL OR c.team_id = team;
    hist := ARRAY(SELECT count(c.user_id)::int FROM generate_series(1, 4) v
                  CROSS JOIN generate_series(1, 10) s
                  LEFT JOIN pub_contrib c ON (team IS NULL OR c.team_id = team) AND c.scores[v] = s
                  GROUP BY v, s ORDER BY v, s);
    -- by_vermogen and goals count person-team pairs: one person per team,
    -- and in a total the sum of the teams' figures, so that the total
    -- minus the shown teams is exactly the hidden teams.
    by_vermogen := ARRAY(SELECT count(c.user_id)::int
                         FROM unnest(ARRAY['absorptie', 'verbindend', 'opleidend', 'lerend'])
                              WITH ORDINALITY AS v(name, i)
                         LEFT JOIN pub_contrib c ON (team IS NULL OR c.team_id = team)
                              AND v.name = ANY (c.verms)
                         GROUP BY v.i ORDER BY v.i);
    goals := ARRAY(SELECT count(c.user_id)::int
                   FROM unnest(ARRAY['open', 'active', 'achieved', 'dropped'])
                        WITH ORDINALITY AS s(name, i)
                   LEFT JOIN pub_contrib c ON (team IS NULL OR c.team_id = team)
                        AND s.name = ANY (c.statuses)
                   GROUP BY s.i ORDER BY s.i);
    -- The largest share of tops and tips that went to one person.
    SELECT coalesce(max(n), 0) INTO top_recipient FROM (
        SELECT sum(c.tops + c.tips) AS n FROM pub_contrib c
        WHERE (team IS NULL OR c.team_id = team) AND c.tops IS NOT NULL GROUP BY c.user_id) x;
    SELECT coalesce(jsonb_agg(jsonb_build_object('kind', x.kind, 'text', x.text) ORDER BY random()),
                    '[]')
      INTO texts
      FROM pub_contrib c CROSS JOIN LATERAL (VALUES ('goes_well', nullif(c.goes_well, '')),
                                                    ('could_be_better', nullif(c.could_be_better, '')))
                                             x(kind, text)
     WHERE team IS NOT NULL AND c.team_id = team AND c.shared AND x.text IS NOT NULL;
END
$$;

-- Writes one figures row from the counts, leaving out what k suppresses.
-- hidden is NULL for a team and the hidden remainder for the total; a
-- total block is stored only when that remainder is 0 or at least k.
CREATE FUNCTION publish_row(o uuid, p date, team uuid, k int, hidden int[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    shown boolean;
BEGIN
    SELECT * INTO c FROM publish_counts(team);
    shown := c.people >= k AND (hidden IS NULL OR hidden[1] = 0 OR hidden[1] >= k);
    INSERT INTO published_figures (organisation_id, period, team_id, people, hist,
        reflection_people, by_vermogen, feedback_people, tops, tips, goal_people, goals,
        text_people, texts, hidden_people)
    VALUES (o, p, team, c.people, CASE WHEN shown THEN c.hist END,
        c.reflection_people,
        CASE WHEN shown AND c.reflection_people >= k
             AND (hidden IS NULL OR hidden[2] = 0 OR hidden[2] >= k) THEN c.by_vermogen END,
        c.feedback_people,
        CASE WHEN shown AND c.feedback_people >= k AND 2 * c.top_recipient <= c.tops + c.tips
             AND (hidden IS NULL OR hidden[3] = 0 OR hidden[3] >= k) THEN c.tops END,
        CASE WHEN shown AND c.feedback_people >= k AND 2 * c.top_recipient <= c.tops + c.tips
             AND (hidden IS NULL OR hidden[3] = 0 OR hidden[3] >= k) THEN c.tips END,
        c.goal_people,
        CASE WHEN shown AND c.goal_people >= k
             AND (hidden IS NULL OR hidden[4] = 0 OR hidden[4] >= k) THEN c.goals END,
        c.text_people, CASE WHEN shown AND team IS NOT NULL AND c.text_people >= k THEN c.texts END,
        hidden);
END
$$;

-- 1 when a team whose figures `col` were not stored has a member who
-- could have contributed (anyone but its teammanagers, the admins and
-- the praktijkopleiders), else 0.
CREATE FUNCTION publish_hidden_members(o uuid, p date, col text) RETURNS int
LANGUAGE plpgsql STABLE AS $$
DECLARE
    found_one boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM published_figures f JOIN team_members m'
                   ' ON m.team_id = f.team_id WHERE f.organisation_id = $1 AND f.period = $2'
                   ' AND f.%I IS NULL AND NOT reads_team(m.user_id, m.team_id))', col)
        INTO found_one USING o, p;
    RETURN CASE WHEN found_one THEN 1 ELSE 0 END;
END
$$;

-- Publishes one month of one organisation; false when it already was
-- (the primary key makes a second publisher wait for the first and then
-- do nothing, so every month is published exactly once).
-- The k a month is published with: the highest in force at any time
-- since the month began (every change of k is in the audit log with its
-- old and new value, migrations/0010; plpgsql, whose body is bound when
-- it first runs, after that migration), never below 3.
CREATE FUNCTION publish_k(o uuid, p date) RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT greatest(3, o2.anonymity_threshold, (
        SELECT max(greatest((a.details -> 'anonymity_threshold' ->> 'old')::int,
                            (a.details -> 'anonymity_threshold' ->> 'new')::int))
        FROM audit_log a
        WHERE a.organisation_id = o AND a.action = 'organisation.update'
          AND a.details ? 'anonymity_threshold'
          AND a.at >= p::timestamp AT TIME ZONE o2.timezone))
    FROM organisations o2 WHERE o2.id = o);
END
$$;

CREATE FUNCTION publish_period(o uuid, p date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    k int := publish_k(o, p);
    t uuid;
    hidden int[];
BEGIN
    INSERT INTO published_periods (organisation_id, period, k) VALUES (o, p, k)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM publish_contributions(o, p);
    FOR t IN SELECT id FROM teams WHERE organisation_id = o ORDER BY id LOOP
        PERFORM publish_row(o, p, t, k, NULL);
    END LOOP;
    -- The remainder behind the total: distinct people in the teams whose
    -- block was not stored (check-ins, reflections, feedback, goals). A
    -- hidden team with members who could have contributed counts as at
    -- least one person, so that "nobody" and "one person" look the same.
    SELECT ARRAY[
        greatest(count(DISTINCT c.user_id) FILTER (WHERE c.scores IS NOT NULL AND f.hist IS NULL),
                 publish_hidden_members(o, p, 'hist')),
        greatest(count(DISTINCT c.user_id) FILTER (WHERE c.verms IS NOT NULL AND f.by_vermogen IS NULL),
                 publish_hidden_members(o, p, 'by_vermogen')),
        greatest(count(DISTINCT c.user_id) FILTER (WHERE c.tops + c.tips > 0 AND f.tops IS NULL),
                 publish_hidden_members(o, p, 'tops')),
        greatest(count(DISTINCT c.user_id) FILTER (WHERE c.statuses IS NOT NULL AND f.goals IS NULL),
                 publish_hidden_members(o, p, 'goals'))]
      INTO hidden
      FROM pub_contrib c
      JOIN published_figures f ON f.organisation_id = o AND f.period = p AND f.team_id = c.team_id;
    PERFORM publish_row(o, p, NULL, k, hidden);
    DROP TABLE pub_contrib;
    RETURN true;
END
$$;

-- Publishes up to max_periods months that are due: closed in the
-- organisation's time zone at least delay_h hours ago, not before the
-- month the organisation was created, not yet published. Oldest first, so
-- that a month's predecessor is always published before it. Bounded so
-- one call stays well inside a statement timeout; callers repeat while it
-- returns max_periods. Returns how many it published.
CREATE FUNCTION publish_due(delay_h int, max_periods int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int := 0;
    r record;
BEGIN
    FOR r IN
        SELECT o.id, m::date AS p
        FROM organisations o,
             generate_series(date_trunc('month', o.created_at AT TIME ZONE o.timezone),
                             date_trunc('month', now() AT TIME ZONE o.timezone)
                                 - interval '1 month', interval '1 month') m
        WHERE (m + interval '1 month') AT TIME ZONE o.timezone
                  + make_interval(hours => delay_h) <= now()
          AND NOT EXISTS (SELECT 1 FROM published_periods pp
                          WHERE pp.organisation_id = o.id AND pp.period = m::date)
        ORDER BY m, o.id
        LIMIT max_periods
    LOOP
        IF publish_period(r.id, r.p) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;

-- Erasure and retention no longer touch any aggregate.
CREATE OR REPLACE FUNCTION erase_user(u uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM feedback_requests WHERE student_id = u OR to_user_id = u;
    DELETE FROM feedback WHERE reflection_id IN (SELECT id FROM reflections WHERE owner_id = u)
        OR goal_id IN (SELECT id FROM goals WHERE owner_id = u);
    DELETE FROM reflections WHERE owner_id = u;
    DELETE FROM goals WHERE owner_id = u;
    DELETE FROM checkins WHERE user_id = u;
    UPDATE feedback SET author_id = NULL WHERE author_id = u;
    DELETE FROM reflection_shares WHERE user_id = u;
    DELETE FROM goal_shares WHERE user_id = u;
    DELETE FROM supervisions WHERE student_id = u OR supervisor_id = u;
    DELETE FROM team_members WHERE user_id = u;
    DELETE FROM refresh_tokens WHERE user_id = u;
    UPDATE sessions SET revoked_at = now(), revoke_reason = 'erased'
        WHERE user_id = u AND revoked_at IS NULL;
    UPDATE users SET email = id::text || '@erased.invalid', name = 'Erased user',
        password_hash = NULL, roles = '{}', deleted_at = now(), updated_at = now()
        WHERE id = u;
END
$$;

CREATE OR REPLACE FUNCTION janitor_run(retention_days integer, event_hours integer, throttle_s integer)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    n_refl integer := 0;
    n_events integer;
    n_tokens integer;
    n_throttle integer;
BEGIN
    IF retention_days > 0 THEN
        DELETE FROM reflections WHERE created_at < now() - make_interval(days => retention_days);
        GET DIAGNOSTICS n_refl = ROW_COUNT;
    END IF;
    DELETE FROM events WHERE created_at < now() - make_interval(hours => event_hours);
    GET DIAGNOSTICS n_events = ROW_COUNT;
    DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day';
    GET DIAGNOSTICS n_tokens = ROW_COUNT;
    DELETE FROM login_throttle WHERE window_start < now() - make_interval(secs => throttle_s);
    GET DIAGNOSTICS n_throttle = ROW_COUNT;
    RETURN jsonb_build_object('reflections', n_refl, 'events', n_events,
                              'refresh_tokens', n_tokens, 'login_throttle', n_throttle);
END
$$;
