"""Hand-made warehouses for stage-level tests: the raw tables as the raw stage writes them, a warehouse holding
given rows and frames, and a table read back after a run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from traveltide_assets.storage.warehouse import Warehouse

# The raw tables as the cohort stage reads them, with the raw stage's column types (numeric arrives as double);
# their partition column session_month, which no later stage reads, is left out.
RAW_DDL = """
CREATE TABLE raw_users (user_id INTEGER, birthdate DATE, gender VARCHAR, married BOOLEAN, has_children BOOLEAN,
    home_country VARCHAR, home_city VARCHAR, home_airport VARCHAR, home_airport_lat DOUBLE,
    home_airport_lon DOUBLE, sign_up_date DATE);
CREATE TABLE raw_sessions (session_id VARCHAR, user_id INTEGER, trip_id VARCHAR, session_start TIMESTAMP,
    session_end TIMESTAMP, flight_discount BOOLEAN, hotel_discount BOOLEAN, flight_discount_amount DOUBLE,
    hotel_discount_amount DOUBLE, flight_booked BOOLEAN, hotel_booked BOOLEAN, page_clicks INTEGER,
    cancellation BOOLEAN);
CREATE TABLE raw_flights (trip_id VARCHAR, origin_airport VARCHAR, destination VARCHAR,
    destination_airport VARCHAR, seats INTEGER, return_flight_booked BOOLEAN, departure_time TIMESTAMP,
    return_time TIMESTAMP, checked_bags INTEGER, trip_airline VARCHAR, destination_airport_lat DOUBLE,
    destination_airport_lon DOUBLE, base_fare_usd DOUBLE);
CREATE TABLE raw_hotels (trip_id VARCHAR, hotel_name VARCHAR, nights INTEGER, rooms INTEGER,
    check_in_time TIMESTAMP, check_out_time TIMESTAMP, hotel_per_room_usd DOUBLE);
"""


def warehouse_with(
    folder: Path,
    frames: Mapping[str, pd.DataFrame] | None = None,
    *,
    ddl: str = "",
    rows: Mapping[str, Sequence[tuple]] | None = None,
) -> Warehouse:
    """A warehouse in `folder` holding a table per frame, and the tables of `ddl` filled with `rows`."""
    warehouse = Warehouse.in_folder(folder)
    with warehouse.connect() as con:
        if ddl:
            con.execute(ddl)
        for name, table_rows in (rows or {}).items():
            if table_rows:
                con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(table_rows[0]))})", table_rows)
        for name, frame in (frames or {}).items():
            con.from_df(frame).create(name)
    return warehouse


def read_table(warehouse: Warehouse, name: str) -> pd.DataFrame:
    """A table of the warehouse after a run."""
    with duckdb.connect(warehouse.path, read_only=True) as con:
        return con.sql(f"SELECT * FROM {name}").df()
