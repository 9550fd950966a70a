-- 0010: what a change was, where the ids alone do not say it: a setting's
-- old and new value, as {"<field>": {"old": ..., "new": ...}}. Never
-- personal content (audit rows outlive an erasure). NULL on the rows that
-- need none, which is every row written before this migration.
ALTER TABLE audit_log ADD COLUMN details jsonb;
