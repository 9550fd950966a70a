-- Reminder runs, one at a time.
--
-- reminders_run (0012) is called by the janitor of every instance once a
-- minute and by `reflectd` operators, and its throttle lives in
-- reminder_log. Two runs at the same moment each read reminder_log before
-- the other has committed: both see "not sent yet", both enqueue, and the
-- person gets the same reminder twice (seen in tests/faults/test_notify.c
-- when the janitor's round coincided with the test's own run). The
-- INSERT ... ON CONFLICT in remind() only made the second run wait for the
-- row, not see it.
--
-- A transaction-scoped advisory lock around the whole run serializes the
-- runs: the second waits for the first's commit, and since every statement
-- of a plpgsql function takes a fresh snapshot under READ COMMITTED, it
-- then sees the first run's reminder_log rows and sends nothing. One lock
-- per run, not one per person: per-person advisory locks would take one
-- lock-table slot each for the length of the transaction.
ALTER FUNCTION reminders_run(timestamptz) RENAME TO reminders_run_unlocked;

CREATE FUNCTION reminders_run(at timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    -- Any constant will do; it names "reflectd reminder runs" among
    -- advisory locks (the migrations hold 727165, db/migrate.c).
    PERFORM pg_advisory_xact_lock(727166);
    RETURN reminders_run_unlocked(at);
END
$$;
