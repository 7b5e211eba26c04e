-- When the source's newest session started. A full run extracts the session months from the first through this
-- one's month: a source whose history has ended (the real TravelTide sessions stop on 2023-07-28) would
-- otherwise be recorded as one empty partition per month up to today, three Dagster events each.
-- Portable SQL: PostgreSQL (the real source) and DuckDB (the embedded store).
SELECT max(session_start) AS newest_session_start
FROM sessions
