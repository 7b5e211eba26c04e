"""Which PostgreSQL driver streams a large table into Arrow record batches faster?

Starts a throwaway server (``tools.local_postgres.LocalPostgres``), fills a table shaped
like TravelTide's ``sessions`` server-side (``generate_series`` + ``random()``), then streams
``SELECT ... FROM sessions`` into Arrow record batches with:

* ``adbc``               adbc-driver-postgresql: ``cursor.fetch_record_batch()`` (binary COPY inside
                         the driver, batches built in C).
* ``psycopg_csv``        psycopg 3: ``COPY (q) TO STDOUT (FORMAT csv)`` via ``cursor.copy()``; rows are
                         appended to ~16 MiB blocks that a worker thread parses with
                         ``pyarrow.csv.read_csv`` (explicit schema) while the main thread keeps
                         receiving - the parser releases the GIL, so receive and parse overlap.
* ``psycopg_csv_serial`` the same, parsing each block in the receiving thread.
* ``psycopg_fetchmany``  psycopg 3 server-side cursor, ``fetchmany`` -> ``pa.RecordBatch.from_pylist``
                         (the naive path through Python objects, for reference).
* ``raw_copy_text`` / ``raw_copy_binary``  ``COPY (q) TO STDOUT`` via psycopg written to /dev/null, no
                         parsing: the floor for anything built on psycopg's COPY.

Every run is a separate subprocess (so peak RSS is per method); each method's time is the best of
``--repeats`` runs, measured inside the subprocess from connect to last batch (interpreter start-up
and imports excluded). The primary query casts the ``numeric`` columns to ``double precision`` as the
product's extraction SQL does; ``[numeric]`` rows repeat some methods without the cast.

Run: ``uv run python tools/driver_stream.py [--rows 5000000]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import queue
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import psycopg

if TYPE_CHECKING:
    import pyarrow as pa

from tools.local_postgres import LocalPostgres
from traveltide_assets.sql_files import sql_statements

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
# Columns whose Arrow type is reported per driver.
REPORTED_COLUMNS = ("flight_discount_amount", "session_start", "user_id")

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


# --------------------------------------------------------------------------------------------------
# Methods (run inside the child process). Each returns (rows, bytes, schema or None).
# --------------------------------------------------------------------------------------------------

Result = tuple[int, int, "pa.Schema | None"]


def run_adbc(url: str, variant: Variant, batch_rows: int) -> Result:
    import adbc_driver_postgresql.dbapi as adbc

    rows = nbytes = 0
    with adbc.connect(url) as conn, conn.cursor() as cur:
        cur.execute(select_sql(variant))
        reader = cur.fetch_record_batch()
        for batch in reader:
            rows += batch.num_rows
            nbytes += batch.nbytes
        return rows, nbytes, reader.schema


def _copy_rows(url: str, sql: str) -> Iterator[memoryview | bytes]:
    """Yield COPY ... TO STDOUT data, one message (= one row) at a time."""
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(sql) as copy:
        yield from copy


def _copy_blocks(url: str, variant: Variant, block_bytes: int) -> Iterator[bytearray]:
    """CSV COPY output gathered into blocks of whole rows of at least ``block_bytes``."""
    block = bytearray()
    for row in _copy_rows(url, f"COPY ({select_sql(variant)}) TO STDOUT (FORMAT csv)"):
        block += row
        if len(block) >= block_bytes:
            yield block
            block = bytearray()
    if block:
        yield block


def _csv_parser(variant: Variant) -> Callable[[bytearray], pa.Table]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    schema = arrow_schema(variant)
    read = pacsv.ReadOptions(column_names=schema.names, block_size=32 << 20)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types=schema,
        # COPY csv writes NULL as an unquoted empty field and '' as "": keep them apart.
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
        check_utf8=False,  # client_encoding is UTF8: the server already guarantees valid UTF-8
    )

    def parse_block(block: bytearray) -> pa.Table:
        return pacsv.read_csv(pa.py_buffer(block), read_options=read, parse_options=parse, convert_options=convert)

    return parse_block


def run_psycopg_csv_serial(url: str, variant: Variant, batch_rows: int, block_mib: int = 16) -> Result:
    parse_block = _csv_parser(variant)
    rows = nbytes = 0
    schema = None
    for block in _copy_blocks(url, variant, block_mib << 20):
        table = parse_block(block)
        schema = table.schema
        for batch in table.to_batches():
            rows += batch.num_rows
            nbytes += batch.nbytes
    return rows, nbytes, schema


def run_psycopg_csv(url: str, variant: Variant, batch_rows: int, block_mib: int = 16) -> Result:
    parse_block = _csv_parser(variant)
    blocks: queue.Queue[bytearray | None] = queue.Queue(maxsize=2)  # bounds memory to ~3 blocks
    totals = {"rows": 0, "bytes": 0}
    schema: list[pa.Schema] = []
    errors: list[BaseException] = []

    def consume() -> None:
        while (block := blocks.get()) is not None:
            if errors:
                continue  # keep draining so the producer never blocks forever
            try:
                table = parse_block(block)
            except BaseException as exc:
                errors.append(exc)
                continue
            schema[:] = [table.schema]
            for batch in table.to_batches():
                totals["rows"] += batch.num_rows
                totals["bytes"] += batch.nbytes

    worker = threading.Thread(target=consume, name="csv-parse")
    worker.start()
    try:
        for block in _copy_blocks(url, variant, block_mib << 20):
            blocks.put(block)
            if errors:
                break
    finally:
        blocks.put(None)
        worker.join()
    if errors:
        raise errors[0]
    return totals["rows"], totals["bytes"], schema[0] if schema else None


def run_psycopg_fetchmany(url: str, variant: Variant, batch_rows: int) -> Result:
    import pyarrow as pa
    from psycopg.rows import dict_row

    schema = arrow_schema(variant)
    rows = nbytes = 0
    with (
        psycopg.connect(url) as conn,
        conn.cursor(name="sessions_stream", row_factory=dict_row) as cur,  # server-side cursor
    ):
        cur.execute(select_sql(variant))
        while chunk := cur.fetchmany(batch_rows):
            batch = pa.RecordBatch.from_pylist(chunk, schema=schema)
            rows += batch.num_rows
            nbytes += batch.nbytes
    return rows, nbytes, schema


def _run_raw_copy(url: str, variant: Variant, fmt: str) -> Result:
    rows = nbytes = 0
    with open("/dev/null", "wb") as sink:
        for data in _copy_rows(url, f"COPY ({select_sql(variant)}) TO STDOUT {fmt}"):
            sink.write(data)
            rows += 1
            nbytes += len(data)
    if "binary" in fmt:
        rows -= 1  # binary COPY sends its trailer as a message of its own
    return rows, nbytes, None


def run_raw_copy_text(url: str, variant: Variant, batch_rows: int) -> Result:
    return _run_raw_copy(url, variant, "")


def run_raw_copy_binary(url: str, variant: Variant, batch_rows: int) -> Result:
    return _run_raw_copy(url, variant, "(FORMAT binary)")


METHODS: dict[str, Callable[[str, Variant, int], Result]] = {
    "adbc": run_adbc,
    "psycopg_csv": run_psycopg_csv,
    "psycopg_csv_serial": run_psycopg_csv_serial,
    "psycopg_fetchmany": run_psycopg_fetchmany,
    "raw_copy_text": run_raw_copy_text,
    "raw_copy_binary": run_raw_copy_binary,
}
# What "MB/s" counts for each method.
BYTES_KIND = {"raw_copy_text": "COPY bytes", "raw_copy_binary": "COPY bytes"}
DEFAULT_PLAN: tuple[tuple[str, Variant], ...] = (
    ("adbc", "float8"),
    ("psycopg_csv", "float8"),
    ("psycopg_csv_serial", "float8"),
    ("psycopg_fetchmany", "float8"),
    ("raw_copy_text", "float8"),
    ("raw_copy_binary", "float8"),
    ("adbc", "numeric"),
    ("psycopg_csv", "numeric"),
    ("raw_copy_text", "numeric"),
    ("raw_copy_binary", "numeric"),
)


# Imported before the clock starts: adbc_driver_postgresql.dbapi alone takes ~1.2 s because it
# pulls in pyarrow.dataset, pandas and polars. Their memory does count towards peak RSS.
METHOD_IMPORTS: dict[str, tuple[str, ...]] = {
    "adbc": ("adbc_driver_postgresql.dbapi", "pyarrow"),
    "psycopg_csv": ("pyarrow", "pyarrow.csv"),
    "psycopg_csv_serial": ("pyarrow", "pyarrow.csv"),
    "psycopg_fetchmany": ("pyarrow", "psycopg.rows"),
    "raw_copy_text": (),
    "raw_copy_binary": (),
}


def child_main(method: str, url: str, variant: Variant, batch_rows: int) -> None:
    """Run one method once and print a JSON result line."""
    run = METHODS[method]
    for module in METHOD_IMPORTS[method]:
        importlib.import_module(module)
    start = time.perf_counter()
    rows, nbytes, schema = run(url, variant, batch_rows)
    seconds = time.perf_counter() - start
    types = {c: str(schema.field(c).type) for c in REPORTED_COLUMNS} if schema is not None else {}
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "rows": rows, "bytes": nbytes, "rss": peak_rss_mib, "types": types}))


# --------------------------------------------------------------------------------------------------
# Parent: set up the server and data, run the plan, print the tables.
# --------------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    method: str
    variant: Variant
    seconds: list[float]
    rows: int = 0
    nbytes: int = 0
    peak_rss_mib: float = 0.0
    types: dict[str, str] | None = None

    @property
    def label(self) -> str:
        return self.method if self.variant == "float8" else f"{self.method} [numeric]"


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


def run_child(method: str, variant: Variant, url: str, batch_rows: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        method,
        "--variant",
        variant,
        "--url",
        url,
        "--batch-rows",
        str(batch_rows),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} [{variant}] failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def print_results(measurements: list[Measurement]) -> None:
    columns = ("best s", 7), ("median s", 8), ("rows/s", 10), ("MB/s", 6), ("peak RSS MiB", 12)
    header = f"{'method':<27} " + " ".join(f"{name:>{width}}" for name, width in columns) + "  MB counted"
    print(header)
    print("-" * len(header))
    for m in measurements:
        best = min(m.seconds)
        kind = BYTES_KIND.get(m.method, "Arrow nbytes")
        print(
            f"{m.label:<27} {best:>7.2f} {statistics.median(m.seconds):>8.2f} {m.rows / best:>10,.0f}"
            f" {m.nbytes / best / 1e6:>6.1f} {m.peak_rss_mib:>12.0f}  {kind}"
        )
    print("(rows/s and MB/s from the best run; MB = 10^6 bytes)")
    print()
    print("all runs (s):")
    for m in measurements:
        print(f"  {m.label:<27} " + " ".join(f"{s:.2f}" for s in m.seconds))
    print()
    print("Arrow types produced:")
    for m in measurements:
        if m.types:
            print(f"  {m.label:<27} " + ", ".join(f"{c}: {t}" for c, t in m.types.items()))


def parent_main(args: argparse.Namespace) -> None:
    import adbc_driver_postgresql
    import pyarrow as pa

    plan = [(m, v) for m, v in DEFAULT_PLAN if (not args.methods or m in args.methods) and v in args.variants]
    print(
        f"python {platform.python_version()}, psycopg {psycopg.__version__} (libpq {psycopg.pq.version()}), "
        f"adbc-driver-postgresql {adbc_driver_postgresql.__version__}, pyarrow {pa.__version__}"
    )
    with LocalPostgres(dbname="bench") as server:
        start = time.perf_counter()
        load_sessions(server.url, args.rows)
        print(f"loaded {args.rows:,} rows + VACUUM ANALYZE in {time.perf_counter() - start:.1f}s")
        print(", ".join(f"{k}: {v}" for k, v in describe_table(server.url).items()))
        print(f"best of {args.repeats} runs, one subprocess per run; primary query casts numeric to float8")
        print(flush=True)

        results = {key: Measurement(key[0], key[1], []) for key in plan}
        for _ in range(args.repeats):  # interleave the rounds so drift hits every method alike
            for method, variant in plan:
                r = run_child(method, variant, server.url, args.batch_rows)
                m = results[(method, variant)]
                m.seconds.append(r["seconds"])
                if r["rows"] != args.rows:
                    raise RuntimeError(f"{m.label}: got {r['rows']} rows, expected {args.rows}")
                m.rows, m.nbytes, m.types = r["rows"], r["bytes"], r["types"]
                m.peak_rss_mib = max(m.peak_rss_mib, r["rss"])
                print(f"  {m.label:<27} {r['seconds']:.2f}s", file=sys.stderr, flush=True)
    print_results(list(results.values()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows in sessions (default 5,000,000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per method; the best is reported")
    parser.add_argument("--batch-rows", type=int, default=65_536, help="fetchmany size for psycopg_fetchmany")
    parser.add_argument("--methods", nargs="*", choices=sorted(METHODS), help="subset of methods to run")
    parser.add_argument(
        "--variants", nargs="*", choices=["float8", "numeric"], default=["float8", "numeric"], help="queries"
    )
    parser.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=["float8", "numeric"], default="float8", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.url, args.variant, args.batch_rows)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()
