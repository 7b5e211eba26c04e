"""`traveltide bench --curve`: the product's graph at several multiples of one volume, to see how its cost grows.

Each scale gets a freshly generated source in one throwaway PostgreSQL, and `ours` (the graph to
perk_assignments, fresh warehouse) runs in its own process exactly as `traveltide bench` measures it, reporting
Dagster's duration of every step, so that a step growing faster than the data stands out.
"""

from __future__ import annotations

import csv
import gc
import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa

from tools.bench.runner import measure_process
from tools.local_postgres import LocalPostgres
from traveltide_assets.sources.contract import FLIGHTS, GROUND_TRUTH, HOTELS, SESSIONS, TRUTH_PG_SCHEMA, USERS
from traveltide_assets.storage.atomic import replacing
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres

MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0)
SUPERLINEAR_SLOPE = 1.3  # a step whose log-log slope exceeds this grows clearly faster than the data
CSV_NAME, PNG_NAME, JSON_NAME = "scale_curve.csv", "scale_curve.png", "scale_curve.json"
CSV_KEYS = ("multiplier", "users", "sessions", "ours_s", "ours_peak_rss_mib")
FIT_KEYS = (
    "users_min", "users_max", "time_s_per_million_users", "time_intercept_s", "time_loglog_slope", "time_r2",
    "rss_mib_per_million_users", "rss_intercept_mib", "rss_loglog_slope", "peak_rss_max_mib",
    "duckdb_memory_limit_mib", "disk_mib_per_million_users", "step_loglog_slopes", "superlinear_steps",
)  # fmt: skip
SOURCE_TABLES = (
    *(f"public.{spec.name}" for spec in (USERS, SESSIONS, FLIGHTS, HOTELS)),
    f"{TRUTH_PG_SCHEMA}.{GROUND_TRUTH.name}",
)
# DuckDB reads "GB" as 10^9 bytes and "GiB" as 2^30 (3GB shows as 2.7 GiB).
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_SIZE_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_MIB = 2**20

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScalePoint:
    """One measured scale: `ours` wall time and peak RSS, the warehouse's disk footprint, each step's seconds."""

    multiplier: float
    users: int
    sessions: int
    ours_s: float
    ours_peak_rss_mib: float
    disk_mib: float
    steps: dict[str, float]


def scaled_users(base_users: int, multiplier: float) -> int:
    return max(1, round(base_users * multiplier))


def size_mib(text: str) -> float:
    """A DuckDB size setting such as '3GB' or '512MiB' in MiB."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]*)\s*", text.lower())
    if not match or match.group(2) not in _SIZE_UNITS | {"": 1}:
        raise ValueError(f"not a DuckDB size: {text!r}")
    return float(match.group(1)) * _SIZE_UNITS.get(match.group(2), 1) / _MIB


def duckdb_memory_limit_mib() -> float:
    """The memory_limit the measured warehouse runs with (Warehouse's default)."""
    return size_mib(Warehouse.in_folder(Path()).memory_limit)


def _drop_source(url: str) -> None:
    """Free the previous scale's tables (and their disk) before the next, larger one is generated."""
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(SOURCE_TABLES)} CASCADE")


def _load_scale(users: int, seed: int, url: str, say: Progress) -> int:
    """Generate and load one scale; the session count. The generated arrays are gone before anything is timed."""
    source = generate_source(GeneratorConfig(users=users, seed=seed))
    sessions = source.sessions.num_rows
    say(f"loading {users:,} users / {sessions:,} sessions into PostgreSQL")
    load_postgres(source, url)
    del source
    gc.collect()
    pa.default_memory_pool().release_unused()
    return sessions


def _folder_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / _MIB


def _measure_ours(url: str, workdir: Path) -> tuple[float, float, float, dict[str, float]]:
    """(wall s, peak RSS MiB, disk MiB left behind, seconds per step) of one `ours` run in its own process."""
    ours_s, rss_mib, report = measure_process("ours", url, workdir)
    disk_mib = _folder_mib(workdir)
    shutil.rmtree(workdir)
    return ours_s, rss_mib, disk_mib, {key: float(seconds) for key, seconds in report["steps"].items()}


def measure_scale(
    multiplier: float, users: int, url: str, workdir: Path, seed: int, say: Progress, warm_up: bool = False
) -> ScalePoint:
    _drop_source(url)
    sessions = _load_scale(users, seed, url, say)
    if warm_up:
        say("warm-up run of ours (not recorded): the first process pays for a cold file cache")
        _measure_ours(url, workdir)
    say(f"ours at {multiplier:g}x ({users:,} users): graph to perk_assignments, fresh warehouse, own process")
    ours_s, rss_mib, disk_mib, steps = _measure_ours(url, workdir)
    rounded = {key: round(seconds, 3) for key, seconds in steps.items()}
    return ScalePoint(multiplier, users, sessions, round(ours_s, 3), round(rss_mib, 1), round(disk_mib, 1), rounded)


def run_curve(
    base_users: int, multipliers: Sequence[float] = MULTIPLIERS, seed: int = 7, progress: Progress | None = None
) -> list[ScalePoint]:
    """Measure `ours` at each multiple of `base_users`, smallest first, all in one throwaway PostgreSQL."""
    say = progress or (lambda _m: None)
    points = []
    with LocalPostgres() as server, tempfile.TemporaryDirectory(prefix="traveltide-curve-") as tmp:
        for i, multiplier in enumerate(sorted(set(multipliers))):
            users = scaled_users(base_users, multiplier)
            say(f"scale {multiplier:g}x: generating {users:,} users")
            point = measure_scale(multiplier, users, server.url, Path(tmp) / "ours", seed, say, warm_up=i == 0)
            points.append(point)
    return points


def step_names(points: Sequence[ScalePoint]) -> list[str]:
    """Every step key, in the order the runs executed them."""
    return list(dict.fromkeys(key for point in points for key in point.steps))


def step_column(step: str) -> str:
    return f"step_{re.sub(r'[^0-9A-Za-z]+', '_', step).strip('_')}_s"


def _loglog_slope(x0: float, y0: float, x1: float, y1: float) -> float | None:
    if min(x0, y0, x1, y1) <= 0 or x0 == x1:
        return None
    return math.log(y1 / y0) / math.log(x1 / x0)


def step_slopes(points: Sequence[ScalePoint]) -> dict[str, float | None]:
    """Per step, the log-log slope of its duration between the smallest and the largest scale (1 = linear)."""
    low, high = min(points, key=lambda p: p.users), max(points, key=lambda p: p.users)
    slopes = {}
    for step in step_names(points):
        t0, t1 = low.steps.get(step, 0.0), high.steps.get(step, 0.0)
        slope = _loglog_slope(low.users, t0, high.users, t1)
        slopes[step] = None if slope is None else round(slope, 3)
    return slopes


def _linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least squares y = slope * x + intercept; (slope, intercept, R²)."""
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (slope * x + intercept)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return float(slope), float(intercept), 1.0 - residual / total if total > 0 else 1.0


def _loglog_fit(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def fit_curve(points: Sequence[ScalePoint]) -> dict[str, Any]:
    """Least-squares fits of time, peak RSS and disk against users, and every step's growth."""
    if len({p.users for p in points}) < 2:
        raise ValueError("a scale curve needs at least two different volumes")
    users = np.array([p.users for p in points], dtype=float)
    seconds = np.array([p.ours_s for p in points])
    rss = np.array([p.ours_peak_rss_mib for p in points])
    time_slope, time_intercept, time_r2 = _linear_fit(users / 1e6, seconds)
    rss_slope, rss_intercept, _ = _linear_fit(users / 1e6, rss)
    disk_slope, _, _ = _linear_fit(users / 1e6, np.array([p.disk_mib for p in points]))
    slopes = step_slopes(points)
    return {
        "users_min": int(users.min()),
        "users_max": int(users.max()),
        "time_s_per_million_users": round(time_slope, 3),
        "time_intercept_s": round(time_intercept, 3),
        "time_loglog_slope": round(_loglog_fit(users, seconds), 3),
        "time_r2": round(time_r2, 4),
        "rss_mib_per_million_users": round(rss_slope, 1),
        "rss_intercept_mib": round(rss_intercept, 1),
        "rss_loglog_slope": round(_loglog_fit(users, rss), 3),
        "peak_rss_max_mib": float(rss.max()),
        "duckdb_memory_limit_mib": round(duckdb_memory_limit_mib(), 1),
        "disk_mib_per_million_users": round(disk_slope, 1),
        "step_loglog_slopes": slopes,
        "superlinear_steps": [s for s, v in slopes.items() if v is not None and v > SUPERLINEAR_SLOPE],
    }


def csv_rows(points: Sequence[ScalePoint]) -> list[dict[str, Any]]:
    steps = step_names(points)
    return [
        {
            "multiplier": p.multiplier,
            "users": p.users,
            "sessions": p.sessions,
            "ours_s": p.ours_s,
            "ours_peak_rss_mib": p.ours_peak_rss_mib,
            **{step_column(step): p.steps.get(step, "") for step in steps},
        }
        for p in points
    ]


def write_csv(points: Sequence[ScalePoint], path: Path) -> None:
    rows = csv_rows(points)
    with replacing(path) as staged, staged.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_json(fit: dict[str, Any], path: Path) -> None:
    with replacing(path) as staged:
        staged.write_text(json.dumps(fit, indent=2) + "\n")


def _panel(ax: Any, users: np.ndarray, values: np.ndarray, label: str, unit: str) -> None:
    """Measured points, and the straight line a linear cost would follow from the smallest point."""
    from matplotlib.ticker import EngFormatter

    ax.plot(users, values, "o-", color="tab:blue", label=f"measured {label}")
    ax.plot(users, values[0] * users / users[0], "--", color="grey", label="linear growth from the smallest scale")
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_xlabel("users")
    ax.set_ylabel(f"{label} ({unit})")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)


def write_png(points: Sequence[ScalePoint], fit: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(points, key=lambda p: p.users)
    users = np.array([p.users for p in ordered], dtype=float)
    fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    _panel(time_ax, users, np.array([p.ours_s for p in ordered]), "wall time", "s")
    per_million, loglog = fit["time_s_per_million_users"], fit["time_loglog_slope"]
    time_ax.set_title(f"ours: {per_million:.1f} s per million users (log-log slope {loglog:.2f})", fontsize=10)
    _panel(rss_ax, users, np.array([p.ours_peak_rss_mib for p in ordered]), "peak RSS", "MiB")
    limit = fit["duckdb_memory_limit_mib"]
    rss_ax.axhline(limit, color="tab:red", linestyle=":", label=f"DuckDB memory_limit ({limit:,.0f} MiB)")
    rss_ax.set_ylim(top=max(limit, rss_ax.get_ylim()[1]) * 1.08)
    rss_ax.set_title("ours: peak resident memory of the whole process", fontsize=10)
    for ax in (time_ax, rss_ax):
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    with replacing(path) as staged:
        fig.savefig(staged, format="png", dpi=110)
    plt.close(fig)


def write_outputs(points: Sequence[ScalePoint], fit: dict[str, Any], folder: Path) -> list[Path]:
    paths = [folder / CSV_NAME, folder / PNG_NAME, folder / JSON_NAME]
    write_csv(points, paths[0])
    write_png(points, fit, paths[1])
    write_json(fit, paths[2])
    return paths


def _scale_table(points: Sequence[ScalePoint]) -> list[str]:
    lines = [f"{'x':>5}  {'users':>10}  {'sessions':>11}  {'ours s':>8}  {'peak RSS MiB':>12}  {'disk MiB':>9}"]
    for p in points:
        lines.append(
            f"{p.multiplier:>5g}  {p.users:>10,}  {p.sessions:>11,}  {p.ours_s:>8.1f}  "
            f"{p.ours_peak_rss_mib:>12,.0f}  {p.disk_mib:>9,.0f}"
        )
    return lines


def _step_table(points: Sequence[ScalePoint], fit: dict[str, Any]) -> list[str]:
    low, high = min(points, key=lambda p: p.users), max(points, key=lambda p: p.users)
    width = max(len(step) for step in fit["step_loglog_slopes"]) if fit["step_loglog_slopes"] else 4
    lines = [f"{'step':<{width}}  {'s @ ' + f'{low.multiplier:g}x':>9}  {'s @ ' + f'{high.multiplier:g}x':>9}  slope"]
    for step, slope in fit["step_loglog_slopes"].items():
        flag = "  superlinear" if step in fit["superlinear_steps"] else ""
        shown = "   n/a" if slope is None else f"{slope:6.2f}"
        t0, t1 = low.steps.get(step, 0.0), high.steps.get(step, 0.0)
        lines.append(f"{step:<{width}}  {t0:>9.2f}  {t1:>9.2f}  {shown}{flag}")
    return lines


def format_curve(points: Sequence[ScalePoint], fit: dict[str, Any]) -> str:
    summary = [
        f"time  = {fit['time_s_per_million_users']:.2f} s per million users x users + {fit['time_intercept_s']:.2f} s"
        f" (R² {fit['time_r2']:.3f}); log-log slope {fit['time_loglog_slope']:.2f} (1 = linear)",
        f"RSS   = {fit['rss_mib_per_million_users']:,.0f} MiB per million users x users + "
        f"{fit['rss_intercept_mib']:,.0f} MiB; log-log slope {fit['rss_loglog_slope']:.2f}; max "
        f"{fit['peak_rss_max_mib']:,.0f} MiB against DuckDB memory_limit {fit['duckdb_memory_limit_mib']:,.0f} MiB",
        f"disk  = {fit['disk_mib_per_million_users']:,.0f} MiB per million users (warehouse + Parquet + report)",
        f"superlinear steps (log-log slope > {SUPERLINEAR_SLOPE}): {', '.join(fit['superlinear_steps']) or 'none'}",
    ]
    return "\n".join([*_scale_table(points), "", *summary, "", *_step_table(points, fit)])
