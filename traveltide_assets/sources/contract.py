"""The TravelTide source schema: one definition used by the generator, the loaders and the schema checks.

Column names, order and PostgreSQL types are the real database's (see shared/traveltide-schema.md).
`numeric` columns carry an Arrow decimal with the scale the real data shows, so Parquet and DuckDB keep
exact values just as PostgreSQL does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    arrow_type: pa.DataType


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    primary_key: str

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


_TEXT = pa.string()
_INT = pa.int32()
_BOOL = pa.bool_()
_TS = pa.timestamp("us")
_DATE = pa.date32()
_COORD = pa.decimal128(9, 6)
_USD = pa.decimal128(10, 2)
_WHOLE_USD = pa.decimal128(8, 0)
_FRACTION = pa.decimal128(3, 2)

USERS = TableSpec(
    "users",
    (
        Column("user_id", "integer", _INT),
        Column("birthdate", "date", _DATE),
        Column("gender", "text", _TEXT),
        Column("married", "boolean", _BOOL),
        Column("has_children", "boolean", _BOOL),
        Column("home_country", "text", _TEXT),
        Column("home_city", "text", _TEXT),
        Column("home_airport", "text", _TEXT),
        Column("home_airport_lat", "numeric", _COORD),
        Column("home_airport_lon", "numeric", _COORD),
        Column("sign_up_date", "date", _DATE),
    ),
    "user_id",
)

SESSIONS = TableSpec(
    "sessions",
    (
        Column("session_id", "text", _TEXT),
        Column("user_id", "integer", _INT),
        Column("trip_id", "text", _TEXT),
        Column("session_start", "timestamp", _TS),
        Column("session_end", "timestamp", _TS),
        Column("flight_discount", "boolean", _BOOL),
        Column("hotel_discount", "boolean", _BOOL),
        Column("flight_discount_amount", "numeric", _FRACTION),
        Column("hotel_discount_amount", "numeric", _FRACTION),
        Column("flight_booked", "boolean", _BOOL),
        Column("hotel_booked", "boolean", _BOOL),
        Column("page_clicks", "integer", _INT),
        Column("cancellation", "boolean", _BOOL),
    ),
    "session_id",
)

FLIGHTS = TableSpec(
    "flights",
    (
        Column("trip_id", "text", _TEXT),
        Column("origin_airport", "text", _TEXT),
        Column("destination", "text", _TEXT),
        Column("destination_airport", "text", _TEXT),
        Column("seats", "integer", _INT),
        Column("return_flight_booked", "boolean", _BOOL),
        Column("departure_time", "timestamp", _TS),
        Column("return_time", "timestamp", _TS),
        Column("checked_bags", "integer", _INT),
        Column("trip_airline", "text", _TEXT),
        Column("destination_airport_lat", "numeric", _COORD),
        Column("destination_airport_lon", "numeric", _COORD),
        Column("base_fare_usd", "numeric", _USD),
    ),
    "trip_id",
)

HOTELS = TableSpec(
    "hotels",
    (
        Column("trip_id", "text", _TEXT),
        Column("hotel_name", "text", _TEXT),
        Column("nights", "integer", _INT),
        Column("rooms", "integer", _INT),
        Column("check_in_time", "timestamp", _TS),
        Column("check_out_time", "timestamp", _TS),
        Column("hotel_per_room_usd", "numeric", _WHOLE_USD),
    ),
    "trip_id",
)

SOURCE_TABLES: tuple[TableSpec, ...] = (USERS, SESSIONS, FLIGHTS, HOTELS)

# The planted truth lives apart from the four source tables: a separate file, or a separate schema in
# PostgreSQL, so that nothing reading the source can see it by accident.
GROUND_TRUTH = TableSpec(
    "ground_truth",
    (
        Column("user_id", "integer", _INT),
        Column("favourite_perk", "text", _TEXT),
    ),
    "user_id",
)
TRUTH_PG_SCHEMA = "synthetic_truth"
GROUND_TRUTH_FILE = "ground_truth.parquet"  # beside the tables of the embedded store
# Beside them too: the generator settings that made the store (users, seed, mix, signal), as JSON.
GENERATOR_FILE = "generator.json"
