"""The table `traveltide bench` prints of a runner result (runner.bench)."""

from __future__ import annotations

from typing import Any


def _cohort_line(result: dict[str, Any]) -> str:
    if result["peer_cte_cohort_mismatches"] == 0:
        return f"yes, the same {result['peer_cte_users']:,} users in every round"
    return f"NO: {result['peer_cte_cohort_mismatches']:,} users in only one of the two (the comparison is not fair)"


def format_result(result: dict[str, Any]) -> str:
    rounds = result["rounds"]
    several = len(rounds["ours"]) > 1

    def spread(key: str, unit: str = "s") -> str:
        return f" (rounds: {', '.join(f'{t:g}' for t in rounds[key])} {unit}; median)" if several else ""

    rows = [
        ("users / sessions", f"{result['users']:,} / {result['sessions']:,}"),
        (
            "ours (graph to perk_assignments)",
            f"{result['ours_s']:.1f} s, peak RSS {result['ours_peak_rss_mib']:,.0f} MiB{spread('ours')}",
        ),
        (
            f"ours, refresh of one month ({result['refresh_month']})",
            f"{result['refresh_month_s']:.1f} s{spread('refresh')}",
        ),
        (
            "pandas baseline",
            f"{result['pandas_s']:.1f} s, peak RSS {result['pandas_peak_rss_mib']:,.0f} MiB{spread('pandas')}"
            if result["pandas_s"] is not None
            else "not run (--no-baseline)",
        ),
        (
            "peer CTE (one query, k-means, perks)",
            f"{result['peer_cte_s']:.1f} s, peak RSS {result['peer_cte_peak_rss_mib']:,.0f} MiB{spread('peer_cte')}",
        ),
        (
            "peer CTE, one-month refresh",
            f"{result['peer_cte_recompute_s']:.1f} s: a full recompute, it has no incremental path"
            f"{spread('peer_cte_recompute')}",
        ),
        ("ours / peer CTE, full run", f"{result['ours_over_peer_cte']:.2f}"),
        (
            "ours / peer CTE, one-month refresh",
            f"{result['refresh_over_peer_cte_recompute']:.2f} (ours' refresh over the peer's recompute)",
        ),
        ("peer CTE cohort = ours", _cohort_line(result)),
        ("model fit (perk_probabilities)", f"{result['model_fit_s']:.2f} s{spread('model_fit')}"),
        ("reliability (two half fits)", f"{result['reliability_s']:.2f} s{spread('reliability')}"),
        ("copy (COPY TO STDOUT, the limit)", f"{result['copy_s']:.2f} s{spread('copy')}"),
        ("extract (ours, same rows)", f"{result['extract_s']:.2f} s{spread('extract')}"),
        ("speedup vs pandas", f"{result['speedup_vs_pandas']:.1f}x" if result["speedup_vs_pandas"] else "-"),
        ("extract / copy", f"{result['extract_vs_copy']:.2f}"),
    ]
    if result.get("cpu_steal") is not None:
        rows.append(("CPU steal while timing", f"{100 * result['cpu_steal']:.0f}% (time the host gave elsewhere)"))
    width = max(len(k) for k, _ in rows)
    return "\n".join([*(f"{k:<{width}}  {v}" for k, v in rows), "", format_steps(result)])


def format_steps(result: dict[str, Any]) -> str:
    """Every step of ours' full run with its duration (Dagster's, median of the rounds): the timed run to
    perk_assignments, then the rest of the lineage, run after it in a process of its own."""
    parts = (
        ("ours, timed run to perk_assignments", result["ours_steps_s"], result["ours_s"]),
        ("ours, the rest of the full run (own process)", result["ours_rest_steps_s"], result["ours_rest_s"]),
    )
    width = max([len(step) for _, steps, _ in parts for step in steps] + [4])
    lines = [f"{'step':<{width}}  seconds (Dagster's step duration, median of rounds)"]
    for title, steps, wall in parts:
        lines.append(f"-- {title}: {sum(steps.values()):.2f} s in steps, {wall:.1f} s with its process")
        lines.extend(f"{step:<{width}}  {seconds:7.2f}" for step, seconds in steps.items())
    return "\n".join(lines)
