"""`traveltide bench --curve`, the measurement: the product's graph and the peer CTE contender at several multiples
of one volume, to see how each one's cost grows.

Each scale gets a freshly generated source in one throwaway PostgreSQL. `ours` (the graph to perk_assignments,
fresh warehouse) runs in its own process exactly as `traveltide bench` measures it, reporting Dagster's duration of
every step, so that a step growing faster than the data stands out; then the peer CTE runs in its own process, with
the product's PostgreSQL session settings, as `traveltide bench` runs it. The fits are in curve_fit.py, the files
and the printed table in curve_report.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tools.bench.runner import cohort_difference, measure_process
from tools.local_postgres import LocalPostgres
from traveltide_assets.sources.connection import PG_SESSION_SETTINGS
from traveltide_assets.sources.contract import FLIGHTS, GROUND_TRUTH, HOTELS, SESSIONS, TRUTH_PG_SCHEMA, USERS
from traveltide_assets.sources.pg_url import with_options
from traveltide_assets.synthetic.generate import GeneratorConfig
from traveltide_assets.synthetic.load import load_generated

MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SOURCE_TABLES = (
    *(f"public.{spec.name}" for spec in (USERS, SESSIONS, FLIGHTS, HOTELS)),
    f"{TRUTH_PG_SCHEMA}.{GROUND_TRUTH.name}",
)
_MIB = 2**20

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScalePoint:
    """One measured scale: wall time and peak RSS of `ours` and of the peer CTE, ours' disk footprint, and the
    seconds of each of ours' steps."""

    multiplier: float
    users: int
    sessions: int
    ours_s: float
    ours_peak_rss_mib: float
    disk_mib: float
    steps: dict[str, float]
    peer_cte_s: float
    peer_cte_peak_rss_mib: float

    @property
    def ours_over_peer_cte(self) -> float:
        """Below 1 when ours is faster, as `traveltide bench` reports it."""
        return round(self.ours_s / self.peer_cte_s, 2)


def scaled_users(base_users: int, multiplier: float) -> int:
    return max(1, round(base_users * multiplier))


def step_names(points: Sequence[ScalePoint]) -> list[str]:
    """Every step key, in the order the runs executed them."""
    return list(dict.fromkeys(key for point in points for key in point.steps))


def _drop_source(url: str) -> None:
    """Free the previous scale's tables (and their disk) before the next, larger one is generated."""
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(SOURCE_TABLES)} CASCADE")


def _load_scale(users: int, seed: int, url: str, say: Progress) -> int:
    """Generate and load one scale (in slices above four times the real volume: synthetic/slices.py); the session
    count. The generated arrays are gone before anything is timed."""
    say(f"generating {users:,} users and loading them into PostgreSQL")
    return load_generated(GeneratorConfig(users=users, seed=seed), url)


def _folder_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / _MIB


def _measure_ours(url: str, workdir: Path) -> tuple[float, float, float, dict[str, float]]:
    """(wall s, peak RSS MiB, disk MiB left behind, seconds per step) of one `ours` run in its own process; its
    warehouse folder stays for the cohort comparison."""
    shutil.rmtree(workdir, ignore_errors=True)
    ours_s, rss_mib, report = measure_process("ours", url, workdir)
    steps = {key: float(seconds) for key, seconds in report["steps"].items()}
    return ours_s, rss_mib, _folder_mib(workdir), steps


def _measure_peer(url: str, workdir: Path, ours: Path, say: Progress) -> tuple[float, float]:
    """(wall s, peak RSS MiB) of one peer CTE run in its own process, its sessions with the product's settings
    (only the approach differs, as in `traveltide bench`); says whether it assigned ours' cohort."""
    peer_s, rss_mib, report = measure_process("peer_cte", with_options(url, PG_SESSION_SETTINGS), workdir)
    assigned, differ = cohort_difference(ours, Path(report["output"]))
    same = "yes" if differ == 0 else f"NO, {differ:,} users in only one of them"
    say(f"peer CTE cohort = ours: {same} ({assigned:,} users assigned by the peer)")
    return peer_s, rss_mib


def measure_scale(
    multiplier: float, users: int, url: str, workdir: Path, seed: int, say: Progress, warm_up: bool = False
) -> ScalePoint:
    _drop_source(url)
    sessions = _load_scale(users, seed, url, say)
    ours, peer = workdir / "ours", workdir / "peer_cte"
    if warm_up:
        say("warm-up run of ours (not recorded): the first process pays for a cold file cache")
        _measure_ours(url, ours)
    say(f"ours at {multiplier:g}x ({users:,} users): graph to perk_assignments, fresh warehouse, own process")
    ours_s, rss_mib, disk_mib, steps = _measure_ours(url, ours)
    say(f"peer CTE at {multiplier:g}x: one PostgreSQL query, k-means, perk indices, Parquet, own process")
    peer_s, peer_rss_mib = _measure_peer(url, peer, ours, say)
    shutil.rmtree(ours)
    shutil.rmtree(peer)
    return ScalePoint(
        multiplier,
        users,
        sessions,
        round(ours_s, 3),
        round(rss_mib, 1),
        round(disk_mib, 1),
        {key: round(seconds, 3) for key, seconds in steps.items()},
        round(peer_s, 3),
        round(peer_rss_mib, 1),
    )


def run_curve(
    base_users: int, multipliers: Sequence[float] = MULTIPLIERS, seed: int = 7, progress: Progress | None = None
) -> list[ScalePoint]:
    """Measure `ours` and the peer CTE at each multiple of `base_users`, smallest first, all in one throwaway
    PostgreSQL."""
    say = progress or (lambda _m: None)
    points = []
    with LocalPostgres() as server, tempfile.TemporaryDirectory(prefix="traveltide-curve-") as tmp:
        for i, multiplier in enumerate(sorted(set(multipliers))):
            users = scaled_users(base_users, multiplier)
            say(f"scale {multiplier:g}x: generating {users:,} users")
            point = measure_scale(multiplier, users, server.url, Path(tmp), seed, say, warm_up=i == 0)
            points.append(point)
    return points
