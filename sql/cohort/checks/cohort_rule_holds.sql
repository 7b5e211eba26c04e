-- Every session_cohort session is after cohort_start and every cohort user has more than min_sessions of them.
SELECT user_id, count(*) AS sessions, min(session_start) AS first_session FROM session_cohort
GROUP BY user_id
HAVING count(*) <= $min_sessions OR min(session_start) <= CAST($cohort_start AS timestamp)
