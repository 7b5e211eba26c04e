"""The perk model's own cost, timed on the evidence of a warehouse a full run left: one fit on all sessions
(the perk_probabilities step) and the two fits of the split-half check (the assignment_reliability step)."""

from __future__ import annotations

import time
from pathlib import Path

from traveltide_assets.defs.perks.probabilities import ALL_SESSIONS, HALVES, read_evidence
from traveltide_assets.lib.perk_model import fit_perk_model
from traveltide_assets.storage.warehouse import Warehouse


def time_model_fits(folder: Path) -> dict[str, float]:
    """Seconds of the fit on every session, and of the two half fits together, and the customers fitted."""
    warehouse = Warehouse.in_folder(folder)
    whole, *halves = (read_evidence(warehouse, half) for half in (ALL_SESSIONS, *HALVES))
    started = time.perf_counter()
    fit_perk_model(whole)
    whole_s = time.perf_counter() - started
    started = time.perf_counter()
    for evidence in halves:
        fit_perk_model(evidence)
    return {"fit_s": whole_s, "reliability_s": time.perf_counter() - started, "customers": float(len(whole))}
