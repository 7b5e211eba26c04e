-- raw_state.cohort_members from the source pass (_extract, sql/raw/extract/cohort_extract.sql): one row per member
-- of the cohort (per row of `users`, if the source repeats one) with their user row (in_users: the source's users
-- table has one), their sessions in the window (cohort_sessions), and the cohort definition they were counted for
-- ($cohort_start, $min_sessions). raw_users publishes the user rows.
SELECT
    user_id,
    in_users,
    birthdate,
    gender,
    married,
    has_children,
    home_country,
    home_city,
    home_airport,
    home_airport_lat,
    home_airport_lon,
    sign_up_date,
    cohort_sessions,
    CAST($cohort_start AS VARCHAR) AS cohort_start,
    CAST($min_sessions AS INTEGER) AS min_sessions
FROM _extract
WHERE is_user_row
ORDER BY user_id
