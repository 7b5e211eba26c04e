"""Split-half reliability on a planted source large enough for its figures to mean something (~1,200 cohort
customers): the probabilities' predicted agreement matches the observed one, and the favourites repeat more
often than chance, as the planted preferences make them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import write_parquet_store
from traveltide_assets_tests.pipeline_harness import run_graph

PLANTED_USERS = 200_000


@pytest.mark.slow
def test_predicted_agreement_matches_the_observed_on_planted_data(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_parquet_store(generate_source(GeneratorConfig(users=PLANTED_USERS, seed=31)), source)
    warehouse = Warehouse.in_folder(tmp_path / "out")
    assert run_graph(TravelTideSource(embedded_dir=str(source)), warehouse).success
    con = duckdb.connect(warehouse.path, read_only=True)
    table = con.sql("SELECT * FROM assignment_reliability").df().set_index("perk")
    overall = table.loc["all"]
    assert overall["customers"] > 800
    assert abs(overall["observed_agreement"] - overall["predicted_agreement"]) <= 0.05, overall.to_dict()
    assert overall["observed_agreement"] > overall["chance_agreement"]
    assert len(table) == 6  # five perks and all
