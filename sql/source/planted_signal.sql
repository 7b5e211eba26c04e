-- Behaviour of each planted perk group, for the tests that prove the signal is there (synthetic sources only).
WITH bookings AS (
    SELECT s.user_id, s.trip_id, s.session_end, s.flight_booked, s.hotel_booked,
           (s.flight_discount OR s.hotel_discount) AS discounted
    FROM sessions s WHERE s.trip_id IS NOT NULL AND NOT s.cancellation
)
SELECT
    g.favourite_perk,
    avg(f.checked_bags::double / greatest(f.seats, 1)) AS bags_per_flight,
    (SELECT avg(cancellation::int) FROM sessions s2 JOIN ground_truth g2 USING (user_id)
     WHERE g2.favourite_perk = g.favourite_perk) AS cancellation_rate,
    median(epoch(coalesce(f.departure_time, h.check_in_time) - b.session_end) / 86400) AS lead_days,
    avg(b.discounted::int) AS discounted_booking_share,
    avg((b.hotel_booked AND NOT b.flight_booked)::int) AS hotel_only_share,
    avg((b.hotel_booked AND b.flight_booked)::int) AS bundle_share
FROM bookings b
JOIN ground_truth g USING (user_id)
LEFT JOIN flights f USING (trip_id)
LEFT JOIN hotels h USING (trip_id)
GROUP BY g.favourite_perk
ORDER BY g.favourite_perk
