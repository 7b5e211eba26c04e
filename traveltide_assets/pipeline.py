"""Run the whole asset graph headless, in-process, as the README's run command and the tools do."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traveltide_assets.errors import first_line

if TYPE_CHECKING:  # importing this module stays light: Dagster and the assets load in `execute`
    from dagster import DagsterInstance, EventLogEntry, ExecuteInProcessResult

    from traveltide_assets.sources.resource import TravelTideSource

# Headless runs print warnings and errors only; the UI and the event log keep every event.
QUIET: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class PipelineError(RuntimeError):
    """A run failed; the message says which step and why."""


def _instance(environment: bool) -> DagsterInstance:
    """The instance a run is recorded in. A run on the environment's resources (`traveltide run`) lands in the data
    folder's instance (storage/instance.py: data/dagster_home, or DAGSTER_HOME), the one `traveltide ui` opens. A
    run on resources the caller gives (tests, evaluate, bench: folders of their own) lands in DAGSTER_HOME when it
    is set, else in an ephemeral instance, so that it never fills the data folder's run history."""
    from dagster import DagsterInstance

    if environment:
        from traveltide_assets.storage.instance import dagster_home, ensure_dagster_home

        try:
            return DagsterInstance.from_config(str(ensure_dagster_home()))
        except Exception as exc:  # e.g. a full disk: its storage cannot be created; one line, before any step
            raise PipelineError(f"could not open the Dagster instance in {dagster_home()}: {first_line(exc)}") from exc
    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def study_run_config(cohort_start: str, min_sessions: int) -> dict[str, Any]:
    """Run configuration of the cohort definition (validated by StudySettings)."""
    return {"resources": {"study": {"config": {"cohort_start": cohort_start, "min_sessions": min_sessions}}}}


def execute(
    run_config: dict[str, Any] | None = None,
    instance: DagsterInstance | None = None,
    resources: dict[str, Any] | None = None,
    job_name: str = "refresh_all",
    months: tuple[str, str] | None = None,
    on_event: Callable[[EventLogEntry], None] | None = None,
) -> ExecuteInProcessResult:
    """Run a job in this process; `resources` replaces the environment's (tests, evaluate, bench).

    `months` (first, last) limits the raw session extracts to those months; by default the run is a full run:
    every month through the source's newest session (partitions.full_run_months). `on_event` is called with each
    event of the run as it happens (progress lines).
    """
    from dagster import Definitions, in_process_executor

    from traveltide_assets.definitions import defs
    from traveltide_assets.defs.campaign.settings import CampaignSettings
    from traveltide_assets.defs.partitions import full_run_tags, range_tags
    from traveltide_assets.defs.perks.settings import PerkModelSettings
    from traveltide_assets.defs.resources import build_resources

    source = (resources or build_resources(resolve_env=True))["source"]
    if resources is not None:  # default model and campaign settings
        resources = {"perk_model": PerkModelSettings(), "campaign": CampaignSettings(), **resources}
        defs = Definitions(
            assets=defs.assets,
            asset_checks=defs.asset_checks,
            jobs=defs.jobs,
            resources=resources,
            executor=in_process_executor,
        )
    job = defs.resolve_job_def(job_name)
    tags = range_tags(*months) if months else full_run_tags(_newest_session(source))
    config = {**QUIET, **(run_config or {})}
    instance = instance or _instance(environment=resources is None)
    run_id = str(uuid.uuid4())
    if on_event is not None:
        # execute_in_process takes no callback, but the instance hands every event it stores to the listeners of
        # that run, in this process and as the run goes on: a listener registered under the run's id beforehand
        # sees each step finish (nothing polls the event log, and the events are Dagster's own).
        instance.add_event_listener(run_id, on_event)
    return job.execute_in_process(run_config=config, instance=instance, raise_on_error=False, tags=tags, run_id=run_id)


def _newest_session(source: TravelTideSource) -> dt.datetime | None:
    try:
        return source.newest_session_start()
    except Exception as exc:  # the source's own error, in one line, before any step ran
        raise PipelineError(f"could not read the newest session of {source.describe()}: {first_line(exc)}") from exc


def failure_message(result: ExecuteInProcessResult) -> str:
    """One line saying why a run failed: the failed checks with their table, column and row counts first (a
    blocking check also fails its step, but the step's error does not say what was wrong), else the first failed
    step's error, else any other error of the run (e.g. a resource that could not start)."""
    failed_checks = [c for c in result.get_asset_check_evaluations() if not c.passed]
    if failed_checks:
        described = "; ".join(f"{c.check_name}: {c.description}" for c in failed_checks)
        return f"{len(failed_checks)} blocking check(s) failed: {described}"
    failures = [e for e in result.all_events if e.is_step_failure]
    if failures:
        event = failures[0]
        error = event.step_failure_data.error if event.step_failure_data else None
        cause = error.cause.message.strip() if error and error.cause else ""
        message = error.message.strip() if error else "unknown error"
        return f"step {event.step_key} failed: {_readable(cause or message)}"
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if error is not None:
            cause = error.cause.message.strip() if error.cause else ""
            return f"the run failed: {_readable(cause or error.message)}"
    return "the run failed"


# A resource's settings refused by its validator: pydantic's message spreads the reason over several lines.
_SETTING_REFUSED = re.compile(r"validation error for (\w+)\n\w+\n\s+Value error, ([^\[\n]+)")


def _readable(message: str) -> str:
    """The first line of an error, or for refused settings the validator's own sentence."""
    refused = _SETTING_REFUSED.search(message)
    if refused:
        return f"invalid {refused.group(1)}: {refused.group(2).strip()}"
    return (message.strip().splitlines() or ["unknown error"])[0]


@dataclass(frozen=True)
class RunCounts:
    """What a successful run materialised."""

    assets: int
    months: int  # session months written
    checks: int  # checks evaluated, all passed


def run_pipeline(
    cohort_start: str,
    min_sessions: int,
    embedded_users: int | None = None,
    months: tuple[str, str] | None = None,
    on_event: Callable[[EventLogEntry], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunCounts:
    """The whole graph for the environment's resources; `progress` hears about generating the embedded store,
    `on_event` every event of the run."""
    from traveltide_assets.defs.cohort.settings import check_cohort_start, check_min_sessions
    from traveltide_assets.defs.resources import build_resources

    check_cohort_start(cohort_start)  # one clear error before any work
    check_min_sessions(min_sessions)
    source = build_resources()["source"]
    if embedded_users is not None and not source.is_postgres:
        embedded = source.model_copy(update={"embedded_users": embedded_users})
        if progress is not None and not embedded._embedded_store_present():
            progress(f"generating the embedded synthetic source: {embedded_users:,} users into {embedded.embedded_dir}")
        embedded.ensure_available()
    result = execute(study_run_config(cohort_start, min_sessions), months=months, on_event=on_event)
    if not result.success:
        raise PipelineError(failure_message(result))
    checks = result.get_asset_check_evaluations()
    if any(not c.passed for c in checks):
        raise PipelineError(failure_message(result))
    events = result.get_asset_materialization_events()
    written = {e.partition for e in events if e.partition}
    return RunCounts(assets=len({e.asset_key for e in events}), months=len(written), checks=len(checks))
