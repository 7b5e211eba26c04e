-- raw_users.birthdate gives an age between 0 and 120 and is not in the future.
SELECT user_id, birthdate FROM raw_users
WHERE birthdate IS NULL OR birthdate > current_date OR birthdate < current_date - INTERVAL 120 YEAR
