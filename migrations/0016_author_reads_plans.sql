-- The author_reads triggers (published periods) ask the question of
-- reads_team() in the trigger itself.
--
-- Why: reads_team() is a LANGUAGE sql function, and called from a plpgsql
-- expression it is parsed and planned again in every transaction (its
-- cache lives in the transaction's expression state), which perf showed as
-- the largest single cost of an INSERT INTO reflections: pgbench of the
-- plain INSERT at 8 clients, synchronous_commit off, did about twice the
-- transactions per second with the question asked here, where plpgsql keeps
-- each statement's plan for the session. The predicate is reads_team()'s,
-- word for word; reads_team() stays for the publication queries, where it
-- is one call per query.
CREATE OR REPLACE FUNCTION checkin_author_reads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.author_reads :=
        EXISTS (SELECT 1 FROM users WHERE id = NEW.user_id
                AND roles && ARRAY['admin', 'praktijkopleider'])
        OR EXISTS (SELECT 1 FROM team_members
                   WHERE team_id = NEW.team_id AND user_id = NEW.user_id AND role = 'teammanager');
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION reflection_author_reads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.author_reads :=
        EXISTS (SELECT 1 FROM users WHERE id = NEW.owner_id
                AND roles && ARRAY['admin', 'praktijkopleider'])
        OR EXISTS (SELECT 1 FROM team_members
                   WHERE team_id = NEW.team_id AND user_id = NEW.owner_id AND role = 'teammanager');
    RETURN NEW;
END
$$;
