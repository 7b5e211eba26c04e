"""What an index on the source's `sessions` would change for the product's extraction.

The real TravelTide database has primary keys only. Its owners could add an index on `sessions(session_start)` or
`sessions(user_id)`; the product must not (it only reads). This tool measures the extraction statement
(sql/raw/extract/cohort_extract.sql) of a full run and of a one-month refresh on a throwaway PostgreSQL, without an
index and with each of the two, and prints the timings and the plan's pattern of access to `sessions`:

    uv run python -m tools.bench.indexes --users 1020926 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics

import psycopg

from tools.bench.source_timing import busiest_month, full_run_plan_months, throwaway_or, time_copy
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.raw.extract_plan import ExtractPlan
from traveltide_assets.sources.connection import PG_SESSION_SETTINGS
from traveltide_assets.sources.pg_url import with_options
from traveltide_assets.synthetic.generate import GeneratorConfig
from traveltide_assets.synthetic.load import load_generated

INDEXES = {
    "none": None,
    "sessions(session_start)": "CREATE INDEX bench_sessions_start ON sessions (session_start)",
    "sessions(user_id)": "CREATE INDEX bench_sessions_user ON sessions (user_id)",
}


def statements(url: str) -> dict[str, str]:
    """The extraction statement of a full run, and of a daily refresh of the busiest month beside the others
    stored."""
    study, months, month = StudySettings(), full_run_plan_months(url), busiest_month(url)
    refresh = ExtractPlan([month], rebuild=False, other_months=[m for m in months if m != month])
    return {"full run": ExtractPlan(months, rebuild=True).query(study), f"refresh {month}": refresh.query(study)}


def sessions_access(url: str, query: str) -> str:
    """How the plan reads `sessions`: its scan nodes on that table, in plan order."""
    with psycopg.connect(with_options(url, PG_SESSION_SETTINGS)) as conn:
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) {query}").fetchone()[0]  # type: ignore[index]
    found: list[str] = []

    def walk(node: dict) -> None:
        if node.get("Relation Name") == "sessions":
            found.append(f"{node['Node Type']}" + (f" ({node['Index Name']})" if "Index Name" in node else ""))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return " + ".join(found)


def measure(url: str, repeats: int) -> list[dict[str, object]]:
    queries = statements(url)
    rows: list[dict[str, object]] = []
    for index, ddl in INDEXES.items():
        with psycopg.connect(url, autocommit=True) as conn:
            if ddl:
                conn.execute(ddl)
            conn.execute("ANALYZE sessions")
        try:
            for name, query in queries.items():
                time_copy(url, [query])  # warm
                times = [time_copy(url, [query]) for _ in range(repeats)]
                rows.append(
                    {
                        "index": index,
                        "statement": name,
                        "seconds": round(statistics.median(times), 2),
                        "rounds": [round(t, 2) for t in times],
                        "reads sessions by": sessions_access(url, query),
                    }
                )
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP INDEX IF EXISTS bench_sessions_start")
                conn.execute("DROP INDEX IF EXISTS bench_sessions_user")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.indexes", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_020_926, help="users to generate (default: the real volume)")
    parser.add_argument(
        "--url",
        default=None,
        help="a throwaway PostgreSQL that holds a source already; the tool creates and drops indexes there, so never "
        "the real database (default: a throwaway server with a generated source)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each statement (median)")
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    with throwaway_or(args.url) as url:
        if args.url is None:
            load_generated(GeneratorConfig(users=args.users, seed=7), url)
        rows = measure(url, args.repeats)
    print(f"{'index':<26}{'statement':<18}{'median s':>9}  rounds              reads sessions by")
    for row in rows:
        rounds = ", ".join(map(str, row["rounds"]))  # type: ignore[call-overload]
        print(f"{row['index']:<26}{row['statement']:<18}{row['seconds']:>9}  {rounds:<20}{row['reads sessions by']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=2)


if __name__ == "__main__":
    main()
