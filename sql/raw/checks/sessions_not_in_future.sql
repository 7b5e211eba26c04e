-- raw_sessions.session_start is not in the future and session_end is not before it.
SELECT session_id, session_start, session_end FROM raw_sessions
WHERE session_start > current_timestamp::timestamp OR session_end < session_start
