-- The study cohort's users, counted in the source so that only their rows travel: users with more than
-- $min_sessions sessions that started after $cohort_start, over every month of the window (whatever months a
-- run refreshes). Portable SQL: PostgreSQL (the real source) and DuckDB (the embedded store).
SELECT user_id
FROM sessions
WHERE session_start > $cohort_start
GROUP BY user_id
HAVING count(*) > $min_sessions
ORDER BY user_id
