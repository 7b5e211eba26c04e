"""One measured contender, run in its own process so that its peak memory is its own:
`python -m tools.bench.worker ours|ours_rest|pandas|peer_cte URL WORKDIR [MONTHS]` prints {"seconds": ...,
"rows": ...}, and for `ours` and `ours_rest` also "steps": {step key: seconds} from the run's step events.
`ours_rest` runs the rest of the whole lineage (job after_perk_assignments) on the warehouse `ours` left."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the pandas contender must not pay for importing Dagster
    from dagster import ExecuteInProcessResult


def step_seconds(result: ExecuteInProcessResult) -> dict[str, float]:
    """Each successful step's duration as Dagster measured it and recorded in the run's event log (STEP_SUCCESS),
    in execution order: assets and asset checks alike."""
    return {
        event.step_key: event.step_success_data.duration_ms / 1000
        for event in result.all_events
        if event.is_step_success and event.step_key is not None
    }


def run_ours(
    url: str, workdir: Path, months: str | None = None, job_name: str = "to_perk_assignments"
) -> dict[str, Any]:
    """The graph to perk_assignments; with `months` ('2023-07..2023-07') a refresh of those months only; with
    job_name after_perk_assignments the rest of the lineage on the warehouse that run left."""
    import duckdb

    from traveltide_assets.defs.cohort.settings import StudySettings
    from traveltide_assets.defs.partitions import parse_months
    from traveltide_assets.pipeline import PipelineError, execute, failure_message
    from traveltide_assets.sources.resource import TravelTideSource
    from traveltide_assets.storage.warehouse import Warehouse

    warehouse = Warehouse.in_folder(workdir)
    resources = {"source": TravelTideSource(postgres_url=url), "warehouse": warehouse, "study": StudySettings()}
    refresh = parse_months(months) if months else None
    result = execute(resources=resources, job_name=job_name, months=refresh)
    if not result.success:
        raise PipelineError(failure_message(result))
    with duckdb.connect(warehouse.path, read_only=True) as con:
        rows = int(con.execute("SELECT count(*) FROM perk_assignments").fetchall()[0][0])
    return {"rows": rows, "steps": step_seconds(result)}


def run_pandas(url: str) -> dict[str, Any]:
    from tools.bench.pandas_baseline import run

    return {"rows": len(run(url))}


def run_peer_cte(url: str, workdir: Path) -> dict[str, Any]:
    """One whole run of the peer approach (its refresh is the same run: it has no incremental path)."""
    import pyarrow.parquet as pq

    from tools.bench.peer_cte import run

    out = run(url, workdir)
    return {"rows": pq.read_metadata(out).num_rows, "output": str(out)}


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM of its address space), with its children's.

    Not getrusage(RUSAGE_SELF) or the parent's wait4(): Linux carries the parent's RSS at fork into the
    child's ru_maxrss across exec, so a parent holding a generated source would inflate every measurement.
    """
    status = Path("/proc/self/status").read_text()
    own_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own_kib, children_kib) / 1024


def main(argv: list[str]) -> None:
    contender, url = argv[0], argv[1]
    started = time.perf_counter()
    months = argv[3] if len(argv) > 3 else None
    if contender == "peer_cte":
        report = run_peer_cte(url, Path(argv[2]))
    elif contender == "ours_rest":
        report = run_ours(url, Path(argv[2]), job_name="after_perk_assignments")
    else:
        report = run_ours(url, Path(argv[2]), months) if contender == "ours" else run_pandas(url)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_rss_mib(), **report}))


if __name__ == "__main__":
    main(sys.argv[1:])
