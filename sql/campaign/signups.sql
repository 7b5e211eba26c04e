-- The campaign's results in the source PostgreSQL: every campaign's sign-ups (signups.py keeps the configured
-- campaign's rows and types the columns). Read through the source's read-only connection, like the raw tables.
SELECT campaign_id, user_id, signed_up_at
FROM public.campaign_signups
