-- raw_users: the cohort's users as the source pass returned them (raw_state.cohort_members, written by
-- sql/raw/cohort_members.sql): the source's user columns, numeric as double, of the members found in `users`.
SELECT * EXCLUDE (in_users, cohort_sessions, cohort_start, min_sessions)
FROM raw_state.cohort_members
WHERE in_users
ORDER BY user_id
