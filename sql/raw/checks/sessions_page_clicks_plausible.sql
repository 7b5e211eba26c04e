-- raw_sessions.page_clicks is between 0 and 10,000 (the real maximum is 2,421).
SELECT session_id, page_clicks FROM raw_sessions WHERE page_clicks IS NULL OR page_clicks < 0 OR page_clicks > 10000
