-- session_cohort.nights, after cleaning, is positive or unknown.
SELECT session_id, nights FROM session_cohort WHERE nights <= 0
