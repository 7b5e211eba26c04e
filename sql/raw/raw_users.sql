-- raw_users: the cohort's users as the source pass returned them (raw_state.cohort_members, written by
-- sql/raw/cohort_members.sql): the source's user columns, numeric as double.
SELECT
    user_id,
    birthdate,
    gender,
    married,
    has_children,
    home_country,
    home_city,
    home_airport,
    home_airport_lat,
    home_airport_lon,
    sign_up_date
FROM raw_state.cohort_members
WHERE in_users
ORDER BY user_id
