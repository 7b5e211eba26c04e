"""`traveltide bench --curve`, the fits: time, peak RSS and disk of ours against users, the peer CTE's time the
same way, and every step's growth between the smallest and the largest scale."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tools.bench.curve_measure import ScalePoint, step_names
from traveltide_assets.storage.warehouse import Warehouse

SUPERLINEAR_SLOPE = 1.3  # a step whose log-log slope exceeds this grows clearly faster than the data
FIT_KEYS = (
    "users_min", "users_max", "time_s_per_million_users", "time_intercept_s", "time_loglog_slope", "time_r2",
    "rss_mib_per_million_users", "rss_intercept_mib", "rss_loglog_slope", "peak_rss_max_mib",
    "duckdb_memory_limit_mib", "disk_mib_per_million_users", "step_loglog_slopes", "superlinear_steps",
    # The peer CTE contender (added later, so after the original keys): its time fitted as ours' is.
    "peer_time_s_per_million_users", "peer_time_intercept_s", "peer_time_loglog_slope", "peer_time_r2",
    "peer_peak_rss_max_mib",
)  # fmt: skip
# DuckDB reads "GB" as 10^9 bytes and "GiB" as 2^30 (3GB shows as 2.7 GiB).
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_SIZE_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_MIB = 2**20


def size_mib(text: str) -> float:
    """A DuckDB size setting such as '3GB' or '512MiB' in MiB."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]*)\s*", text.lower())
    if not match or match.group(2) not in _SIZE_UNITS | {"": 1}:
        raise ValueError(f"not a DuckDB size: {text!r}")
    return float(match.group(1)) * _SIZE_UNITS.get(match.group(2), 1) / _MIB


def duckdb_memory_limit_mib() -> float:
    """The memory_limit the measured warehouse runs with (Warehouse's default)."""
    return size_mib(Warehouse.in_folder(Path()).memory_limit)


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
    """Least-squares fits of time, peak RSS and disk against users, and every step's growth; the peer CTE's time
    and its largest peak RSS beside them."""
    if len({p.users for p in points}) < 2:
        raise ValueError("a scale curve needs at least two different volumes")
    users = np.array([p.users for p in points], dtype=float)
    seconds = np.array([p.ours_s for p in points])
    peer_seconds = np.array([p.peer_cte_s for p in points])
    rss = np.array([p.ours_peak_rss_mib for p in points])
    time_slope, time_intercept, time_r2 = _linear_fit(users / 1e6, seconds)
    peer_slope, peer_intercept, peer_r2 = _linear_fit(users / 1e6, peer_seconds)
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
        "peer_time_s_per_million_users": round(peer_slope, 3),
        "peer_time_intercept_s": round(peer_intercept, 3),
        "peer_time_loglog_slope": round(_loglog_fit(users, peer_seconds), 3),
        "peer_time_r2": round(peer_r2, 4),
        "peer_peak_rss_max_mib": max(p.peer_cte_peak_rss_mib for p in points),
    }
