-- bench/seed.sql - the benchmark data set, set-based (generate_series).
--
--   psql -v admin_email=ADDR -v first_team=1 -v last_team=50 -v triggers=on -f bench/seed.sql
--
-- Adds teams first_team..last_team to the organisation of ADDR (made by
-- `reflectd bootstrap`). Per team: one teammanager, 2 werkbegeleiders and
-- 40 students, each student supervised by one of the two; 100 reflections
-- per student over the last 24 months (90% final, with vermogens and
-- dimensions); every other reflection of a student shared with their
-- werkbegeleider, who left one top, tip or question on it; one check-in per
-- student per month. Every user gets the admin's password hash, so all log
-- in with the bootstrap password. Ids are md5-derived from the numbers
-- (team t, student s, werkbegeleider b, manager t, reflection s-k), so a run
-- is reproducible. Teams 1..50 make 2,000 students, 200,000 reflections,
-- 100,000 feedback items and 48,000 check-ins.
--
-- triggers=on: the rows go through the normal triggers and foreign key
-- checks (events, erasure), in 40 transactions of one student per team.
-- triggers=off (only for bulk-growing the data set, e.g. the 10x test):
-- session_replication_role = replica skips them. Summaries read published
-- months, which scripts/bench.sh publishes after seeding (`reflectd publish`).
\set ON_ERROR_STOP on
SET synchronous_commit = off; -- seeding only; the service runs with it on
SET client_min_messages = warning;
\if :triggers
\else
SET session_replication_role = replica;
\endif
DO $$ BEGIN PERFORM setseed(0.42); END $$;

CREATE TEMP TABLE ctx AS
SELECT u.organisation_id AS org, u.password_hash AS pw,
       (date_trunc('month', now()) - interval '23 months')::date AS first_month,
       :first_team::int AS t0, :last_team::int AS t1,
       CASE WHEN :'triggers' IN ('on', 'true', '1') THEN 40 ELSE 1 END AS chunks,
       -- a little more than a page of Dutch care writing; texts are slices of it
       'Tijdens de avonddienst op de afdeling was mevrouw De Vries erg onrustig en riep zij '
       'steeds om haar dochter. Mijn taak was om haar gerust te stellen en tegelijk de '
       'medicatieronde op tijd af te ronden, samen met een collega die nieuw was op de '
       'afdeling. Ik ben naast haar gaan zitten, heb rustig uitgelegd wat er ging gebeuren '
       'en heb haar hand vastgehouden tot zij wat rustiger werd. Daarna heb ik de overdracht '
       'aan de nachtdienst gedaan en genoteerd wat goed werkte. Het resultaat was dat '
       'mevrouw zonder extra medicatie in slaap viel en de ronde maar tien minuten later '
       'klaar was. Ik merkte dat ik zelf ook rustiger werd toen ik de tijd nam in plaats '
       'van te haasten. Mijn werkbegeleider gaf aan dat zij dit vaker ziet bij nieuwe '
       'collega''s. Volgende keer wil ik eerder om hulp vragen als de werkdruk hoog is en '
       'de signalen van onrust eerder bespreken in het team, zodat we samen een plan maken. '
       'Bij de familie heb ik nagevraagd welke muziek zij fijn vindt; dat nemen we op in het '
       'zorgplan. Ook heb ik geleerd hoe belangrijk een goede overdracht is tussen diensten '
       'en dat kleine dingen, zoals een vaste volgorde, veel verschil maken voor clienten '
       'met dementie. In het teamoverleg wil ik voorstellen om een vast moment voor '
       'reflectie in te plannen, want dan leren we meer van elkaar en van wat er misging.'
       ::text AS lorem
FROM users u WHERE u.email = lower(:'admin_email') AND 'admin' = ANY (u.roles);
DO $$ BEGIN
    IF (SELECT count(*) FROM ctx) <> 1 THEN RAISE EXCEPTION 'no bootstrap admin'; END IF;
END $$;

-- Teams and people -------------------------------------------------------------
-- Student s is in team (s-1)/40+1 and is student j = (s-1)%40 there;
-- werkbegeleiders 2t-1 and 2t and manager t are in team t.
CREATE TEMP TABLE students AS
SELECT s, (s - 1) / 40 + 1 AS t, (s - 1) % 40 AS j, md5('student' || s)::uuid AS id,
       md5('team' || ((s - 1) / 40 + 1))::uuid AS team_id,
       md5('begeleider' || (2 * ((s - 1) / 40 + 1) - s % 2))::uuid AS supervisor_id
FROM ctx, generate_series((ctx.t0 - 1) * 40 + 1, ctx.t1 * 40) s;

INSERT INTO teams (id, organisation_id, name)
SELECT md5('team' || t)::uuid, ctx.org, 'Team ' || lpad(t::text, 3, '0')
FROM ctx, generate_series(ctx.t0, ctx.t1) t;

INSERT INTO users (id, organisation_id, email, name, password_hash)
SELECT md5(kind || n)::uuid, ctx.org, kind || n || '@bench.example', initcap(kind) || ' ' || n,
       ctx.pw
FROM ctx, LATERAL (SELECT 'student' AS kind, s AS n FROM students
                   UNION ALL SELECT 'begeleider', n FROM generate_series(2 * ctx.t0 - 1, 2 * ctx.t1) n
                   UNION ALL SELECT 'manager', n FROM generate_series(ctx.t0, ctx.t1) n) p;

INSERT INTO team_members (organisation_id, team_id, user_id, role)
SELECT ctx.org, md5('team' || t)::uuid, md5(kind || n)::uuid, role
FROM ctx, LATERAL (SELECT 'student' AS kind, s AS n, t, 'student' AS role FROM students
                   UNION ALL SELECT 'begeleider', n, (n + 1) / 2, 'werkbegeleider'
                   FROM generate_series(2 * ctx.t0 - 1, 2 * ctx.t1) n
                   UNION ALL SELECT 'manager', n, n, 'teammanager'
                   FROM generate_series(ctx.t0, ctx.t1) n) m;

INSERT INTO supervisions (organisation_id, student_id, supervisor_id)
SELECT ctx.org, st.id, st.supervisor_id FROM ctx, students st;

-- Reflections, shares, feedback, check-ins --------------------------------------
-- Reflection k (0..99) of student s happened in month k*24/100 of the 24.
CREATE TEMP TABLE gen AS
SELECT r.*, d.day, d.at
FROM (SELECT st.s, st.j, st.id AS owner_id, st.team_id, st.supervisor_id, k,
             md5('refl' || st.s || '-' || k)::uuid AS id, k * 24 / 100 AS m,
             random() AS a, random() AS b, (1 + floor(random() * 15))::int AS vmask,
             (1 + floor(random() * 7))::int AS dmask
      FROM students st, generate_series(0, 99) k) r, ctx,
     LATERAL (SELECT least((ctx.first_month + make_interval(months => r.m)
                            + make_interval(days => (r.b * 27)::int))::date,
                           current_date) AS day) d0,
     LATERAL (SELECT d0.day AS day,
                     least(d0.day + make_interval(hours => 14, mins => (r.a * 540)::int),
                           now() - make_interval(secs => r.s * 100 + r.k)) AS at) d;
CREATE INDEX ON gen (j);
ANALYZE gen;
ANALYZE students;

DO $$
DECLARE
    n int := (SELECT chunks FROM ctx);
    chunk int;
BEGIN
    FOR chunk IN 0..n - 1 LOOP
        INSERT INTO reflections (id, organisation_id, owner_id, team_id, occurred_on, situation,
                                 task, action, result, reflection, transfer, status, vermogens,
                                 dimensions, shared_with, author_reads, created_at, updated_at)
        SELECT g.id, ctx.org, g.owner_id, g.team_id, g.day,
               substr(ctx.lorem, 1 + (g.a * 900)::int, 120 + (g.b * 300)::int),
               substr(ctx.lorem, 1 + (g.b * 900)::int, 60 + (g.a * 200)::int),
               substr(ctx.lorem, 1 + ((g.a + g.b) * 450)::int, 120 + (g.b * 300)::int),
               substr(ctx.lorem, 1 + (g.a * g.b * 900)::int, 80 + (g.a * 200)::int),
               substr(ctx.lorem, 1 + ((1 - g.a) * 900)::int, 150 + (g.b * 400)::int),
               CASE WHEN g.b < 0.6 THEN substr(ctx.lorem, 1 + ((1 - g.b) * 900)::int, 100) END,
               CASE WHEN g.a < 0.9 THEN 'final' ELSE 'draft' END,
               array_remove(ARRAY[CASE WHEN g.vmask & 1 > 0 THEN 'absorptie' END,
                                  CASE WHEN g.vmask & 2 > 0 THEN 'verbindend' END,
                                  CASE WHEN g.vmask & 4 > 0 THEN 'opleidend' END,
                                  CASE WHEN g.vmask & 8 > 0 THEN 'lerend' END], NULL),
               array_remove(ARRAY[CASE WHEN g.dmask & 1 > 0 THEN 'mensen' END,
                                  CASE WHEN g.dmask & 2 > 0 THEN 'processen' END,
                                  CASE WHEN g.dmask & 4 > 0 THEN 'systemen' END], NULL),
               -- the share made below, already on the row (migration 0017's
               -- trigger then has nothing to write; with triggers=off it
               -- would not run at all)
               CASE WHEN g.k % 2 = 0 THEN ARRAY[g.supervisor_id] ELSE '{}' END,
               -- NULL: the trigger asks reads_team()'s question (migration
               -- 0018); with triggers=off nothing would, and the column has
               -- no default: these authors are students only, never readers
               CASE WHEN n = 1 THEN false END,
               g.at, g.at
        FROM ctx, gen g
        WHERE g.j % n = chunk;

        -- Every other reflection of a student is shared with their
        -- werkbegeleider, who answered it with a top, a tip or a question.
        INSERT INTO reflection_shares (organisation_id, reflection_id, user_id, created_at)
        SELECT ctx.org, g.id, g.supervisor_id, g.at
        FROM ctx, gen g
        WHERE g.j % n = chunk AND g.k % 2 = 0;

        INSERT INTO feedback (organisation_id, reflection_id, author_id, by_owner, kind, body,
                              created_at)
        SELECT ctx.org, g.id, g.supervisor_id, false,
               CASE WHEN g.b < 0.45 THEN 'top' WHEN g.b < 0.85 THEN 'tip' ELSE 'question' END,
               substr(ctx.lorem, 1 + (g.b * 900)::int, 60 + (g.a * 240)::int),
               least(g.at + make_interval(hours => 20 + (g.a * 40)::int), now())
        FROM ctx, gen g
        WHERE g.j % n = chunk AND g.k % 2 = 0;

        -- One check-in per student and month, scores around 6-7.
        INSERT INTO checkins (organisation_id, team_id, user_id, period, absorptie, verbindend,
                              opleidend, lerend, goes_well, could_be_better, share_text,
                              created_at, updated_at)
        SELECT ctx.org, st.team_id, st.id, (ctx.first_month + make_interval(months => m))::date,
               greatest(1, least(10, round(6.5 + 1.8 * (random() + random() + random() - 1.5)))),
               greatest(1, least(10, round(6.0 + 1.8 * (random() + random() + random() - 1.5)))),
               greatest(1, least(10, round(7.0 + 1.8 * (random() + random() + random() - 1.5)))),
               greatest(1, least(10, round(6.8 + 1.8 * (random() + random() + random() - 1.5)))),
               substr(ctx.lorem, 1 + (st.s * 7 + m * 13) % 900, 80),
               substr(ctx.lorem, 1 + (st.s * 11 + m * 5) % 900, 80),
               random() < 0.3,
               least(ctx.first_month + make_interval(months => m, days => 20), now()),
               least(ctx.first_month + make_interval(months => m, days => 20), now())
        FROM ctx, students st, generate_series(0, 23) m
        WHERE st.j % n = chunk;
        COMMIT;
    END LOOP;
END
$$;


DROP TABLE gen;
-- (the caller runs VACUUM ANALYZE / ANALYZE once all seeding sessions are done)
