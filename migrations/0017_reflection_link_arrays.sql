-- A reflection's goal_ids and shared_with live on its row (issue 18), so
-- that one read of reflections finds everything its representation needs:
-- listing a page no longer runs two subqueries per row.
--
-- reflection_goals and reflection_shares stay the truth (their keys and
-- foreign keys, the policy's share check, the supervisor's list). The
-- arrays are copies, sorted by id as the API sends them, kept right by
-- statement-level triggers on every change of the link tables, whoever
-- makes it: the handlers, erasure, cascades, retention. The statements
-- that change links also set the arrays themselves; the triggers then find
-- them equal and write nothing.

ALTER TABLE reflections
    ADD COLUMN goal_ids uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN shared_with uuid[] NOT NULL DEFAULT '{}';

UPDATE reflections x SET goal_ids = l.ids
    FROM (SELECT reflection_id, array_agg(goal_id ORDER BY goal_id) AS ids
          FROM reflection_goals GROUP BY reflection_id) l
    WHERE x.id = l.reflection_id;
UPDATE reflections x SET shared_with = l.ids
    FROM (SELECT reflection_id, array_agg(user_id ORDER BY user_id) AS ids
          FROM reflection_shares GROUP BY reflection_id) l
    WHERE x.id = l.reflection_id;

-- Recomputes the arrays of the reflections named in the transition table
-- "changed" (and "changed_new", for an UPDATE) from the link tables.
CREATE FUNCTION reflection_goals_to_array() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        UPDATE reflections x SET goal_ids = c.ids
            FROM (SELECT r.id, coalesce((SELECT array_agg(l.goal_id ORDER BY l.goal_id)
                                         FROM reflection_goals l WHERE l.reflection_id = r.id),
                                        '{}') AS ids
                  FROM (SELECT reflection_id AS id FROM changed
                        UNION SELECT reflection_id FROM changed_new) r) c
            WHERE x.id = c.id AND x.goal_ids IS DISTINCT FROM c.ids;
    ELSE
        UPDATE reflections x SET goal_ids = c.ids
            FROM (SELECT r.id, coalesce((SELECT array_agg(l.goal_id ORDER BY l.goal_id)
                                         FROM reflection_goals l WHERE l.reflection_id = r.id),
                                        '{}') AS ids
                  FROM (SELECT DISTINCT reflection_id AS id FROM changed) r) c
            WHERE x.id = c.id AND x.goal_ids IS DISTINCT FROM c.ids;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION reflection_shares_to_array() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        UPDATE reflections x SET shared_with = c.ids
            FROM (SELECT r.id, coalesce((SELECT array_agg(s.user_id ORDER BY s.user_id)
                                         FROM reflection_shares s WHERE s.reflection_id = r.id),
                                        '{}') AS ids
                  FROM (SELECT reflection_id AS id FROM changed
                        UNION SELECT reflection_id FROM changed_new) r) c
            WHERE x.id = c.id AND x.shared_with IS DISTINCT FROM c.ids;
    ELSE
        UPDATE reflections x SET shared_with = c.ids
            FROM (SELECT r.id, coalesce((SELECT array_agg(s.user_id ORDER BY s.user_id)
                                         FROM reflection_shares s WHERE s.reflection_id = r.id),
                                        '{}') AS ids
                  FROM (SELECT DISTINCT reflection_id AS id FROM changed) r) c
            WHERE x.id = c.id AND x.shared_with IS DISTINCT FROM c.ids;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reflection_goals_ins AFTER INSERT ON reflection_goals
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reflection_goals_to_array();
CREATE TRIGGER reflection_goals_del AFTER DELETE ON reflection_goals
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reflection_goals_to_array();
CREATE TRIGGER reflection_goals_upd AFTER UPDATE ON reflection_goals
    REFERENCING OLD TABLE AS changed NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION reflection_goals_to_array();

CREATE TRIGGER reflection_shares_ins AFTER INSERT ON reflection_shares
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reflection_shares_to_array();
CREATE TRIGGER reflection_shares_del AFTER DELETE ON reflection_shares
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reflection_shares_to_array();
CREATE TRIGGER reflection_shares_upd AFTER UPDATE ON reflection_shares
    REFERENCING OLD TABLE AS changed NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION reflection_shares_to_array();
