"""The perk model's own cost, timed on the evidence of a warehouse a full run left: one fit on all sessions
(the perk_probabilities step) and the two fits of the split-half check (the assignment_reliability step)."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from traveltide_assets.perk_model import fit_perk_model
from traveltide_assets.sql_files import read_sql


def time_model_fits(warehouse: Path) -> dict[str, float]:
    """Seconds of the fit on every session, and of the two half fits together, and the customers fitted."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        halves = [con.execute(read_sql("perk_evidence.sql"), {"half": h}).df() for h in (-1, 0, 1)]
    started = time.perf_counter()
    fit_perk_model(halves[0])
    whole = time.perf_counter() - started
    started = time.perf_counter()
    for evidence in halves[1:]:
        fit_perk_model(evidence)
    return {"fit_s": whole, "reliability_s": time.perf_counter() - started, "customers": float(len(halves[0]))}
