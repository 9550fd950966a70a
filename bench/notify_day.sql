-- notify_day.sql - the closing note of issue 15: one team's day of reminders.
-- Run against a database seeded with `reflectd --seed-demo` (it changes it):
--   psql "$DATABASE_URL" -f bench/notify_day.sql
-- Prints what the janitor's reminders_run does every 15 minutes of the day two
-- days before the month closes, and when quiet hours let each push out.
\set QUIET on
-- The simulated day: two days before the month closes, in Amsterdam.
CREATE TEMP TABLE sim AS SELECT ((date_trunc('month', now() AT TIME ZONE 'Europe/Amsterdam') + interval '1 month' - interval '2 days')::date) AS day;
CREATE TEMP TABLE who AS SELECT u.id, split_part(u.email, '@', 1) AS name FROM users u;
-- Everyone has a phone; memberships are 30 days old.
INSERT INTO devices (organisation_id, user_id, platform, token)
  SELECT organisation_id, id, 'apns', md5(id::text) || md5(email) FROM users;
UPDATE team_members SET created_at = (SELECT day FROM sim) - 30;
-- student1 reflected yesterday; student4 checked in this month.
INSERT INTO reflections (id, organisation_id, team_id, owner_id, occurred_on, situation, task, action, result, reflection, status, created_at)
  SELECT gen_random_uuid(), u.organisation_id, tm.team_id, u.id, (SELECT day FROM sim) - 1, '', '', '', '', '', 'draft', (SELECT day FROM sim) - 1
  FROM users u JOIN team_members tm ON tm.user_id = u.id WHERE u.email = 'student1@demo.example';
INSERT INTO checkins (organisation_id, team_id, user_id, period, absorptie, verbindend, opleidend, lerend)
  SELECT u.organisation_id, tm.team_id, u.id, date_trunc('month', (SELECT day FROM sim))::date, 7, 7, 7, 7
  FROM users u JOIN team_members tm ON tm.user_id = u.id WHERE u.email = 'student4@demo.example';
-- student2 asked the werkbegeleider for feedback 4 days ago; student3's goal is due in 2 days.
INSERT INTO reflections (id, organisation_id, team_id, owner_id, occurred_on, situation, task, action, result, reflection, status, created_at)
  SELECT '00000000-0000-4000-8000-000000000002', u.organisation_id, tm.team_id, u.id, (SELECT day FROM sim) - 5, '', '', '', '', '', 'draft', (SELECT day FROM sim) - 5
  FROM users u JOIN team_members tm ON tm.user_id = u.id WHERE u.email = 'student2@demo.example';
INSERT INTO feedback_requests (organisation_id, reflection_id, student_id, to_user_id, created_at)
  SELECT s.organisation_id, '00000000-0000-4000-8000-000000000002', s.id, b.id, (SELECT day FROM sim) - 4 + time '10:00'
  FROM users s, users b WHERE s.email = 'student2@demo.example' AND b.email = 'begeleider@demo.example';
INSERT INTO goals (id, organisation_id, owner_id, what, why, due_on, status)
  SELECT gen_random_uuid(), organisation_id, id, 'Overdracht SBAR', 'veiliger', (SELECT day FROM sim) + 2, 'active' FROM users WHERE email = 'student3@demo.example';
-- The werkbegeleider works nights (no quiet hours); student5 turned reflection reminders off.
INSERT INTO notification_settings (organisation_id, user_id, quiet_custom) SELECT organisation_id, id, true FROM users WHERE email = 'begeleider@demo.example';
INSERT INTO notification_prefs (organisation_id, user_id, kind, delivery) SELECT organisation_id, id, 'reminder_reflection', 'off' FROM users WHERE email = 'student5@demo.example';
DELETE FROM outbox;
-- The janitor's day: reminders_run every minute would do the same; every 15 minutes here.
CREATE TEMP TABLE runs (at timestamptz, sent integer);
DO $$
DECLARE t timestamptz;
BEGIN
  FOR t IN SELECT generate_series(((SELECT day FROM sim) + time '00:00') AT TIME ZONE 'Europe/Amsterdam',
                                  ((SELECT day FROM sim) + time '23:45') AT TIME ZONE 'Europe/Amsterdam', interval '15 minutes') LOOP
    INSERT INTO runs VALUES (t, reminders_run(t));
  END LOOP;
END $$;
\pset format unaligned
\pset fieldsep ' '
\pset tuples_only on
SELECT to_char(r.at AT TIME ZONE 'Europe/Amsterdam', 'HH24:MI') || ' janitor: reminders sent ' || r.sent
       || coalesce(' -> ' || (SELECT string_agg(w.name || ':' || l.kind || ' (push at ' || to_char(quiet_until(l.user_id, l.last_at) AT TIME ZONE 'Europe/Amsterdam', 'HH24:MI') || ')', ', ' ORDER BY w.name)
                              FROM reminder_log l JOIN who w ON w.id = l.user_id WHERE l.last_at = r.at), '')
FROM runs r WHERE r.sent > 0 OR r.at = (SELECT max(at) FROM runs) ORDER BY r.at;
SELECT 'runs: ' || count(*) || ', reminders: ' || sum(sent) || ', runs that sent nothing: ' || count(*) FILTER (WHERE sent = 0) FROM runs;
SELECT 'outbox rows: ' || count(*) FROM outbox;
