-- campaign_plan: one row per campaign and customer, with an arm, an email that follows the arm, and its template.
SELECT campaign_id, user_id, 'more than one row' AS problem FROM campaign_plan GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT campaign_id, user_id, 'invalid arm: ' || coalesce(arm, 'NULL') FROM campaign_plan
WHERE arm IS NULL OR arm NOT IN ('personalised', 'generic', 'random_perk')
UNION ALL
SELECT campaign_id, user_id, 'email does not follow the arm: ' || arm || ' / ' || coalesce(email_perk, 'NULL')
FROM campaign_plan
WHERE email_perk IS NULL
   OR (arm = 'generic' AND email_perk <> 'all_perks')
   OR (arm = 'personalised' AND email_perk NOT IN (favourite_perk, 'all_perks'))
   OR (arm = 'random_perk' AND (email_perk IN (favourite_perk, 'all_perks')
       OR email_perk NOT IN ('free_hotel_meal', 'free_checked_bag', 'no_cancellation_fees',
                             'exclusive_discounts', 'free_hotel_night_with_flight')))
UNION ALL
SELECT campaign_id, user_id, 'template does not match the email: ' || coalesce(template, 'NULL') FROM campaign_plan
WHERE template IS DISTINCT FROM (CASE WHEN email_perk = 'all_perks' THEN 'invite_generic' ELSE 'invite_' || email_perk END)
UNION ALL
SELECT campaign_id, user_id, 'missing assigned_at, probability or confidence' FROM campaign_plan
WHERE assigned_at IS NULL OR probability IS NULL OR NOT (probability BETWEEN 0 AND 1)
   OR confidence IS NULL OR confidence NOT IN ('high', 'medium', 'low')
