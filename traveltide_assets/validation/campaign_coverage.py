"""`traveltide campaign-coverage`: does the campaign read-out find a planted effect, and only a planted one?

Per seed: a fresh synthetic source, the pipeline through campaign_plan (job to_campaign_plan), sign-ups simulated
from the planted truth (campaign_simulation.py), and the read-out materialised: campaign_signups, its blocking
check campaign_signups_valid and campaign_readout (the report, which job campaign_results also refreshes, is not
needed here). Two simulations answer the same plan: one with the planted response given, where the
personalised - generic 95% interval should cover the uplift those parameters make for this plan's mix
(planted_uplift), and one with no effect at all, where the verdict should be "no evidence either way". A 95%
interval covers in about 19 seeds of 20, and the null verdict holds in about 19 of 20.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
from dagster import materialize

from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.lib.experiment import NO_EVIDENCE
from traveltide_assets.pipeline import QUIET, PipelineError, execute, failure_message
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.sources.signups import write_signups
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import write_parquet_store
from traveltide_assets.validation.campaign_simulation import (
    PlantedResponse,
    planted_uplift,
    read_campaign_plan,
    simulate_signups,
)

NULL_SEED_OFFSET = 1_000_003  # the null simulation's responses are drawn independently of the planted one's


@dataclass(frozen=True)
class CoverageRow:
    seed: int
    users: int
    customers: int  # planned customers of the campaign
    personalised: int
    generic: int
    planted_uplift: float  # personalised - generic the planted response makes for this plan
    difference: float  # the read-out's personalised - generic
    ci_low: float
    ci_high: float
    covered: bool
    verdict: str
    null_difference: float  # the same read-out of the simulation without any effect
    null_verdict: str

    @property
    def null_says_no_evidence(self) -> bool:
        return self.null_verdict == NO_EVIDENCE


def _plan(resources: dict[str, Any], seed: int) -> None:
    result = execute(resources=resources, job_name="to_campaign_plan")
    if not result.success:
        raise PipelineError(f"seed {seed}, the plan: {failure_message(result)}")


def _read_out(resources: dict[str, Any], seed: int) -> None:
    from traveltide_assets.defs.campaign.readout import campaign_readout
    from traveltide_assets.defs.campaign.signups import campaign_signups, campaign_signups_valid

    result = materialize(
        [campaign_signups, campaign_signups_valid, campaign_readout],
        resources=resources,
        run_config=QUIET,
        raise_on_error=False,
    )
    if not result.success:
        raise PipelineError(f"seed {seed}, the read-out: {failure_message(result)}")


def _uplift_row(warehouse: Warehouse) -> dict[str, Any]:
    with duckdb.connect(warehouse.path, read_only=True) as con:
        rows = con.sql("SELECT * FROM campaign_uplift WHERE comparison = 'personalised_vs_generic'").df()
    if rows.empty:
        raise PipelineError("campaign_readout wrote no personalised_vs_generic row: were the sign-ups read?")
    return rows.iloc[0].to_dict()


def run_seed(seed: int, users: int, response: PlantedResponse, workdir: Path) -> CoverageRow:
    """One seed end to end, in a folder of its own that is removed afterwards."""
    folder = workdir / f"seed_{seed}"
    source_dir = folder / "source"
    write_parquet_store(generate_source(GeneratorConfig(users=users, seed=seed)), source_dir)
    source, warehouse = TravelTideSource(embedded_dir=str(source_dir)), Warehouse.in_folder(folder)
    signups_path = folder / "campaign_signups.parquet"
    campaign = CampaignSettings(signups_path=str(signups_path))
    resources = {"source": source, "warehouse": warehouse, "study": StudySettings(), "campaign": campaign}
    _plan(resources, seed)
    plan = read_campaign_plan(Path(warehouse.path), campaign.campaign_id)
    truth_table = source.ground_truth()
    if truth_table is None:
        raise PipelineError(f"seed {seed}: the generated source has no planted truth")
    truth = truth_table.to_pandas()
    readouts = []
    null = replace(response, match_uplift=0.0, mismatch_effect=0.0)
    for simulated, sim_seed in ((response, seed), (null, seed + NULL_SEED_OFFSET)):
        write_signups(simulate_signups(plan, truth, simulated, sim_seed), signups_path)
        _read_out(resources, seed)
        readouts.append(_uplift_row(warehouse))
    shutil.rmtree(folder)
    planted, without_effect = readouts
    expected = planted_uplift(plan, truth, response)
    return CoverageRow(
        seed=seed,
        users=users,
        customers=len(plan),
        personalised=int((plan["arm"] == "personalised").sum()),
        generic=int((plan["arm"] == "generic").sum()),
        planted_uplift=expected,
        difference=float(planted["difference"]),
        ci_low=float(planted["ci_low"]),
        ci_high=float(planted["ci_high"]),
        covered=bool(planted["ci_low"] <= expected <= planted["ci_high"]),
        verdict=str(planted["verdict"]),
        null_difference=float(without_effect["difference"]),
        null_verdict=str(without_effect["verdict"]),
    )


def coverage(
    seeds: list[int], users: int, response: PlantedResponse, progress: Callable[[str], None] | None = None
) -> list[CoverageRow]:
    say = progress or (lambda _m: None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="traveltide-campaign-coverage-") as tmp:
        for seed in seeds:
            say(f"seed {seed}: generating {users:,} users, planning, simulating and reading out")
            rows.append(run_seed(seed, users, response, Path(tmp)))
    return rows


def _points(value: float) -> str:
    return f"{value * 100:+.2f}"


def format_coverage(rows: list[CoverageRow], response: PlantedResponse) -> str:
    header = ("seed", "customers", "pers.", "generic", "planted", "diff", "ci_low", "ci_high", "covered", "null diff")
    lines = [
        f"planted: base rate {response.base_rate:g}, match uplift {response.match_uplift:+g}, mismatch effect "
        f"{response.mismatch_effect:+g}; differences in points (personalised - generic)",
        " ".join(f"{h:>9}" for h in header) + "  verdict / null verdict",
    ]
    for r in rows:
        cells = (
            r.seed, r.customers, r.personalised, r.generic, _points(r.planted_uplift), _points(r.difference),
            _points(r.ci_low), _points(r.ci_high), "yes" if r.covered else "NO", _points(r.null_difference),
        )  # fmt: skip
        lines.append(" ".join(f"{c:>9}" for c in cells) + f"  {r.verdict} / {r.null_verdict}")
    covered = sum(r.covered for r in rows)
    null_ok = sum(r.null_says_no_evidence for r in rows)
    lines.append("")
    lines.append(f"the 95% CI covers the planted uplift in {covered}/{len(rows)} seeds")
    lines.append(f'without any planted effect the verdict is "{NO_EVIDENCE}" in {null_ok}/{len(rows)} seeds')
    return "\n".join(lines)


def write_json(rows: list[CoverageRow], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
