-- campaign_plan: every cohort customer (perk_assignments) has a row in the configured campaign's plan.
SELECT user_id, 'cohort customer not in the plan' AS problem
FROM perk_assignments ANTI JOIN (SELECT user_id FROM campaign_plan WHERE campaign_id = $campaign_id) USING (user_id)
