"""Schema drift in the source is caught before anything is written, naming the table and column: the blocking
check source_has_expected_columns fails on the raw table that reads the drifted source table, and the step (the
session extracts, the first to read the source) stops with the same line as its error."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tools.local_postgres import LocalPostgres
from traveltide_assets.pipeline import failure_message
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres
from traveltide_assets_tests.outputs import assert_readable, fingerprint
from traveltide_assets_tests.pipeline_harness import run_graph

pytestmark = pytest.mark.faults

DRIFTS = [
    ("ALTER TABLE sessions RENAME COLUMN page_clicks TO clicks",
     "ALTER TABLE sessions RENAME COLUMN clicks TO page_clicks", "'sessions'", "'page_clicks' is missing",
     "raw_sessions"),
    ("ALTER TABLE hotels DROP COLUMN rooms", "ALTER TABLE hotels ADD COLUMN rooms integer", "'hotels'",
     "'rooms' is missing", "raw_hotels"),
    ("ALTER TABLE flights ALTER COLUMN seats TYPE text", "ALTER TABLE flights ALTER COLUMN seats TYPE integer "
     "USING seats::integer", "'flights'", "'seats' is text, expected integer", "raw_flights"),
]  # fmt: skip


@pytest.mark.parametrize(("drift", "undo", "table", "column", "asset"), DRIFTS)
def test_drift_fails_early_and_changes_nothing(
    drift: str, undo: str, table: str, column: str, asset: str, postgres: LocalPostgres, tmp_path: Path
) -> None:
    load_postgres(generate_source(GeneratorConfig(users=15_000, seed=29)), postgres.url)
    source, warehouse = TravelTideSource(postgres_url=postgres.url), Warehouse.in_folder(tmp_path)
    assert run_graph(source, warehouse).success
    before = fingerprint(tmp_path)
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(drift)
    result = run_graph(source, warehouse)
    assert not result.success
    message = failure_message(result)
    assert table in message and column in message, message
    [failed] = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert (failed.asset_key.to_user_string(), failed.check_name) == (asset, "source_has_expected_columns")
    assert failed.description is not None and table in failed.description and column in failed.description
    [step_failure] = [e for e in result.all_events if e.is_step_failure]
    error = step_failure.step_failure_data.error if step_failure.step_failure_data else None
    cause = error.cause.message if error and error.cause else ""
    assert step_failure.step_key == "raw_session_extracts" and cause.strip().endswith(failed.description), cause
    assert not result.get_asset_materialization_events()
    assert fingerprint(tmp_path) == before
    assert_readable(tmp_path)
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(undo)
    assert run_graph(source, warehouse).success
