"""The cohort's rows from the source, by session month: what a run extracts and how stored months stay in line.

The cohort (users with more than `min_sessions` sessions after `cohort_start`) is counted in the source
(sql/raw/extract/cohort_members.sql) by raw_users, which stores the member list beside the users' rows
(`raw_state.cohort_members`); only the members' rows travel, about 1% of the sessions. raw_sessions, raw_flights and
raw_hotels come from one pass over the source (sql/raw/extract/cohort_sessions.sql) and are stored by session month
(partitions.py).

A run re-extracts its own months in full. As sessions arrive the cohort grows: a refresh of the newest month
can bring in users whose earlier sessions lie in months stored before they qualified. The same pass fetches
those joiners' sessions in the stored months, and a user who no longer qualifies (sessions deleted in the
source) loses theirs, so every stored month holds the current cohort's sessions, as a run over every month
would. The months and the cohort definition they were extracted for are recorded in `raw_state.session_months`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.partitions import PARTITION_COLUMN, month_bounds
from traveltide_assets.sources.connection import SourceConnection, render
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.duck import one_row, registered, run
from traveltide_assets.storage.publish import has_table, month_list

SESSION_TABLES = ("raw_sessions", "raw_flights", "raw_hotels")
# Bookkeeping of the raw layer, in a schema of its own beside the asset tables (no Parquet export).
STATE_SCHEMA = "raw_state"
STATE_TABLE = f"{STATE_SCHEMA}.session_months"
MEMBERS_TABLE = f"{STATE_SCHEMA}.cohort_members"
MONTH_FORMAT = "%Y-%m"


class ExtractStateError(RuntimeError):
    """The stored months cannot be refreshed in part: they hold another cohort or an older layout."""


@dataclass(frozen=True)
class ExtractPlan:
    """What one run extracts: its months in full, plus the joiners' sessions in the months stored before."""

    months: list[str]
    rebuild: bool  # the run stands for every month (partitions.covers_every_month): the tables are created anew
    members: list[int]
    joiners: list[int] = field(default_factory=list)
    leavers: list[int] = field(default_factory=list)
    other_months: list[str] = field(default_factory=list)  # stored months outside the run's

    def query(self, study: StudySettings) -> str:
        first_day, end_day = month_bounds(self.months[0], self.months[-1])
        return render(
            read_sql("raw/extract/cohort_sessions.sql"),
            {
                "cohort_start": study.start_timestamp,
                "members": self.members,
                "first_day": first_day,
                "end_day": end_day,
                "joiners": self.joiners,
                "other_months": [dt.datetime.strptime(m, MONTH_FORMAT).date() for m in self.other_months],
            },
        )


def members_query(study: StudySettings) -> str:
    return render(
        read_sql("raw/extract/cohort_members.sql"),
        {"cohort_start": study.start_timestamp, "min_sessions": study.min_sessions},
    )


def cohort_members(source: SourceConnection, study: StudySettings) -> list[int]:
    """The user ids of the cohort, counted in the source over the whole window."""
    return [int(u) for u in source.fetch(members_query(study)).column("user_id").to_pylist()]


def store_members(con: duckdb.DuckDBPyConnection, members: list[int], study: StudySettings) -> None:
    """Record the member list and the definition it was counted for (inside raw_users' transaction)."""
    with registered(con, "_members", pa.table({"user_id": pa.array(members, pa.int32())})):
        run(con, f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
        run(
            con,
            f"CREATE OR REPLACE TABLE {MEMBERS_TABLE} AS "
            "SELECT user_id, CAST($start AS VARCHAR) AS cohort_start, CAST($min AS INTEGER) AS min_sessions "
            "FROM _members",
            {"start": study.cohort_start, "min": study.min_sessions},
        )


def stored_members(con: duckdb.DuckDBPyConnection, study: StudySettings) -> list[int]:
    """The member list raw_users counted, which must be for this run's cohort definition."""
    if not has_table(con, MEMBERS_TABLE):
        raise ExtractStateError(
            "the session extracts read the cohort that raw_users counts: materialise raw_users first"
        )
    counted = con.execute(f"SELECT DISTINCT cohort_start, min_sessions FROM {MEMBERS_TABLE}").fetchall()
    if counted and tuple(counted[0]) != (study.cohort_start, study.min_sessions):
        start, minimum = counted[0]
        raise ExtractStateError(
            f"raw_users counted the cohort of sessions after {start} with more than {minimum}; this run asks for "
            f"sessions after {study.cohort_start} with more than {study.min_sessions}: materialise raw_users with "
            "the same settings first"
        )
    return [int(r[0]) for r in con.execute(f"SELECT user_id FROM {MEMBERS_TABLE} ORDER BY user_id").fetchall()]


def users_query(user_ids: list[int]) -> str:
    return render(read_sql("raw/extract/users.sql"), {"user_ids": user_ids})


def plan_extract(
    con: duckdb.DuckDBPyConnection, study: StudySettings, months: list[str], every_month: bool, members: list[int]
) -> ExtractPlan:
    """The plan of a run over `months`; a run over part of the months checks that the stored ones hold the same
    cohort definition and finds who joined or left the cohort since they were extracted."""
    if every_month or not has_table(con, "raw_sessions"):
        return ExtractPlan(months, rebuild=every_month, members=members)
    if not has_table(con, STATE_TABLE):
        raise ExtractStateError(
            "raw_sessions was extracted by an earlier version of the pipeline (whole months, no cohort record): "
            "refresh every month once (traveltide run) before refreshing single months"
        )
    stored = _stored_outside(con, months)
    definitions = {(start, minimum) for _, start, minimum in stored}
    if definitions - {(study.cohort_start, study.min_sessions)}:
        held = ", ".join(f"after {s} with more than {n} sessions" for s, n in sorted(definitions))
        raise ExtractStateError(
            f"the stored session months hold the cohort {held}; this run asks for sessions after "
            f"{study.cohort_start} with more than {study.min_sessions}: refresh every month to change the cohort"
        )
    other_months = [month for month, _, _ in stored]
    present = {
        int(r[0])
        for r in con.execute(
            f"SELECT DISTINCT user_id FROM raw_sessions WHERE {PARTITION_COLUMN} IN {month_list(other_months)} "
            "AND user_id IS NOT NULL"
        ).fetchall()
    }
    cohort = set(members)
    # A member without rows in the stored months may have none there, or may have joined since they were
    # extracted: asking the source for their rows there costs little and settles it.
    return ExtractPlan(
        months,
        rebuild=False,
        members=members,
        joiners=sorted(cohort - present),
        leavers=sorted(present - cohort),
        other_months=other_months,
    )


def _stored_outside(con: duckdb.DuckDBPyConnection, months: list[str]) -> list[tuple[str, str, int]]:
    """(month, cohort_start, min_sessions) of each stored month outside `months`, by month (none if unrecorded)."""
    if not has_table(con, STATE_TABLE):
        return []
    return con.execute(
        f"SELECT {PARTITION_COLUMN}, cohort_start, min_sessions FROM {STATE_TABLE} "
        f"WHERE {PARTITION_COLUMN} NOT IN {month_list(months)} ORDER BY 1"
    ).fetchall()


def _split(table: str) -> str:
    return read_sql(f"raw/{table}.sql")


def apply_extract(con: duckdb.DuckDBPyConnection, plan: ExtractPlan, study: StudySettings) -> list[str]:
    """Bring the session tables in line with the staged pass (`_extract`); returns the months changed.

    Runs inside publish_month_tables' transaction."""
    months = month_list(plan.months)
    if plan.rebuild or not has_table(con, "raw_sessions"):
        # Months stored before beyond this run's (a full run ends at the source's newest session) lose their
        # rows with the tables: their files are rewritten too, empty, so that no file keeps rows the tables lost.
        stored = [month for month, _, _ in _stored_outside(con, plan.months)] if plan.rebuild else []
        for table in SESSION_TABLES:
            run(con, f"CREATE OR REPLACE TABLE {table} AS {_split(table)}")
        columns = f"{PARTITION_COLUMN} VARCHAR, cohort_start VARCHAR, min_sessions INTEGER, extracted_at TIMESTAMP"
        run(con, f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
        run(con, f"CREATE OR REPLACE TABLE {STATE_TABLE} ({columns})")
        changed_months = sorted({*plan.months, *stored})
    else:
        changed = pa.table({"user_id": pa.array(plan.joiners + plan.leavers, pa.int32())})
        changed_users = "SELECT user_id FROM _changed_users"
        with registered(con, "_changed_users", changed):
            touched = con.execute(
                f"SELECT DISTINCT {PARTITION_COLUMN} FROM raw_sessions WHERE user_id IN ({changed_users}) "
                f"UNION SELECT DISTINCT strftime({PARTITION_COLUMN}, '{MONTH_FORMAT}') FROM _extract"
            ).fetchall()
            changed_months = sorted({*plan.months, *(r[0] for r in touched)})
            # Trips first: they find their users through the sessions that booked them.
            for table in ("raw_flights", "raw_hotels"):
                run(con, f"DELETE FROM {table} WHERE {PARTITION_COLUMN} IN {months} OR trip_id IN "
                         f"(SELECT trip_id FROM raw_sessions WHERE user_id IN ({changed_users}))")  # fmt: skip
            run(con, f"DELETE FROM raw_sessions WHERE {PARTITION_COLUMN} IN {months} OR user_id IN ({changed_users})")
            for table in SESSION_TABLES:
                run(con, f"INSERT INTO {table} BY NAME {_split(table)}")
        run(con, f"DELETE FROM {STATE_TABLE} WHERE {PARTITION_COLUMN} IN {months}")
    with registered(con, "_run_months", pa.table({PARTITION_COLUMN: plan.months})):
        run(
            con,
            f"INSERT INTO {STATE_TABLE} SELECT {PARTITION_COLUMN}, $start, $min, current_localtimestamp() "
            "FROM _run_months",
            {"start": study.cohort_start, "min": study.min_sessions},
        )
    return changed_months


def stage_extract(con: duckdb.DuckDBPyConnection, reader: pa.RecordBatchReader) -> int:
    """Read the source pass into the temporary table `_extract` (the cohort's rows: small); returns its rows."""
    with registered(con, "_incoming", reader):
        run(con, "CREATE OR REPLACE TEMP TABLE _extract AS SELECT * FROM _incoming")
    return int(one_row(con, "SELECT count(*) FROM _extract")[0])
