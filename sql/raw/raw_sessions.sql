-- raw_sessions from the source pass (_extract, sql/raw/extract/cohort_extract.sql): the source's session columns,
-- and the session month as 'YYYY-MM' (the partition key).
SELECT
    session_id,
    user_id,
    trip_id,
    session_start,
    session_end,
    flight_discount,
    hotel_discount,
    flight_discount_amount,
    hotel_discount_amount,
    flight_booked,
    hotel_booked,
    page_clicks,
    cancellation,
    strftime(session_month, '%Y-%m') AS session_month
FROM _extract
