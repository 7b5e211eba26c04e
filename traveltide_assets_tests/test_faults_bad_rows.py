"""Bad rows arrive in the source: the checks count them naming table and column, and nothing below is touched.

From a good materialised state, several kinds of bad row are written into the source PostgreSQL at once (the
primary key is dropped first, as a real database without constraints would allow). The run extracts them, the
blocking checks on the raw assets fail with their counts, no asset below the raw ones runs, and every output
from session_cohort on stays byte for byte what it was. Reloading the good source repairs it; the next run
succeeds. (test_checks.py proves each check on its own against the warehouse; this is the whole path from the
source, several faults at once.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from dagster import ExecuteInProcessResult

from tools.local_postgres import LocalPostgres
from traveltide_assets.pipeline import failure_message
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres
from traveltide_assets_tests.outputs import assert_readable, assert_tables_match_parquet, asset_of, fingerprint
from traveltide_assets_tests.pipeline_harness import run_graph

pytestmark = pytest.mark.faults

USERS, SEED = 15_000, 29

# Only the cohort's rows are extracted (users with more than 7 sessions after 2023-01-04), so the bad rows are
# the cohort's. Browsing sessions inside every run's extraction window (after the cohort start, before today), by
# rank. The updates come first, while the ranks still count distinct ids; then the copies of rank 0, its
# duplicate last.
COHORT = (
    "user_id IN (SELECT user_id FROM sessions WHERE session_start > '2023-01-04' GROUP BY user_id HAVING count(*) > 7)"
)
IN_WINDOW = (
    "session_start > '2023-02-01' AND session_start < localtimestamp - interval '1 day' AND trip_id IS NULL "
    f"AND {COHORT}"
)
BROWSING = "(SELECT session_id FROM sessions WHERE " + IN_WINDOW + " ORDER BY session_id LIMIT 1 OFFSET {rank})"
A_BOOKED_FLIGHT = (
    "(SELECT min(trip_id) FROM sessions WHERE session_start > '2023-02-01' AND flight_booked AND NOT cancellation "
    f"AND {COHORT})"
)
UNKNOWN_USER_SESSIONS = 8  # enough to be in the cohort
LATER_THIS_MONTH = (
    "least(localtimestamp + interval '10 minutes', "
    "date_trunc('month', localtimestamp) + interval '1 month' - interval '2 seconds')"
)
COLUMNS = (
    "session_id, user_id, trip_id, session_start, session_end, flight_discount, hotel_discount, "
    "flight_discount_amount, hotel_discount_amount, flight_booked, hotel_booked, page_clicks, cancellation"
)


def _copy_of_first(replacing: dict[str, str], copies: int = 1) -> str:
    """INSERT copies (numbered g) of the first browsing session with some columns replaced by SQL expressions."""
    columns = ", ".join(replacing.get(c, c) for c in COLUMNS.split(", "))
    return (
        f"INSERT INTO sessions SELECT {columns} FROM sessions CROSS JOIN generate_series(1, {copies}) g "
        f"WHERE session_id = {BROWSING.format(rank=0)}"
    )


BAD_ROWS = [
    # Discount amounts outside (0, 1], absurd page clicks, a negative fare.
    "UPDATE sessions SET flight_discount = true, flight_discount_amount = 1.5 WHERE session_id = "
    + BROWSING.format(rank=1),
    "UPDATE sessions SET hotel_discount = true, hotel_discount_amount = 0 WHERE session_id = "
    + BROWSING.format(rank=2),
    "UPDATE sessions SET page_clicks = 250000 WHERE session_id = " + BROWSING.format(rank=3),
    f"UPDATE flights SET base_fare_usd = -120 WHERE trip_id = {A_BOOKED_FLIGHT}",
    # A source without constraints: a NULL session id (and, last, a duplicated one).
    "ALTER TABLE sessions DROP CONSTRAINT sessions_pkey",
    "ALTER TABLE sessions ALTER COLUMN session_id DROP NOT NULL",
    _copy_of_first({"session_id": "NULL"}),
    # Sessions of a user who does not exist.
    _copy_of_first({"session_id": "'fault-unknown-user-' || g", "user_id": "99999999"}, copies=UNKNOWN_USER_SESSIONS),
    # A session that has not happened yet: ten minutes ahead, but inside the month in progress (the last month
    # a run extracts), and ending after it starts, so that only the date is wrong.
    _copy_of_first(
        {
            "session_id": "'fault-future'",
            "session_start": LATER_THIS_MONTH,
            "session_end": LATER_THIS_MONTH + " + interval '1 second'",
        }
    ),
    _copy_of_first({}),  # last: from here on the first session's id matches two rows
]

# check -> (table.column it names, violating rows it counts)
EXPECTED_FAILURES = {
    "sessions_primary_key": ("raw_sessions.session_id", 2),  # one duplicated id, one NULL id
    "sessions_have_known_users": ("raw_sessions.user_id", UNKNOWN_USER_SESSIONS),
    "sessions_not_in_future": ("raw_sessions.session_start", 1),
    "sessions_discount_amounts_in_range": ("raw_sessions.*_discount_amount", 2),
    "sessions_page_clicks_plausible": ("raw_sessions.page_clicks", 1),
    "flights_values_in_range": ("raw_flights.base_fare_usd/seats/checked_bags", 1),
}


@dataclass(frozen=True)
class BadRun:
    folder: Path
    before: dict[str, str]  # the outputs' fingerprint before the bad rows arrived
    result: ExecuteInProcessResult


@pytest.fixture(scope="module")
def bad_run(postgres: LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> BadRun:
    """A good materialised state, then a run over the source with the bad rows in it; the source is repaired
    (reloaded with the good rows and the primary keys) by the test that needs it."""
    folder = tmp_path_factory.mktemp("bad_rows")
    load_postgres(generate_source(GeneratorConfig(users=USERS, seed=SEED)), postgres.url)
    source, warehouse = TravelTideSource(postgres_url=postgres.url), Warehouse.in_folder(folder)
    assert run_graph(source, warehouse).success
    before = fingerprint(folder)
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        for statement in BAD_ROWS:
            conn.execute(statement)  # type: ignore[arg-type]
    return BadRun(folder, before, run_graph(source, warehouse))


def _materialised(result: ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_bad_rows_are_counted_and_stop_everything_downstream(bad_run: BadRun, postgres: LocalPostgres) -> None:
    failed = {c.check_name: c for c in bad_run.result.get_asset_check_evaluations() if not c.passed}
    assert set(failed) == set(EXPECTED_FAILURES), sorted(failed)
    for check, (column, rows) in EXPECTED_FAILURES.items():
        assert failed[check].metadata["violating_rows"].value == rows, check
        assert (failed[check].description or "").startswith(f"{column}: {rows:,} rows break the rule"), check
        assert failed[check].metadata["sample"].value  # the rows at fault are shown

    # Only the session extracts ran; below them (raw_users included) nothing ran and nothing changed.
    materialised = _materialised(bad_run.result)
    assert materialised == {"raw_sessions", "raw_flights", "raw_hotels"}, materialised
    before, after = bad_run.before, fingerprint(bad_run.folder)
    # (The session extracts' bookkeeping, raw_state, changed with them.)
    downstream = {k: v for k, v in before.items() if asset_of(k) not in materialised and "raw_state." not in k}
    assert len(downstream) > 10
    assert {k: after.get(k) for k in downstream} == downstream
    # The session of the month in progress makes it the source's newest: the full run reaches it, and the raw
    # extracts gain that month and the empty ones before it. Nothing else appears, nothing goes.
    assert set(before) <= set(after)
    added = {asset_of(k) for k in set(after) - set(before)}
    assert added <= {"raw_sessions", "raw_flights", "raw_hotels"}, added
    assert_tables_match_parquet(bad_run.folder)
    assert_readable(bad_run.folder)

    load_postgres(generate_source(GeneratorConfig(users=USERS, seed=SEED)), postgres.url)  # repaired
    repaired = run_graph(TravelTideSource(postgres_url=postgres.url), Warehouse.in_folder(bad_run.folder))
    assert repaired.success
    assert all(c.passed for c in repaired.get_asset_check_evaluations())
    assert "perk_assignments" in _materialised(repaired)


def test_the_run_error_line_names_the_failed_checks_with_counts(bad_run: BadRun) -> None:
    message = failure_message(bad_run.result)
    column, rows = EXPECTED_FAILURES["flights_values_in_range"]
    assert f"{column}: {rows:,} rows break the rule" in message, message
