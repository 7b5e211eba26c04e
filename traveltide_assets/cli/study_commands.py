"""The commands that study the product: `traveltide evaluate`, `bench`, `fidelity`, `simulate-campaign` and
`campaign-coverage`."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from traveltide_assets.cli.common import CliError, Stopwatch, check_pg_reachable
from traveltide_assets.sources.pg_url import validate_pg_url
from traveltide_assets.storage.paths import (
    SOURCE_URL_ENV,
)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from traveltide_assets.validation.evaluate import CEILING_SEEDS, evaluate, format_table, write_json

    mixes = [m.strip() for m in args.mixes.split(",") if m.strip()]
    ceiling_seeds = tuple(args.ceiling_seeds) if args.ceiling_seeds is not None else CEILING_SEEDS
    rows = evaluate(args.seeds, mixes, args.users, progress=Stopwatch(), ceiling_seeds=ceiling_seeds)
    print(format_table(rows))
    if args.json:
        write_json(rows, Path(args.json))
    return 0


def _check_bench_flags(args: argparse.Namespace) -> None:
    """--out and --multipliers belong to the curve; --url, --json, --repeats and --keep to the single-volume bench."""
    single = ("url", "json", "repeats", "keep")
    own, other = (single, ("out", "multipliers")) if args.curve else (("out", "multipliers"), single)
    for name in own:
        if getattr(args, name) is not None:
            needs = "is not used with --curve" if args.curve else "needs --curve"
            raise CliError(f"--{name} {needs} (with it: --{' --'.join(other)})")


def cmd_bench_curve(args: argparse.Namespace) -> int:
    from tools.bench.curve_fit import fit_curve
    from tools.bench.curve_measure import MULTIPLIERS, run_curve
    from tools.bench.curve_report import format_curve, write_outputs

    points = run_curve(args.users, args.multipliers or MULTIPLIERS, progress=Stopwatch())
    fit = fit_curve(points)
    print(format_curve(points, fit))
    for path in write_outputs(points, fit, Path(args.out or "docs")):
        print(f"wrote {path}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from tools.bench.runner import JSON_KEYS, bench
    from tools.bench.table import format_result

    _check_bench_flags(args)
    if args.curve:
        return cmd_bench_curve(args)
    if args.url:
        validate_pg_url(args.url)
        check_pg_reachable(args.url)
    result = bench(
        args.users,
        url=args.url,
        progress=Stopwatch(),
        repeats=args.repeats or 1,
        baseline=not args.no_baseline,
        keep=Path(args.keep) if args.keep else None,
    )
    print(format_result(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({k: result[k] for k in JSON_KEYS}, indent=2) + "\n")
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    """Per-user feature distributions of a source against the real cohort's reference; exit 1 above the bound."""
    from traveltide_assets.sources.resource import TravelTideSource
    from traveltide_assets.validation.fidelity import (
        ReferenceError,
        compare,
        fetch_per_user,
        fetch_spreads,
        format_report,
        format_spreads,
        load_reference,
        real_rows_beside,
    )

    try:
        reference = load_reference(Path(args.reference))  # a bad reference fails before the source is read
    except ReferenceError as exc:
        raise CliError(str(exc)) from None
    url = args.url or os.environ.get(SOURCE_URL_ENV)
    if url:
        validate_pg_url(url)
        source = TravelTideSource(postgres_url=url)
    else:
        folder = Path(args.source)
        source = TravelTideSource(embedded_dir=str(folder))
        if not source._embedded_store_present():
            raise CliError(f"no embedded store at {folder} (users/sessions/flights/hotels.parquet; see generate)")
    if url:
        check_pg_reachable(url)
    report = compare(fetch_per_user(source), reference, bound=args.bound)
    print(format_report(report))
    real = real_rows_beside(Path(args.reference))
    if real is not None:
        print(format_spreads(fetch_spreads(real), fetch_spreads(source)))
    return 1 if report.above else 0


def _signups_target(to: str | None, configured: str | None, source: object) -> Path:
    """Where simulate-campaign writes: --to, else the configured sign-ups file, else the embedded store's."""
    from traveltide_assets.sources.signups import embedded_path

    if to or configured:
        target = Path(to or configured or "").expanduser()
        if target.is_dir():
            raise CliError(f"{target} is a folder: give a file ending in .parquet or .csv")
        return target
    embedded = embedded_path(source)  # type: ignore[arg-type]
    if embedded is None:
        raise CliError(
            "the source is PostgreSQL, which the pipeline only reads: give --to FILE (.parquet or .csv) and point "
            "TRAVELTIDE_CAMPAIGN_SIGNUPS at it, or load the file into the source's campaign_signups table"
        )
    return embedded


def cmd_simulate_campaign(args: argparse.Namespace) -> int:
    """Planted sign-ups for the current plan, from a synthetic source's truth (campaign_simulation.py)."""
    from traveltide_assets.defs.campaign.settings import CampaignSettings
    from traveltide_assets.defs.resources import build_resources
    from traveltide_assets.sources.resource import TravelTideSource
    from traveltide_assets.sources.signups import embedded_path, write_signups
    from traveltide_assets.storage.paths import CAMPAIGN_SIGNUPS_ENV
    from traveltide_assets.storage.warehouse import Warehouse
    from traveltide_assets.validation.campaign_simulation import (
        NoPlanError,
        PlantedResponse,
        planted_uplift,
        read_campaign_plan,
        simulate_signups,
    )

    response = PlantedResponse(args.base_rate, args.match_uplift, args.mismatch_effect)  # bad figures: one line
    resources = build_resources(resolve_env=True)
    source, warehouse, campaign = resources["source"], resources["warehouse"], resources["campaign"]
    assert isinstance(source, TravelTideSource) and isinstance(warehouse, Warehouse)
    assert isinstance(campaign, CampaignSettings)
    campaign_id = args.campaign_id or campaign.campaign_id
    target = _signups_target(args.to, campaign.signups_path, source)
    if source.is_postgres:
        validate_pg_url(source.postgres_url or "")
        check_pg_reachable(source.postgres_url or "")
    elif not source._embedded_store_present():
        raise CliError(
            f"no embedded store in {source.embedded_dir} yet: run `traveltide run` first (it plans the campaign)"
        )
    truth = source.ground_truth()
    if truth is None:
        raise CliError(
            f"{source.describe()} has no planted truth (a real database): sign-ups can be simulated only for a "
            "synthetic source, whose customers' true favourite perks are known"
        )
    try:
        plan = read_campaign_plan(Path(warehouse.path), campaign_id)
    except (NoPlanError, RuntimeError) as exc:
        raise CliError(str(exc)) from None
    signups = simulate_signups(plan, truth.to_pandas(), response, args.seed)
    kept = write_signups(signups, target)
    uplift = planted_uplift(plan, truth.to_pandas(), response)
    others = f"; kept {kept:,} rows of other campaigns" if kept else ""
    print(
        f"wrote {signups.num_rows:,} sign-ups of {len(plan):,} planned customers of {campaign_id} to {target}{others}. "
        f"Planted: base rate {response.base_rate:g}, match uplift {response.match_uplift:+g}, mismatch effect "
        f"{response.mismatch_effect:+g}; the plan's expected personalised - generic difference is "
        f"{uplift * 100:+.2f} points."
    )
    read_by_default = Path(campaign.signups_path).expanduser() if campaign.signups_path else embedded_path(source)
    if read_by_default is None or target.resolve() != read_by_default.resolve():
        print(f"the pipeline reads it with {CAMPAIGN_SIGNUPS_ENV}={target}")
    return 0


def cmd_campaign_coverage(args: argparse.Namespace) -> int:
    from traveltide_assets.validation.campaign_coverage import coverage, format_coverage, write_json
    from traveltide_assets.validation.campaign_simulation import PlantedResponse

    response = PlantedResponse(args.base_rate, args.match_uplift, args.mismatch_effect)
    rows = coverage(args.seeds, args.users, response, progress=Stopwatch())
    print(format_coverage(rows, response))
    if args.json:
        write_json(rows, Path(args.json))
    return 0
