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
import json
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from tools.driver_stream_methods import METHODS, child_main
from tools.driver_stream_table import Variant, describe_table, load_sessions
from tools.local_postgres import LocalPostgres

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
