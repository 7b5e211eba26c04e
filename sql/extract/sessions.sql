-- raw_sessions: the sessions that started in the run's session months, [$1, $2). A run extracts only the months
-- it refreshes (one or two on a daily refresh, all of them on a full run); history before the first month
-- (2023-01, the study's window) stays in the database. session_month is the partition the row belongs to.
SELECT
    session_id,
    user_id,
    trip_id,
    session_start,
    session_end,
    flight_discount,
    hotel_discount,
    CAST(flight_discount_amount AS double precision) AS flight_discount_amount,
    CAST(hotel_discount_amount AS double precision) AS hotel_discount_amount,
    flight_booked,
    hotel_booked,
    page_clicks,
    cancellation,
    CAST(date_trunc('month', session_start) AS date) AS session_month
FROM sessions
WHERE session_start >= $1 AND session_start < $2
