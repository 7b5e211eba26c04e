-- raw_hotels.trip_id is not null and unique.
SELECT trip_id, count(*) AS copies FROM raw_hotels GROUP BY trip_id HAVING trip_id IS NULL OR count(*) > 1
