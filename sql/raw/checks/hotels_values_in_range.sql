-- raw_hotels: nights -10..365 (small negatives are a known quirk the cohort cleans), rooms 0..20, price >= 0.
SELECT trip_id, nights, rooms, hotel_per_room_usd FROM raw_hotels
WHERE nights < -10 OR nights > 365 OR rooms < 0 OR rooms > 20 OR hotel_per_room_usd < 0
