-- perk_probabilities: one row per cohort customer (perk_evidence), each probability in [0, 1], each row summing to 1.
SELECT user_id, 'no probabilities' AS problem FROM perk_evidence ANTI JOIN perk_probabilities USING (user_id)
UNION ALL
SELECT user_id, 'not a cohort customer' FROM perk_probabilities ANTI JOIN perk_evidence USING (user_id)
UNION ALL
SELECT user_id, 'more than one row' FROM perk_probabilities GROUP BY user_id HAVING count(*) > 1
UNION ALL
SELECT user_id, 'probabilities outside [0, 1] or not summing to 1' FROM perk_probabilities
WHERE NOT (least(p_free_hotel_meal, p_free_checked_bag, p_no_cancellation_fees, p_exclusive_discounts,
                 p_free_hotel_night_with_flight) >= 0
           AND abs(p_free_hotel_meal + p_free_checked_bag + p_no_cancellation_fees + p_exclusive_discounts
                   + p_free_hotel_night_with_flight - 1) < 1e-9)
   OR p_free_hotel_meal IS NULL OR p_free_checked_bag IS NULL OR p_no_cancellation_fees IS NULL
   OR p_exclusive_discounts IS NULL OR p_free_hotel_night_with_flight IS NULL
