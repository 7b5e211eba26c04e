"""The extract plan (defs/raw/extract_plan.py) on hand-made warehouse states: which months and which users a run
extracts, and which stored states it refuses to refresh in part."""

from __future__ import annotations

import duckdb
import pytest

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.raw.extract_plan import (
    MEMBERS_TABLE,
    STATE_SCHEMA,
    STATE_TABLE,
    ExtractStateError,
    plan_extract,
    store_members,
    stored_members,
)

STUDY = StudySettings()
RUN_MONTHS = ["2023-07"]


def _warehouse(sessions: list[tuple[int, str]], stored: list[tuple[str, str, int]] | None) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding raw_sessions (user_id, session_month) and, unless None, the record of the
    stored months (month, cohort_start, min_sessions)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE raw_sessions (user_id INTEGER, session_month VARCHAR)")
    con.executemany("INSERT INTO raw_sessions VALUES (?, ?)", sessions)
    if stored is not None:
        con.execute(f"CREATE SCHEMA {STATE_SCHEMA}")
        con.execute(
            f"CREATE TABLE {STATE_TABLE} (session_month VARCHAR, cohort_start VARCHAR, min_sessions INTEGER, "
            "extracted_at TIMESTAMP)"
        )
        con.executemany(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, now())", stored)
    return con


def test_a_run_over_every_month_rebuilds_without_looking_at_what_is_stored() -> None:
    con = _warehouse([(1, "2023-05")], stored=None)  # even an unrecorded old layout
    plan = plan_extract(con, STUDY, ["2023-01", "2023-07"], every_month=True, members=[2, 3])
    assert (plan.rebuild, plan.members, plan.joiners, plan.leavers, plan.other_months) == (True, [2, 3], [], [], [])


def test_the_first_run_of_some_months_extracts_them_for_the_members() -> None:
    con = duckdb.connect()  # nothing stored yet
    plan = plan_extract(con, STUDY, RUN_MONTHS, every_month=False, members=[5, 7])
    assert (plan.rebuild, plan.members, plan.joiners, plan.other_months) == (False, [5, 7], [], [])


def test_a_refresh_finds_who_joined_and_who_left_the_cohort_in_the_stored_months() -> None:
    stored = [("2023-05", STUDY.cohort_start, STUDY.min_sessions), ("2023-06", STUDY.cohort_start, STUDY.min_sessions)]
    # Users 1 and 2 have rows in the stored months; 9 only in the month the run replaces anyway.
    con = _warehouse([(1, "2023-05"), (2, "2023-06"), (2, "2023-07"), (9, "2023-07")], stored)
    plan = plan_extract(con, STUDY, RUN_MONTHS, every_month=False, members=[2, 3, 9])
    assert plan.other_months == ["2023-05", "2023-06"]
    assert plan.joiners == [3, 9]  # no rows in the stored months: their rows there are asked for
    assert plan.leavers == [1]  # no longer in the cohort: their stored rows go
    assert not plan.rebuild


def test_a_refresh_refuses_months_stored_for_another_cohort() -> None:
    con = _warehouse([(1, "2023-05")], [("2023-05", "2023-02-01", STUDY.min_sessions)])
    with pytest.raises(ExtractStateError, match=r"hold the cohort after 2023-02-01 .*refresh every month"):
        plan_extract(con, STUDY, RUN_MONTHS, every_month=False, members=[1])


def test_a_refresh_refuses_an_unrecorded_layout() -> None:
    con = _warehouse([(1, "2023-05")], stored=None)
    with pytest.raises(ExtractStateError, match="earlier version of the pipeline"):
        plan_extract(con, STUDY, RUN_MONTHS, every_month=False, members=[1])


def test_the_plan_query_asks_for_the_run_months_and_the_joiners() -> None:
    stored = [("2023-05", STUDY.cohort_start, STUDY.min_sessions)]
    con = _warehouse([(1, "2023-05")], stored)
    query = plan_extract(con, STUDY, RUN_MONTHS, every_month=False, members=[1, 4]).query(STUDY)
    assert "TIMESTAMP '2023-07-01 00:00:00'" in query and "TIMESTAMP '2023-08-01 00:00:00'" in query  # [first, end)
    assert "(DATE '2023-05-01')" in query  # the stored month where the joiner's rows are fetched
    assert "IN (1, 4)" in query and "IN (4)" in query  # the members, and the one who joined


def test_the_member_list_is_read_back_only_for_its_own_cohort_definition() -> None:
    con = duckdb.connect()
    with pytest.raises(ExtractStateError, match="materialise raw_users first"):
        stored_members(con, STUDY)
    store_members(con, [3, 1, 2], STUDY)
    assert stored_members(con, STUDY) == [1, 2, 3]
    other = StudySettings(min_sessions=STUDY.min_sessions + 1)
    with pytest.raises(ExtractStateError, match=f"with more than {STUDY.min_sessions};"):
        stored_members(con, other)
    assert con.execute(f"SELECT count(*) FROM {MEMBERS_TABLE}").fetchone() == (3,)
