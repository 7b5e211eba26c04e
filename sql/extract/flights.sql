-- raw_flights: the flights of trips booked by sessions of the run's session months, [$1, $2). A trip belongs to
-- the month of the session that booked it (a later cancellation session repeats the trip id but does not move it).
SELECT
    f.trip_id,
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
    CAST(date_trunc('month', s.session_start) AS date) AS session_month
FROM flights f
JOIN sessions s ON s.trip_id = f.trip_id
WHERE s.session_start >= $1 AND s.session_start < $2 AND NOT s.cancellation
