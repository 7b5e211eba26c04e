-- user_features has exactly one row per session_cohort user.
WITH cohort AS (SELECT DISTINCT user_id FROM session_cohort)
SELECT user_id, 'missing from user_features' AS problem FROM cohort ANTI JOIN user_features USING (user_id)
UNION ALL
SELECT user_id, 'not a cohort user' FROM user_features ANTI JOIN cohort USING (user_id)
UNION ALL
SELECT user_id, 'duplicate row' FROM user_features GROUP BY user_id HAVING count(*) > 1
