"""The raw extracts' checks: keys, references between the tables, plausible values.

Each rule is sql/raw/checks/<name>.sql: a query of the rows that break it."""

from traveltide_assets.defs.checks import CheckSpec, build_checks

CHECKS = (
    CheckSpec("raw", "raw_users", "users_primary_key", "raw_users.user_id"),
    CheckSpec("raw", "raw_users", "users_birthdate_plausible", "raw_users.birthdate"),
    CheckSpec("raw", "raw_sessions", "sessions_primary_key", "raw_sessions.session_id"),
    CheckSpec("raw", "raw_sessions", "sessions_have_known_users", "raw_sessions.user_id"),
    CheckSpec(
        "raw",
        "raw_sessions",
        "sessions_booked_trips_exist",
        "raw_sessions.trip_id",
        reads=("raw_flights", "raw_hotels"),
    ),
    CheckSpec("raw", "raw_sessions", "sessions_discount_amounts_in_range", "raw_sessions.*_discount_amount"),
    CheckSpec("raw", "raw_sessions", "sessions_page_clicks_plausible", "raw_sessions.page_clicks"),
    CheckSpec("raw", "raw_sessions", "sessions_not_in_future", "raw_sessions.session_start"),
    CheckSpec("raw", "raw_flights", "flights_primary_key", "raw_flights.trip_id"),
    CheckSpec("raw", "raw_flights", "flights_values_in_range", "raw_flights.base_fare_usd/seats/checked_bags"),
    CheckSpec("raw", "raw_hotels", "hotels_primary_key", "raw_hotels.trip_id"),
    CheckSpec("raw", "raw_hotels", "hotels_values_in_range", "raw_hotels.nights/rooms/hotel_per_room_usd"),
)
asset_checks = build_checks(CHECKS)
