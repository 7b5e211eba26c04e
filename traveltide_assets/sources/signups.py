"""The campaign's results: who signed up, read from where they came back, and the rules they must follow.

Sign-ups come back as a table `campaign_signups(campaign_id, user_id, signed_up_at)`, read from the first of these
that exists:
1. a Parquet or CSV file configured as CampaignSettings.signups_path (env TRAVELTIDE_CAMPAIGN_SIGNUPS);
2. the table `campaign_signups` of the source PostgreSQL, through the source's read-only connection;
3. `campaign_signups.parquet` in the embedded store's folder, when the source is the embedded store.
None of them = no results yet. Only the configured campaign's rows count; a planned customer absent from them did
not sign up. The rules (`validate`) are checked before the read-out uses a row: a sign-up must name a customer
TravelTide knows, who is in the campaign's plan, once, and not before the customer's email was planned.

No Dagster here: the source is anything with `is_postgres`, `embedded_dir`, `open()` and `describe()`
(resources.TravelTideSource).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from traveltide_assets.errors import first_line
from traveltide_assets.sources.connection import SourceConnection
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.atomic import replacing

SIGNUPS_TABLE = "campaign_signups"
EMBEDDED_FILE = f"{SIGNUPS_TABLE}.parquet"
SIGNUP_COLUMNS: tuple[str, ...] = ("campaign_id", "user_id", "signed_up_at")
SIGNUPS_SCHEMA = pa.schema(
    [("campaign_id", pa.string()), ("user_id", pa.int64()), ("signed_up_at", pa.timestamp("us", tz="UTC"))]
)
# The rules a results row must follow, in the order the check reports them.
RULES: dict[str, str] = {
    "unknown_customer": "the user_id is not a TravelTide customer the pipeline knows (raw_users, or the plan)",
    "not_in_plan": "the customer is not in this campaign's plan, so was never sent its invitation",
    "duplicate": "the customer signs up more than once for the same campaign",
    "before_assigned_at": "signed_up_at is before the customer's plan row was assigned (assigned_at)",
}
SHOWN_USER_IDS = 10  # per rule, in the check's description
NO_RESULTS = "none"  # the fingerprint while no location holds results


class SignupsError(ValueError):
    """A sign-ups location that exists but cannot be read as the sign-ups table; the message says why."""


class SignupsSource(Protocol):
    """What of the TravelTide source the sign-ups reader uses (resources.TravelTideSource)."""

    @property
    def is_postgres(self) -> bool: ...

    embedded_dir: str

    def open(self) -> AbstractContextManager[SourceConnection]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Signups:
    """The sign-ups as read: every campaign's rows (SIGNUPS_SCHEMA) and where they came from."""

    table: pa.Table
    origin: str  # e.g. "file /data/signups.csv", "PostgreSQL table campaign_signups (postgresql://...)"

    def of_campaign(self, campaign_id: str) -> pa.Table:
        """The rows of one campaign; others' rows are not this read-out's."""
        return self.table.filter(pc.equal(self.table["campaign_id"], campaign_id))


# --- where the sign-ups are --------------------------------------------------------------------------------


def embedded_path(source: SignupsSource) -> Path | None:
    """The embedded store's sign-ups file, or None for a PostgreSQL source."""
    return None if source.is_postgres else Path(source.embedded_dir) / EMBEDDED_FILE


def _configured_file(signups_path: str | None) -> Path | None:
    return Path(signups_path).expanduser() if signups_path else None


def _source_has_table(connection: SourceConnection) -> bool:
    return bool(connection.columns(SIGNUPS_TABLE))


def looked_in(signups_path: str | None, source: SignupsSource) -> list[str]:
    """Where the reader looks, in order, in words (the metadata of 'awaiting results')."""
    places = []
    configured = _configured_file(signups_path)
    if configured is not None:
        places.append(f"file {configured}")
    if source.is_postgres:
        places.append(f"table {SIGNUPS_TABLE} of {source.describe()}")
    else:
        places.append(f"file {embedded_path(source)}")
    return places


def read_signups(signups_path: str | None, source: SignupsSource) -> Signups | None:
    """The sign-ups from the first location that exists (module docstring), or None when none does."""
    configured = _configured_file(signups_path)
    if configured is not None and configured.is_file():
        return Signups(read_signups_file(configured), f"file {configured}")
    if source.is_postgres:
        with source.open() as connection:
            if _source_has_table(connection):
                rows = connection.fetch(read_sql("campaign/signups.sql"))
                origin = f"table {SIGNUPS_TABLE} of {source.describe()}"
                return Signups(normalise(rows, origin), origin)
        return None
    embedded = embedded_path(source)
    if embedded is not None and embedded.is_file():
        return Signups(read_signups_file(embedded), f"file {embedded}")
    return None


def fingerprint(signups_path: str | None, source: SignupsSource) -> str:
    """What changes when new results arrive: the found file's path, size and modification time, or the source
    table's row count and newest signed_up_at; NO_RESULTS while there are no results anywhere."""
    configured = _configured_file(signups_path)
    if configured is not None and configured.is_file():
        return _file_fingerprint(configured)
    if source.is_postgres:
        with source.open() as connection:
            if _source_has_table(connection):
                rows = connection.fetch(read_sql("campaign/signups_fingerprint.sql"))
                count, newest = rows["signups"][0].as_py(), rows["newest"][0].as_py()
                return f"postgres {SIGNUPS_TABLE}: {count} rows, newest {newest}"
        return NO_RESULTS
    embedded = embedded_path(source)
    return _file_fingerprint(embedded) if embedded is not None and embedded.is_file() else NO_RESULTS


def _file_fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"file {path}: {stat.st_size} bytes, modified {stat.st_mtime_ns}"


# --- reading -----------------------------------------------------------------------------------------------


def _session() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # a time without a zone is UTC, whatever the machine's zone
    return con


def read_signups_file(path: Path) -> pa.Table:
    """A sign-ups file: CSV when it ends in .csv (UTF-8, header), else Parquet. The three columns, typed."""
    con = _session()
    try:
        if path.suffix.lower() == ".csv":
            relation = con.read_csv(str(path), header=True, all_varchar=True)
        else:
            relation = con.read_parquet(str(path))
        raw = relation.to_arrow_table()
    except duckdb.Error as exc:
        raise SignupsError(f"cannot read the sign-ups file {path}: {first_line(exc)}") from None
    finally:
        con.close()
    return normalise(raw, f"file {path}")


def normalise(raw: pa.Table, origin: str) -> pa.Table:
    """The sign-ups in SIGNUPS_SCHEMA. Refuses (SignupsError, naming `origin`) a missing column, a value that is
    not a whole number or a time, and a row without user_id or signed_up_at."""
    missing = [c for c in SIGNUP_COLUMNS if c not in raw.column_names]
    if missing:
        raise SignupsError(
            f"the sign-ups in {origin} lack the column(s) {', '.join(missing)} (expected {', '.join(SIGNUP_COLUMNS)})"
        )
    con = _session()
    try:
        con.register("_raw", raw.select(list(SIGNUP_COLUMNS)))
        typed = con.sql(read_sql("campaign/typed_signups.sql")).to_arrow_table()
    finally:
        con.close()
    _refuse(typed, "bad_user_id", origin, "a user_id that is not a whole number")
    _refuse(typed, "bad_signed_up_at", origin, "a signed_up_at that is not a date and time")
    _refuse(typed, "incomplete", origin, "no user_id or no signed_up_at")
    return typed.select(list(SIGNUP_COLUMNS)).cast(SIGNUPS_SCHEMA)


def _refuse(typed: pa.Table, flag: str, origin: str, what: str) -> None:
    bad = typed.filter(typed[flag])
    if bad.num_rows:
        first = bad["row_number"][0].as_py()
        raise SignupsError(f"{bad.num_rows} row(s) of the sign-ups in {origin} have {what} (first: row {first})")


def write_signups(table: pa.Table, path: Path) -> int:
    """Write `table` (SIGNUPS_SCHEMA) to `path` atomically, as CSV when it ends in .csv, else as Parquet. Other
    campaigns' rows already in the file are kept; the campaigns in `table` are replaced. Returns the rows kept."""
    campaigns = set(table["campaign_id"].to_pylist())
    kept = SIGNUPS_SCHEMA.empty_table()
    if path.is_file():
        earlier = read_signups_file(path)
        kept = earlier.filter(pc.invert(pc.is_in(earlier["campaign_id"], pa.array(sorted(campaigns), pa.string()))))
    rows = pa.concat_tables([kept, table.cast(SIGNUPS_SCHEMA)])
    with replacing(path) as staged:
        if path.suffix.lower() == ".csv":
            frame = rows.to_pandas()
            frame.to_csv(staged, index=False, encoding="utf-8", date_format="%Y-%m-%dT%H:%M:%SZ", lineterminator="\n")
        else:
            pq.write_table(rows, staged)
    return kept.num_rows


# --- the rules ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """The rows of the results that break one rule."""

    rule: str
    rows: int
    rows_per_user: dict[int, int]  # user_id -> rows breaking the rule, in user_id order

    def describe(self, shown: int = SHOWN_USER_IDS) -> str:
        """'duplicate: 4 rows of 2 customers (user_ids 17 x2, 23 x2)'; at most `shown` user_ids."""
        users = list(self.rows_per_user.items())
        named = ", ".join(f"{u} x{n}" if n > 1 else str(u) for u, n in users[:shown])
        more = f" and {len(users) - shown:,} more" if len(users) > shown else ""
        customers = f"{len(users):,} customer{'s' if len(users) != 1 else ''}"
        return f"{self.rule}: {self.rows:,} row{'s' if self.rows != 1 else ''} of {customers} (user_ids {named}{more})"


@dataclass(frozen=True)
class Validation:
    """Every rule's offending rows (a rule without any is absent) and how many rows were checked."""

    checked_rows: int
    violations: dict[str, Violation]

    @property
    def passed(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        if self.passed:
            return f"all {self.checked_rows:,} sign-ups follow the rules"
        broken = "; ".join(v.describe() for v in self.violations.values())
        return f"the sign-ups break {len(self.violations)} rule(s): {broken}"

    def counts(self) -> dict[str, int]:
        """Rows breaking each rule, every rule listed."""
        return {rule: self.violations[rule].rows if rule in self.violations else 0 for rule in RULES}


def validate(signups: pd.DataFrame, plan: pd.DataFrame, known_users: Iterable[int]) -> Validation:
    """Check one campaign's sign-ups (SIGNUP_COLUMNS) against its plan (user_id, assigned_at) and the customers
    the pipeline knows (`known_users`: raw_users' user_ids).

    A planned customer counts as known even after leaving the cohort (raw_users then no longer holds them, but
    their invitation was sent). Each row is judged by every rule, so a duplicate can break another rule too;
    not_in_plan is for known customers only (an unknown one is reported once, as unknown_customer), and
    before_assigned_at for planned customers only."""
    planned = plan.drop_duplicates("user_id").set_index("user_id")["assigned_at"]
    known = set(int(u) for u in known_users) | set(int(u) for u in planned.index)
    user = signups["user_id"].astype("int64")
    in_plan = user.isin(planned.index)
    assigned = user.map(planned)
    broken = {
        "unknown_customer": ~user.isin(known),
        "not_in_plan": user.isin(known) & ~in_plan,
        "duplicate": signups.duplicated(["campaign_id", "user_id"], keep=False),
        "before_assigned_at": in_plan & (pd.to_datetime(signups["signed_up_at"], utc=True) < assigned),
    }
    violations = {}
    for rule, mask in broken.items():
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            per_user = user[mask].value_counts().sort_index()
            violations[rule] = Violation(rule, int(mask.sum()), {int(u): int(n) for u, n in per_user.items()})
    return Validation(checked_rows=len(signups), violations=violations)


def signed_up(plan: pd.DataFrame, signups: pd.DataFrame) -> pd.Series:
    """Per planned customer (plan's rows, in order) whether they signed up: a customer absent from the sign-ups
    did not."""
    return plan["user_id"].isin(signups["user_id"]).rename("signed_up")
