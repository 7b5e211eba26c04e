"""The `traveltide` command: generate a synthetic source, run the pipeline, evaluate, benchmark, simulate results.

Bad input ends in one clear line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from traveltide_assets.pipeline import PipelineError
from traveltide_assets.sources.pg_url import InvalidUrlError, redact, validate_pg_url
from traveltide_assets.storage.paths import (
    SOURCE_URL_ENV,
    SOURCE_URL_MISSING,
    default_source_dir,
    source_url_required,
)
from traveltide_assets.storage.run_lock import RunLockError
from traveltide_assets.synthetic.mixes import UnknownMixError

if TYPE_CHECKING:  # the CLI's own import stays light: Dagster and the warehouse load when a command needs them
    from dagster import EventLogEntry

    from traveltide_assets.storage.warehouse import Warehouse

EXIT_USAGE = 2
PROJECT_ROOT = Path(__file__).resolve().parents[1]  # pyproject.toml and workspace.yaml


class CliError(Exception):
    """An error whose message is all the user needs to see."""


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


class _Stopwatch:
    """Progress lines on stderr with the elapsed time, for long work."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {message}", file=sys.stderr, flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
    from traveltide_assets.synthetic.load import load_postgres, write_parquet_store

    target: str = args.to
    is_pg = "://" in target
    if is_pg:
        validate_pg_url(target)
    else:
        _check_store_folder(Path(target))
    config = GeneratorConfig(users=args.users, seed=args.seed, mix=args.mix, signal=args.signal)
    say = _Stopwatch()
    if is_pg:
        _check_pg_reachable(target)
    source = generate_source(config, progress=say)
    say(
        f"generated {source.users.num_rows:,} users, {source.sessions.num_rows:,} sessions, "
        f"{source.flights.num_rows:,} flights, {source.hotels.num_rows:,} hotels"
    )
    if is_pg:
        load_postgres(source, target, progress=say)
    else:
        write_parquet_store(source, Path(target), progress=say)
    say(f"done: {redact(target)}")
    return 0


# Names that mean a file: the embedded store is a folder of Parquet files, and the pipeline reads no other file.
_FILE_SUFFIXES = (".duckdb", ".ddb", ".db", ".sqlite", ".sqlite3", ".parquet", ".csv", ".json")


def _check_store_folder(target: Path) -> None:
    """Refuse a --to that names a file (x.duckdb used to become a folder of Parquet files named x.duckdb)."""
    if target.suffix.lower() in _FILE_SUFFIXES or target.is_file():
        raise CliError(
            f"--to {target} names a file, but a source is a folder of Parquet files (the embedded store, e.g. "
            f"{default_source_dir()}) or a PostgreSQL database: give a folder or a postgresql://user@host:port/db URL"
        )


def cmd_run(args: argparse.Namespace) -> int:
    """The whole graph: a line on stderr as each step finishes, then the answer on stdout, read from the tables
    the run wrote (answer.py)."""
    from traveltide_assets.defs.cohort.settings import check_cohort_start, check_min_sessions
    from traveltide_assets.pipeline import run_pipeline

    check_cohort_start(args.cohort_start)  # bad input fails before waiting for the warehouse or the source
    check_min_sessions(args.min_sessions)
    source_url = os.environ.get(SOURCE_URL_ENV)
    if not source_url and source_url_required():  # before the warehouse is touched or the store generated
        raise CliError(SOURCE_URL_MISSING)
    if source_url:  # a wrong or unreachable source fails in one line, not in every raw step's traceback
        validate_pg_url(source_url)
        _check_pg_reachable(source_url)
    say = _Stopwatch()
    with _warehouse_held(args.lock_timeout) as warehouse:
        counts = run_pipeline(
            cohort_start=args.cohort_start,
            min_sessions=args.min_sessions,
            embedded_users=args.users,
            months=args.months,
            on_event=_step_lines(say),
            progress=say,
        )
        # Imported here, not first: it loads the report's modules (seconds), which bad input need not wait for.
        from traveltide_assets.answer import answer_lines
        from traveltide_assets.defs.resources import build_resources

        # Read while the run lock is still held: the answer is this run's, not a later run's half-written one.
        campaign_id = build_resources()["campaign"].campaign_id
        cohort = f"more than {args.min_sessions} sessions after {args.cohort_start}"
        print("\n".join(answer_lines(warehouse, campaign_id, counts, cohort)))
    return 0


def _step_lines(say: Callable[[str], None]) -> Callable[[EventLogEntry], None]:
    """A progress line when the run starts (the code has loaded) and one per step as it finishes (Dagster's run
    start, step success and step failure events)."""
    from dagster import DagsterEventType

    def on_event(entry: EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type == DagsterEventType.RUN_START:
            say("run started")
        elif event.is_step_success and event.step_success_data is not None:
            say(f"{event.step_key} done ({event.step_success_data.duration_ms / 1000:.1f} s)")
        elif event.is_step_failure:
            say(f"{event.step_key} failed")

    return on_event


@contextmanager
def _warehouse_held(timeout_s: float | None) -> Iterator[Warehouse]:
    """Hold the run lock of the environment's warehouse, saying on stderr when another run makes us wait.

    The run's Warehouse resource takes the same lock again (re-entrant within this process); taking it here
    first makes a busy warehouse end in one line naming the other run, not in a resource-initialisation failure.
    """
    from traveltide_assets.defs.resources import build_resources
    from traveltide_assets.storage.warehouse import Warehouse

    warehouse = build_resources()["warehouse"]
    assert isinstance(warehouse, Warehouse)
    wait = warehouse.lock_timeout_s if timeout_s is None else timeout_s

    def waiting(holder: str) -> None:
        message = f"waiting up to {wait:g} s for {warehouse.path}, in use by another run ({holder})"
        print(f"traveltide run: {message}", file=sys.stderr, flush=True)

    with warehouse.run_lock(wait, on_wait=waiting):
        yield warehouse


def _months(text: str) -> tuple[str, str]:
    from traveltide_assets.defs.partitions import parse_months

    try:
        return parse_months(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_ui(args: argparse.Namespace) -> int:
    """The Dagster UI (`dg dev`) on the instance `traveltide run` records its runs in, over the same data folder."""
    import subprocess

    from traveltide_assets.storage.instance import DAGSTER_HOME_ENV, ensure_dagster_home
    from traveltide_assets.storage.paths import DATA_DIR_ENV, data_dir

    workspace = PROJECT_ROOT / "workspace.yaml"
    if not workspace.is_file():
        raise CliError(f"the UI serves the project's code location: {workspace} is missing (a checkout of the project)")
    home = ensure_dagster_home()
    data = data_dir().resolve()  # absolute: the server's runs must find the folder wherever it was started
    env = {**os.environ, DAGSTER_HOME_ENV: str(home), DATA_DIR_ENV: str(data)}
    command = [sys.executable, "-m", "dagster_dg_cli.cli", "dev", "-w", str(workspace)]
    command += ["--host", args.host, "--port", str(args.port)]
    print(f"traveltide ui: http://{args.host}:{args.port} on instance {home}, data {data}", file=sys.stderr, flush=True)
    server = subprocess.Popen(command, env=env)
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the server too (one process group): wait while it shuts down
        return server.wait()


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from traveltide_assets.validation.evaluate import CEILING_SEEDS, evaluate, format_table, write_json

    mixes = [m.strip() for m in args.mixes.split(",") if m.strip()]
    ceiling_seeds = tuple(args.ceiling_seeds) if args.ceiling_seeds is not None else CEILING_SEEDS
    rows = evaluate(args.seeds, mixes, args.users, progress=_Stopwatch(), ceiling_seeds=ceiling_seeds)
    print(format_table(rows))
    if args.json:
        write_json(rows, Path(args.json))
    return 0


def _multipliers(text: str) -> tuple[float, ...]:
    """'0.5,1,2' -> (0.5, 1.0, 2.0): positive, at least two different ones, ascending."""
    try:
        values = {float(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if any(not math.isfinite(v) or v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"multipliers must be positive numbers, got {text!r}")
    if len(values) < 2:
        raise argparse.ArgumentTypeError(f"a curve needs at least two different multipliers, got {text!r}")
    return tuple(sorted(values))


def _check_bench_flags(args: argparse.Namespace) -> None:
    """--out and --multipliers belong to the curve; --url, --json, --repeats and --keep to the single-volume bench."""
    single = ("url", "json", "repeats", "keep")
    own, other = (single, ("out", "multipliers")) if args.curve else (("out", "multipliers"), single)
    for name in own:
        if getattr(args, name) is not None:
            needs = "is not used with --curve" if args.curve else "needs --curve"
            raise CliError(f"--{name} {needs} (with it: --{' --'.join(other)})")


def cmd_bench_curve(args: argparse.Namespace) -> int:
    from tools.bench.curve import MULTIPLIERS, fit_curve, format_curve, run_curve, write_outputs

    points = run_curve(args.users, args.multipliers or MULTIPLIERS, progress=_Stopwatch())
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
        _check_pg_reachable(args.url)
    result = bench(
        args.users,
        url=args.url,
        progress=_Stopwatch(),
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
        _check_pg_reachable(url)
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
        _check_pg_reachable(source.postgres_url or "")
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
    rows = coverage(args.seeds, args.users, response, progress=_Stopwatch())
    print(format_coverage(rows, response))
    if args.json:
        write_json(rows, Path(args.json))
    return 0


def _check_pg_reachable(url: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CliError(f"cannot connect to PostgreSQL at {redact(url)}: {reason}") from None


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from traveltide_assets.synthetic.generate import REAL_USERS  # loads numpy: here, not on importing the CLI

    # Sub-commands' parsers are made by the same class, so `traveltide run --bad` is one line too.
    parser = _OneLineParser(prog="traveltide", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate a synthetic TravelTide source with planted perk preferences")
    gen.add_argument(
        "--users", type=_positive_int, default=REAL_USERS, help="number of users (default: the real volume)"
    )
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--mix", default="default", help="perk mix: default, unbalanced, null, or 'perk=share,...'")
    gen.add_argument("--signal", type=_non_negative_float, default=1.0, help="scale of planted perk effects")
    gen.add_argument(
        "--to",
        default=str(default_source_dir()),
        help="a PostgreSQL URL, or a folder for the embedded Parquet store (default: %(default)s)",
    )
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser(
        "run",
        help="materialise the whole asset graph headless (source: $TRAVELTIDE_SOURCE_URL, else the embedded store)",
    )
    run.add_argument("--cohort-start", default="2023-01-04", help="sessions strictly after this date count")
    run.add_argument("--min-sessions", type=int, default=7, help="cohort users have more sessions than this")
    run.add_argument(
        "--users",
        type=_positive_int,
        default=REAL_USERS,
        help="users to generate if the embedded store is absent (default: the real volume, %(default)s)",
    )
    run.add_argument(
        "--months",
        type=_months,
        default=None,
        help="refresh only these session months, e.g. 2023-07 or 2023-06..2023-07 (default: every month)",
    )
    run.add_argument(
        "--lock-timeout",
        type=_non_negative_float,
        default=None,
        help="seconds to wait while another run uses the same warehouse (default: 900; 0 fails at once)",
    )
    run.set_defaults(func=cmd_run)

    ui = sub.add_parser(
        "ui",
        help="the Dagster UI (dg dev) on the instance `run` records in: <data folder>/dagster_home, or $DAGSTER_HOME",
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    ui.add_argument("--port", type=_positive_int, default=3000, help="port (default: %(default)s)")
    ui.set_defaults(func=cmd_ui)

    ev = sub.add_parser("evaluate", help="accuracy, ceiling and segment evidence over seeds and perk mixes")
    ev.add_argument("--seeds", type=_int_list, default=[1, 2, 3], help="comma-separated seeds (default 1,2,3)")
    ev.add_argument("--mixes", default="default,null,unbalanced", help="comma-separated perk mixes")
    ev.add_argument("--users", type=_positive_int, default=1_020_926, help="users per synthetic source")
    ev.add_argument("--json", help="write the rows as JSON to this path")
    ev.add_argument(
        "--ceiling-seeds",
        type=_int_list,
        default=None,
        help="comma-separated seeds the ceiling trains on, never evaluated (default 9001,...,9010)",
    )
    ev.set_defaults(func=cmd_evaluate)

    be = sub.add_parser("bench", help="time the product against the usual pandas approach and the COPY limit")
    be.add_argument("--users", type=_positive_int, default=1_020_926, help="users (default: the real volume)")
    be.add_argument("--url", help="a PostgreSQL to use (default: a throwaway local server)")
    be.add_argument("--json", help="write the figures as JSON to this path")
    be.add_argument(
        "--repeats", type=_positive_int, help="rounds of every contender, interleaved; figures are medians (default 1)"
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
        help="instead: run ours at several multiples of --users and write scale_curve.csv/.png/.json",
    )
    be.add_argument("--multipliers", type=_multipliers, help="with --curve: multiples of --users (0.25,0.5,1,2,4)")
    be.add_argument("--out", help="with --curve: folder for scale_curve.csv, .png and .json (default: docs)")
    be.set_defaults(func=cmd_bench)

    fi = sub.add_parser("fidelity", help="per-user behaviour of a source against the real cohort's reference (KS)")
    fi.add_argument("--reference", required=True, help="reference.json of the real cohort (shared/real-cohort)")
    fi.add_argument("--url", help="a PostgreSQL source (default: $TRAVELTIDE_SOURCE_URL, else --source)")
    fi.add_argument(
        "--source",
        default=str(default_source_dir()),
        help="folder of an embedded Parquet store (default: %(default)s)",
    )
    fi.add_argument("--bound", type=_non_negative_float, default=0.05, help="largest KS distance accepted per feature")
    fi.set_defaults(func=cmd_fidelity)

    sim = sub.add_parser(
        "simulate-campaign",
        help="planted sign-ups for the current campaign plan, from a synthetic source's truth (testing the read-out)",
    )
    _planted_response_arguments(sim)
    sim.add_argument("--seed", type=int, default=1, help="seed of the simulated responses (default 1)")
    sim.add_argument(
        "--campaign-id", type=_campaign_id, help="the campaign whose plan to answer (default: the configured campaign)"
    )
    sim.add_argument(
        "--to",
        help="file to write (.parquet or .csv; default: $TRAVELTIDE_CAMPAIGN_SIGNUPS, else the embedded store's "
        "campaign_signups.parquet)",
    )
    sim.set_defaults(func=cmd_simulate_campaign)

    co = sub.add_parser(
        "campaign-coverage",
        help="per seed: source, plan, simulated sign-ups, read-out; does the 95%% CI cover the planted uplift",
    )
    co.add_argument("--seeds", type=_int_list, default=list(range(1, 21)), help="comma-separated seeds (default 1..20)")
    co.add_argument("--users", type=_positive_int, default=REAL_USERS, help="users per synthetic source (real volume)")
    _planted_response_arguments(co)
    co.add_argument("--json", help="write the rows as JSON to this path")
    co.set_defaults(func=cmd_campaign_coverage)
    return parser


def _campaign_id(text: str) -> str:
    from traveltide_assets.defs.campaign.settings import CAMPAIGN_ID_PATTERN

    if not CAMPAIGN_ID_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"a campaign id is 1-64 of a-z, 0-9, '_' and '-', got {text!r}")
    return text


def _probability_change(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and -1 <= value <= 1):
        raise argparse.ArgumentTypeError(f"a change of sign-up probability is between -1 and 1, got {text}")
    return value


def _planted_response_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-rate", type=_probability_change, default=0.10, help="sign-up rate of the generic email")
    parser.add_argument(
        "--match-uplift",
        type=_probability_change,
        default=0.05,
        help="added when the email leads with the true favourite",
    )
    parser.add_argument(
        "--mismatch-effect", type=_probability_change, default=-0.01, help="added when it leads with another perk"
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


if __name__ == "__main__":
    entry()
