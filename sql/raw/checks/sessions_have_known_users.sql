-- raw_sessions.user_id resolves to raw_users.user_id.
SELECT s.session_id, s.user_id FROM raw_sessions s ANTI JOIN raw_users u ON u.user_id = s.user_id
