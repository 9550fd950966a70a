-- A reflection's author_reads (published periods, 0009 and 0016) is given
-- by the create statement itself when it knows it, and computed by the
-- trigger only when an INSERT leaves it out (issue 18).
--
-- Why: the create statement has already read the two rows the answer
-- depends on, the author's users row (the caller, SQL_ACTOR) and their
-- team_members row in the reflection's team (the team check), so the
-- value costs it nothing: roles && ARRAY['admin', 'praktijkopleider'] OR
-- role = 'teammanager', reads_team()'s predicate on those rows. The plpgsql
-- trigger asked the same two questions again, with two more index lookups,
-- for every insert.
--
-- How: the column loses its default, so an INSERT that does not name it
-- (imports, seeds, the goal and replay variants of the create, anything
-- written later) brings NULL, and the INSERT trigger runs exactly when
-- NEW.author_reads IS NULL, as before. The column stays NOT NULL; a BEFORE
-- trigger runs before that check. A change of team_id still recomputes it,
-- whatever the UPDATE sets.
ALTER TABLE reflections ALTER COLUMN author_reads DROP DEFAULT;
DROP TRIGGER reflections_author_reads ON reflections;
CREATE TRIGGER reflections_author_reads_ins BEFORE INSERT ON reflections
    FOR EACH ROW WHEN (NEW.author_reads IS NULL) EXECUTE FUNCTION reflection_author_reads();
CREATE TRIGGER reflections_author_reads_upd BEFORE UPDATE OF team_id ON reflections
    FOR EACH ROW EXECUTE FUNCTION reflection_author_reads();
