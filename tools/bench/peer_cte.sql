-- peer_cte: the whole feature table in one PostgreSQL query, as the strongest public TravelTide projects build
-- it: a chain of CTEs from the cohort to one row per user, so that only those rows leave the server.
-- Cohort: sessions after the cohort start, of users with more than min_sessions of them (the product's definition;
-- both are psycopg parameters). Every output column but user_id is float8, so the client gets floats, not Decimals.
WITH
window_sessions AS (
    SELECT * FROM sessions WHERE session_start > CAST(%(cohort_start)s AS timestamp)
),
cohort_users AS (
    SELECT user_id FROM window_sessions GROUP BY user_id HAVING count(*) > %(min_sessions)s
),
cohort_sessions AS (
    SELECT s.* FROM window_sessions s JOIN cohort_users USING (user_id)
),
-- A cancellation session repeats its booking's trip_id: that trip did not happen.
cancelled_trips AS (
    SELECT DISTINCT trip_id FROM cohort_sessions WHERE cancellation
),
session_trips AS (
    SELECT
        s.user_id,
        s.cancellation,
        s.page_clicks,
        EXTRACT(EPOCH FROM s.session_end - s.session_start) / 60.0 AS session_minutes,
        s.trip_id IS NOT NULL AND NOT s.cancellation AS is_booking,
        s.trip_id IS NOT NULL AND NOT s.cancellation AND ct.trip_id IS NULL AS is_travel,
        f.trip_id IS NOT NULL AS has_flight,
        h.trip_id IS NOT NULL AS has_hotel,
        -- Cancellation sessions carry every discount flag without an amount: not offers.
        (s.flight_discount OR s.hotel_discount) AND NOT s.cancellation AS discounted,
        s.flight_discount_amount,
        s.hotel_discount_amount,
        f.seats,
        f.checked_bags,
        f.base_fare_usd,
        NULLIF(f.seats, 0) AS seats_known,
        2 * 6371 * asin(sqrt(
            power(sin(radians(f.destination_airport_lat - u.home_airport_lat) / 2), 2)
            + cos(radians(u.home_airport_lat)) * cos(radians(f.destination_airport_lat))
              * power(sin(radians(f.destination_airport_lon - u.home_airport_lon) / 2), 2)
        )) AS distance_km,
        -- The nights column can be 0 or negative; the check-in and check-out dates are the better source.
        CASE
            WHEN h.check_out_time::date - h.check_in_time::date > 0 THEN h.check_out_time::date - h.check_in_time::date
            WHEN h.nights > 0 THEN h.nights
        END AS nights,
        NULLIF(h.rooms, 0) AS rooms,
        h.hotel_per_room_usd
    FROM cohort_sessions s
    JOIN users u USING (user_id)
    -- Only booking sessions join their trip; a cancellation joining it too would count the trip twice.
    LEFT JOIN flights f ON f.trip_id = s.trip_id AND NOT s.cancellation AND s.flight_booked
    LEFT JOIN hotels h ON h.trip_id = s.trip_id AND NOT s.cancellation AND s.hotel_booked
    LEFT JOIN cancelled_trips ct ON ct.trip_id = s.trip_id
),
per_user AS (
    SELECT
        user_id,
        count(*) AS sessions,
        avg(page_clicks) FILTER (WHERE NOT cancellation) AS avg_clicks,
        avg(session_minutes) FILTER (WHERE NOT cancellation) AS avg_session_minutes,
        count(*) FILTER (WHERE is_booking) AS bookings,
        count(*) FILTER (WHERE cancellation) AS cancellations,
        count(*) FILTER (WHERE is_booking AND has_flight AND has_hotel) AS bundles,
        count(*) FILTER (WHERE is_booking AND has_hotel AND NOT has_flight) AS hotel_only,
        avg(discounted::int) FILTER (WHERE NOT cancellation) AS discount_rate,
        avg(discounted::int) FILTER (WHERE is_booking) AS discount_used_rate,
        avg(flight_discount_amount) AS avg_flight_discount,
        avg(hotel_discount_amount) AS avg_hotel_discount,
        -- Average dollars saved per km flown: the "bargain hunter" measure most projects use.
        sum(base_fare_usd * flight_discount_amount) FILTER (WHERE is_travel AND has_flight)
            / NULLIF(sum(distance_km) FILTER (WHERE is_travel AND has_flight), 0) AS ads_per_km,
        avg(checked_bags) FILTER (WHERE is_travel AND has_flight) AS avg_bags,
        avg(seats_known) FILTER (WHERE is_travel AND has_flight) AS avg_seats,
        avg(base_fare_usd) FILTER (WHERE is_travel AND has_flight) AS avg_fare_usd,
        avg(distance_km) FILTER (WHERE is_travel AND has_flight) AS avg_distance_km,
        avg(nights) FILTER (WHERE is_travel AND has_hotel) AS avg_nights,
        avg(rooms) FILTER (WHERE is_travel AND has_hotel) AS avg_rooms,
        avg(hotel_per_room_usd) FILTER (WHERE is_travel AND has_hotel) AS avg_hotel_price_usd
    FROM session_trips
    GROUP BY user_id
)
SELECT
    p.user_id,
    EXTRACT(YEAR FROM age(CAST(%(cohort_start)s AS date), u.birthdate))::float8 AS age,
    u.married::int::float8 AS married,
    u.has_children::int::float8 AS has_children,
    p.sessions::float8 AS sessions,
    p.avg_clicks::float8 AS avg_clicks,
    p.avg_session_minutes::float8 AS avg_session_minutes,
    (p.bookings::float8 / p.sessions) AS booking_rate,
    (p.cancellations::float8 / greatest(p.bookings, 1)) AS cancellation_rate,
    (p.bundles::float8 / greatest(p.bookings, 1)) AS bundle_rate,
    (p.hotel_only::float8 / greatest(p.bookings, 1)) AS hotel_only_rate,
    coalesce(p.discount_rate, 0)::float8 AS discount_rate,
    coalesce(p.discount_used_rate, 0)::float8 AS discount_used_rate,
    p.avg_flight_discount::float8 AS avg_flight_discount,
    p.avg_hotel_discount::float8 AS avg_hotel_discount,
    p.ads_per_km::float8 AS ads_per_km,
    p.avg_bags::float8 AS avg_bags,
    p.avg_seats::float8 AS avg_seats,
    p.avg_fare_usd::float8 AS avg_fare_usd,
    p.avg_distance_km::float8 AS avg_distance_km,
    p.avg_nights::float8 AS avg_nights,
    p.avg_rooms::float8 AS avg_rooms,
    p.avg_hotel_price_usd::float8 AS avg_hotel_price_usd
FROM per_user p
JOIN users u USING (user_id)
ORDER BY p.user_id
