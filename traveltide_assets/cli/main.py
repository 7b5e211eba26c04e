"""The `traveltide` command: generate a synthetic source, run the pipeline, evaluate, benchmark, simulate results.

Bad input ends in one clear line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from traveltide_assets.cli.common import (
    EXIT_USAGE,
    CliError,
    OneLineParser,
    campaign_id_arg,
    int_list,
    months_range,
    multipliers,
    non_negative_float,
    positive_int,
    probability_change,
)
from traveltide_assets.cli.run_commands import cmd_generate, cmd_run, cmd_ui
from traveltide_assets.cli.study_commands import (
    cmd_bench,
    cmd_campaign_coverage,
    cmd_evaluate,
    cmd_fidelity,
    cmd_simulate_campaign,
)
from traveltide_assets.pipeline import PipelineError
from traveltide_assets.sources.pg_url import InvalidUrlError
from traveltide_assets.storage.paths import (
    default_source_dir,
)
from traveltide_assets.storage.run_lock import RunLockError
from traveltide_assets.synthetic.mixes import UnknownMixError

Subcommands = argparse._SubParsersAction  # what add_subparsers returns: one add_parser per command


def build_parser() -> argparse.ArgumentParser:
    from traveltide_assets.synthetic.generate import REAL_USERS  # loads numpy: here, not on importing the CLI

    # Sub-commands' parsers are made by the same class, so `traveltide run --bad` is one line too.
    parser = OneLineParser(prog="traveltide", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub, REAL_USERS)
    _add_run(sub, REAL_USERS)
    _add_ui(sub)
    _add_evaluate(sub, REAL_USERS)
    _add_bench(sub, REAL_USERS)
    _add_fidelity(sub)
    _add_simulate_campaign(sub)
    _add_campaign_coverage(sub, REAL_USERS)
    return parser


def _add_generate(sub: Subcommands, real_users: int) -> None:
    """`traveltide generate`: a synthetic source into PostgreSQL or a Parquet folder."""
    gen = sub.add_parser("generate", help="generate a synthetic TravelTide source with planted perk preferences")
    gen.add_argument(
        "--users", type=positive_int, default=real_users, help="number of users (default: the real volume)"
    )
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--mix", default="default", help="perk mix: default, unbalanced, null, or 'perk=share,...'")
    gen.add_argument("--signal", type=non_negative_float, default=1.0, help="scale of planted perk effects")
    gen.add_argument(
        "--to",
        default=str(default_source_dir()),
        help="a PostgreSQL URL, or a folder for the embedded Parquet store (default: %(default)s)",
    )
    gen.set_defaults(func=cmd_generate)


def _add_run(sub: Subcommands, real_users: int) -> None:
    """`traveltide run`: the whole graph, or chosen months, headless."""
    run = sub.add_parser(
        "run",
        help="materialise the whole asset graph headless (source: $TRAVELTIDE_SOURCE_URL, else the embedded store)",
    )
    from traveltide_assets.defs.cohort.settings import StudySettings

    study = StudySettings.model_fields  # the cohort definition's defaults live with the definition
    run.add_argument(
        "--cohort-start",
        default=study["cohort_start"].default,
        help="sessions strictly after this date count (default: %(default)s)",
    )
    run.add_argument(
        "--min-sessions",
        type=int,
        default=study["min_sessions"].default,
        help="cohort users have more sessions than this (default: %(default)s)",
    )
    run.add_argument(
        "--users",
        type=positive_int,
        default=real_users,
        help="users to generate if the embedded store is absent (default: the real volume, %(default)s)",
    )
    run.add_argument(
        "--months",
        type=months_range,
        default=None,
        help="refresh only these session months, e.g. 2023-07 or 2023-06..2023-07 (default: every month)",
    )
    run.add_argument(
        "--lock-timeout",
        type=non_negative_float,
        default=None,
        help="seconds to wait while another run uses the same warehouse (default: 900; 0 fails at once)",
    )
    run.set_defaults(func=cmd_run)


def _add_ui(sub: Subcommands) -> None:
    """`traveltide ui`: the Dagster UI on the instance `run` records in."""
    ui = sub.add_parser(
        "ui",
        help="the Dagster UI (dg dev) on the instance `run` records in: <data folder>/dagster_home, or $DAGSTER_HOME",
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    ui.add_argument("--port", type=positive_int, default=3000, help="port (default: %(default)s)")
    ui.set_defaults(func=cmd_ui)


def _add_evaluate(sub: Subcommands, real_users: int) -> None:
    """`traveltide evaluate`: the method over seeds and perk mixes."""
    ev = sub.add_parser("evaluate", help="accuracy, ceiling and segment evidence over seeds and perk mixes")
    ev.add_argument("--seeds", type=int_list, default=[1, 2, 3], help="comma-separated seeds (default 1,2,3)")
    ev.add_argument("--mixes", default="default,null,unbalanced", help="comma-separated perk mixes")
    ev.add_argument("--users", type=positive_int, default=real_users, help="users per synthetic source")
    ev.add_argument("--json", help="write the rows as JSON to this path")
    ev.add_argument(
        "--ceiling-seeds",
        type=int_list,
        default=None,
        help="comma-separated seeds the ceiling trains on, never evaluated (default 9001,...,9010)",
    )
    ev.set_defaults(func=cmd_evaluate)


def _add_bench(sub: Subcommands, real_users: int) -> None:
    """`traveltide bench`: the product against its peers (from a checkout only)."""
    be = sub.add_parser("bench", help="time the product against the usual pandas approach and the COPY limit")
    be.add_argument("--users", type=positive_int, default=real_users, help="users (default: the real volume)")
    be.add_argument("--url", help="a PostgreSQL to use (default: a throwaway local server)")
    be.add_argument("--json", help="write the figures as JSON to this path")
    be.add_argument(
        "--repeats", type=positive_int, help="rounds of every contender, interleaved; figures are medians (default 1)"
    )
    be.add_argument("--keep", help="copy the last round's outputs (ours' warehouse, the peer's Parquet) to this folder")
    be.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the pandas baseline (at several times the real volume it needs more memory than 24 GiB)",
    )
    be.add_argument(
        "--curve",
        action="store_true",
        help="instead: run ours and the peer CTE at several multiples of --users; write scale_curve.csv/.png/.json",
    )
    be.add_argument("--multipliers", type=multipliers, help="with --curve: multiples of --users (0.25,0.5,1,2,4,8)")
    be.add_argument("--out", help="with --curve: folder for scale_curve.csv, .png and .json (default: docs)")
    be.set_defaults(func=cmd_bench)


def _add_fidelity(sub: Subcommands) -> None:
    """`traveltide fidelity`: a source's per-user behaviour against the real cohort's."""
    fi = sub.add_parser("fidelity", help="per-user behaviour of a source against the real cohort's reference (KS)")
    fi.add_argument("--reference", required=True, help="reference.json of the real cohort (shared/real-cohort)")
    fi.add_argument("--url", help="a PostgreSQL source (default: $TRAVELTIDE_SOURCE_URL, else --source)")
    fi.add_argument(
        "--source",
        default=str(default_source_dir()),
        help="folder of an embedded Parquet store (default: %(default)s)",
    )
    fi.add_argument("--bound", type=non_negative_float, default=0.05, help="largest KS distance accepted per feature")
    fi.set_defaults(func=cmd_fidelity)


def _add_simulate_campaign(sub: Subcommands) -> None:
    """`traveltide simulate-campaign`: planted sign-ups for a campaign plan."""
    sim = sub.add_parser(
        "simulate-campaign",
        help="planted sign-ups for the current campaign plan, from a synthetic source's truth (testing the read-out)",
    )
    _planted_response_arguments(sim)
    sim.add_argument("--seed", type=int, default=1, help="seed of the simulated responses (default 1)")
    sim.add_argument(
        "--campaign-id",
        type=campaign_id_arg,
        help="the campaign whose plan to answer (default: the configured campaign)",
    )
    sim.add_argument(
        "--to",
        help="file to write (.parquet or .csv; default: $TRAVELTIDE_CAMPAIGN_SIGNUPS, else the embedded store's "
        "campaign_signups.parquet)",
    )
    sim.set_defaults(func=cmd_simulate_campaign)


def _add_campaign_coverage(sub: Subcommands, real_users: int) -> None:
    """`traveltide campaign-coverage`: does the read-out's interval cover a planted uplift."""
    co = sub.add_parser(
        "campaign-coverage",
        help="per seed: source, plan, simulated sign-ups, read-out; does the 95%% CI cover the planted uplift",
    )
    co.add_argument("--seeds", type=int_list, default=list(range(1, 21)), help="comma-separated seeds (default 1..20)")
    co.add_argument("--users", type=positive_int, default=real_users, help="users per synthetic source (real volume)")
    _planted_response_arguments(co)
    co.add_argument("--json", help="write the rows as JSON to this path")
    co.set_defaults(func=cmd_campaign_coverage)


def _planted_response_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-rate", type=probability_change, default=0.10, help="sign-up rate of the generic email")
    parser.add_argument(
        "--match-uplift",
        type=probability_change,
        default=0.05,
        help="added when the email leads with the true favourite",
    )
    parser.add_argument(
        "--mismatch-effect", type=probability_change, default=-0.01, help="added when it leads with another perk"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (CliError, InvalidUrlError, UnknownMixError, PipelineError, RunLockError, ValueError) as exc:
        print(f"traveltide {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"traveltide {args.command}: interrupted", file=sys.stderr)
        return 130


def entry() -> NoReturn:
    """The `traveltide` console script."""
    sys.exit(main())
