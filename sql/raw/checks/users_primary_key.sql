-- raw_users.user_id is not null and unique: the violating rows.
SELECT user_id, count(*) AS copies FROM raw_users GROUP BY user_id HAVING user_id IS NULL OR count(*) > 1
