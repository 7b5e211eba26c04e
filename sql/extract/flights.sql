-- raw_flights: flights of trips that sessions after the cohort start ($1) booked or cancelled.
SELECT
    trip_id,
    origin_airport,
    destination,
    destination_airport,
    seats,
    return_flight_booked,
    departure_time,
    return_time,
    checked_bags,
    trip_airline,
    CAST(destination_airport_lat AS double precision) AS destination_airport_lat,
    CAST(destination_airport_lon AS double precision) AS destination_airport_lon,
    CAST(base_fare_usd AS double precision) AS base_fare_usd
FROM flights
WHERE trip_id IN (SELECT trip_id FROM sessions WHERE session_start > $1 AND trip_id IS NOT NULL)
