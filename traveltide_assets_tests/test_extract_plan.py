"""The extraction on hand-made sources and warehouse states (defs/raw/extract_plan.py): the one statement that
counts the cohort and returns its rows (sql/raw/extract/cohort_extract.sql, run here on DuckDB as for the embedded
store), and how a run over some months keeps the stored months in line with the cohort, or refuses to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.raw.extract_plan import (
    MEMBERS_TABLE,
    STATE_SCHEMA,
    STATE_TABLE,
    CohortChange,
    ExtractPlan,
    ExtractStateError,
    apply_extract,
    plan_extract,
    stage_extract,
    stored_members,
)
from traveltide_assets.sources.contract import FLIGHTS, HOTELS, SESSIONS, USERS, TableSpec

STUDY = StudySettings()
QUALIFY = STUDY.min_sessions + 1  # sessions in the window that make a member
RUN_MONTHS = ["2023-07"]
EVERY_MONTH = ["2023-05", "2023-06", "2023-07"]


class Source:
    """A TravelTide source of a few hand-made rows in an in-memory DuckDB (the embedded store's engine)."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        for spec in (USERS, SESSIONS, FLIGHTS, HOTELS):
            self.con.register(f"_{spec.name}", pa.table({c.name: pa.array([], c.arrow_type) for c in spec.columns}))
            self.con.execute(f"CREATE TABLE {spec.name} AS SELECT * FROM _{spec.name}")
            self.con.unregister(f"_{spec.name}")

    def user(self, user_id: int) -> None:
        self._insert(USERS, {"user_id": user_id, "birthdate": dt.date(1990, 1, 1), "gender": "F"})

    def sessions(self, user_id: int, month: str, count: int, trip: str | None = None, first_day: int = 2) -> None:
        """`count` browsing sessions of a user in a month, one a day from `first_day`; with `trip`, the first books
        a flight."""
        for day in range(first_day, first_day + count):
            start = dt.datetime.strptime(f"{month}-{day:02d} 10:00", "%Y-%m-%d %H:%M")
            booked = trip is not None and day == first_day
            row = {
                "session_id": f"{user_id}-{month}-{day}",
                "user_id": user_id,
                "trip_id": trip if booked else None,
                "session_start": start,
                "session_end": start + dt.timedelta(minutes=5),
                "flight_booked": booked,
                "cancellation": False,
                "page_clicks": 10,
            }
            self._insert(SESSIONS, row)
        if trip is not None:
            self._insert(FLIGHTS, {"trip_id": trip, "seats": 1, "checked_bags": 0})

    def delete_sessions(self, user_id: int) -> None:
        self.con.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def _insert(self, spec: TableSpec, values: dict[str, object]) -> None:
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.con.execute(f"INSERT INTO {spec.name} ({names}) VALUES ({marks})", list(values.values()))

    def read(self, plan: ExtractPlan) -> pa.RecordBatchReader:
        return self.con.sql(plan.query(STUDY)).to_arrow_reader()


def _run(source: Source, con: duckdb.DuckDBPyConnection, months: list[str], every_month: bool) -> CohortChange:
    """One run of the session extracts over `months`, as raw_session_extracts does it (without Parquet)."""
    plan = plan_extract(con, STUDY, months, every_month)
    stage_extract(con, source.read(plan))
    con.execute("BEGIN TRANSACTION")
    _, change = apply_extract(con, plan, STUDY)
    con.execute("COMMIT")
    con.execute("DROP TABLE _extract")
    return change


def _stored(con: duckdb.DuckDBPyConnection) -> dict[int, dict[str, int]]:
    """user -> month -> stored sessions."""
    rows = con.execute("SELECT user_id, session_month, count(*) FROM raw_sessions GROUP BY ALL").fetchall()
    stored: dict[int, dict[str, int]] = {}
    for user, month, count in rows:
        stored.setdefault(user, {})[month] = count
    return stored


@pytest.fixture
def source() -> Iterator[Source]:
    """Users 1-4 have a users row. 1 qualifies in May alone and books a flight; 2 has too few sessions; 4
    qualifies in June alone; 5 qualifies but has no users row."""
    source = Source()
    for user in (1, 2, 3, 4):
        source.user(user)
    source.sessions(1, "2023-05", QUALIFY, trip="trip-1")
    source.sessions(2, "2023-05", QUALIFY - 2)
    source.sessions(3, "2022-12", QUALIFY)  # before the cohort start: not counted
    source.sessions(4, "2023-06", QUALIFY)
    source.sessions(5, "2023-07", QUALIFY)
    yield source
    source.con.close()


def test_a_full_run_stores_the_cohort_its_user_rows_and_its_trips(source: Source) -> None:
    con = duckdb.connect()
    change = _run(source, con, EVERY_MONTH, every_month=True)
    assert change == CohortChange(members=3, joiners=0, leavers=0)
    assert _stored(con) == {1: {"2023-05": QUALIFY}, 4: {"2023-06": QUALIFY}, 5: {"2023-07": QUALIFY}}
    members = con.execute(f"SELECT user_id, in_users, cohort_sessions FROM {MEMBERS_TABLE} ORDER BY 1").fetchall()
    assert members == [(1, True, QUALIFY), (4, True, QUALIFY), (5, False, QUALIFY)]
    # Only the booking session carries its trip; the user rows are not sessions.
    assert con.execute("SELECT trip_id, session_month FROM raw_flights").fetchall() == [("trip-1", "2023-05")]
    assert stored_members(con, STUDY) == 3


def test_a_refresh_names_members_without_sessions_in_its_months(source: Source) -> None:
    con = duckdb.connect()
    _run(source, con, EVERY_MONTH, every_month=True)
    change = _run(source, con, RUN_MONTHS, every_month=False)
    assert change == CohortChange(members=3, joiners=0, leavers=0)  # 1 and 4 have no July sessions, yet count
    assert _stored(con) == {1: {"2023-05": QUALIFY}, 4: {"2023-06": QUALIFY}, 5: {"2023-07": QUALIFY}}


def test_a_refresh_changes_only_its_months_when_nobody_joined(source: Source) -> None:
    half = QUALIFY // 2
    source.user(6)
    source.sessions(6, "2023-06", half)  # 6 qualifies with June and July together
    source.sessions(6, "2023-07", QUALIFY - half)
    con = duckdb.connect()
    _run(source, con, EVERY_MONTH, every_month=True)
    stored = _stored(con)
    source.sessions(4, "2023-07", 1, first_day=20)  # a member's new session
    plan = plan_extract(con, STUDY, RUN_MONTHS, every_month=False)
    stage_extract(con, source.read(plan))
    # 6's June sessions come again (6 only qualifies thanks to July), but 6 was a member: June does not change.
    assert con.execute(
        "SELECT count(*) FROM _extract WHERE NOT is_user_row AND session_month < '2023-07-01'"
    ).fetchone() == (half,)
    changed, change = apply_extract(con, plan, STUDY)
    assert (changed, change) == (RUN_MONTHS, CohortChange(members=4, joiners=0, leavers=0))
    assert _stored(con) == {**stored, 4: {"2023-06": QUALIFY, "2023-07": 1}}


def test_a_refresh_brings_the_earlier_sessions_of_who_joined_and_drops_who_left(source: Source) -> None:
    con = duckdb.connect()
    _run(source, con, EVERY_MONTH, every_month=True)
    source.sessions(2, "2023-07", 2)  # 2 now qualifies thanks to July: their May sessions are wanted too
    source.delete_sessions(4)  # 4 no longer qualifies: their June sessions go
    change = _run(source, con, RUN_MONTHS, every_month=False)
    assert change == CohortChange(members=3, joiners=1, leavers=1)
    assert _stored(con) == {
        1: {"2023-05": QUALIFY},
        2: {"2023-05": QUALIFY - 2, "2023-07": 2},
        5: {"2023-07": QUALIFY},
    }


def test_a_first_run_of_some_months_stores_only_those(source: Source) -> None:
    con = duckdb.connect()
    source.sessions(1, "2023-07", 1)
    _run(source, con, RUN_MONTHS, every_month=False)
    assert _stored(con) == {1: {"2023-07": 1}, 5: {"2023-07": QUALIFY}}
    assert con.execute(f"SELECT session_month FROM {STATE_TABLE}").fetchall() == [("2023-07",)]


def test_the_statement_names_no_user_and_is_the_same_whatever_the_cohort(source: Source) -> None:
    con = duckdb.connect()
    _run(source, con, EVERY_MONTH, every_month=True)
    before = plan_extract(con, STUDY, RUN_MONTHS, every_month=False).query(STUDY)
    for user in range(100, 160):  # sixty more members
        source.sessions(user, "2023-06", QUALIFY)
    _run(source, con, ["2023-06"], every_month=False)
    after = plan_extract(con, STUDY, RUN_MONTHS, every_month=False).query(STUDY)
    assert before == after
    assert "TIMESTAMP '2023-07-01 00:00:00'" in after and "TIMESTAMP '2023-08-01 00:00:00'" in after  # [first, end)


def _warehouse(stored: list[tuple[str, str, int]] | None) -> duckdb.DuckDBPyConnection:
    """A warehouse holding raw_sessions and, unless None, the record of the stored months (month, cohort_start,
    min_sessions)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE raw_sessions (user_id INTEGER, session_month VARCHAR)")
    if stored is not None:
        con.execute(f"CREATE SCHEMA {STATE_SCHEMA}")
        con.execute(
            f"CREATE TABLE {STATE_TABLE} (session_month VARCHAR, cohort_start VARCHAR, min_sessions INTEGER, "
            "extracted_at TIMESTAMP)"
        )
        con.executemany(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, now())", stored)
    return con


def test_a_run_over_every_month_rebuilds_without_looking_at_what_is_stored() -> None:
    plan = plan_extract(_warehouse(stored=None), STUDY, EVERY_MONTH, every_month=True)  # even an old layout
    assert (plan.rebuild, plan.other_months) == (True, [])


def test_a_refresh_refuses_months_stored_for_another_cohort() -> None:
    con = _warehouse([("2023-05", "2023-02-01", STUDY.min_sessions)])
    with pytest.raises(ExtractStateError, match=r"hold the cohort after 2023-02-01 .*refresh every month"):
        plan_extract(con, STUDY, RUN_MONTHS, every_month=False)


def test_a_refresh_refuses_an_unrecorded_layout() -> None:
    with pytest.raises(ExtractStateError, match="earlier version of the pipeline"):
        plan_extract(_warehouse(stored=None), STUDY, RUN_MONTHS, every_month=False)


def test_the_member_list_is_read_back_only_for_its_own_cohort_definition(source: Source) -> None:
    con = duckdb.connect()
    with pytest.raises(ExtractStateError, match="materialise raw_sessions"):
        stored_members(con, STUDY)
    _run(source, con, EVERY_MONTH, every_month=True)
    other = StudySettings(min_sessions=STUDY.min_sessions + 1)
    with pytest.raises(ExtractStateError, match=f"with more than {STUDY.min_sessions};"):
        stored_members(con, other)
