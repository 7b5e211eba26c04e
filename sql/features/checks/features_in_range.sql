-- user_features: age 0..120, rates in [0, 1], nights and bags not negative.
SELECT user_id, age, booking_rate, cancellation_rate, discount_used_rate, avg_nights, avg_checked_bags
FROM user_features
WHERE age NOT BETWEEN 0 AND 120
   OR booking_rate NOT BETWEEN 0 AND 1 OR bundle_rate NOT BETWEEN 0 AND 1 OR hotel_only_rate NOT BETWEEN 0 AND 1
   OR cancellation_rate < 0 OR discount_used_rate NOT BETWEEN 0 AND 1
   OR avg_nights < 0 OR avg_checked_bags < 0
