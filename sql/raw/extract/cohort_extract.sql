-- The study cohort and its rows, in one statement of constant size (it names no user): the users with more than
-- $min_sessions sessions after $cohort_start, counted in the source, with their demographics and their sessions of
-- the run's months [$first_day, $end_day), every session with the flight and hotel it booked.
-- Portable SQL: PostgreSQL (the real source) and DuckDB (the embedded store); numeric arrives as double.
--
-- Rows of two kinds (is_user_row): one row per member with the user's row from `users` (in_users says whether it
-- has one) and their sessions in the window (cohort_sessions), so that the rows name the whole cohort even where a
-- member has no session in the run's months; and one row per session of the run's months. With
-- $align_stored_months (a refresh of some months beside months stored before), a member who only qualifies thanks
-- to the run's months (no more than $min_sessions sessions elsewhere) also brings their sessions of the other
-- months: they may have joined the cohort since those months were stored (extract_plan.py keeps these rows only
-- for users with none stored there).
-- A cancellation session repeats the id of the trip it cancels: only the booking session carries the trip's rows.
-- session_month is the partition a session belongs to.
WITH cohort AS (
    SELECT user_id, count(*) AS cohort_sessions
    FROM sessions
    WHERE session_start > $cohort_start
    GROUP BY user_id
    HAVING count(*) > $min_sessions
),
cohort_sessions AS (
    SELECT
        s.*,
        c.cohort_sessions,
        count(*) FILTER (WHERE s.session_start < $first_day OR s.session_start >= $end_day)
            OVER (PARTITION BY s.user_id) AS sessions_elsewhere,
        row_number() OVER (PARTITION BY s.user_id ORDER BY s.session_start, s.session_id) AS nth_session
    FROM sessions s
    JOIN cohort c ON c.user_id = s.user_id
    WHERE s.session_start > $cohort_start
),
picked AS (
    SELECT s.*, kind.is_user_row
    FROM cohort_sessions s
    CROSS JOIN (VALUES (false), (true)) AS kind (is_user_row)
    WHERE CASE
        WHEN kind.is_user_row THEN s.nth_session = 1
        ELSE (s.session_start >= $first_day AND s.session_start < $end_day)
            OR ($align_stored_months AND s.sessions_elsewhere <= $min_sessions)
    END
)
SELECT
    s.is_user_row,
    s.user_id,
    s.cohort_sessions,
    u.user_id IS NOT NULL AS in_users,
    u.birthdate,
    u.gender,
    u.married,
    u.has_children,
    u.home_country,
    u.home_city,
    u.home_airport,
    CAST(u.home_airport_lat AS double precision) AS home_airport_lat,
    CAST(u.home_airport_lon AS double precision) AS home_airport_lon,
    u.sign_up_date,
    s.session_id,
    s.trip_id,
    s.session_start,
    s.session_end,
    s.flight_discount,
    s.hotel_discount,
    CAST(s.flight_discount_amount AS double precision) AS flight_discount_amount,
    CAST(s.hotel_discount_amount AS double precision) AS hotel_discount_amount,
    s.flight_booked,
    s.hotel_booked,
    s.page_clicks,
    s.cancellation,
    f.trip_id AS flight_trip_id,
    f.origin_airport,
    f.destination,
    f.destination_airport,
    f.seats,
    f.return_flight_booked,
    f.departure_time,
    f.return_time,
    f.checked_bags,
    f.trip_airline,
    CAST(f.destination_airport_lat AS double precision) AS destination_airport_lat,
    CAST(f.destination_airport_lon AS double precision) AS destination_airport_lon,
    CAST(f.base_fare_usd AS double precision) AS base_fare_usd,
    h.trip_id AS hotel_trip_id,
    h.hotel_name,
    h.nights,
    h.rooms,
    h.check_in_time,
    h.check_out_time,
    CAST(h.hotel_per_room_usd AS double precision) AS hotel_per_room_usd,
    CAST(date_trunc('month', s.session_start) AS date) AS session_month
FROM picked s
-- PostgreSQL cannot tell how few users pass HAVING (it expects over ten times as many) and would hash the whole
-- users, flights and hotels tables to join them: looked up by primary key instead, one row at a time, over 3x
-- faster at the real volume. OFFSET 0 keeps each lookup a subquery of its own.
LEFT JOIN LATERAL (SELECT * FROM users WHERE s.is_user_row AND users.user_id = s.user_id OFFSET 0) u ON true
LEFT JOIN LATERAL (
    SELECT * FROM flights WHERE NOT s.is_user_row AND flights.trip_id = s.trip_id AND NOT s.cancellation OFFSET 0
) f ON true
LEFT JOIN LATERAL (
    SELECT * FROM hotels WHERE NOT s.is_user_row AND hotels.trip_id = s.trip_id AND NOT s.cancellation OFFSET 0
) h ON true
