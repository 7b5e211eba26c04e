"""What every `traveltide` command shares: the one-line errors, the argument types, a stopwatch."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import NoReturn

from traveltide_assets.errors import first_line
from traveltide_assets.sources.pg_url import redact

EXIT_USAGE = 2


PROJECT_ROOT = Path(__file__).resolve().parents[2]  # pyproject.toml and workspace.yaml


class CliError(Exception):
    """An error whose message is all the user needs to see."""


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def non_negative_float(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


class Stopwatch:
    """Progress lines on stderr with the elapsed time, for long work."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {message}", file=sys.stderr, flush=True)


def months_range(text: str) -> tuple[str, str]:
    from traveltide_assets.defs.partitions import parse_months

    try:
        return parse_months(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def multipliers(text: str) -> tuple[float, ...]:
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


def check_pg_reachable(url: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise CliError(f"cannot connect to PostgreSQL at {redact(url)}: {first_line(exc)}") from None


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def campaign_id_arg(text: str) -> str:
    from traveltide_assets.defs.campaign.settings import CAMPAIGN_ID_PATTERN

    if not CAMPAIGN_ID_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"a campaign id is 1-64 of a-z, 0-9, '_' and '-', got {text!r}")
    return text


def probability_change(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and -1 <= value <= 1):
        raise argparse.ArgumentTypeError(f"a change of sign-up probability is between -1 and 1, got {text}")
    return value
