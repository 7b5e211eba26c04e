-- raw_sessions, raw_flights and raw_hotels in one pass over the source: the sessions after $cohort_start of the
-- cohort's users ($members, from cohort_members.sql), each with the flight and hotel it booked.
-- Rows of two kinds: the sessions of the run's months [$first_day, $end_day), and, to keep months extracted
-- earlier in line with a grown cohort, the sessions of users who joined it ($joiners) in those months
-- ($other_months). A cancellation session repeats the id of the trip it cancels: only the booking session
-- carries the trip's rows. session_month is the partition a row belongs to; numeric arrives as double.
SELECT
    s.session_id,
    s.user_id,
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
FROM sessions s
LEFT JOIN flights f ON f.trip_id = s.trip_id AND NOT s.cancellation
LEFT JOIN hotels h ON h.trip_id = s.trip_id AND NOT s.cancellation
WHERE s.session_start > $cohort_start
    AND s.user_id IN $members
    AND (
        (s.session_start >= $first_day AND s.session_start < $end_day)
        OR (s.user_id IN $joiners AND CAST(date_trunc('month', s.session_start) AS date) IN $other_months)
    )
