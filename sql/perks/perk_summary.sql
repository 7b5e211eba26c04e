-- perk_summary: users per favourite perk, overall (segment NULL) and within each segment, with shares.
SELECT
    segment,
    favourite_perk,
    count(*) AS users,
    count(*) / sum(count(*)) OVER (PARTITION BY segment) AS share_of_segment,
    -- Ordered, so the floating-point sums are the same in every run (parallel aggregation adds in any order).
    avg(probability ORDER BY user_id) AS mean_probability,
    avg(score ORDER BY user_id) AS mean_score,
    avg(margin ORDER BY user_id) AS mean_margin
FROM perk_assignments
GROUP BY GROUPING SETS ((segment, favourite_perk), (favourite_perk))
ORDER BY segment NULLS FIRST, users DESC, favourite_perk
