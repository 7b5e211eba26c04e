-- raw_flights: base_fare_usd >= 0, seats 0..50, checked_bags 0..50.
SELECT trip_id, base_fare_usd, seats, checked_bags FROM raw_flights
WHERE base_fare_usd < 0 OR seats < 0 OR seats > 50 OR checked_bags < 0 OR checked_bags > 50
