"""The evaluation stage alone (defs/evaluation/), materialised in-process on hand-made inputs: six customers whose
favourites, probabilities and planted truth are written here, so every figure can be counted by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from dagster import materialize

from traveltide_assets.defs.evaluation.assets import NO_TRUTH, perk_accuracy, perk_calibration
from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.sources.contract import GROUND_TRUTH_FILE
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets_tests.hand_made import read_table, warehouse_with

MEAL, BAG, CANCEL, DISCOUNT, NIGHT = PERKS
# user_id, favourite assigned, its probability, band, planted favourite
CUSTOMERS = [
    (1, MEAL, 0.70, "high", MEAL),
    (2, MEAL, 0.45, "medium", BAG),
    (3, BAG, 0.65, "high", BAG),
    (4, DISCOUNT, 0.30, "low", DISCOUNT),
    (5, NIGHT, 0.35, "low", MEAL),
    (6, NIGHT, 0.50, "medium", NIGHT),
]
RIGHT = sum(assigned == planted for _, assigned, _, _, planted in CUSTOMERS)


def _probabilities(favourite: str, probability: float) -> dict[str, float]:
    """The favourite's probability, the rest spread evenly over the other four perks."""
    return {f"p_{perk}": probability if perk == favourite else (1 - probability) / 4 for perk in PERKS}


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    assignments = pd.DataFrame(
        [(u, f, p, band) for u, f, p, band, _ in CUSTOMERS],
        columns=["user_id", "favourite_perk", "probability", "confidence"],
    )
    probabilities = pd.DataFrame([{"user_id": u, **_probabilities(f, p)} for u, f, p, _, _ in CUSTOMERS])
    return warehouse_with(tmp_path / "data", {"perk_assignments": assignments, "perk_probabilities": probabilities})


def _source(folder: Path, with_truth: bool) -> TravelTideSource:
    folder.mkdir()
    if with_truth:
        truth = pd.DataFrame([(u, planted) for u, *_, planted in CUSTOMERS], columns=["user_id", "favourite_perk"])
        truth.to_parquet(folder / GROUND_TRUTH_FILE)
    return TravelTideSource(embedded_dir=str(folder))


def test_accuracy_and_calibration_against_a_planted_truth(warehouse: Warehouse, tmp_path: Path) -> None:
    source = _source(tmp_path / "source", with_truth=True)
    result = materialize([perk_accuracy, perk_calibration], resources={"source": source, "warehouse": warehouse})
    assert result.success
    accuracy = read_table(warehouse, "perk_accuracy").set_index("perk")
    assert accuracy.loc["all", "precision"] == pytest.approx(RIGHT / len(CUSTOMERS))
    assert accuracy.loc["all", "support"] == len(CUSTOMERS)
    # Planted meal fans: customer 1 (assigned meal) and 5 (assigned night); recall 1/2.
    assert accuracy.loc[MEAL, "recall"] == pytest.approx(0.5)
    assert (accuracy.loc[MEAL, f"assigned_{MEAL}"], accuracy.loc[MEAL, f"assigned_{NIGHT}"]) == (1, 1)
    calibration = read_table(warehouse, "perk_calibration")
    overall = calibration[calibration["kind"] == "all"].iloc[0]
    assert overall["users"] == len(CUSTOMERS)
    assert overall["accuracy"] == pytest.approx(RIGHT / len(CUSTOMERS))
    assert overall["mean_probability"] == pytest.approx(sum(p for _, _, p, _, _ in CUSTOMERS) / len(CUSTOMERS))
    bands = calibration[calibration["kind"] == "band"].set_index("bin")
    assert bands.loc["high", "accuracy"] == pytest.approx(1.0)  # customers 1 and 3, both right
    assert bands.loc["low", "accuracy"] == pytest.approx(0.5)  # customer 4 right, 5 wrong
    metadata = result.asset_materializations_for_node("perk_accuracy")[0].metadata
    assert metadata["accuracy"].value == pytest.approx(RIGHT / len(CUSTOMERS))


def test_without_a_truth_both_tables_are_empty_and_say_why(warehouse: Warehouse, tmp_path: Path) -> None:
    source = _source(tmp_path / "source", with_truth=False)
    result = materialize([perk_accuracy, perk_calibration], resources={"source": source, "warehouse": warehouse})
    assert result.success
    for name in ("perk_accuracy", "perk_calibration"):
        assert read_table(warehouse, name).empty, name
        assert pd.read_parquet(warehouse.parquet_path(name)).empty, name
        assert result.asset_materializations_for_node(name)[0].metadata["truth"].value == NO_TRUTH
