-- raw_sessions: sessions after the cohort start ($1). The cohort never looks further back, so the bound is
-- pushed into the source: years of history stay in the database.
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
    cancellation
FROM sessions
WHERE session_start > $1
