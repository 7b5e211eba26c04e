-- user_features: one row per cohort user. Every feature is documented in docs/features.md.
-- Rates are shares in [0, 1]; money in USD; time in minutes or days; distance in km.
WITH s AS (
    SELECT
        c.*,
        2 * 6371 * asin(sqrt(
            pow(sin(radians(c.destination_airport_lat - u.home_airport_lat) / 2), 2)
            + cos(radians(u.home_airport_lat)) * cos(radians(c.destination_airport_lat))
              * pow(sin(radians(c.destination_airport_lon - u.home_airport_lon) / 2), 2)
        )) AS distance_km,
        epoch(coalesce(c.departure_time, c.check_in_time) - c.session_end) / 86400.0 AS lead_days,
        c.flight_discount_offered OR c.hotel_discount_offered AS discount_offered,
        coalesce(c.base_fare_usd * c.flight_discount_amount, 0)
            + coalesce(c.hotel_per_room_usd * c.nights * c.rooms * c.hotel_discount_amount, 0) AS dollars_saved,
        dayofweek(c.departure_time) IN (5, 6) AND c.nights BETWEEN 1 AND 3 AS weekend_trip
    FROM session_cohort c
    JOIN raw_users u USING (user_id)
),
per_user AS (
    SELECT
        user_id,
        count(*) AS sessions,
        sum(page_clicks) AS total_clicks,
        -- Browsing is measured on ordinary sessions: cancellations are long by nature and would swamp it.
        avg(page_clicks) FILTER (NOT is_cancellation) AS avg_clicks,
        avg(session_minutes) FILTER (NOT is_cancellation) AS avg_session_minutes,
        count(*) FILTER (is_booking) AS bookings,
        count(*) FILTER (is_travel) AS trips,
        count(*) FILTER (is_travel AND booked_flight) AS flights,
        count(*) FILTER (is_travel AND booked_hotel) AS hotels,
        count(*) FILTER (is_cancellation) AS cancellations,
        count(*) FILTER (is_booking AND booked_flight AND booked_hotel) AS bundle_bookings,
        count(*) FILTER (is_booking AND booked_flight AND NOT booked_hotel) AS flight_only_bookings,
        count(*) FILTER (is_booking AND booked_hotel AND NOT booked_flight) AS hotel_only_bookings,
        avg(lead_days) FILTER (is_booking) AS avg_lead_days,
        avg(base_fare_usd) FILTER (is_travel AND booked_flight) AS avg_fare_usd,
        avg(hotel_per_room_usd) FILTER (is_travel AND booked_hotel) AS avg_hotel_per_night_usd,
        sum(dollars_saved) FILTER (is_travel) AS dollars_saved_usd,
        avg(discount_offered::int) FILTER (NOT is_cancellation) AS discount_offered_rate,
        avg(discount_offered::int) FILTER (is_booking) AS discount_used_rate,
        avg(coalesce(flight_discount_amount, hotel_discount_amount)) FILTER (discount_offered) AS avg_discount_amount,
        avg(coalesce(flight_discount_amount, hotel_discount_amount)) FILTER (is_booking AND discount_offered)
            AS avg_discount_amount_used,
        avg(distance_km) FILTER (is_travel AND booked_flight) AS avg_distance_km,
        avg(nights) FILTER (is_travel AND booked_hotel) AS avg_nights,
        avg(nights) FILTER (is_travel AND booked_hotel AND booked_flight) AS avg_bundle_nights,
        avg(seats) FILTER (is_travel AND booked_flight) AS avg_seats,
        avg(checked_bags) FILTER (is_travel AND booked_flight) AS avg_checked_bags,
        avg(checked_bags / coalesce(seats, 1)) FILTER (is_travel AND booked_flight) AS bags_per_seat,
        avg(rooms) FILTER (is_travel AND booked_hotel) AS avg_rooms,
        avg(weekend_trip::int) FILTER (is_travel AND booked_flight) AS weekend_trip_rate
    FROM s
    GROUP BY user_id
)
SELECT
    p.user_id,
    date_diff('year', u.birthdate, CAST($cohort_start AS date)) AS age,
    u.gender,
    u.married,
    u.has_children,
    u.home_city,
    u.home_airport,
    p.sessions,
    p.total_clicks,
    p.avg_clicks,
    p.avg_session_minutes,
    p.bookings,
    p.trips,
    p.flights,
    p.hotels,
    p.cancellations,
    p.bookings / p.sessions AS booking_rate,
    p.bundle_bookings / greatest(p.bookings, 1) AS bundle_rate,
    p.flight_only_bookings / greatest(p.bookings, 1) AS flight_only_rate,
    p.hotel_only_bookings / greatest(p.bookings, 1) AS hotel_only_rate,
    p.cancellations / greatest(p.bookings, 1) AS cancellation_rate,
    p.avg_lead_days,
    p.avg_fare_usd,
    p.avg_hotel_per_night_usd,
    coalesce(p.dollars_saved_usd, 0) AS dollars_saved_usd,
    p.discount_offered_rate,
    coalesce(p.discount_used_rate, 0) AS discount_used_rate,
    p.avg_discount_amount,
    -- Bargain-hunter index: how much of what they book is discounted, weighted by how deep the discount is.
    coalesce(p.discount_used_rate * p.avg_discount_amount_used, 0) AS bargain_hunter_index,
    p.avg_distance_km,
    p.avg_nights,
    p.avg_bundle_nights,
    p.avg_seats,
    p.avg_checked_bags,
    p.bags_per_seat,
    p.avg_rooms,
    p.weekend_trip_rate
FROM per_user p
JOIN raw_users u USING (user_id)
ORDER BY p.user_id
