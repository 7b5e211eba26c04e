-- raw_hotels from the source pass (_extract): the hotel stays the extracted booking sessions booked, in the month
-- of the booking session.
SELECT
    hotel_trip_id AS trip_id,
    hotel_name,
    nights,
    rooms,
    check_in_time,
    check_out_time,
    hotel_per_room_usd,
    strftime(session_month, '%Y-%m') AS session_month
FROM _extract
WHERE hotel_trip_id IS NOT NULL
