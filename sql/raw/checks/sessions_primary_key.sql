-- raw_sessions.session_id is not null and unique.
SELECT session_id, count(*) AS copies FROM raw_sessions GROUP BY session_id HAVING session_id IS NULL OR count(*) > 1
