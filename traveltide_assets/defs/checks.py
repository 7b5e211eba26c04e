"""How the SQL asset checks run: each is a file sql/<stage>/checks/<name>.sql that selects the rows breaking its
rule; each stage lists its own checks (defs/<stage>/checks.py) and builds them here.

A check passes when that query returns no rows; otherwise it reports the count and a sample of the rows at
fault, naming the table and column. Checks guarding downstream data are blocking: a failure stops the
assets below it, so nothing downstream is overwritten with bad data.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    multi_asset_check,
)

from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.duck import one_row
from traveltide_assets.storage.warehouse import Warehouse

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckSpec:
    stage: str  # the folder of sql/ and of defs/ that owns the check
    asset: str
    name: str
    table_column: str  # what the failure message names, e.g. 'raw_sessions.user_id'
    blocking: bool = True
    reads: tuple[str, ...] = ()  # other assets the rule reads: the check waits for them in the same run


def _sql(spec: CheckSpec) -> str:
    return read_sql(f"{spec.stage}/checks/{spec.name}.sql")


def count_violations(
    warehouse: Warehouse, study: StudySettings, spec: CheckSpec, campaign: CampaignSettings | None = None
) -> tuple[int, str]:
    """(rows breaking the rule, a markdown sample of them)."""
    sql = _sql(spec)
    campaign_id = (campaign or CampaignSettings()).campaign_id
    available = {"cohort_start": study.cohort_start, "min_sessions": study.min_sessions, "campaign_id": campaign_id}
    params = {k: v for k, v in available.items() if re.search(rf"\${k}\b", sql)}
    with warehouse.connect() as con:
        count = int(one_row(con, f"SELECT count(*) FROM ({sql})", params)[0])
        sample = con.sql(f"SELECT * FROM ({sql}) LIMIT {SAMPLE_ROWS}", params=params).df() if count else None
    return count, (sample.to_markdown(index=False) if sample is not None else "")


def _description(spec: CheckSpec) -> str:
    return _sql(spec).splitlines()[0].removeprefix("-- ")


def evaluate(
    warehouse: Warehouse, study: StudySettings, spec: CheckSpec, campaign: CampaignSettings | None = None
) -> AssetCheckResult:
    count, sample = count_violations(warehouse, study, spec, campaign)
    metadata = {"violating_rows": MetadataValue.int(count)}
    if count:
        metadata["sample"] = MetadataValue.md(sample)
    return AssetCheckResult(
        asset_key=spec.asset,
        check_name=spec.name,
        passed=count == 0,
        severity=AssetCheckSeverity.ERROR,
        description=f"{spec.table_column}: {count:,} rows break the rule '{_description(spec)}'" if count else None,
        metadata=metadata,
    )


def _build(name: str, specs: list[CheckSpec]) -> AssetChecksDefinition:
    """Checks of one asset evaluated in one step (each can still be run on its own: can_subset)."""
    check_specs = [
        AssetCheckSpec(
            name=spec.name,
            asset=spec.asset,
            description=_description(spec),
            blocking=spec.blocking,
            additional_deps=list(spec.reads),
        )
        for spec in specs
    ]

    @multi_asset_check(name=name, specs=check_specs, can_subset=True)
    def _checks(
        context: AssetCheckExecutionContext, warehouse: Warehouse, study: StudySettings, campaign: CampaignSettings
    ) -> Iterator[AssetCheckResult]:
        selected = {key.name for key in context.selected_asset_check_keys}
        for spec in specs:
            if spec.name in selected:
                yield evaluate(warehouse, study, spec, campaign)

    return _checks


def _step_name(asset: str, reads: tuple[str, ...]) -> str:
    return f"{asset}_checks" + (f"_against_{'_'.join(reads)}" if reads else "")


def build_checks(specs: tuple[CheckSpec, ...]) -> list[AssetChecksDefinition]:
    """One step per asset and set of other assets read: a check that reads another asset waits for it (and is
    skipped when that asset's blocking checks fail) without holding back the checks that do not read it."""
    groups = dict.fromkeys((spec.asset, spec.reads) for spec in specs)
    return [
        _build(_step_name(asset, reads), [spec for spec in specs if (spec.asset, spec.reads) == (asset, reads)])
        for asset, reads in groups
    ]
