-- raw_hotels: hotel stays of trips that sessions after the cohort start ($1) booked or cancelled.
SELECT
    trip_id,
    hotel_name,
    nights,
    rooms,
    check_in_time,
    check_out_time,
    CAST(hotel_per_room_usd AS double precision) AS hotel_per_room_usd
FROM hotels
WHERE trip_id IN (SELECT trip_id FROM sessions WHERE session_start > $1 AND trip_id IS NOT NULL)
