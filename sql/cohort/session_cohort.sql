-- session_cohort: cleaned sessions of the study cohort, one row per session, joined to the flight and hotel the
-- session booked. Cohort = sessions after $cohort_start, of users with more than $min_sessions such sessions.
-- Every cleaning rule leaves a boolean column (rule_*) so the asset can report how many rows it touched.
WITH
in_window AS (
    SELECT * FROM raw_sessions WHERE session_start > CAST($cohort_start AS timestamp)
),
cohort_users AS (
    SELECT user_id FROM in_window GROUP BY user_id HAVING count(*) > $min_sessions
),
cohort AS (
    SELECT s.* FROM in_window s SEMI JOIN cohort_users c ON c.user_id = s.user_id
),
-- A cancellation session repeats the trip_id it cancels: that trip is not travel.
cancelled_trips AS (
    SELECT DISTINCT trip_id FROM raw_sessions WHERE cancellation AND trip_id IS NOT NULL
),
-- Click outliers (up to 2,421 in the real data, mostly in cancellation sessions) are capped at the 99th
-- percentile of the cohort's ordinary sessions.
click_cap AS (
    SELECT quantile_disc(page_clicks, 0.99) AS cap FROM cohort WHERE NOT cancellation
),
joined AS (
    SELECT
        s.*,
        s.trip_id IS NOT NULL AND NOT s.cancellation AS is_booking,
        f.trip_id IS NOT NULL AS has_flight_row,
        h.trip_id IS NOT NULL AS has_hotel_row,
        ct.trip_id IS NOT NULL AS trip_is_cancelled,
        f.origin_airport, f.destination, f.destination_airport, f.seats, f.return_flight_booked,
        f.departure_time, f.return_time, f.checked_bags, f.trip_airline,
        f.destination_airport_lat, f.destination_airport_lon, f.base_fare_usd,
        h.hotel_name, h.nights, h.rooms, h.check_in_time, h.check_out_time, h.hotel_per_room_usd,
        datediff('day', CAST(h.check_in_time AS date), CAST(h.check_out_time AS date)) AS nights_by_dates,
        datediff('day', CAST(f.departure_time AS date), CAST(f.return_time AS date)) AS nights_by_flights
    FROM cohort s
    -- Only booking sessions join their trip: joining cancellations too would count a cancelled trip twice.
    LEFT JOIN raw_flights f ON f.trip_id = s.trip_id AND NOT s.cancellation AND s.flight_booked
    LEFT JOIN raw_hotels h ON h.trip_id = s.trip_id AND NOT s.cancellation AND s.hotel_booked
    LEFT JOIN cancelled_trips ct ON ct.trip_id = s.trip_id
)
SELECT
    j.session_id,
    j.user_id,
    j.trip_id,
    j.session_start,
    j.session_end,
    least(epoch(j.session_end - j.session_start) / 60.0, 120.0) AS session_minutes,
    least(j.page_clicks, c.cap) AS page_clicks,
    j.cancellation AS is_cancellation,
    j.is_booking,
    j.is_booking AND NOT j.trip_is_cancelled AS is_travel,
    j.is_booking AND j.flight_booked AND j.has_flight_row AS booked_flight,
    j.is_booking AND j.hotel_booked AND j.has_hotel_row AS booked_hotel,
    -- Discounts: cancellation sessions carry every flag without an amount; they are not offers.
    j.flight_discount AND NOT j.cancellation AS flight_discount_offered,
    j.hotel_discount AND NOT j.cancellation AS hotel_discount_offered,
    CASE WHEN j.cancellation THEN NULL ELSE j.flight_discount_amount END AS flight_discount_amount,
    CASE WHEN j.cancellation THEN NULL ELSE j.hotel_discount_amount END AS hotel_discount_amount,
    j.origin_airport,
    j.destination,
    j.destination_airport,
    CASE WHEN j.seats > 0 THEN j.seats END AS seats,
    j.return_flight_booked,
    j.departure_time,
    j.return_time,
    j.checked_bags,
    j.trip_airline,
    j.destination_airport_lat,
    j.destination_airport_lon,
    CASE WHEN j.base_fare_usd > 0 THEN j.base_fare_usd END AS base_fare_usd,
    trim(split_part(j.hotel_name, ' - ', 1)) AS hotel_brand,
    j.hotel_name,
    -- Nights: trust the dates when they are consistent, else the flights' dates, else unknown.
    CASE
        WHEN j.nights_by_dates > 0 THEN j.nights_by_dates
        WHEN j.nights_by_flights > 0 THEN j.nights_by_flights
    END AS nights,
    CASE WHEN j.rooms > 0 THEN j.rooms END AS rooms,
    j.check_in_time,
    j.check_out_time,
    j.hotel_per_room_usd,
    -- What each cleaning rule touched.
    j.cancellation AS rule_cancellation_not_a_booking,
    j.is_booking AND j.trip_is_cancelled AS rule_cancelled_trip_not_travel,
    j.cancellation AND (j.flight_discount OR j.hotel_discount) AS rule_cancellation_discount_flags_ignored,
    j.nights IS NOT NULL AND j.nights <= 0 AS rule_non_positive_nights,
    j.check_out_time < j.check_in_time AS rule_check_out_before_check_in,
    j.nights IS NOT NULL AND j.nights > 0 AND j.nights IS DISTINCT FROM j.nights_by_dates AS rule_nights_disagree_with_dates,
    j.has_flight_row AND j.return_time IS NULL AS rule_one_way_no_return_time,
    j.page_clicks > c.cap AS rule_page_clicks_capped,
    epoch(j.session_end - j.session_start) / 60.0 > 120.0 AS rule_session_minutes_capped,
    j.seats = 0 AS rule_zero_seats,
    j.rooms = 0 AS rule_zero_rooms,
    j.base_fare_usd = 0 AS rule_zero_fare,
    j.hotel_name LIKE '%  - %' AS rule_hotel_brand_trimmed,
    j.trip_id IS NOT NULL AND NOT j.cancellation AND NOT j.has_flight_row AND NOT j.has_hotel_row
        AS rule_booking_without_trip_row
FROM joined j CROSS JOIN click_cap c
ORDER BY j.user_id, j.session_start, j.session_id
