-- raw_sessions.user_id is a user of the source's users table: the session extracts' pass looked every member up
-- there (raw_state.cohort_members.in_users); raw_users publishes the rows it found.
SELECT s.session_id, s.user_id
FROM raw_sessions s
ANTI JOIN raw_state.cohort_members u ON u.user_id = s.user_id AND u.in_users
