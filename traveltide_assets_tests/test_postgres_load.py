"""Loading the synthetic source into a real PostgreSQL server, and the `traveltide generate` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tools.local_postgres import LocalPostgres
from traveltide_assets.sources import contract as schema
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_generated, load_postgres


def _catalogue(conn: psycopg.Connection, table_schema: str, table: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
        (table_schema, table),
    ).fetchall()
    return [(name, dtype) for name, dtype in rows]


def _primary_key(conn: psycopg.Connection, qualified: str) -> list[str]:
    rows = conn.execute(
        """SELECT a.attname FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = %s::regclass AND i.indisprimary""",
        (qualified,),
    ).fetchall()
    return [r[0] for r in rows]


_PG_NAMES = {"timestamp": "timestamp without time zone"}


def test_load_creates_the_real_schema_and_is_idempotent(postgres: LocalPostgres) -> None:
    source = generate_source(GeneratorConfig(users=4_000, seed=2))
    load_postgres(source, postgres.url)
    load_postgres(source, postgres.url)  # re-loading replaces cleanly
    with psycopg.connect(postgres.url) as conn:
        public = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchall()
        }
        assert public == {"users", "sessions", "flights", "hotels"}  # the truth is not among them
        for spec in schema.SOURCE_TABLES:
            expected = [(c.name, _PG_NAMES.get(c.pg_type, c.pg_type)) for c in spec.columns]
            assert _catalogue(conn, "public", spec.name) == expected
            assert _primary_key(conn, f"public.{spec.name}") == [spec.primary_key]
            count = conn.execute(f"SELECT count(*) FROM public.{spec.name}").fetchone()
            assert count == (source.source_tables()[spec.name].num_rows,)
        truth = conn.execute(f"SELECT count(*) FROM {schema.TRUTH_PG_SCHEMA}.ground_truth").fetchone()
        assert truth == (4_000,)
        # Values survive the round trip exactly (decimals, NULLs, timestamps).
        first = conn.execute(
            """SELECT session_id, trip_id, flight_discount_amount, session_start FROM public.sessions
               WHERE flight_discount AND NOT cancellation ORDER BY session_id LIMIT 1"""
        ).fetchone()
    assert first is not None
    expected_row = next(
        r
        for r in sorted(source.sessions.to_pylist(), key=lambda r: r["session_id"])
        if r["flight_discount"] and not r["cancellation"]
    )
    assert first == (
        expected_row["session_id"],
        expected_row["trip_id"],
        expected_row["flight_discount_amount"],
        expected_row["session_start"],
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_generates_into_postgres_and_a_folder(postgres: LocalPostgres, tmp_path: Path) -> None:
    done = _cli("generate", "--users", "1500", "--seed", "4", "--to", postgres.url)
    assert done.returncode == 0, done.stderr
    assert "sessions" in done.stderr  # progress lines
    done = _cli("generate", "--users", "1500", "--seed", "4", "--to", str(tmp_path / "src"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "src" / "sessions.parquet").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mix", "mystery"], "unknown perk mix 'mystery'"),
        (["--users", "-5"], "must be at least 1"),
        (["--users", "many"], "not a whole number"),
        (["--to", "postgresql://nobody@127.0.0.1:1/none"], "cannot connect to PostgreSQL at"),
        (["--to", "mysql://x@127.0.0.1/db"], "not a PostgreSQL URL"),
        (["--mix", "free_checked_bag=-1"], "negative"),
    ],
)
def test_cli_rejects_bad_input_in_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    argv = ["generate", "--users", "100", *args]
    if "--to" not in args:
        argv += ["--to", str(tmp_path / "out")]
    done = _cli(*argv)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert message in lines[-1]
    assert "Traceback" not in done.stderr
    assert len([line for line in lines if "error" in line]) == 1


def test_cli_never_prints_the_password(tmp_path: Path) -> None:
    done = _cli("generate", "--users", "100", "--to", "postgresql://app:s3cr3t-pw@127.0.0.1:1/db")
    assert done.returncode == 2
    assert "s3cr3t-pw" not in done.stderr + done.stdout


def test_a_large_source_loads_in_slices_with_one_numbering(postgres: LocalPostgres) -> None:
    """load_generated with slices of 1,500 users: the first slice is generate_source's own, the others follow it
    with user ids (and the session and trip ids that start with them) after the previous slices', every key unique."""
    url = postgres.create_database("sliced_load")
    config = GeneratorConfig(users=4_000, seed=11)
    sessions = load_generated(config, url, slice_users=1_500)
    first = generate_source(GeneratorConfig(users=1_500, seed=11))
    with psycopg.connect(url) as conn:
        users = conn.execute("SELECT count(*), min(user_id), max(user_id) FROM users").fetchone()
        assert users == (config.users, 0, config.users - 1)
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (sessions,)
        for table, key in (("users", "user_id"), ("sessions", "session_id"), ("flights", "trip_id")):
            assert _primary_key(conn, f"public.{table}") == [key]  # added after every slice: the ids are unique
        assert conn.execute(f"SELECT count(*) FROM {schema.TRUTH_PG_SCHEMA}.ground_truth").fetchone() == (config.users,)
        mismatched = conn.execute(
            "SELECT count(*) FROM sessions WHERE split_part(session_id, '-', 1)::int <> user_id "
            "OR split_part(trip_id, '-', 1)::int <> user_id"
        ).fetchone()
        assert mismatched == (0,)
        orphans = conn.execute(
            "SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT FROM users u WHERE u.user_id = s.user_id)"
        ).fetchone()
        first_slice = conn.execute("SELECT session_id FROM sessions WHERE user_id < 1500 ORDER BY 1").fetchall()
    assert orphans == (0,)
    assert [r[0] for r in first_slice] == sorted(first.sessions["session_id"].to_pylist())
