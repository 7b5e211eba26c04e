-- What changes when results are added to the source's campaign_signups: its row count and newest sign-up
-- (campaign_signups_sensor compares them with the last tick's).
SELECT count(*) AS signups, CAST(max(signed_up_at) AS text) AS newest
FROM public.campaign_signups
