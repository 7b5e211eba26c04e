"""The cohort's rows from the source, by session month: what a run extracts and how stored months stay in line.

One statement of constant size (sql/raw/extract/cohort_extract.sql) counts the cohort in the source (users with
more than `min_sessions` sessions after `cohort_start`) and returns its members' rows: every member's user row and
session count, and their sessions of the run's months with the trips those booked; only the members' rows travel,
about 1% of the sessions, and the query names no user, so its size does not grow with the cohort. The rows are
staged in `_extract`; raw_sessions, raw_flights and raw_hotels are stored by session month (partitions.py), and the
members with their user rows in `raw_state.cohort_members`, which raw_users publishes.

A run re-extracts its own months in full. As sessions arrive the cohort grows: a refresh of the newest month
can bring in users whose earlier sessions lie in months stored before they qualified. The same statement returns
the sessions in the other months of every member who qualifies thanks to the run's months (no more than
`min_sessions` sessions outside them); those with no rows stored there joined since, and their rows are added (the
others' are the rows already stored, and are dropped). A user who no longer qualifies (sessions deleted in the
source) loses their stored rows, so every stored month holds the current cohort's sessions, as a run over every
month would. The months and the cohort definition they were extracted for are recorded in
`raw_state.session_months`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.partitions import MONTH_FORMAT, PARTITION_COLUMN, month_bounds
from traveltide_assets.sources.connection import render
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.duck import one_row, registered, run
from traveltide_assets.storage.publish import has_table, month_list

SESSION_TABLES = ("raw_sessions", "raw_flights", "raw_hotels")
# Bookkeeping of the raw layer, in a schema of its own beside the asset tables (no Parquet export).
STATE_SCHEMA = "raw_state"
STATE_TABLE = f"{STATE_SCHEMA}.session_months"
MEMBERS_TABLE = f"{STATE_SCHEMA}.cohort_members"
STAGED = "_extract"  # the statement's rows, a temporary table of the step's connection
STAGED_MONTH = f"strftime({PARTITION_COLUMN}, '{MONTH_FORMAT}')"  # a staged row's month key, as the tables store it


class ExtractStateError(RuntimeError):
    """The stored months cannot be refreshed in part: they hold another cohort or an older layout."""


@dataclass(frozen=True)
class ExtractPlan:
    """What one run extracts: its months in full and, beside stored months, the joiners' sessions there."""

    months: list[str]
    rebuild: bool  # the run stands for every month (partitions.covers_every_month): the tables are created anew
    other_months: list[str] = field(default_factory=list)  # stored months outside the run's

    def query(self, study: StudySettings) -> str:
        first_day, end_day = month_bounds(self.months[0], self.months[-1])
        return render(
            read_sql("raw/extract/cohort_extract.sql"),
            {
                "cohort_start": study.start_timestamp,
                "min_sessions": study.min_sessions,
                "first_day": first_day,
                "end_day": end_day,
                "align_stored_months": bool(self.other_months),
            },
        )


def plan_extract(
    con: duckdb.DuckDBPyConnection, study: StudySettings, months: list[str], every_month: bool
) -> ExtractPlan:
    """The plan of a run over `months`; a run over part of the months checks that the stored ones hold the same
    cohort definition, and aligns them with today's cohort."""
    if every_month or not has_table(con, "raw_sessions"):
        return ExtractPlan(months, rebuild=every_month)
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
    return ExtractPlan(months, rebuild=False, other_months=[month for month, _, _ in stored])


def _stored_outside(con: duckdb.DuckDBPyConnection, months: list[str]) -> list[tuple[str, str, int]]:
    """(month, cohort_start, min_sessions) of each stored month outside `months`, by month (none if unrecorded)."""
    if not has_table(con, STATE_TABLE):
        return []
    return con.execute(
        f"SELECT {PARTITION_COLUMN}, cohort_start, min_sessions FROM {STATE_TABLE} "
        f"WHERE {PARTITION_COLUMN} NOT IN {month_list(months)} ORDER BY 1"
    ).fetchall()


def stage_extract(con: duckdb.DuckDBPyConnection, reader: pa.RecordBatchReader) -> int:
    """Read the statement's rows (the cohort's rows: small) into `_extract`;
    returns the sessions read."""
    with registered(con, "_incoming", reader):
        run(con, f"CREATE OR REPLACE TEMP TABLE {STAGED} AS SELECT * FROM _incoming")
    return int(one_row(con, f"SELECT count(*) FROM {STAGED} WHERE NOT is_user_row")[0])


@dataclass(frozen=True)
class CohortChange:
    """Who the staged rows say the cohort is, against the users of the stored months."""

    members: int
    joiners: int  # members whose sessions of stored months outside the run's came with the run
    leavers: int  # users with stored rows who are no longer members: their rows go


def apply_extract(
    con: duckdb.DuckDBPyConnection, plan: ExtractPlan, study: StudySettings
) -> tuple[list[str], CohortChange]:
    """Bring the member list and the session tables in line with the staged rows; returns the months changed and
    the cohort's change. Runs inside publish_month_tables' transaction."""
    store_members(con, study)
    members = _member_count(con)
    # From here on the staged rows are the sessions to store: not the user rows, nor sessions of months nobody
    # stored (a refresh of some months on a warehouse that holds only some of the others).
    keep = month_list([*plan.months, *plan.other_months])
    run(con, f"DELETE FROM {STAGED} WHERE is_user_row OR {STAGED_MONTH} NOT IN {keep}")
    if plan.rebuild or not has_table(con, "raw_sessions"):
        changed, change = _create_tables(con, plan), CohortChange(members, 0, 0)
    else:
        changed, change = _replace_rows(con, plan, members)
    run(con, f"DELETE FROM {STATE_TABLE} WHERE {PARTITION_COLUMN} IN {month_list(plan.months)}")
    with registered(con, "_run_months", pa.table({PARTITION_COLUMN: plan.months})):
        run(
            con,
            f"INSERT INTO {STATE_TABLE} SELECT {PARTITION_COLUMN}, $start, $min, current_localtimestamp() "
            "FROM _run_months",
            {"start": study.cohort_start, "min": study.min_sessions},
        )
    return changed, change


def store_members(con: duckdb.DuckDBPyConnection, study: StudySettings) -> None:
    """The members named by the staged rows, with their user row, their session count and the cohort definition
    they were counted for (raw_users publishes them)."""
    run(con, f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    run(
        con,
        f"CREATE OR REPLACE TABLE {MEMBERS_TABLE} AS {read_sql('raw/cohort_members.sql')}",
        {"cohort_start": study.cohort_start, "min_sessions": study.min_sessions},
    )


def stored_members(con: duckdb.DuckDBPyConnection, study: StudySettings) -> int:
    """How many members the session extracts stored, which must be for this run's cohort definition."""
    if not has_table(con, MEMBERS_TABLE):
        raise ExtractStateError(
            "raw_users publishes the cohort that the session extracts count: materialise raw_sessions "
            "(raw_session_extracts) first"
        )
    counted = con.execute(f"SELECT DISTINCT cohort_start, min_sessions FROM {MEMBERS_TABLE}").fetchall()
    if counted and tuple(counted[0]) != (study.cohort_start, study.min_sessions):
        start, minimum = counted[0]
        raise ExtractStateError(
            f"the session extracts counted the cohort of sessions after {start} with more than {minimum}; this run "
            f"asks for sessions after {study.cohort_start} with more than {study.min_sessions}: materialise the "
            "session extracts with the same settings first"
        )
    return _member_count(con)


def _member_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(one_row(con, f"SELECT count(*) FROM {MEMBERS_TABLE}")[0])


def _create_tables(con: duckdb.DuckDBPyConnection, plan: ExtractPlan) -> list[str]:
    """The session tables created anew from the staged rows; returns the months changed."""
    # Months stored before beyond this run's (a full run ends at the source's newest session) lose their rows with
    # the tables: their files are rewritten too, empty, so that no file keeps rows the tables lost.
    stored = [month for month, _, _ in _stored_outside(con, plan.months)] if plan.rebuild else []
    for table in SESSION_TABLES:
        run(con, f"CREATE OR REPLACE TABLE {table} AS {_split(table)}")
    columns = f"{PARTITION_COLUMN} VARCHAR, cohort_start VARCHAR, min_sessions INTEGER, extracted_at TIMESTAMP"
    run(con, f"CREATE OR REPLACE TABLE {STATE_TABLE} ({columns})")
    return sorted({*plan.months, *stored})


def _replace_rows(con: duckdb.DuckDBPyConnection, plan: ExtractPlan, members: int) -> tuple[list[str], CohortChange]:
    """The run's months replaced by the staged rows, and the rows of the users who joined or left the cohort
    replaced in every month; returns the months changed and the cohort's change."""
    months = month_list(plan.months)
    outside = f"{STAGED_MONTH} NOT IN {months}"
    # A member who only qualifies thanks to the run's months brings their sessions outside them; where they have
    # rows stored there, they were a member when those months were stored, and the rows are the same: only
    # joiners' rows are new.
    run(
        con,
        f"DELETE FROM {STAGED} WHERE {outside} AND user_id IN "
        f"(SELECT user_id FROM raw_sessions WHERE {PARTITION_COLUMN} NOT IN {months})",
    )
    # Joiners: staged sessions outside the run's months. Leavers: stored users who are no longer members.
    run(
        con,
        "CREATE OR REPLACE TEMP TABLE _changed_users AS "
        f"SELECT DISTINCT user_id, true AS joined FROM {STAGED} WHERE {outside} "
        "UNION ALL SELECT DISTINCT user_id, false FROM raw_sessions "
        f"WHERE user_id NOT IN (SELECT user_id FROM {MEMBERS_TABLE})",
    )
    changed_users = "SELECT user_id FROM _changed_users"
    try:
        joiners, leavers = one_row(
            con, "SELECT count(*) FILTER (WHERE joined), count(*) FILTER (WHERE NOT joined) FROM _changed_users"
        )
        touched = con.execute(
            f"SELECT DISTINCT {PARTITION_COLUMN} FROM raw_sessions WHERE user_id IN ({changed_users})"
        ).fetchall()
        changed = sorted({*plan.months, *(r[0] for r in touched), *_staged_months(con)})
        # Trips first: they find their users through the sessions that booked them.
        for table in ("raw_flights", "raw_hotels"):
            run(con, f"DELETE FROM {table} WHERE {PARTITION_COLUMN} IN {months} OR trip_id IN "
                     f"(SELECT trip_id FROM raw_sessions WHERE user_id IN ({changed_users}))")  # fmt: skip
        run(con, f"DELETE FROM raw_sessions WHERE {PARTITION_COLUMN} IN {months} OR user_id IN ({changed_users})")
        for table in SESSION_TABLES:
            run(con, f"INSERT INTO {table} BY NAME {_split(table)}")
    finally:
        run(con, "DROP TABLE IF EXISTS _changed_users")
    return changed, CohortChange(members, int(joiners), int(leavers))


def _staged_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(f"SELECT DISTINCT {STAGED_MONTH} FROM {STAGED}").fetchall()
    return [r[0] for r in rows]


def _split(table: str) -> str:
    """One raw table's rows among the staged rows (sql/raw/<table>.sql)."""
    return read_sql(f"raw/{table}.sql")
