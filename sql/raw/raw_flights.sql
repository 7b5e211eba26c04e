-- raw_flights from the source pass (_extract): the flights the extracted booking sessions booked, in the month
-- of the booking session.
SELECT
    flight_trip_id AS trip_id,
    origin_airport,
    destination,
    destination_airport,
    seats,
    return_flight_booked,
    departure_time,
    return_time,
    checked_bags,
    trip_airline,
    destination_airport_lat,
    destination_airport_lon,
    base_fare_usd,
    strftime(session_month, '%Y-%m') AS session_month
FROM _extract
WHERE flight_trip_id IS NOT NULL
