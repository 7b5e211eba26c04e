-- How much the study cohort's customers differ from one another, beyond the spread of their own trips and
-- sessions: per measure, the between-customer and within-customer standard deviations by the one-way variance
-- components (method of moments: the variance of customers' means less the mean sampling variance of a mean),
-- over customers with two or more values. Measures on a log scale, and yes/no ones (a bag on a flight, a
-- booking's kind, a discount offered, a cancellation) as 0/1.
-- Why: a synthetic source can match every per-user average (per_user_features.sql) and still make far more of
-- their spread a lasting difference between customers than real customers show, and lasting differences are
-- what a perk model feeds on (traveltide_assets/validation/fidelity.py, docs/perk_model_figures.md).
-- Cohort and portability as in per_user_features.sql: raw tables, no cleaning, PostgreSQL and DuckDB alike.
WITH s AS (
    SELECT * FROM sessions WHERE session_start > TIMESTAMP '2023-01-04'
),
cohort AS (
    SELECT user_id FROM s GROUP BY user_id HAVING count(*) > 7
),
cs AS (
    SELECT s.* FROM s JOIN cohort USING (user_id)
),
cancelled_trips AS (
    SELECT DISTINCT trip_id FROM cs WHERE cancellation
),
bookings AS (
    SELECT
        cs.user_id,
        cs.flight_booked,
        cs.hotel_booked,
        cs.flight_discount OR cs.hotel_discount AS discounted,
        k.trip_id IS NOT NULL AS cancelled,
        extract(epoch FROM (coalesce(f.departure_time, h.check_in_time) - cs.session_end)) / 86400.0 AS lead_days
    FROM cs
    LEFT JOIN flights f USING (trip_id)
    LEFT JOIN hotels h USING (trip_id)
    LEFT JOIN cancelled_trips k ON k.trip_id = cs.trip_id
    WHERE (cs.flight_booked OR cs.hotel_booked) AND NOT cs.cancellation
),
flights_flown AS (
    SELECT
        f.checked_bags,
        cs.user_id,
        CAST(f.base_fare_usd AS double precision) / f.seats
            / (1 + CAST(coalesce(f.return_flight_booked, false) AS int))
            / nullif(2 * 6371 * asin(sqrt(
                power(sin(radians(f.destination_airport_lat - u.home_airport_lat) / 2), 2)
                + cos(radians(u.home_airport_lat)) * cos(radians(f.destination_airport_lat))
                  * power(sin(radians(f.destination_airport_lon - u.home_airport_lon) / 2), 2)
            )), 0) AS fare_per_km
    FROM cs
    JOIN flights f USING (trip_id)
    JOIN users u USING (user_id)
    WHERE cs.flight_booked AND NOT cs.cancellation AND f.seats > 0
),
stays AS (
    SELECT cs.user_id, h.nights, CAST(h.hotel_per_room_usd AS double precision) AS price
    FROM cs JOIN hotels h USING (trip_id)
    WHERE cs.hotel_booked AND NOT cs.cancellation
),
measured AS (
    SELECT 'booking_is_flight_only' AS measure, user_id, CAST(flight_booked AND NOT hotel_booked AS int) AS x
    FROM bookings
    UNION ALL
    SELECT 'booking_is_hotel_only', user_id, CAST(hotel_booked AND NOT flight_booked AS int) FROM bookings
    UNION ALL
    SELECT 'booking_with_discount', user_id, CAST(discounted AS int) FROM bookings
    UNION ALL
    SELECT 'booking_cancelled', user_id, CAST(cancelled AS int) FROM bookings
    UNION ALL
    SELECT 'log_lead_days', user_id, ln(greatest(lead_days, 1.0 / 24)) FROM bookings WHERE lead_days IS NOT NULL
    UNION ALL
    SELECT 'browsing_with_discount', user_id, CAST(flight_discount OR hotel_discount AS int)
    FROM cs WHERE NOT flight_booked AND NOT hotel_booked AND NOT cancellation
    UNION ALL
    SELECT 'log_browsing_minutes', user_id,
        ln(greatest(extract(epoch FROM (session_end - session_start)) / 60, 1.0 / 60))
    FROM cs WHERE NOT flight_booked AND NOT hotel_booked AND NOT cancellation AND session_end IS NOT NULL
    UNION ALL
    SELECT 'log_booking_minutes', user_id,
        ln(greatest(extract(epoch FROM (session_end - session_start)) / 60, 1.0 / 60))
    FROM cs WHERE (flight_booked OR hotel_booked) AND NOT cancellation AND session_end IS NOT NULL
    UNION ALL
    SELECT 'flight_has_checked_bag', user_id, CAST(checked_bags > 0 AS int)
    FROM flights_flown WHERE checked_bags IS NOT NULL
    UNION ALL
    SELECT 'log_fare_per_km', user_id, ln(fare_per_km) FROM flights_flown WHERE fare_per_km > 0
    UNION ALL
    SELECT 'log_nights', user_id, ln(nights) FROM stays WHERE nights > 0
    UNION ALL
    SELECT 'log_room_price', user_id, ln(price) FROM stays WHERE price > 0
),
per_user AS (
    SELECT measure, user_id, count(*) AS n, avg(x) AS mean, var_samp(x) AS within
    FROM measured
    GROUP BY measure, user_id
    HAVING count(*) >= 2
)
SELECT
    measure,
    count(*) AS customers,
    CAST(sqrt(avg(within)) AS double precision) AS within_customer_sd,
    CAST(sqrt(greatest(var_samp(mean) - avg(within / n), 0)) AS double precision) AS between_customer_sd
FROM per_user
GROUP BY measure
ORDER BY measure
