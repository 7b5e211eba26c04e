"""The table the driver comparison streams (tools/driver_stream.py): shaped like TravelTide's ``sessions``, filled
server-side, and the query and Arrow schema of each variant (numeric columns cast to float8, or left numeric)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import psycopg

from traveltide_assets.sql_files import sql_statements

if TYPE_CHECKING:
    import pyarrow as pa

Variant = Literal["float8", "numeric"]

COLUMNS: tuple[str, ...] = (
    "session_id",
    "user_id",
    "trip_id",
    "session_start",
    "session_end",
    "flight_discount",
    "hotel_discount",
    "flight_discount_amount",
    "hotel_discount_amount",
    "flight_booked",
    "hotel_booked",
    "page_clicks",
    "cancellation",
)
NUMERIC_COLUMNS = ("flight_discount_amount", "hotel_discount_amount")

# The real sessions DDL of the project (sql/source/traveltide_tables.sql), primary key added after the load.
CREATE_SQL = (
    "DROP TABLE IF EXISTS public.sessions;\n" + sql_statements("source/traveltide_tables.sql")["public.sessions"]
)

# The random draws live in a subquery: PostgreSQL does not flatten a subquery whose target list has
# volatile functions, so each draw is made once per row and can be referenced several times.
# ~43% of sessions have a trip (trip_id NULL in ~57%), discounts are multiples of 0.05.
FILL_SQL = """
INSERT INTO sessions
SELECT
    s.user_id || '-' || md5(s.i::text),
    s.user_id,
    CASE WHEN s.has_trip THEN s.user_id || '-' || md5('trip' || s.i) END,
    s.session_start,
    s.session_start + make_interval(secs => 10 + floor(s.r_len * 1800)),
    s.flight_discount,
    s.hotel_discount,
    CASE WHEN s.flight_discount THEN (1 + floor(random() * 12)) * 0.05 END,
    CASE WHEN s.hotel_discount THEN (1 + floor(random() * 12)) * 0.05 END,
    s.has_trip AND s.r_kind < 0.85,
    s.has_trip AND s.r_kind > 0.25,
    1 + floor(s.r_len * s.r_len * 40)::integer,
    s.has_trip AND random() < 0.04
FROM (
    SELECT
        i,
        1 + floor(random() * 1000000)::integer AS user_id,
        random() < 0.43 AS has_trip,
        random() AS r_kind,
        random() AS r_len,
        timestamp '2021-04-01' + date_trunc('second', random() * interval '730 days') AS session_start,
        random() < 0.17 AS flight_discount,
        random() < 0.13 AS hotel_discount
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
) AS s
"""


def select_sql(variant: Variant) -> str:
    if variant == "numeric":
        return "SELECT * FROM sessions"
    cols = [f"{c}::double precision AS {c}" if c in NUMERIC_COLUMNS else c for c in COLUMNS]
    return f"SELECT {', '.join(cols)} FROM sessions"


def arrow_schema(variant: Variant) -> pa.Schema:
    """Schema the psycopg paths build (adbc infers its own from the result's column types)."""
    import pyarrow as pa

    # Unconstrained numeric has no declared scale; the generated amounts have two decimals.
    amount = pa.float64() if variant == "float8" else pa.decimal128(18, 2)
    types: dict[str, pa.DataType] = {
        "session_id": pa.string(),
        "user_id": pa.int32(),
        "trip_id": pa.string(),
        "session_start": pa.timestamp("us"),
        "session_end": pa.timestamp("us"),
        "flight_discount_amount": amount,
        "hotel_discount_amount": amount,
        "page_clicks": pa.int32(),
    }
    return pa.schema([(c, types.get(c, pa.bool_())) for c in COLUMNS])


def load_sessions(url: str, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE_SQL)
        step = 1_000_000
        for lo in range(1, rows + 1, step):
            conn.execute(FILL_SQL, {"lo": lo, "hi": min(lo + step - 1, rows)})
        conn.execute("ALTER TABLE sessions ADD PRIMARY KEY (session_id)")
        conn.execute("VACUUM ANALYZE sessions")


def describe_table(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), avg((trip_id IS NULL)::int), avg((flight_discount_amount IS NULL)::int),"
            " pg_size_pretty(pg_table_size('sessions')), current_setting('server_version')"
            " FROM sessions"
        ).fetchone()
    assert row is not None
    count, trip_null, amount_null, size, version = row
    return {
        "rows": count,
        "trip_id NULL": f"{float(trip_null):.1%}",
        "flight_discount_amount NULL": f"{float(amount_null):.1%}",
        "table size": size,
        "server": version,
    }
