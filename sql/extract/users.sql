-- raw_users: the whole user dimension (small; sessions' foreign keys are checked against it).
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
