-- raw_users: the cohort's users ($user_ids, counted by cohort_members.sql), for their demographics and to check
-- the sessions' user ids against.
-- Portable SQL: runs on PostgreSQL (the real source) and DuckDB (the embedded store). numeric -> double.
SELECT
    user_id,
    birthdate,
    gender,
    married,
    has_children,
    home_country,
    home_city,
    home_airport,
    CAST(home_airport_lat AS double precision) AS home_airport_lat,
    CAST(home_airport_lon AS double precision) AS home_airport_lon,
    sign_up_date
FROM users
WHERE user_id IN $user_ids
ORDER BY user_id
