-- perk_evidence: per cohort user, the counts, exposures and log-scale sums the perk model reads
-- (traveltide_assets/lib/perk_channels.py, docs/perk_model.md). One row per user of session_cohort.
-- $half = -1 reads every session; 0 or 1 reads one half of each user's sessions, dealt alternately by start
-- time (the split-half reliability check). A booking's cancellation is counted with the booking, in its half.
-- Sums of fractions run in session order: a parallel sum's order changes its last bits from run to run, and the
-- model's flat likelihood would carry that into different favourites for the same source.
WITH ranked AS (
    SELECT
        c.*,
        (row_number() OVER (PARTITION BY c.user_id ORDER BY c.session_start, c.session_id) - 1) % 2 AS half,
        CASE
            WHEN c.is_cancellation OR c.session_minutes IS NULL THEN NULL
            WHEN NOT c.is_booking THEN 'browsing'
            WHEN c.booked_flight AND c.booked_hotel THEN 'bundle'
            WHEN c.booked_flight THEN 'flight_only'
            ELSE 'hotel_only'
        END AS session_kind,
        ln(greatest(c.session_minutes, 1.0 / 60)) AS log_minutes,
        -- Fares are proportional to distance (real cohort: slope 1.000 of log fare on log km, R^2 0.99), so the
        -- fare per seat, leg and km is what a customer chooses to pay.
        ln(c.base_fare_usd / c.seats / (1 + coalesce(c.return_flight_booked, false)::int) / nullif(2 * 6371 * asin(sqrt(
            pow(sin(radians(c.destination_airport_lat - u.home_airport_lat) / 2), 2)
            + cos(radians(u.home_airport_lat)) * cos(radians(c.destination_airport_lat))
              * pow(sin(radians(c.destination_airport_lon - u.home_airport_lon) / 2), 2)
        )), 0)) AS log_fare_per_km
    FROM session_cohort c
    LEFT JOIN raw_users u USING (user_id)
),
-- A customer's pace (how long their sessions last) is read from every ordinary session, each against the
-- cohort's typical length of its kind and weighted by how little sessions of that kind vary within a customer
-- (browsing varies three times as much as booking). All sessions, so both halves use the same yardstick.
pace_user_kind AS (
    SELECT session_kind, user_id, avg(log_minutes ORDER BY session_id) AS user_mean
    FROM ranked
    WHERE session_kind IS NOT NULL
    GROUP BY ALL
),
pace_kinds AS (
    SELECT
        r.session_kind,
        avg(r.log_minutes ORDER BY r.session_id) AS centre,
        sum((r.log_minutes - k.user_mean) ^ 2 ORDER BY r.session_id) / greatest(count(*) - count(DISTINCT r.user_id), 1) AS within_var
    FROM ranked r
    JOIN pace_user_kind k USING (session_kind, user_id)
    GROUP BY r.session_kind
),
s AS (
    SELECT
        user_id,
        session_id,
        is_booking,
        NOT is_booking AND NOT is_cancellation AS is_browsing,
        is_booking AND NOT is_travel AS booking_cancelled,
        flight_discount_offered OR hotel_discount_offered AS discount_offered,
        -- Whether a flight carried a checked bag: most flights carry none or one, so a count of bags would mostly
        -- measure party size.
        CASE WHEN is_travel AND booked_flight AND checked_bags IS NOT NULL THEN checked_bags > 0 END AS bagged,
        CASE WHEN is_travel AND booked_hotel AND rooms IS NOT NULL THEN rooms - 1 END AS extra_rooms,
        CASE WHEN is_booking THEN booked_flight AND booked_hotel END AS bundle,
        CASE WHEN is_booking THEN booked_flight AND NOT booked_hotel END AS flight_only,
        CASE WHEN is_booking THEN booked_hotel AND NOT booked_flight END AS hotel_only,
        -- Lead time of the trips taken only: a trip booked far ahead has more time to be cancelled, so the lead of
        -- cancelled bookings would count the same event twice (here and in booking_cancelled).
        CASE WHEN is_travel THEN epoch(coalesce(departure_time, check_in_time) - session_end) / 86400.0 END
            AS lead_days,
        CASE WHEN is_travel AND booked_hotel AND hotel_per_room_usd > 0 THEN ln(hotel_per_room_usd) END
            AS log_room_price,
        CASE WHEN is_travel AND booked_hotel AND booked_flight AND nights > 0 THEN ln(nights) END
            AS log_bundle_nights,
        CASE WHEN is_travel AND booked_flight AND base_fare_usd > 0 AND seats > 0 AND isfinite(log_fare_per_km)
            THEN log_fare_per_km END AS log_fare_per_km,
        1 / nullif(k.within_var, 0) AS pace_weight,
        (log_minutes - k.centre) / nullif(k.within_var, 0) AS pace_weighted
    FROM ranked
    LEFT JOIN pace_kinds k USING (session_kind)
    WHERE $half < 0 OR half = $half
),
users AS (
    SELECT DISTINCT user_id FROM session_cohort
),
-- "Booked well ahead" = further ahead than three in four of the cohort's trips (all sessions, so both halves
-- of the reliability check use the same bar). A share of trips, not a mean: lead times have a long tail of
-- trips booked months ahead that no mean of a few trips can carry.
lead_bar AS (
    SELECT quantile_cont(epoch(coalesce(departure_time, check_in_time) - session_end), 0.75) / 86400.0 AS bar
    FROM session_cohort
    WHERE is_travel
),
per_user AS (
    SELECT
        user_id,
        count(*) FILTER (is_booking) AS bookings,
        count(*) FILTER (bundle) AS bundle_bookings,
        count(*) FILTER (flight_only) AS flight_only_bookings,
        count(*) FILTER (hotel_only) AS hotel_only_bookings,
        count(*) FILTER (booking_cancelled) AS cancelled_bookings,
        count(*) FILTER (is_booking AND discount_offered) AS discounted_bookings,
        count(*) FILTER (is_browsing) AS browsing_sessions,
        count(*) FILTER (is_browsing AND discount_offered) AS discounted_browsing_sessions,
        count(*) FILTER (bagged) AS flights_with_bags,
        count(bagged) AS flights,
        coalesce(sum(extra_rooms), 0) AS extra_rooms,
        count(extra_rooms) AS room_stays,
        count(lead_days) AS dated_trips,
        count(*) FILTER (lead_days > (SELECT bar FROM lead_bar)) AS trips_booked_well_ahead,
        count(log_room_price) AS price_n, sum(log_room_price ORDER BY session_id) AS price_sum,
        sum(log_room_price ^ 2 ORDER BY session_id) AS price_sumsq,
        count(log_bundle_nights) AS nights_n, sum(log_bundle_nights ORDER BY session_id) AS nights_sum,
        sum(log_bundle_nights ^ 2 ORDER BY session_id) AS nights_sumsq,
        count(log_fare_per_km) AS fare_n, sum(log_fare_per_km ORDER BY session_id) AS fare_sum,
        sum(log_fare_per_km ^ 2 ORDER BY session_id) AS fare_sumsq,
        sum(pace_weight ORDER BY session_id) AS pace_weight,
        sum(pace_weighted ORDER BY session_id) AS pace_weighted_sum
    FROM s
    GROUP BY user_id
)
-- Every cohort user gets a row, also with no session in a half (then every count is 0).
SELECT
    u.user_id,
    coalesce(p.bookings, 0) AS bookings,
    coalesce(p.bundle_bookings, 0) AS bundle_bookings,
    coalesce(p.flight_only_bookings, 0) AS flight_only_bookings,
    coalesce(p.hotel_only_bookings, 0) AS hotel_only_bookings,
    coalesce(p.cancelled_bookings, 0) AS cancelled_bookings,
    coalesce(p.discounted_bookings, 0) AS discounted_bookings,
    coalesce(p.browsing_sessions, 0) AS browsing_sessions,
    coalesce(p.discounted_browsing_sessions, 0) AS discounted_browsing_sessions,
    coalesce(p.flights_with_bags, 0) AS flights_with_bags,
    coalesce(p.flights, 0) AS flights,
    coalesce(p.extra_rooms, 0) AS extra_rooms,
    coalesce(p.room_stays, 0) AS room_stays,
    coalesce(p.dated_trips, 0) AS dated_trips,
    coalesce(p.trips_booked_well_ahead, 0) AS trips_booked_well_ahead,
    coalesce(p.price_n, 0) AS price_n, coalesce(p.price_sum, 0) AS price_sum,
    coalesce(p.price_sumsq, 0) AS price_sumsq,
    coalesce(p.nights_n, 0) AS nights_n, coalesce(p.nights_sum, 0) AS nights_sum,
    coalesce(p.nights_sumsq, 0) AS nights_sumsq,
    coalesce(p.fare_n, 0) AS fare_n, coalesce(p.fare_sum, 0) AS fare_sum, coalesce(p.fare_sumsq, 0) AS fare_sumsq,
    coalesce(p.pace_weight, 0) AS pace_weight, coalesce(p.pace_weighted_sum, 0) AS pace_weighted_sum
FROM users u
LEFT JOIN per_user p USING (user_id)
ORDER BY u.user_id
