-- perk_summary: users per favourite perk, overall (segment NULL) and within each segment, with shares.
SELECT
    segment,
    favourite_perk,
    count(*) AS users,
    count(*) / sum(count(*)) OVER (PARTITION BY segment) AS share_of_segment,
    avg(score) AS mean_score,
    avg(margin) AS mean_margin
FROM perk_assignments
GROUP BY GROUPING SETS ((segment, favourite_perk), (favourite_perk))
ORDER BY segment NULLS FIRST, users DESC, favourite_perk
