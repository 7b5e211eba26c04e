-- Every booking session's trip_id resolves to a raw_flights row (flight booked) and a raw_hotels row (hotel booked).
SELECT s.session_id, s.trip_id, s.flight_booked, s.hotel_booked
FROM raw_sessions s
WHERE s.trip_id IS NOT NULL AND NOT s.cancellation
  AND ((s.flight_booked AND s.trip_id NOT IN (SELECT trip_id FROM raw_flights))
    OR (s.hotel_booked AND s.trip_id NOT IN (SELECT trip_id FROM raw_hotels)))
