-- raw_sessions.flight_discount_amount and hotel_discount_amount are fractions in (0, 1] when present.
SELECT session_id, flight_discount_amount, hotel_discount_amount FROM raw_sessions
WHERE flight_discount_amount <= 0 OR flight_discount_amount > 1
   OR hotel_discount_amount <= 0 OR hotel_discount_amount > 1
