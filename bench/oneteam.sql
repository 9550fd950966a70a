-- bench/oneteam.sql - one team that every benchmark student writes into.
--
--   psql -v uids="'uuid1','uuid2',..." -f bench/oneteam.sql
--
-- For scenario 2's one-team variant: the 64 benchmark students (already
-- logged in, one per wrk connection) become students of one more team, "Team
-- Schrijvers" (id md5('team-schrijvers')), so that every concurrent create
-- names the same team (its foreign key, its membership check). Run after the
-- logins (their answers list one student team each); the seeded teams and
-- their published months stay as they are. Idempotent.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
INSERT INTO teams (id, organisation_id, name)
SELECT md5('team-schrijvers')::uuid, u.organisation_id, 'Team Schrijvers'
FROM users u WHERE u.id = (ARRAY[:uids]::uuid[])[1]
ON CONFLICT DO NOTHING;
INSERT INTO team_members (organisation_id, team_id, user_id, role)
SELECT u.organisation_id, md5('team-schrijvers')::uuid, u.id, 'student'
FROM users u WHERE u.id = ANY (ARRAY[:uids]::uuid[])
ON CONFLICT DO NOTHING;
SELECT count(*) FROM team_members WHERE team_id = md5('team-schrijvers')::uuid;
