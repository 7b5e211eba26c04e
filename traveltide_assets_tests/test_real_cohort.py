"""The whole asset graph on real TravelTide rows (half the study cohort) in PostgreSQL, as production runs it.

The rows stay outside the repository (traveltide_assets_tests/real_cohort.py finds them); without them every
test here skips.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import ExecuteInProcessResult

from traveltide_assets.defs.report.summary import REPORT_FILE
from traveltide_assets.sources.contract import SOURCE_TABLES, TRUTH_PG_SCHEMA
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets_tests.pipeline_harness import ASSET_TABLES, run_graph
from traveltide_assets_tests.real_cohort import load_real_cohort, real_cohort_dir

REAL_HALF_USERS = 3_016  # the folder's README: a random half of the study cohort's 5,998 customers

# Everything a run on a real database materialises: every asset (perk_accuracy and perk_calibration with no rows,
# as there is no planted truth).
EXPECTED_MATERIALISED = {
    *ASSET_TABLES,
    "perk_accuracy",
    "perk_calibration",
    "executive_summary",
    "executive_slides",
    "perk_probabilities",
    "assignment_reliability",
    "campaign_plan",
    "campaign_signups",  # no results in a real database yet: awaiting results, zero rows
    "campaign_readout",
}
_PG_NAMES = {"timestamp": "timestamp without time zone"}  # information_schema's spelling


@dataclass(frozen=True)
class RealRun:
    result: ExecuteInProcessResult
    warehouse: Warehouse
    url: str
    folder: Path
    truths_read: list[pa.Table | None]  # what each TravelTideSource.ground_truth call of the run returned


@pytest.fixture(scope="module")
def real_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    folder = real_cohort_dir()  # skips before a PostgreSQL server is started for nothing
    url = request.getfixturevalue("postgres").create_database("real_cohort")  # other tests' tables stay apart
    load_real_cohort(url)
    warehouse = Warehouse.in_folder(tmp_path_factory.mktemp("real_run"))
    truths: list[pa.Table | None] = []
    read_truth = TravelTideSource.ground_truth

    def recording(self: TravelTideSource) -> pa.Table | None:
        truth = read_truth(self)
        truths.append(truth)
        return truth

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TravelTideSource, "ground_truth", recording)
        result = run_graph(TravelTideSource(postgres_url=url), warehouse)
    return RealRun(result, warehouse, url, folder, truths)


def _materialised(run: RealRun) -> set[str]:
    return {e.asset_key.to_user_string() for e in run.result.get_asset_materialization_events()}


def _metadata(run: RealRun, asset: str) -> dict:
    events = [e for e in run.result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    assert events, f"{asset} was not materialised"
    return events[-1].materialization.metadata


def _scalar(run: RealRun, sql: str) -> object:
    with duckdb.connect(run.warehouse.path, read_only=True) as con:
        return con.execute(sql).fetchall()[0][0]


def test_the_database_holds_the_real_rows_and_no_truth(real_run: RealRun) -> None:
    with psycopg.connect(real_run.url) as conn:
        tables = set(
            conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
        )
        assert tables == {(f"public.{spec.name}",) for spec in SOURCE_TABLES}
        for spec in SOURCE_TABLES:
            rows = conn.execute(f"SELECT count(*) FROM public.{spec.name}").fetchone()
            expected_rows = pq.read_metadata(real_run.folder / f"{spec.name}.parquet").num_rows
            assert rows == (expected_rows,), spec.name
            types = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
                (spec.name,),
            ).fetchall()
            assert types == [(c.name, _PG_NAMES.get(c.pg_type, c.pg_type)) for c in spec.columns], spec.name
        truth = conn.execute(f"SELECT to_regclass('{TRUTH_PG_SCHEMA}.ground_truth')").fetchone()
        assert truth == (None,), "a real database has no ground truth table"


def test_the_run_succeeds_with_every_check_passing(real_run: RealRun) -> None:
    result = real_run.result
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks, "no asset check was evaluated"
    failed = [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed]
    assert not failed, f"asset checks failed on the real cohort: {failed}"


def test_no_truth_is_read_and_the_evaluation_holds_no_rows(real_run: RealRun) -> None:
    assert _scalar(real_run, "SELECT count(*) FROM perk_accuracy") == 0
    assert _scalar(real_run, "SELECT count(*) FROM perk_calibration") == 0
    assert real_run.truths_read, "nothing asked the source for a ground truth"
    assert all(truth is None for truth in real_run.truths_read)
    assert "accuracy" not in _metadata(real_run, "executive_summary")


def test_every_asset_is_materialised(real_run: RealRun) -> None:
    materialised = _materialised(real_run)
    missing, extra = EXPECTED_MATERIALISED - materialised, materialised - EXPECTED_MATERIALISED
    assert not missing and not extra, f"missing {sorted(missing)}, unexpected {sorted(extra)}"


def test_every_real_customer_of_the_half_gets_a_perk(real_run: RealRun) -> None:
    assert _scalar(real_run, "SELECT count(DISTINCT user_id) FROM session_cohort") == REAL_HALF_USERS
    assert _scalar(real_run, "SELECT count(*) FROM user_features") == REAL_HALF_USERS
    assert _scalar(real_run, "SELECT count(*) FROM perk_assignments") == REAL_HALF_USERS
    assert _scalar(real_run, "SELECT count(DISTINCT user_id) FROM perk_assignments") == REAL_HALF_USERS
    shares = _metadata(real_run, "perk_assignments")["perk_shares"].value
    print(f"perk shares on the real half: {shares}")


def test_no_perk_exclusive_segments_on_the_real_half(real_run: RealRun) -> None:
    with duckdb.connect(real_run.warehouse.path, read_only=True) as con:
        segments_exist, p_value = con.execute("SELECT segments_exist, p_value FROM segment_evidence").fetchall()[0]
    print(f"segment evidence on the real half: segments_exist={segments_exist}, p={p_value:.4f}")
    assert not segments_exist
    assert p_value > 0.05


def test_the_report_does_not_claim_synthetic_data(real_run: RealRun) -> None:
    report = Path(real_run.warehouse.report_dir) / REPORT_FILE
    assert report.is_file()
    html = report.read_text(encoding="utf-8")
    assert f"{REAL_HALF_USERS:,}" in html
    assert "synthetic" not in html.lower()


def test_probabilities_are_honest_by_the_split_half_check(real_run: RealRun) -> None:
    con = duckdb.connect(real_run.warehouse.path, read_only=True)
    sums = con.execute(
        "SELECT count(*), min(s), max(s) FROM (SELECT p_free_hotel_meal + p_free_checked_bag + p_no_cancellation_fees"
        " + p_exclusive_discounts + p_free_hotel_night_with_flight AS s FROM perk_probabilities)"
    ).fetchall()[0]
    assert sums[0] == REAL_HALF_USERS and abs(sums[1] - 1) < 1e-9 and abs(sums[2] - 1) < 1e-9
    reliability = con.sql("SELECT * FROM assignment_reliability").df().set_index("perk")
    overall = reliability.loc["all"]
    print(f"real half: split-half {overall.to_dict()}")
    assert overall["customers"] == REAL_HALF_USERS
    assert abs(overall["observed_agreement"] - overall["predicted_agreement"]) <= 0.05
    assert -0.1 < overall["kappa"] < 0.3  # preferences barely repeat: the whole cohort gave 0.08 by the old scores
