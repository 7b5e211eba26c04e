"""`traveltide fidelity`: the KS distance of the reference's definition, the per-user SQL against the real cohort
itself, and the command's exit codes.

The real cohort (../shared/real-cohort beside the repository, or $TRAVELTIDE_REAL_COHORT) is never copied into
the repository; the tests that need it skip where it is absent.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tools.local_postgres import LocalPostgres
from traveltide_assets.cli.common import EXIT_USAGE
from traveltide_assets.cli.main import main
from traveltide_assets.sources.contract import SOURCE_TABLES
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.paths import SOURCE_URL_ENV
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres, write_parquet_store
from traveltide_assets.validation.fidelity import (
    FEATURES,
    ReferenceError,
    compare,
    fetch_per_user,
    fetch_spreads,
    ks_distance,
    load_reference,
)

ROOT = Path(__file__).resolve().parents[1]
REAL_COHORT = Path(os.environ.get("TRAVELTIDE_REAL_COHORT", ROOT.parent / "shared" / "real-cohort"))


def _real_cohort() -> Path:
    if not (REAL_COHORT / "reference.json").is_file() or not (REAL_COHORT / "sessions.parquet").is_file():
        pytest.skip(f"../shared/real-cohort not present: no reference.json and Parquet files in {REAL_COHORT}")
    return REAL_COHORT


def _write_reference(path: Path, cdf_at_zero: float = 1.0) -> Path:
    """A hand-made reference: every feature's users all at or below 0 (synthetic values are mostly above)."""
    feature = {"n": 1, "mean": 0.0, "edges": [0.0], "cdf": [cdf_at_zero]}
    path.write_text(json.dumps({"cohort_users": 1, "cohort_sessions": 8, "features": dict.fromkeys(FEATURES, feature)}))
    return path


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fidelity_source")
    write_parquet_store(generate_source(GeneratorConfig(users=30_000, seed=2)), folder)
    return folder


@pytest.fixture(autouse=True)
def _no_source_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SOURCE_URL_ENV, raising=False)


def test_ks_distance_by_hand() -> None:
    # Synthetic CDF at the edges 1, 2, 3: 1/4, 2/4, 3/4 against 0.5, 0.5, 1.0 -> largest gap 0.25.
    assert ks_distance(np.array([1.0, 2.0, 3.0, 4.0]), [1.0, 2.0, 3.0], [0.5, 0.5, 1.0]) == pytest.approx(0.25)
    # NULLs (NaN) are left out: of [1, 3], half is <= 1.
    assert ks_distance(np.array([1.0, math.nan, 3.0]), [1.0], [0.5]) == pytest.approx(0.0)
    # A value counts as <= an edge up to 1e-6 (edges are rounded to 6 decimals): 25/3 is <= 8.333333.
    assert ks_distance(np.array([25 / 3]), [8.333333], [1.0]) == pytest.approx(0.0)
    assert math.isnan(ks_distance(np.array([math.nan]), [1.0], [1.0]))


def test_per_user_sql_reproduces_the_real_reference() -> None:
    real = _real_cohort()
    reference = load_reference(real / "reference.json")
    rows = fetch_per_user(TravelTideSource(embedded_dir=str(real)))
    report = compare(rows, reference)
    assert report.cohort_users == reference.cohort_users
    assert report.cohort_sessions == reference.cohort_sessions
    for fit in report.fits:
        assert fit.ks < 0.005, fit.name
        assert fit.synthetic_n == reference.features[fit.name].n, fit.name
        assert fit.synthetic_mean == pytest.approx(fit.real_mean, rel=1e-6), fit.name


class _RealRows:
    """The real cohort's tables in the shape load_postgres reads (a real source has no planted truth)."""

    def __init__(self, folder: Path) -> None:
        self._tables = {spec.name: pq.read_table(folder / f"{spec.name}.parquet") for spec in SOURCE_TABLES}

    def source_tables(self) -> dict[str, pa.Table]:
        return self._tables

    @property
    def ground_truth(self) -> pa.Table | None:
        return None


def test_per_user_sql_gives_the_same_on_postgresql(postgres: LocalPostgres) -> None:
    """The same query on PostgreSQL (numeric columns, ADBC) reproduces the reference too: the SQL is portable."""
    real = _real_cohort()
    # A database of its own on the shared server, so that the real rows never replace another test's source.
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS fidelity_real")
        conn.execute("CREATE DATABASE fidelity_real")
    url = postgres.url_for("fidelity_real")
    load_postgres(_RealRows(real), url)
    reference = load_reference(real / "reference.json")
    report = compare(fetch_per_user(TravelTideSource(postgres_url=url)), reference)
    assert report.cohort_users == reference.cohort_users
    for fit in report.fits:
        assert fit.ks < 0.005, fit.name
        assert fit.synthetic_mean == pytest.approx(fit.real_mean, rel=1e-6), fit.name


def test_real_cohort_against_itself_passes(capsys: pytest.CaptureFixture[str]) -> None:
    real = _real_cohort()
    assert main(["fidelity", "--reference", str(real / "reference.json"), "--source", str(real)]) == 0
    out = capsys.readouterr().out
    assert "0 of 20 features above KS 0.05" in out
    assert all(name in out for name in FEATURES)


def test_spreads_by_hand_on_the_real_cohort() -> None:
    """The variance components of the SQL against the same sums done by hand in pandas, for the room price."""
    real = _real_cohort()
    spreads = fetch_spreads(TravelTideSource(embedded_dir=str(real)))
    sessions = pq.read_table(real / "sessions.parquet").to_pandas()
    hotels = pq.read_table(real / "hotels.parquet").to_pandas()
    s = sessions[sessions["session_start"] > "2023-01-04"]
    cohort = s.groupby("user_id").size().loc[lambda n: n > 7].index
    stays = s[s["user_id"].isin(cohort) & s["hotel_booked"] & ~s["cancellation"]].merge(hotels, on="trip_id")
    logs = np.log(stays.loc[stays["hotel_per_room_usd"] > 0].set_index("user_id")["hotel_per_room_usd"])
    per_user = logs.groupby(level=0).agg(["size", "mean", "var"]).query("size >= 2")
    between = math.sqrt(max(per_user["mean"].var() - (per_user["var"] / per_user["size"]).mean(), 0.0))
    got = spreads["log_room_price"]
    assert got.customers == len(per_user)
    assert got.between_sd == pytest.approx(between, rel=1e-6)
    assert got.within_sd == pytest.approx(math.sqrt(per_user["var"].mean()), rel=1e-6)
    # The real cohort's customers barely differ in what they pay per km: the figure the generator is held to.
    assert spreads["log_fare_per_km"].between_sd < 0.02


def test_the_spreads_print_beside_a_reference_with_its_rows(
    small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = _real_cohort()
    main(["fidelity", "--reference", str(real / "reference.json"), "--source", str(small_store)])
    out = capsys.readouterr().out
    assert "how much customers differ" in out
    assert all(m in out for m in ("log_fare_per_km", "flight_has_checked_bag", "booking_is_hotel_only"))


def test_exit_1_when_a_feature_is_above_the_bound(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = _write_reference(tmp_path / "reference.json")
    assert main(["fidelity", "--reference", str(reference), "--source", str(small_store), "--bound", "0.05"]) == 1
    out = capsys.readouterr().out
    assert "  *" in out and "features above KS 0.05" in out


def test_exit_1_with_a_tiny_bound_against_the_real_reference(small_store: Path) -> None:
    real = _real_cohort()
    args = ["fidelity", "--reference", str(real / "reference.json"), "--source", str(small_store)]
    assert main([*args, "--bound", "1e-9"]) == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        ("{not json", "not readable JSON"),
        ('{"cohort_users": 1, "cohort_sessions": 1}', "'features' is missing"),
        ('{"cohort_users": 1, "cohort_sessions": 1, "features": {}}', "features missing: n_sessions"),
    ],
)
def test_exit_2_on_a_bad_reference(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, says: str
) -> None:
    path = tmp_path / "reference.json"
    if content is not None:
        path.write_text(content)
    assert main(["fidelity", "--reference", str(path), "--source", str(small_store)]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and says in err


def test_a_reference_with_unequal_edges_and_cdf_is_refused(tmp_path: Path) -> None:
    path = _write_reference(tmp_path / "reference.json")
    data = json.loads(path.read_text())
    data["features"]["avg_fare"] = {"n": 1, "mean": 1.0, "edges": [1.0, 2.0], "cdf": [1.0]}
    path.write_text(json.dumps(data))
    with pytest.raises(ReferenceError, match="avg_fare"):
        load_reference(path)


def test_exit_2_on_a_bad_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reference = str(_write_reference(tmp_path / "reference.json"))
    assert main(["fidelity", "--reference", reference, "--url", "mysql://u@127.0.0.1/db"]) == EXIT_USAGE
    assert "not a PostgreSQL URL" in capsys.readouterr().err
    assert main(["fidelity", "--reference", reference, "--source", str(tmp_path / "nowhere")]) == EXIT_USAGE
    assert "no embedded store at" in capsys.readouterr().err
    unreachable = "postgresql://u@127.0.0.1:1/db"  # nothing listens on port 1
    assert main(["fidelity", "--reference", reference, "--url", unreachable]) == EXIT_USAGE
    assert f"cannot connect to PostgreSQL at {unreachable}" in capsys.readouterr().err
