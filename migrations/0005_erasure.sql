-- 0005: erasing a user's personal data (DELETE /v1/me, AVG/GDPR art. 17).
--
-- A function rather than one statement from the service, because the order
-- matters: the aggregate triggers must see each row while its parent still
-- exists (feedback before its reflection, goals marked deleted before they
-- go), and a single statement cannot delete and update the same rows in
-- sequence. What remains afterwards: the users row as an anonymous
-- tombstone (no e-mail, name or password), audit rows (ids only), and
-- feedback the person wrote on other people's items, without its author.
-- The person's contributions leave the monthly aggregates as well.
CREATE FUNCTION erase_user(u uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM feedback_requests WHERE student_id = u OR to_user_id = u;
    DELETE FROM feedback WHERE reflection_id IN (SELECT id FROM reflections WHERE owner_id = u)
        OR goal_id IN (SELECT id FROM goals WHERE owner_id = u);
    DELETE FROM reflections WHERE owner_id = u;
    UPDATE goals SET deleted_at = now() WHERE owner_id = u AND deleted_at IS NULL;
    DELETE FROM goals WHERE owner_id = u;
    DELETE FROM checkins WHERE user_id = u;
    UPDATE feedback SET author_id = NULL WHERE author_id = u;
    DELETE FROM reflection_shares WHERE user_id = u;
    DELETE FROM goal_shares WHERE user_id = u;
    DELETE FROM supervisions WHERE student_id = u OR supervisor_id = u;
    DELETE FROM team_members WHERE user_id = u;
    DELETE FROM refresh_tokens WHERE user_id = u;
    UPDATE sessions SET revoked_at = now(), revoke_reason = 'erased'
        WHERE user_id = u AND revoked_at IS NULL;
    DELETE FROM team_month_people WHERE user_id = u;
    UPDATE users SET email = id::text || '@erased.invalid', name = 'Erased user',
        password_hash = NULL, roles = '{}', deleted_at = now(), updated_at = now()
        WHERE id = u;
END
$$;
