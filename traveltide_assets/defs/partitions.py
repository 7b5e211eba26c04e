"""Session months: the partitions of the raw session extracts and the runs that refresh them.

raw_sessions, raw_flights and raw_hotels are partitioned by the month a session started (the flight and hotel
of a trip go with the month of the session that booked it). A month is extracted, stored and replaced as a
unit, so the daily refresh re-reads only the newest month(s) and years of settled history stay where they are.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

from dagster import MonthlyPartitionsDefinition

# The study looks at sessions after 2023-01-04; nothing before this month is extracted, so a cohort start
# earlier than it is rejected (resources.check_cohort_start) rather than silently studied without its history.
FIRST_SESSION_MONTH = dt.date(2023, 1, 1)
MONTH_FORMAT = "%Y-%m"
PARTITION_COLUMN = "session_month"

# end_offset=1: the month in progress is a partition too, so the daily refresh sees today's sessions.
SESSION_MONTHS = MonthlyPartitionsDefinition(
    start_date=FIRST_SESSION_MONTH.strftime(MONTH_FORMAT), fmt=MONTH_FORMAT, end_offset=1
)

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
REFRESH_PREVIOUS_ENV = "TRAVELTIDE_REFRESH_PREVIOUS_MONTH"
FULL_RUN_TAG = "traveltide/full_run"


def all_months(now: dt.datetime | None = None) -> list[str]:
    """Every session month from the first one to the month in progress."""
    return SESSION_MONTHS.get_partition_keys(current_time=now)


def _next_month(day: dt.datetime) -> dt.datetime:
    return day.replace(year=day.year + 1, month=1) if day.month == 12 else day.replace(month=day.month + 1)


def month_bounds(first: str, last: str) -> tuple[dt.datetime, dt.datetime]:
    """[start of `first`, start of the month after `last`): the session_start bounds of a run's months."""
    return dt.datetime.strptime(first, MONTH_FORMAT), _next_month(dt.datetime.strptime(last, MONTH_FORMAT))


def months_between(first: str, last: str) -> list[str]:
    """The month keys first..last, both included."""
    months, day, end = [], dt.datetime.strptime(first, MONTH_FORMAT), dt.datetime.strptime(last, MONTH_FORMAT)
    while day <= end:
        months.append(day.strftime(MONTH_FORMAT))
        day = _next_month(day)
    return months


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run materialise the months first..last (single-run backfill)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def full_run_months(newest_session: dt.datetime | None, now: dt.datetime | None = None) -> tuple[str, str]:
    """The months a full run covers: the first session month through the month of the source's newest session
    (sql/raw/extract/newest_session.sql), or through the month in progress when that is unknown or later. The
    months after the newest session hold nothing to extract; a live source's newest session is today's."""
    keys = all_months(now)
    if newest_session is None:
        return keys[0], keys[-1]
    newest = newest_session.strftime(MONTH_FORMAT)
    return keys[0], min(max(newest, keys[0]), keys[-1])  # YYYY-MM keys order as text


def full_run_tags(newest_session: dt.datetime | None = None, now: dt.datetime | None = None) -> dict[str, str]:
    """Tags of a full run: its months (full_run_months) and the mark that they stand for every month."""
    return {**range_tags(*full_run_months(newest_session, now)), FULL_RUN_TAG: "true"}


def covers_every_month(months: list[str], tags: Mapping[str, str], now: dt.datetime | None = None) -> bool:
    """Whether a run's months stand for every month (its extract replaces the stored months): all partitions,
    or the months of a full run, which start at the first month."""
    keys = all_months(now)
    return months == keys or (tags.get(FULL_RUN_TAG) == "true" and months[:1] == keys[:1])


def refresh_previous_month(env: Mapping[str, str] | None = None) -> bool:
    """Whether the daily refresh also re-reads last month (default yes: at 04:00 on the 1st, the sessions of
    the last evening of the month before arrived after the previous refresh). Set the variable to 0 to stop."""
    value = (env if env is not None else os.environ).get(REFRESH_PREVIOUS_ENV, "1").strip().lower()
    if value not in {"0", "1", "true", "false", "yes", "no"}:
        raise ValueError(f"{REFRESH_PREVIOUS_ENV} must be 0 or 1, got {value!r}")
    return value in {"1", "true", "yes"}


def refresh_tags(now: dt.datetime, include_previous: bool) -> dict[str, str]:
    """The months a refresh at `now` re-reads: the month in progress, and the previous one if asked."""
    keys = all_months(now)
    current = keys[-1]
    first = keys[-2] if include_previous and len(keys) > 1 else current
    return range_tags(first, current)


def parse_months(text: str, now: dt.datetime | None = None) -> tuple[str, str]:
    """'2023-07' or '2023-05..2023-07' -> (first, last), checked against the existing partitions."""
    first, _, last = text.partition("..")
    first, last = first.strip(), (last or first).strip()
    keys = all_months(now)
    for month in (first, last):
        if month not in keys:
            raise ValueError(f"month {month!r} is not a session month partition (YYYY-MM, {keys[0]}..{keys[-1]})")
    if keys.index(first) > keys.index(last):
        raise ValueError(f"months {text!r}: the first month is after the last")
    return first, last
