-- The sign-ups as read (view _raw: campaign_id, user_id, signed_up_at of any type), typed, with a flag per row
-- that cannot be (signups.normalise refuses those, naming the first). A time without a zone is UTC.
SELECT
    row_number() OVER () AS row_number,
    CAST(campaign_id AS VARCHAR) AS campaign_id,
    TRY_CAST(user_id AS BIGINT) AS user_id,
    TRY_CAST(signed_up_at AS TIMESTAMPTZ) AS signed_up_at,
    user_id IS NOT NULL AND (
        TRY_CAST(user_id AS BIGINT) IS NULL OR TRY_CAST(user_id AS DOUBLE) <> TRY_CAST(user_id AS BIGINT)
    ) AS bad_user_id,
    signed_up_at IS NOT NULL AND TRY_CAST(signed_up_at AS TIMESTAMPTZ) IS NULL AS bad_signed_up_at,
    user_id IS NULL OR signed_up_at IS NULL AS incomplete
FROM _raw
