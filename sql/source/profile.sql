-- Headline figures of a TravelTide source (real or synthetic), compared with the real ones in the tests
-- and by `traveltide profile`. Reads views users, sessions, flights, hotels; $cohort_start, $min_sessions.
WITH
cohort_counts AS (
    SELECT user_id, count(*) AS n
    FROM sessions WHERE session_start > $cohort_start GROUP BY user_id
),
cohort_users AS (SELECT user_id, n FROM cohort_counts WHERE n > $min_sessions),
cohort_sessions AS (
    SELECT s.* FROM sessions s JOIN cohort_users c USING (user_id) WHERE s.session_start > $cohort_start
),
per_user AS (SELECT user_id, count(*) AS n FROM sessions GROUP BY user_id)
SELECT
    (SELECT count(*) FROM users) AS users,
    (SELECT count(*) FROM sessions) AS sessions,
    (SELECT count(*) FROM flights) AS flights,
    (SELECT count(*) FROM hotels) AS hotels,
    (SELECT avg(n) FROM per_user) AS sessions_per_user,
    (SELECT max(n) FROM per_user) AS max_sessions_per_user,
    (SELECT avg(cancellation::int) FROM sessions) AS cancellation_rate,
    (SELECT avg((trip_id IS NULL)::int) FROM sessions) AS no_trip_rate,
    (SELECT avg((flight_booked AND hotel_booked AND NOT cancellation)::int) FROM sessions) AS bundle_rate,
    (SELECT avg(flight_discount::int) FROM sessions WHERE NOT cancellation) AS flight_discount_rate,
    (SELECT avg(hotel_discount::int) FROM sessions WHERE NOT cancellation) AS hotel_discount_rate,
    (SELECT median(flight_discount_amount) FROM sessions) AS flight_discount_median,
    (SELECT median(page_clicks) FROM sessions) AS clicks_median,
    (SELECT max(page_clicks) FROM sessions) AS clicks_max,
    (SELECT avg(epoch(session_end - session_start)) / 60 FROM sessions) AS session_minutes_mean,
    (SELECT avg(seats) FROM flights) AS seats_mean,
    (SELECT avg(checked_bags) FROM flights) AS bags_mean,
    (SELECT avg((NOT return_flight_booked)::int) FROM flights) AS one_way_rate,
    (SELECT median(base_fare_usd) FROM flights) AS fare_median,
    (SELECT median(nights) FROM hotels) AS nights_median,
    (SELECT avg((nights <= 0)::int) FROM hotels) AS nights_non_positive_rate,
    (SELECT avg(rooms) FROM hotels) AS rooms_mean,
    (SELECT median(hotel_per_room_usd) FROM hotels) AS hotel_price_median,
    (SELECT avg((gender = 'F')::int) FROM users) AS female_share,
    (SELECT avg((year(birthdate) = 2006)::int) FROM users) AS born_2006_share,
    (SELECT count(*) FROM cohort_users) AS cohort_users,
    (SELECT count(*) FROM cohort_sessions) AS cohort_sessions,
    (SELECT avg((u.gender = 'F')::int) FROM users u JOIN cohort_users c USING (user_id)) AS cohort_female_share,
    (SELECT max(n) FROM cohort_users) AS cohort_max_sessions,
    (SELECT avg((trip_id IS NOT NULL AND NOT cancellation)::int) FROM cohort_sessions) AS cohort_booking_rate
