"""Run the whole asset graph headless, in-process, as the README's run command and the tools do."""

from __future__ import annotations

import os
from typing import Any

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult, in_process_executor

from traveltide_assets.partitions import full_run_tags, range_tags
from traveltide_assets.settings import data_dir

# Headless runs print warnings and errors only; the UI and the event log keep every event.
QUIET: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class PipelineError(RuntimeError):
    """A run failed; the message says which step and why."""


def _instance() -> DagsterInstance:
    # With DAGSTER_HOME set, runs land in that instance and show in the UI; otherwise an ephemeral one.
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
) -> ExecuteInProcessResult:
    """Run a job in this process; `resources` replaces the environment's (tests, evaluate, bench).

    `months` (first, last) limits the raw session extracts to those months; by default a run covers every month.
    """
    from traveltide_assets.definitions import defs

    if resources is not None:
        defs = Definitions(
            assets=defs.assets,
            asset_checks=defs.asset_checks,
            jobs=defs.jobs,
            resources=resources,
            executor=in_process_executor,
        )
    job = defs.resolve_job_def(job_name)
    config = {**QUIET, **(run_config or {})}
    tags = range_tags(*months) if months else full_run_tags()
    return job.execute_in_process(run_config=config, instance=instance or _instance(), raise_on_error=False, tags=tags)


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
        return f"step {event.step_key} failed: {cause or message}".splitlines()[0]
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if error is not None:
            cause = error.cause.message.strip() if error.cause else ""
            return f"the run failed: {cause or error.message.strip()}".splitlines()[0]
    return "the run failed"


def run_pipeline(
    cohort_start: str = "2023-01-04",
    min_sessions: int = 7,
    embedded_users: int | None = None,
    months: tuple[str, str] | None = None,
) -> str:
    from traveltide_assets.definitions import build_resources
    from traveltide_assets.resources import check_cohort_start, check_min_sessions

    check_cohort_start(cohort_start)  # one clear error before any work
    check_min_sessions(min_sessions)
    source = build_resources()["source"]
    if embedded_users is not None and not source.is_postgres:  # type: ignore[attr-defined]
        source.model_copy(update={"embedded_users": embedded_users}).ensure_available()  # type: ignore[attr-defined]
    result = execute(study_run_config(cohort_start, min_sessions), months=months)
    if not result.success:
        raise PipelineError(failure_message(result))
    checks = result.get_asset_check_evaluations()
    if any(not c.passed for c in checks):
        raise PipelineError(failure_message(result))
    events = result.get_asset_materialization_events()
    assets = {e.asset_key for e in events}
    months = {e.partition for e in events if e.partition}
    return (
        f"materialised {len(assets)} assets ({len(months)} session months), {len(checks)} checks passed; "
        f"warehouse {data_dir() / 'warehouse.duckdb'}, Parquet in {data_dir() / 'parquet'}/"
    )
