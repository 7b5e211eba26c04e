"""The ways to stream the sessions table into Arrow that tools/driver_stream.py compares, each run once in a child
process of its own (child_main prints its result as a JSON line)."""

from __future__ import annotations

import importlib
import json
import queue
import resource
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import psycopg

from tools.driver_stream_table import Variant, arrow_schema, select_sql

if TYPE_CHECKING:
    import pyarrow as pa

# Columns whose Arrow type is reported per driver.
REPORTED_COLUMNS = ("flight_discount_amount", "session_start", "user_id")

# What a method returns: (rows, bytes, schema or None).
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
