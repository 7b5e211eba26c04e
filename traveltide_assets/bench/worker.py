"""One measured contender, run in its own process so that its peak memory is its own:
`python -m traveltide_assets.bench.worker ours|pandas URL WORKDIR` prints {"seconds": ..., "rows": ...}."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def run_ours(url: str, workdir: Path) -> int:
    import duckdb

    from traveltide_assets.pipeline import PipelineError, execute, failure_message
    from traveltide_assets.resources import StudySettings, TravelTideSource, Warehouse

    warehouse = Warehouse.in_folder(workdir)
    resources = {"source": TravelTideSource(postgres_url=url), "warehouse": warehouse, "study": StudySettings()}
    result = execute(resources=resources, job_name="to_perk_assignments")
    if not result.success:
        raise PipelineError(failure_message(result))
    with duckdb.connect(warehouse.path, read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM perk_assignments").fetchall()[0][0])


def run_pandas(url: str) -> int:
    from traveltide_assets.bench.pandas_baseline import run

    return len(run(url))


def main(argv: list[str]) -> None:
    contender, url = argv[0], argv[1]
    started = time.perf_counter()
    rows = run_ours(url, Path(argv[2])) if contender == "ours" else run_pandas(url)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


if __name__ == "__main__":
    main(sys.argv[1:])
