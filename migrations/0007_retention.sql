-- 0007: periodic clean-up (service/janitor.c calls janitor_run every minute).
--
-- Retention: with RETENTION_DAYS set, reflections (and their feedback,
-- shares and requests) older than that are deleted for good. The monthly
-- aggregates keep what those reflections contributed - they hold counts,
-- not people - so the triggers are told to leave them alone while the
-- janitor deletes (reflectd.keep_aggregates, local to its transaction).

CREATE OR REPLACE FUNCTION reflection_bump(r reflections, d integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p date := date_trunc('month', r.occurred_on)::date;
BEGIN
    IF r.status <> 'final' OR r.deleted_at IS NOT NULL
       OR current_setting('reflectd.keep_aggregates', true) = 'on' THEN
        RETURN;
    END IF;
    PERFORM people_bump(r.organisation_id, r.team_id, p, r.owner_id, 'reflection', d);
    UPDATE team_month_stats SET reflections = reflections + d,
        refl_absorptie = refl_absorptie + CASE WHEN 'absorptie' = ANY (r.vermogens) THEN d ELSE 0 END,
        refl_verbindend = refl_verbindend + CASE WHEN 'verbindend' = ANY (r.vermogens) THEN d ELSE 0 END,
        refl_opleidend = refl_opleidend + CASE WHEN 'opleidend' = ANY (r.vermogens) THEN d ELSE 0 END,
        refl_lerend = refl_lerend + CASE WHEN 'lerend' = ANY (r.vermogens) THEN d ELSE 0 END
    WHERE team_id = r.team_id AND period = p;
END
$$;

CREATE OR REPLACE FUNCTION feedback_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f feedback := CASE WHEN TG_OP = 'INSERT' THEN NEW ELSE OLD END;
    d integer := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
    r record;
    p date;
BEGIN
    IF f.reflection_id IS NULL OR f.by_owner OR f.kind NOT IN ('top', 'tip')
       OR current_setting('reflectd.keep_aggregates', true) = 'on' THEN
        RETURN NULL;
    END IF;
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

-- One pass of maintenance; returns what it removed, for the log.
CREATE FUNCTION janitor_run(retention_days integer, event_hours integer, throttle_s integer)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    n_refl integer := 0;
    n_events integer;
    n_tokens integer;
    n_throttle integer;
BEGIN
    IF retention_days > 0 THEN
        PERFORM set_config('reflectd.keep_aggregates', 'on', true);
        DELETE FROM reflections WHERE created_at < now() - make_interval(days => retention_days);
        GET DIAGNOSTICS n_refl = ROW_COUNT;
        -- Who contributed to long-closed months is no longer needed.
        DELETE FROM team_month_people
            WHERE period < date_trunc('month', now() - make_interval(days => retention_days));
        PERFORM set_config('reflectd.keep_aggregates', 'off', true);
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
