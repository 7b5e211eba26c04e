"""The whole asset graph, materialised for real: PostgreSQL -> DuckDB + Parquet, and on the embedded store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import ExecuteInProcessResult

from tools.local_postgres import LocalPostgres
from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.sources.connection import render
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres, write_parquet_store
from traveltide_assets_tests.outputs import parquet_export, scan_sql
from traveltide_assets_tests.pipeline_harness import ASSET_TABLES, read_pandas, read_polars, run_graph

E2E_USERS = 40_000


@pytest.fixture(scope="module")
def pg_run(
    postgres: LocalPostgres, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ExecuteInProcessResult, Warehouse]:
    load_postgres(generate_source(GeneratorConfig(users=E2E_USERS, seed=21)), postgres.url)
    warehouse = Warehouse.in_folder(tmp_path_factory.mktemp("pg_run"))
    result = run_graph(TravelTideSource(postgres_url=postgres.url), warehouse)
    return result, warehouse


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def test_graph_succeeds_with_every_check_passing(pg_run: tuple[ExecuteInProcessResult, Warehouse]) -> None:
    result, _ = pg_run
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    # perk_accuracy and perk_calibration too: the synthetic source has a planted truth; the report is a file.
    # campaign_plan is not in ASSET_TABLES: a frozen plan depends on its history, not only on the source.
    assert materialised == {
        *ASSET_TABLES, "perk_accuracy", "perk_calibration", "campaign_plan", "campaign_signups", "campaign_readout",
        "executive_summary", "executive_slides",
    }  # fmt: skip
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 26  # 21 on the warehouse's rows, campaign_signups_valid, one source check per raw asset
    assert all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]


def test_row_counts_are_consistent_through_the_lineage(
    pg_run: tuple[ExecuteInProcessResult, Warehouse],
) -> None:
    _, warehouse = pg_run
    con = duckdb.connect(warehouse.path, read_only=True)
    cohort_users = _count(con, "SELECT count(DISTINCT user_id) FROM session_cohort")
    assert cohort_users > 100
    for table in ("user_features", "perk_scores", "user_segments", "perk_assignments"):
        assert _count(con, f"SELECT count(*) FROM {table}") == cohort_users, table
    assert _count(con, "SELECT sum(users) FROM perk_summary WHERE segment IS NULL") == cohort_users
    # The pushed-down bounds: only the cohort's sessions after the cohort start were extracted, and only the
    # users those sessions name.
    assert _count(con, "SELECT count(*) FROM raw_sessions WHERE session_start <= '2023-01-04'") == 0
    assert _count(con, "SELECT count(DISTINCT user_id) FROM raw_sessions") == cohort_users
    assert _count(con, "SELECT count(*) FROM raw_users") == cohort_users
    assert _count(con, "SELECT count(*) FROM session_cohort") == _count(
        con,
        """WITH w AS (SELECT * FROM raw_sessions WHERE session_start > '2023-01-04')
           SELECT count(*) FROM w WHERE user_id IN (SELECT user_id FROM w GROUP BY user_id HAVING count(*) > 7)""",
    )
    # Each month partition holds exactly the sessions that started in it.
    assert _count(con, "SELECT count(*) FROM raw_sessions WHERE session_month <> strftime(session_start, '%Y-%m')") == 0
    perks = {r[0] for r in con.execute("SELECT DISTINCT favourite_perk FROM perk_assignments").fetchall()}
    assert perks <= set(PERKS)


def test_parquet_exports_match_the_warehouse_in_every_reader(
    pg_run: tuple[ExecuteInProcessResult, Warehouse],
) -> None:
    _, warehouse = pg_run
    con = duckdb.connect(warehouse.path, read_only=True)
    for table in ASSET_TABLES:
        columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        rows = _count(con, f"SELECT count(*) FROM {table}")
        by_polars = read_polars(warehouse, table)
        by_pandas = read_pandas(warehouse, table)
        export = parquet_export(Path(warehouse.path).parent, table)
        by_duckdb = duckdb.execute(f"SELECT count(*) FROM {scan_sql(export)}").fetchall()[0][0]
        assert by_polars.columns == columns and by_polars.height == rows, table
        assert list(by_pandas.columns) == columns and len(by_pandas) == rows, table
        assert by_duckdb == rows, table
    assignments = pl.read_parquet(warehouse.parquet_path("perk_assignments"))
    assert assignments.columns[:11] == [
        "user_id",
        "favourite_perk",
        "favourite_perk_label",
        "probability",
        "runner_up_perk",
        "runner_up_probability",
        "confidence",
        "score",
        "runner_up_score",
        "margin",
        "reason",
    ]
    assert assignments["reason"].str.len_chars().min() > 10


def test_metadata_reports_counts_schema_and_cleaning(
    pg_run: tuple[ExecuteInProcessResult, Warehouse],
) -> None:
    result, _ = pg_run
    by_asset = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert "report_path" in by_asset.pop("executive_summary")  # a file, not a table
    assert by_asset.pop("executive_slides")["path"].value.endswith("executive_summary.pptx")  # a file too
    for name, metadata in by_asset.items():
        assert "dagster/row_count" in metadata, name
        assert "dagster/column_schema" in metadata, name
        assert "preview" in metadata, name
    cohort = by_asset["session_cohort"]
    assert cohort["cohort_users"].value > 0
    assert cohort["cleaning/cancellation_not_a_booking"].value > 0
    assert "perk_shares" in by_asset["perk_assignments"]
    assert "segment_sizes" in by_asset["user_segments"]
    assert "PostgreSQL" in by_asset["raw_sessions"]["source"].value


def test_same_graph_on_the_embedded_store(tmp_path: Path) -> None:
    source_dir = tmp_path / "source"
    write_parquet_store(generate_source(GeneratorConfig(users=25_000, seed=21)), source_dir)
    result = run_graph(TravelTideSource(embedded_dir=str(source_dir)), Warehouse.in_folder(tmp_path))
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert _count(con, "SELECT count(*) FROM perk_assignments") > 50


def test_embedded_store_is_generated_when_absent(tmp_path: Path) -> None:
    source = TravelTideSource(embedded_dir=str(tmp_path / "missing"), embedded_users=3_000)
    result = run_graph(source, Warehouse.in_folder(tmp_path))
    assert result.success
    assert (tmp_path / "missing" / "sessions.parquet").is_file()


def test_source_exposes_the_planted_truth_apart_from_the_tables(postgres: LocalPostgres, tmp_path: Path) -> None:
    source = generate_source(GeneratorConfig(users=2_000, seed=5))
    write_parquet_store(source, tmp_path)
    load_postgres(source, postgres.url)
    for reader in (TravelTideSource(postgres_url=postgres.url), TravelTideSource(embedded_dir=str(tmp_path))):
        truth = reader.ground_truth()
        assert truth is not None and truth.column_names == ["user_id", "favourite_perk"]
    assert TravelTideSource(embedded_dir=str(tmp_path / "nothing")).ground_truth() is None


def test_source_reads_in_read_only_transactions(postgres: LocalPostgres) -> None:
    source = TravelTideSource(postgres_url=postgres.url)
    with source.open() as connection:
        setting = connection.fetch("SELECT current_setting('default_transaction_read_only') AS ro")
    assert setting["ro"].to_pylist() == ["on"]


def test_extraction_parameters_are_inlined_as_typed_literals() -> None:
    """The PostgreSQL driver streams only parameter-free queries, so parameters become typed literals, never
    raw text; comments go (they may name parameters too)."""
    sql = render(
        "-- rows of $first\nWHERE a >= $first AND a < $end AND u IN $users AND m IN $months AND j IN $none",
        {
            "first": dt.datetime(2023, 1, 1),
            "end": dt.datetime(2023, 2, 1, 6, 30),
            "users": [3, 5],
            "months": [dt.date(2023, 1, 1)],
            "none": [],
        },
    )
    assert sql == (
        "WHERE a >= TIMESTAMP '2023-01-01 00:00:00' AND a < TIMESTAMP '2023-02-01 06:30:00' AND u IN (3, 5) "
        "AND m IN (DATE '2023-01-01') AND j IN (NULL)"
    )
    with pytest.raises(TypeError, match="dates, timestamps, numbers"):
        render("WHERE name = $name", {"name": "x'; DROP TABLE users; --"})
    with pytest.raises(KeyError, match="missing"):
        render("WHERE a = $missing", {})
