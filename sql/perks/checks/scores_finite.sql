-- perk_scores: every score is a finite number.
SELECT * FROM perk_scores
WHERE NOT (isfinite(score_free_hotel_meal) AND isfinite(score_free_checked_bag)
       AND isfinite(score_no_cancellation_fees) AND isfinite(score_exclusive_discounts)
       AND isfinite(score_free_hotel_night_with_flight))
   OR score_free_hotel_meal IS NULL OR score_free_checked_bag IS NULL OR score_no_cancellation_fees IS NULL
   OR score_exclusive_discounts IS NULL OR score_free_hotel_night_with_flight IS NULL
