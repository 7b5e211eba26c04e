-- Per-user behaviour of the study cohort: the 20 features of shared/real-cohort/README.md, for fidelity checks
-- of a synthetic source against the real cohort's reference.json (traveltide_assets/validation/fidelity.py).
-- Cohort: sessions with session_start > 2023-01-04, users with more than 7 of them. No cleaning, on purpose:
-- the reference was computed on the raw tables, quirks and cancellation sessions included.
-- Portable SQL (PostgreSQL and DuckDB): extract(epoch from ...) instead of DuckDB's epoch(), and the age as
-- the difference of calendar years (what DuckDB's date_diff('year', birthdate, DATE '2023-07-31') gives the
-- reference). Every number is cast to double precision: ADBC hands PostgreSQL numerics over as strings.
WITH s AS (
    SELECT * FROM sessions WHERE session_start > TIMESTAMP '2023-01-04'
),
cohort AS (
    SELECT user_id FROM s GROUP BY user_id HAVING count(*) > 7
),
cs AS (
    SELECT s.* FROM s JOIN cohort USING (user_id)
),
fl AS (
    SELECT cs.user_id, f.checked_bags, f.seats, f.base_fare_usd, f.return_flight_booked
    FROM cs JOIN flights f USING (trip_id)
    WHERE cs.flight_booked AND NOT cs.cancellation
),
ho AS (
    SELECT cs.user_id, h.nights, h.rooms, h.hotel_per_room_usd
    FROM cs JOIN hotels h USING (trip_id)
    WHERE cs.hotel_booked AND NOT cs.cancellation
),
per_user AS (
    SELECT
        user_id,
        count(*) AS n_sessions,
        avg(page_clicks) AS avg_clicks,
        avg(extract(epoch FROM (session_end - session_start)) / 60) AS avg_minutes,
        avg(flight_booked::int) AS flight_book_rate,
        avg(hotel_booked::int) AS hotel_book_rate,
        avg(cancellation::int) AS cancel_rate,
        avg(flight_discount::int) AS flight_discount_rate,
        avg(hotel_discount::int) AS hotel_discount_rate,
        avg(flight_discount_amount) AS avg_flight_discount,
        avg(hotel_discount_amount) AS avg_hotel_discount
    FROM cs
    GROUP BY user_id
),
f_user AS (
    SELECT
        user_id,
        avg(checked_bags) AS avg_bags,
        avg(seats) AS avg_seats,
        avg(base_fare_usd) AS avg_fare,
        avg(return_flight_booked::int) AS return_rate
    FROM fl
    GROUP BY user_id
),
h_user AS (
    SELECT user_id, avg(nights) AS avg_nights, avg(rooms) AS avg_rooms, avg(hotel_per_room_usd) AS avg_hotel_price
    FROM ho
    GROUP BY user_id
)
SELECT
    p.user_id,
    CAST(p.n_sessions AS double precision) AS n_sessions,
    CAST(p.avg_clicks AS double precision) AS avg_clicks,
    CAST(p.avg_minutes AS double precision) AS avg_minutes,
    CAST(p.flight_book_rate AS double precision) AS flight_book_rate,
    CAST(p.hotel_book_rate AS double precision) AS hotel_book_rate,
    CAST(p.cancel_rate AS double precision) AS cancel_rate,
    CAST(p.flight_discount_rate AS double precision) AS flight_discount_rate,
    CAST(p.hotel_discount_rate AS double precision) AS hotel_discount_rate,
    CAST(p.avg_flight_discount AS double precision) AS avg_flight_discount,
    CAST(p.avg_hotel_discount AS double precision) AS avg_hotel_discount,
    CAST(f.avg_bags AS double precision) AS avg_bags,
    CAST(f.avg_seats AS double precision) AS avg_seats,
    CAST(f.avg_fare AS double precision) AS avg_fare,
    CAST(f.return_rate AS double precision) AS return_rate,
    CAST(h.avg_nights AS double precision) AS avg_nights,
    CAST(h.avg_rooms AS double precision) AS avg_rooms,
    CAST(h.avg_hotel_price AS double precision) AS avg_hotel_price,
    CAST(2023 - extract(year FROM u.birthdate) AS double precision) AS age,
    CAST(u.married::int AS double precision) AS married,
    CAST(u.has_children::int AS double precision) AS has_children
FROM per_user p
JOIN users u USING (user_id)
LEFT JOIN f_user f USING (user_id)
LEFT JOIN h_user h USING (user_id)
ORDER BY p.user_id
