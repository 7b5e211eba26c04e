-- perk_assignments: exactly one row per user_features user, with one of the five perks, a finite score, a probability and a confidence band.
SELECT user_id, 'no assignment' AS problem FROM user_features ANTI JOIN perk_assignments USING (user_id)
UNION ALL
SELECT user_id, 'not a cohort user' FROM perk_assignments ANTI JOIN user_features USING (user_id)
UNION ALL
SELECT user_id, 'more than one assignment' FROM perk_assignments GROUP BY user_id HAVING count(*) > 1
UNION ALL
SELECT user_id, 'invalid perk or score: ' || coalesce(favourite_perk, 'NULL') FROM perk_assignments
WHERE favourite_perk IS NULL
   OR favourite_perk NOT IN ('free_hotel_meal', 'free_checked_bag', 'no_cancellation_fees',
                             'exclusive_discounts', 'free_hotel_night_with_flight')
   OR score IS NULL OR NOT isfinite(score)
UNION ALL
SELECT user_id, 'invalid probability or confidence: ' || coalesce(confidence, 'NULL') FROM perk_assignments
WHERE probability IS NULL OR NOT (probability BETWEEN 0 AND 1)
   OR runner_up_probability IS NULL OR runner_up_probability > probability
   OR confidence IS NULL OR confidence NOT IN ('high', 'medium', 'low')
