-- 0008: the shared texts of a team's months, found without visiting the
-- check-ins that share none (about two in three). A team summary reads
-- its texts through this index instead of every check-in of the range.
CREATE INDEX checkins_shared_texts_idx ON checkins (team_id, period) WHERE share_text;
