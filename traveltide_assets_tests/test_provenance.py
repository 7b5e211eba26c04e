"""Whose customers an output describes: every asset's materialisation says where its customers come from, and for
the embedded store that they are generated, with the seed the store recorded."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from dagster import ExecuteInProcessResult

from tools.local_postgres import LocalPostgres
from traveltide_assets.sources.contract import GENERATOR_FILE, TRUTH_PG_SCHEMA
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres, write_parquet_store

SEED_19 = "Synthetic customers (generated, seed 19) \u2014 not TravelTide data"  # conftest's source_dir


def test_every_materialisation_names_the_synthetic_source(planted_run: tuple[ExecuteInProcessResult, Path]) -> None:
    result, _ = planted_run
    events = result.get_asset_materialization_events()
    assert len({e.asset_key for e in events}) >= 20  # the whole graph, report and slides included
    for event in events:
        metadata = event.materialization.metadata
        assert "source" in metadata, event.asset_key.to_user_string()
        assert metadata["source"].value == SEED_19, event.asset_key.to_user_string()


def test_the_store_records_the_generator_settings(tmp_path: Path) -> None:
    write_parquet_store(generate_source(GeneratorConfig(users=2_000, seed=5, mix="unbalanced", signal=0.5)), tmp_path)
    settings = json.loads((tmp_path / GENERATOR_FILE).read_text())
    assert settings == {"users": 2_000, "seed": 5, "mix": "unbalanced", "signal": 0.5}
    assert TravelTideSource(embedded_dir=str(tmp_path)).provenance() == (
        "Synthetic customers (generated, seed 5, mix unbalanced, signal 0.5) \u2014 not TravelTide data"
    )
    (tmp_path / GENERATOR_FILE).unlink()  # a store written before the settings were recorded: still synthetic
    assert TravelTideSource(embedded_dir=str(tmp_path)).provenance() == (
        "Synthetic customers (generated, seed not recorded) \u2014 not TravelTide data"
    )


def test_embedded_store_generated_on_first_use_records_its_seed(tmp_path: Path) -> None:
    source = TravelTideSource(embedded_dir=str(tmp_path / "source"), embedded_users=1_000, embedded_seed=3)
    assert source.ensure_available()
    assert source.provenance() == "Synthetic customers (generated, seed 3) \u2014 not TravelTide data"


def test_postgres_provenance_is_the_redacted_url(postgres: LocalPostgres) -> None:
    url = postgres.create_database("provenance")  # a database of its own: the session's server is shared
    secret = url.replace("postgresql://postgres@", "postgresql://postgres:Pw-provenance@")
    source = TravelTideSource(postgres_url=secret)
    load_postgres(generate_source(GeneratorConfig(users=2_000, seed=4)), url)
    redacted = url.replace("postgresql://postgres@", "postgresql://postgres:***@")
    assert source.provenance() == (
        f"Synthetic customers (generated, planted truth in PostgreSQL {redacted}) \u2014 not TravelTide data"
    )
    # A database without the planted truth (as TravelTide's own): the URL alone, without its password.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {TRUTH_PG_SCHEMA} CASCADE")
    assert source.provenance() == f"PostgreSQL {redacted}"
