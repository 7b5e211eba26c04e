-- raw_hotels: the hotel stays of trips booked by sessions of the run's session months, [$1, $2), in the month of
-- the booking session (as raw_flights).
SELECT
    h.trip_id,
    h.hotel_name,
    h.nights,
    h.rooms,
    h.check_in_time,
    h.check_out_time,
    CAST(h.hotel_per_room_usd AS double precision) AS hotel_per_room_usd,
    CAST(date_trunc('month', s.session_start) AS date) AS session_month
FROM hotels h
JOIN sessions s ON s.trip_id = h.trip_id
WHERE s.session_start >= $1 AND s.session_start < $2 AND NOT s.cancellation
