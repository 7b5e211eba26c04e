"""`traveltide bench --curve`, the outputs: the table of scales (CSV), the chart of ours and the peer CTE against
users (PNG), the fits (JSON), and the table printed at the end of the run."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tools.bench.curve_fit import SUPERLINEAR_SLOPE
from tools.bench.curve_measure import ScalePoint, step_names
from traveltide_assets.storage.atomic import replacing

CSV_NAME, PNG_NAME, JSON_NAME = "scale_curve.csv", "scale_curve.png", "scale_curve.json"
CSV_KEYS = (
    "multiplier", "users", "sessions", "ours_s", "ours_peak_rss_mib",
    # The peer CTE contender (added later, so after the original keys); the ratio is below 1 when ours is faster.
    "peer_cte_s", "peer_cte_peak_rss_mib", "ours_over_peer_cte",
)  # fmt: skip
OURS_COLOUR, PEER_COLOUR = "tab:blue", "tab:orange"


def step_column(step: str) -> str:
    return f"step_{re.sub(r'[^0-9A-Za-z]+', '_', step).strip('_')}_s"


def csv_rows(points: Sequence[ScalePoint]) -> list[dict[str, Any]]:
    """One row per scale: CSV_KEYS, then one `step_<name>_s` column per step of ours."""
    steps = step_names(points)
    return [
        {
            "multiplier": p.multiplier,
            "users": p.users,
            "sessions": p.sessions,
            "ours_s": p.ours_s,
            "ours_peak_rss_mib": p.ours_peak_rss_mib,
            "peer_cte_s": p.peer_cte_s,
            "peer_cte_peak_rss_mib": p.peer_cte_peak_rss_mib,
            "ours_over_peer_cte": p.ours_over_peer_cte,
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


def _series(ax: Any, users: np.ndarray, values: np.ndarray, label: str, colour: str) -> None:
    """Measured points, and (dashed) the straight line a linear cost would follow from the smallest point."""
    ax.plot(users, values, "o-", color=colour, label=label)
    ax.plot(users, values[0] * users / users[0], "--", color=colour, alpha=0.45, linewidth=1)


def _axes(ax: Any, label: str, unit: str) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter

    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_xlabel("users")
    ax.set_ylabel(f"{label} ({unit})")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    dashed = Line2D([], [], linestyle="--", color="grey", label="linear growth from the smallest scale")
    ax.legend(handles=[*ax.get_legend_handles_labels()[0], dashed], fontsize=8, loc="best")


def write_png(points: Sequence[ScalePoint], fit: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(points, key=lambda p: p.users)
    users = np.array([p.users for p in ordered], dtype=float)
    fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    _series(time_ax, users, np.array([p.ours_s for p in ordered]), "ours", OURS_COLOUR)
    _series(time_ax, users, np.array([p.peer_cte_s for p in ordered]), "peer CTE", PEER_COLOUR)
    ours_rate, peer_rate = fit["time_s_per_million_users"], fit["peer_time_s_per_million_users"]
    time_ax.set_title(f"wall time: ours {ours_rate:.1f} s, peer CTE {peer_rate:.1f} s per million users", fontsize=10)
    _series(rss_ax, users, np.array([p.ours_peak_rss_mib for p in ordered]), "ours", OURS_COLOUR)
    _series(rss_ax, users, np.array([p.peer_cte_peak_rss_mib for p in ordered]), "peer CTE", PEER_COLOUR)
    limit = fit["duckdb_memory_limit_mib"]
    rss_ax.axhline(limit, color="tab:red", linestyle=":", label=f"DuckDB memory_limit ({limit:,.0f} MiB)")
    rss_ax.set_title("peak resident memory of each contender's process", fontsize=10)
    _axes(time_ax, "wall time", "s")
    _axes(rss_ax, "peak RSS", "MiB")
    rss_ax.set_ylim(top=max(limit, rss_ax.get_ylim()[1]) * 1.08)
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
    lines = [
        f"{'x':>5}  {'users':>10}  {'sessions':>11}  {'ours s':>8}  {'peer CTE s':>10}  {'ours/peer':>9}  "
        f"{'ours RSS MiB':>12}  {'peer RSS MiB':>12}  {'disk MiB':>9}"
    ]
    for p in points:
        lines.append(
            f"{p.multiplier:>5g}  {p.users:>10,}  {p.sessions:>11,}  {p.ours_s:>8.1f}  {p.peer_cte_s:>10.1f}  "
            f"{p.ours_over_peer_cte:>9.2f}  {p.ours_peak_rss_mib:>12,.0f}  {p.peer_cte_peak_rss_mib:>12,.0f}  "
            f"{p.disk_mib:>9,.0f}"
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
        f"ours time     = {fit['time_s_per_million_users']:.2f} s per million users x users + "
        f"{fit['time_intercept_s']:.2f} s (R² {fit['time_r2']:.3f}); log-log slope {fit['time_loglog_slope']:.2f} "
        "(1 = linear)",
        f"peer CTE time = {fit['peer_time_s_per_million_users']:.2f} s per million users x users + "
        f"{fit['peer_time_intercept_s']:.2f} s (R² {fit['peer_time_r2']:.3f}); log-log slope "
        f"{fit['peer_time_loglog_slope']:.2f}; peak RSS at most {fit['peer_peak_rss_max_mib']:,.0f} MiB",
        f"ours RSS      = {fit['rss_mib_per_million_users']:,.0f} MiB per million users x users + "
        f"{fit['rss_intercept_mib']:,.0f} MiB; log-log slope {fit['rss_loglog_slope']:.2f}; max "
        f"{fit['peak_rss_max_mib']:,.0f} MiB against DuckDB memory_limit {fit['duckdb_memory_limit_mib']:,.0f} MiB",
        f"ours disk     = {fit['disk_mib_per_million_users']:,.0f} MiB per million users "
        "(warehouse + Parquet + report)",
        f"superlinear steps (log-log slope > {SUPERLINEAR_SLOPE}): {', '.join(fit['superlinear_steps']) or 'none'}",
    ]
    return "\n".join([*_scale_table(points), "", *summary, "", *_step_table(points, fit)])
